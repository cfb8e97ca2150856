package kernels

import (
	"context"
	"sync"
)

// The blocking of gemm: B is packed in blocks of gemmKC rows by gemmNC
// columns, A in blocks of gemmMC rows, and a micro-kernel computes an mr×nr
// tile of C from the packed panels. gemmMC and gemmNC are multiples of
// every micro-kernel's mr and nr.
const (
	gemmKC = 256
	gemmMC = 96
	gemmNC = 1024
)

// gemmParallelFlops is the work below which gemm stays on one goroutine.
const gemmParallelFlops = 1 << 21

// microKernel is a gemm micro-kernel: it computes the mr×nr tile C (+)=
// Ã·B̃ from a packed A panel (kc columns of mr) and a packed B panel (kc
// rows of nr) into c with row stride ldc, overwriting C when first is set.
type microKernel[T Float] struct {
	mr, nr int
	run    func(kc int, pa, pb []T, c []T, ldc int, first bool)
}

// kernelFor picks the micro-kernel for T: the assembly one where the CPU
// has it, else the portable Go one.
func kernelFor[T Float]() microKernel[T] {
	if k, ok := any(&sgemmAsm).(*microKernel[T]); ok && haveSgemmAsm {
		return *k
	}
	if k, ok := any(&microGo32).(*microKernel[T]); ok {
		return *k
	}
	return *any(&microGo64).(*microKernel[T])
}

// The micro-kernels kernelFor picks from, made once: a func value of a
// generic function made per call would be allocated per call.
var (
	sgemmAsm  = microKernel[float32]{mr: 6, nr: 16, run: sgemmMicroAsm}
	microGo32 = microKernel[float32]{mr: 2, nr: 4, run: microKernelGo[float32]}
	microGo64 = microKernel[float64]{mr: 2, nr: 4, run: microKernelGo[float64]}
)

// mat is a read-only view of a matrix: element (i, j) is data[i*ld+j], or
// data[j*ld+i] when trans is set.
// When im is set, the matrix is instead the lowered input of a
// convolution, which gemm packs straight from the image (and data, ld and
// trans are unused).
type mat[T Float] struct {
	data  []T
	ld    int
	trans bool
	im    *im2colSrc[T]
}

func (a mat[T]) at(i, j int) T {
	if a.trans {
		return a.data[j*a.ld+i]
	}
	return a.data[i*a.ld+j]
}

// gemm sets C = A·B, where A is m×k, B is k×n, and C is m×n stored row-major
// with row stride ldc. Accumulation is in T, as TensorFlow's CPU kernels do.
// Large products are split across up to Threads(ctx) goroutines: over row
// blocks of C when there are enough of them, else (a batch-1 dense layer,
// a small image) over column panels. Its packing buffers come from a
// pool shared across calls (see gemmBufs), and those of the direct
// kernels' B from ctx's allocator (see scratch).
//
// A float32 product of twelve rows or more with a row-major A goes through
// the direct AVX-512 micro-kernels where the CPU has them (gemmDirect32),
// which read A in place; B is laid out for them afresh.
func gemm[T Float](ctx context.Context, m, n, k int, a, b mat[T], c []T, ldc int) {
	if a32, ok := any(a.data).([]float32); ok && m >= directMR && n > 0 && k > 0 && a.im == nil && !a.trans {
		if dk, ok := directKernelsFor(); ok {
			b32 := any(b).(mat[float32])
			pf := packDirectPanelsMat(b32, k, n, scratch[float32](ctx, directPanelsLen(k, n)))
			gemmDirect32(ctx, dk, m, a32, a.ld, pf, any(c).([]float32), ldc, epilogue[float32]{})
			return
		}
	}
	gemmEp(ctx, kernelFor[T](), m, n, k, a, b, c, ldc, epilogue[T]{})
}

func gemmWith[T Float](ctx context.Context, mk microKernel[T], m, n, k int, a, b mat[T], c []T, ldc int) {
	gemmEp(ctx, mk, m, n, k, a, b, c, ldc, epilogue[T]{})
}

// gemmEp is gemm with the micro-kernel given and ep applied to every
// element of C once its sum is complete.
func gemmEp[T Float](ctx context.Context, mk microKernel[T], m, n, k int, a, b mat[T], c []T, ldc int, ep epilogue[T]) {
	if m == 0 || n == 0 {
		return
	}
	workers := 1
	if flops := 2 * m * n * k; flops >= gemmParallelFlops {
		workers = Threads(ctx)
	}
	blocks := (m + gemmMC - 1) / gemmMC
	if workers > 1 && blocks < workers && n >= 2*mk.nr {
		// Too few row blocks to share: split the columns instead, in
		// whole panels, each part a serial product of its own.
		panels := (n + mk.nr - 1) / mk.nr
		gemmSplit(ctx, mk, m, n, k, a, b, c, ldc, ep, true, min(workers, panels), panels)
		return
	}
	gemmSerial(ctx, mk, m, n, k, a, b, c, ldc, ep, workers)
}

// cols returns the view of b from column j on.
func (a mat[T]) cols(j int) mat[T] {
	if a.trans {
		return mat[T]{data: a.data[j*a.ld:], ld: a.ld, trans: true}
	}
	return mat[T]{data: a.data[j:], ld: a.ld, trans: false}
}

// gemmSerial runs the blocked product, splitting the rows of C into
// workers contiguous bands (in whole micro-tiles), one goroutine each.
// Each band packs its own B panels, which costs k·n per band against
// m·n·k/workers of arithmetic, and spares a barrier per kc block.
func gemmSerial[T Float](ctx context.Context, mk microKernel[T], m, n, k int, a, b mat[T], c []T, ldc int, ep epilogue[T], workers int) {
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			clear(row)
			ep.apply(row, 0)
		}
		return
	}
	if m < 4 && !b.trans && a.im == nil {
		gemmSkinny(m, n, k, a, b, c, ldc, ep)
		return
	}
	tiles := (m + mk.mr - 1) / mk.mr
	workers = max(1, min(workers, tiles))
	if workers == 1 {
		gemmRows(ctx, mk, 0, m, n, k, a, b, c, ldc, ep)
		return
	}
	gemmSplit(ctx, mk, m, n, k, a, b, c, ldc, ep, false, workers, tiles)
}

// gemmJob is a product split over parts: column panels of C (each part a
// serial product of its own) or row micro-tiles of C (each part a band of
// gemmRows). It is a ranger kept on a freeList, so a split allocates
// nothing.
type gemmJob[T Float] struct {
	ctx     context.Context
	mk      microKernel[T]
	m, n, k int
	a, b    mat[T]
	c       []T
	ldc     int
	ep      epilogue[T]
	cols    bool
}

var (
	gemmJobs32 freeList[gemmJob[float32]]
	gemmJobs64 freeList[gemmJob[float64]]
)

// gemmJobs returns the freeList of gemmJob[T].
func gemmJobs[T Float]() *freeList[gemmJob[T]] {
	if l, ok := any(&gemmJobs32).(*freeList[gemmJob[T]]); ok {
		return l
	}
	return any(&gemmJobs64).(*freeList[gemmJob[T]])
}

// gemmSplit runs the product in parts over units column panels (cols) or
// row micro-tiles, on the worker pool.
func gemmSplit[T Float](ctx context.Context, mk microKernel[T], m, n, k int, a, b mat[T], c []T, ldc int, ep epilogue[T], cols bool, parts, units int) {
	l := gemmJobs[T]()
	j := l.get()
	*j = gemmJob[T]{ctx: ctx, mk: mk, m: m, n: n, k: k, a: a, b: b, c: c, ldc: ldc, ep: ep, cols: cols}
	parallelRunParts(parts, units, j)
	l.put(j)
}

func (j *gemmJob[T]) run(lo, hi int) {
	if j.cols {
		j0, j1 := lo*j.mk.nr, min(j.n, hi*j.mk.nr)
		gemmSerial(j.ctx, j.mk, j.m, j1-j0, j.k, j.a, j.b.cols(j0), j.c[j0:], j.ldc, j.ep.shift(j0), 1)
		return
	}
	i0, i1 := lo*j.mk.mr, min(j.m, hi*j.mk.mr)
	gemmRows(j.ctx, j.mk, i0, i1, j.n, j.k, j.a, j.b, j.c, j.ldc, j.ep)
}

// gemmRows computes rows i0..i1 of C on the calling goroutine, packing
// into buffers it borrows from gemmBufsFor for the call.
func gemmRows[T Float](ctx context.Context, mk microKernel[T], i0, i1, n, k int, a, b mat[T], c []T, ldc int, ep epilogue[T]) {
	kcMax := min(k, gemmKC)
	pool := gemmBufsFor[T]()
	bufs := pool.get()
	packB := grown(&bufs.packB, kcMax*roundUp(min(n, gemmNC), mk.nr))
	packA := grown(&bufs.packA, roundUp(min(i1-i0, gemmMC), mk.mr)*kcMax)
	tile := grown(&bufs.tile, mk.mr*mk.nr)
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			packPanelsB(b, pc, kc, jc, nc, mk.nr, packB)
			var bep epilogue[T]
			if pc+kc == k {
				bep = ep
			}
			for ic := i0; ic < i1; ic += gemmMC {
				gemmBlock(mk, a, ic, min(gemmMC, i1-ic), pc, kc, jc, nc, packA, tile, packB, c, ldc, pc == 0, bep)
			}
		}
	}
	pool.put(bufs)
}

// gemmBufs are the packing buffers of one gemmRows call: they outlive it
// on a gemmBufPool, so that a product allocates nothing once every buffer
// of the pool has grown to the largest blocks it has packed. They are
// bounded by the blocking (gemmKC·gemmNC elements for B, gemmMC·gemmKC
// for A).
type gemmBufs[T Float] struct {
	packA, packB, tile []T
}

// gemmBufPool is a stack of gemmBufs shared by every goroutine: unlike a
// freeList it keeps the buffers, and unlike the run's allocator it hands
// a buffer out whole whatever the size asked, where the arena keys the
// headers it reuses by shape. A goroutine owns what get returned until it
// puts it back. At most gemmBufsKept are kept; a burst of concurrent
// products beyond that drops the extra buffers to the collector.
type gemmBufPool[T Float] struct {
	mu   sync.Mutex
	free []*gemmBufs[T]
}

// gemmBufsKept bounds a gemmBufPool: a few concurrent Runs, each on a
// few threads.
const gemmBufsKept = 16

func (p *gemmBufPool[T]) get() *gemmBufs[T] {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b
	}
	return new(gemmBufs[T])
}

func (p *gemmBufPool[T]) put(b *gemmBufs[T]) {
	p.mu.Lock()
	if len(p.free) < gemmBufsKept {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

var (
	gemmBufs32 gemmBufPool[float32]
	gemmBufs64 gemmBufPool[float64]
)

// gemmBufsFor returns the gemmBufPool of T.
func gemmBufsFor[T Float]() *gemmBufPool[T] {
	if p, ok := any(&gemmBufs32).(*gemmBufPool[T]); ok {
		return p
	}
	return any(&gemmBufs64).(*gemmBufPool[T])
}

// grown returns the first n elements of *buf, first replacing it with a
// new slice of n when it is shorter. The contents are unspecified.
func grown[T Float](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// packPanelsB copies B[pc:pc+kc, jc:jc+nc] into column panels of width nr,
// each stored row by row, zero-padding the last panel.
func packPanelsB[T Float](b mat[T], pc, kc, jc, nc, nr int, dst []T) {
	o := 0
	for j := 0; j < nc; j += nr {
		w := min(nr, nc-j)
		if b.trans {
			// Column q of the panel is a contiguous run of the stored
			// transpose; read it in order.
			panel := dst[o : o+kc*nr]
			for q := 0; q < nr; q++ {
				if q >= w {
					for p := 0; p < kc; p++ {
						panel[p*nr+q] = 0
					}
					continue
				}
				src := b.data[(jc+j+q)*b.ld+pc:][:kc]
				for p, v := range src {
					panel[p*nr+q] = v
				}
			}
			o += kc * nr
			continue
		}
		for p := 0; p < kc; p++ {
			if w == nr {
				copy(dst[o:o+nr], b.data[(pc+p)*b.ld+jc+j:])
			} else {
				for q := 0; q < nr; q++ {
					if q < w {
						dst[o+q] = b.at(pc+p, jc+j+q)
					} else {
						dst[o+q] = 0
					}
				}
			}
			o += nr
		}
	}
}

// packPanelsA copies A[ic:ic+mc, pc:pc+kc] into row panels of height mr,
// each stored column by column, zero-padding the last panel. Each source
// row (or, for a transposed A, each stored row) is read in order: packing
// costs about as much as the micro-kernel when n is small.
func packPanelsA[T Float](a mat[T], ic, mc, pc, kc, mr int, dst []T) {
	if a.im != nil {
		a.im.pack(ic, mc, pc, kc, mr, dst)
		return
	}
	o := 0
	for i := 0; i < mc; i += mr {
		h := min(mr, mc-i)
		panel := dst[o : o+kc*mr]
		if a.trans {
			for p := 0; p < kc; p++ {
				src := a.data[(pc+p)*a.ld+ic+i:][:h]
				d := panel[p*mr : p*mr+mr]
				copy(d, src)
				clear(d[h:])
			}
		} else {
			for r := 0; r < mr; r++ {
				if r >= h {
					for p := 0; p < kc; p++ {
						panel[p*mr+r] = 0
					}
					continue
				}
				src := a.data[(ic+i+r)*a.ld+pc:][:kc]
				for p, v := range src {
					panel[p*mr+r] = v
				}
			}
		}
		o += kc * mr
	}
}

// gemmBlock computes C[ic:ic+mc, jc:jc+nc] (+)= A[ic:ic+mc, pc:pc+kc] ·
// packB, overwriting C when first is set. Edge tiles are computed in tile
// (mr×nr), whose rows and columns outside C may hold anything.
// ep, when it does anything, is applied to each tile once it is written.
func gemmBlock[T Float](mk microKernel[T], a mat[T], ic, mc, pc, kc, jc, nc int, packA, tile, packB []T, c []T, ldc int, first bool, ep epilogue[T]) {
	mr, nr := mk.mr, mk.nr
	packPanelsA(a, ic, mc, pc, kc, mr, packA)
	for j := 0; j < nc; j += nr {
		w := min(nr, nc-j)
		pb := packB[j/nr*kc*nr:]
		for i := 0; i < mc; i += mr {
			h := min(mr, mc-i)
			pa := packA[i/mr*kc*mr:]
			off := (ic+i)*ldc + jc + j
			if h == mr && w == nr {
				mk.run(kc, pa, pb, c[off:], ldc, first)
				if ep.active() {
					for r := 0; r < mr; r++ {
						ep.apply(c[off+r*ldc:off+r*ldc+nr], jc+j)
					}
				}
				continue
			}
			// Edge tile: compute into a scratch tile, then copy the valid part.
			if first {
				clear(tile)
			} else {
				for r := 0; r < h; r++ {
					copy(tile[r*nr:r*nr+w], c[off+r*ldc:])
				}
			}
			mk.run(kc, pa, pb, tile, nr, false)
			for r := 0; r < h; r++ {
				row := c[off+r*ldc : off+r*ldc+w]
				copy(row, tile[r*nr:])
				ep.apply(row, jc+j)
			}
		}
	}
}

// microKernelGo computes the 2×4 tile C (+)= Ã·B̃ from a
// packed A panel (kc columns of 2) and a packed B panel (kc rows of 4).
// Two rows by four columns keeps the eight accumulators, two A values and
// one B value in registers (amd64 has 15 usable X registers for Go); a
// larger tile spills to the stack and runs slower.
func microKernelGo[T Float](kc int, pa, pb []T, c []T, ldc int, first bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	pa = pa[:kc*2]
	pb = pb[:kc*4]
	for p := 0; p < kc; p++ {
		av := pa[p*2 : p*2+2 : p*2+2]
		bv := pb[p*4 : p*4+4 : p*4+4]
		a0, a1 := av[0], av[1]
		b := bv[0]
		c00 += a0 * b
		c10 += a1 * b
		b = bv[1]
		c01 += a0 * b
		c11 += a1 * b
		b = bv[2]
		c02 += a0 * b
		c12 += a1 * b
		b = bv[3]
		c03 += a0 * b
		c13 += a1 * b
	}
	r0 := c[0:4:4]
	r1 := c[ldc : ldc+4 : ldc+4]
	if first {
		r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
		r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
		return
	}
	r0[0] += c00
	r0[1] += c01
	r0[2] += c02
	r0[3] += c03
	r1[0] += c10
	r1[1] += c11
	r1[2] += c12
	r1[3] += c13
}

// gemmSkinny handles a few rows of A against row-major B without packing:
// each row of C accumulates rows of B scaled by A's elements, four at a
// time, which reads B once per row of A.
func gemmSkinny[T Float](m, n, k int, a, b mat[T], c []T, ldc int, ep epilogue[T]) {
	if !a.trans && k > 0 {
		if a32, ok := any(a.data).([]float32); ok {
			// float32 rows of A go through the vector loop.
			c32, b32 := any(c).([]float32), any(b.data).([]float32)
			for i := 0; i < m; i++ {
				row := c[i*ldc : i*ldc+n]
				sgemv32(a32[i*a.ld:i*a.ld+k], b32, b.ld, c32[i*ldc:i*ldc+n])
				ep.apply(row, 0)
			}
			return
		}
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		clear(row)
		p := 0
		for ; p+4 <= k; p += 4 {
			a0, a1, a2, a3 := a.at(i, p), a.at(i, p+1), a.at(i, p+2), a.at(i, p+3)
			b0 := b.data[p*b.ld : p*b.ld+n]
			b1 := b.data[(p+1)*b.ld : (p+1)*b.ld+n]
			b2 := b.data[(p+2)*b.ld : (p+2)*b.ld+n]
			b3 := b.data[(p+3)*b.ld : (p+3)*b.ld+n]
			for j := range row {
				row[j] += a0*b0[j] + a1*b1[j] + a2*b2[j] + a3*b3[j]
			}
		}
		for ; p < k; p++ {
			ap := a.at(i, p)
			bp := b.data[p*b.ld : p*b.ld+n]
			for j := range row {
				row[j] += ap * bp[j]
			}
		}
		ep.apply(row, 0)
	}
}

// fmaInto32Go is the portable dst[i] += a[i]*b[i].
func fmaInto32Go(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}

// fmaInto sets dst[i] += a[i]*b[i], using the vector loop for float32.
func fmaInto[T Float](dst, a, b []T) {
	if d, ok := any(dst).([]float32); ok {
		fmaInto32(d, any(a).([]float32), any(b).([]float32))
		return
	}
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}

// sgemv32Go is the portable sgemv32: c[j] = Σ_p a[p]·b[p·ldb+j], summed
// in order of p.
func sgemv32Go(a, b []float32, ldb int, c []float32) {
	clear(c)
	for p, av := range a {
		row := b[p*ldb : p*ldb+len(c)]
		for j, bv := range row {
			c[j] += av * bv
		}
	}
}
