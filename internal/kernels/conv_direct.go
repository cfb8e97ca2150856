package kernels

import "context"

// directMR is the number of output pixels in a direct micro-kernel's
// tile, except that a convolution with at most 16 output channels takes
// tiles of directMR16.
const (
	directMR   = 12
	directMR16 = 24
)

// The flags of a direct micro-kernel's epilogue.
const (
	directBias = 1 << iota // add bias[j] to column j
	directRelu             // then max(x, 0)
)

// directKernels selects the direct-convolution micro-kernels: the
// assembly ones for AVX-512 or for AVX2 and FMA, or their pure-Go
// reference (isa directGo). Each, of mr rows (12,
// or 24 with nr 16) and width nr (16 or 32), sets the mr×nr tile C (rows
// ldc apart) to the sum, over nseg segments of kseg steps, of
// A[i, s, p]·B[q, j], where A[i, s, p] is a[offs[s]+i·lda+p], q counts
// the steps through all segments in order and B[q, j] is b[q·ldb+j];
// then adds bias[j] (flags&directBias) and clamps at 0
// (flags&directRelu). Every set also computes tiles of any height from 1
// to directMR by 32 (runRow), for convolutions computed a row at a time.
// The calls are static, so that the slices handed to them stay on the
// caller's stack.
type directKernels struct {
	isa directISA
	// flat has every tile run across the padded width, never a row at a
	// time (rowTiles false), for tests and benchmarks to compare the two.
	flat bool
}

// directISA names a set of direct micro-kernels by the instructions they
// use.
type directISA int

// The sets of direct micro-kernels.
const (
	directGo     directISA = iota // pure Go
	directAVX2                    // AVX2 and FMA: blocks of 6×16 in YMM registers
	directAVX512                  // AVX-512F: whole tiles in ZMM registers
)

// String names the set, as tests and benchmarks report it.
func (k directKernels) String() string {
	switch k.isa {
	case directAVX2:
		return "avx2"
	case directAVX512:
		return "avx512"
	}
	return "go"
}

// run computes one tile.
func (k directKernels) run(mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	k.runN(directRun{n: 1}, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
}

// directRun is a run of t.n tiles computed by one call, each with A and C
// moved on from the one before by strideA and strideC elements.
type directRun struct {
	n, strideA, strideC int
}

// runN computes the run of tiles t.
func (k directKernels) runN(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	switch k.isa {
	case directAVX512:
		directAsm(t, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	case directAVX2:
		directAsmAVX2(t, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	}
	for i := 0; i < t.n; i++ {
		directTileGo(mr, nr, nseg, kseg, a[i*t.strideA:], lda, offs, b, ldb, c[i*t.strideC:], ldc, bias, flags)
	}
}

// rowTiles reports whether the set computes tiles a row at a time
// (runRow), as every set can unless flat.
func (k directKernels) rowTiles() bool { return !k.flat }

// runRow computes one tile of mr rows (1 to directMR) by 32 columns; the
// set must have rowTiles.
func (k directKernels) runRow(mr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	switch k.isa {
	case directAVX512:
		directRowsAsm(mr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	case directAVX2:
		directRowsAsmAVX2(mr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	}
	directTileGo(mr, 32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
}

// The costs, in steps of one row of a 32-column tile (a broadcast and two
// FMAs, some one cycle), that directRowsBetter weighs besides the steps
// themselves: a micro-kernel call with its epilogue and stores (less for
// a row's tiles with AVX-512, which runRowParts checks once and calls
// straight; it does so with AVX2 as well, whose calls per tile, one or
// two each 16 columns, measured no cheaper), and a tile computed aside
// and copied row by row because it crosses the end of an output row. They were fitted to the pooled and
// plain layers of BenchmarkConvDirectPoolThreadCPU and
// BenchmarkConvDirectThreadCPU.
const (
	directCallCost    = 80
	directCallCost512 = 20
	directAsideCost   = 300
)

// runRowParts computes rows rows of A by 32 columns in parts tiles of
// runRow, split evenly, each moved on from the one before by its rows in
// A (lda apart) and C (ldc apart).
func (k directKernels) runRowParts(rows, parts, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	switch k.isa {
	case directAVX512:
		directRowPartsAsm(rows, parts, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	case directAVX2:
		directRowPartsAsmAVX2(rows, parts, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
		return
	}
	x0 := 0
	for part := 1; part <= parts; part++ {
		mr := rows*part/parts - x0
		k.runRow(mr, nseg, kseg, a[x0*lda:], lda, offs, b, ldb, c[x0*ldc:], ldc, bias, flags)
		x0 += mr
	}
}

// directRowsBetter reports whether the kernel set k computes the wanted
// useH×useW pixels of an o-channel convolution with kdim steps a tile,
// whose output rows are outW pixels over wp padded columns and whose
// flat run of pixels is count long, faster a row at a time (each wanted
// part of an output row split evenly into tiles of at most directMR
// rows, so that no padded column is computed, one call a tile) than in
// tiles of directMR straight across the rows (runs of tiles inside a row
// in one call, the tiles that cross a row's end computed aside): it
// must, when the run holds no full tile. The estimate counts the steps
// each way computes (for AVX2, whole blocks of 6 rows), a step a tile
// for loading B, and the calls and copies; the flat way's over at most
// 256 tiles, scaled to all.
func directRowsBetter(k directKernels, o, kdim, wp, outW, useW, useH, count int) bool {
	if !k.rowTiles() || o%32 != 0 || useW < 1 || useH < 1 {
		return false
	}
	if count < directMR {
		return true
	}
	parts := (useW + directMR - 1) / directMR
	// The AVX2 kernels compute blocks of 6 rows, one of fewer rows at
	// nearly the cost of a full one: count each tile's rows rounded up.
	rowsPerRow := useW
	if k.isa == directAVX2 {
		rowsPerRow = 0
		for part, x0 := 1, 0; part <= parts; part++ {
			mr := useW*part/parts - x0
			rowsPerRow += (mr + 5) / 6 * 6
			x0 += mr
		}
	}
	call := directCallCost
	if k.isa == directAVX512 {
		call = directCallCost512
	}
	rowsCost := useH * (parts*(call+kdim) + rowsPerRow*kdim)
	tiles := (count + directMR - 1) / directMR
	n := min(tiles, 256)
	flat, inRun := 0, false
	for t := 0; t < n; t++ {
		flat += (directMR + 1) * kdim
		p := t * directMR
		if p+directMR <= count && p%wp+directMR <= outW {
			if !inRun {
				flat += directCallCost
			}
			inRun = true
			continue
		}
		flat += directCallCost + directAsideCost
		inRun = false
	}
	return float64(rowsCost) < float64(flat)*float64(tiles)/float64(n)
}

// directKernelsGo are the pure-Go micro-kernels, the reference for the
// assembly ones.
var directKernelsGo = directKernels{}

// checkDirectTile panics, as an index out of range does, unless every
// element the mr×nr micro-kernel reads or writes, over the run of tiles
// t, lies in its slices.
func checkDirectTile(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	if nseg < 1 || kseg < 1 || t.n < 1 || t.strideA < 0 || t.strideC < 0 {
		panic("kernels: direct micro-kernel without steps")
	}
	a, c = a[(t.n-1)*t.strideA:], c[(t.n-1)*t.strideC:]
	hi := 0
	for _, o := range offs[:nseg] {
		if o < 0 {
			panic("kernels: negative direct segment offset")
		}
		hi = max(hi, o)
	}
	if mr*nr > directMR*32 {
		panic("kernels: direct micro-kernel tile too large")
	}
	_ = a[hi+(mr-1)*lda+kseg-1]
	_ = b[(nseg*kseg-1)*ldb+nr-1]
	_ = c[(mr-1)*ldc+nr-1]
	if flags&directBias != 0 {
		_ = bias[nr-1]
	}
}

// directTileGo is the portable mr×nr direct micro-kernel:
//
//	for i < mr, j < nr: C[i, j] = Σ_s Σ_p a[offs[s]+i·lda+p] · b[(s·kseg+p)·ldb+j]
//
// followed by the bias and Relu of flags.
func directTileGo(mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(directRun{n: 1}, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	var buf [directMR * 32]float32
	acc := buf[:mr*nr]
	q := 0
	for s := 0; s < nseg; s++ {
		for p := 0; p < kseg; p++ {
			brow := b[q*ldb : q*ldb+nr]
			for i := 0; i < mr; i++ {
				av := a[offs[s]+i*lda+p]
				row := acc[i*nr : i*nr+nr]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
			q++
		}
	}
	for i := 0; i < mr; i++ {
		row := acc[i*nr : i*nr+nr]
		if flags&directBias != 0 {
			for j := range row {
				row[j] += bias[j]
			}
		}
		if flags&directRelu != 0 {
			for j, v := range row {
				row[j] = max(v, 0)
			}
		}
		copy(c[i*ldc:i*ldc+nr], row)
	}
}

// convPanels is a float32 HWIO filter, a k×o matrix (k = kH·kW·C), laid
// out for the direct micro-kernels: column panels of 32 (the last one 16
// when at most 16 columns remain), each k rows of its width stored in
// order, zero-padded on the right.
type convPanels struct {
	k, o int
	data []float32
}

// directPanel returns the first column and the width of panel p of an
// o-column filter; panel p starts at element col·k of the packed data.
func directPanel(p, o int) (col, nr int) {
	col = 32 * p
	if o-col <= 16 {
		return col, 16
	}
	return col, 32
}

// directPanelsLen is the packed size of a k×o filter.
func directPanelsLen(k, o int) int {
	np := (o + 31) / 32
	_, last := directPanel(np-1, o)
	return k * (32*(np-1) + last)
}

// packDirectPanels lays the k×o row-major filter f out into dst, which
// holds directPanelsLen(k, o) elements.
func packDirectPanels(f []float32, k, o int, dst []float32) convPanels {
	f = f[:k*o]
	for col := 0; col < o; col += 32 {
		col, nr := directPanel(col/32, o)
		w := min(nr, o-col)
		panel := dst[col*k : col*k+k*nr]
		for q := 0; q < k; q++ {
			row := panel[q*nr : q*nr+nr]
			copy(row, f[q*o+col:q*o+col+w])
			clear(row[w:])
		}
	}
	return convPanels{k: k, o: o, data: dst[:directPanelsLen(k, o)]}
}

// directApplies reports whether convDirect computes a convolution of this
// shape: one group, stride 1, and at least one full tile of output pixels
// per image.
func directApplies(groups int, sp spatial, g geometry) bool {
	if groups != 1 || sp.strideH != 1 || sp.strideW != 1 || g.outH == 0 || g.outW == 0 {
		return false
	}
	wp := g.outW + (g.kW-1)*sp.dilW
	return (g.outH-1)*wp+g.outW >= directMR
}

// convDirect computes a stride-1 convolution (one group; directApplies)
// of the NHWC float32 input x (batch images of c channels) with the
// filter packed in pf, finishing each output with ep, without lowering
// the input: row i of a tile's A is the image itself, read from the
// output pixel's top-left tap on.
//
// Over an image padded to wp = outW+(kW-1)·dilW columns, output pixel
// (y, x) reads taps at (y+ky·dilH)·wp + x+kx·dilW, so the output pixels
// numbered flat as y·wp+x are evenly spaced rows of one matrix, a
// micro-tile of directMR of them runs straight across output rows, and
// the pixels with x ≥ outW that such a tile also computes are dropped.
// Where that waste costs more than smaller tiles do (directRowsBetter:
// small images, depths of multiples of 32), each output row's outW pixels
// are instead split evenly into tiles of at most directMR, which compute
// no padded column. The kernel columns of one kernel row and the channels are contiguous
// (when dilW is 1), so each kernel row is one segment of kW·c steps.
// Padding, when there is any, is materialised in a zeroed copy of x.
func convDirect(ctx context.Context, k directKernels, x []float32, batch, c int, pf convPanels, sp spatial, g geometry, out []float32, ep epilogue[float32]) {
	o := pf.o
	hp := g.outH + (g.kH-1)*sp.dilH
	wp := g.outW + (g.kW-1)*sp.dilW
	img := hp * wp * c
	xp := x
	if g.padTop != 0 || g.padLeft != 0 || hp != g.inH || wp != g.inW {
		xp = scratch[float32](ctx, batch*img)
		padImage(x, batch, c, g, hp, wp, xp)
	}
	j := directJob{k: k, x: xp, c: c, img: img, wp: wp, outW: g.outW, pf: pf, out: out, outImg: g.outH * g.outW * o, ep: ep}
	j.nseg, j.kseg = g.kH, g.kW*c
	if sp.dilW != 1 {
		j.nseg, j.kseg = g.kH*g.kW, c
	}
	offs := j.offsBuf[:0]
	if j.nseg > len(j.offsBuf) {
		j.offsBig = make([]int, 0, j.nseg)
		offs = j.offsBig
	}
	for ky := 0; ky < g.kH; ky++ {
		if sp.dilW == 1 {
			offs = append(offs, ky*sp.dilH*wp*c)
			continue
		}
		for kx := 0; kx < g.kW; kx++ {
			offs = append(offs, (ky*sp.dilH*wp+kx*sp.dilW)*c)
		}
	}
	j.count = (g.outH-1)*wp + g.outW
	j.mr = directMR
	if o <= 16 && j.count >= directMR16 {
		j.mr = directMR16
	}
	j.tiles = (j.count + j.mr - 1) / j.mr
	if directRowsBetter(k, o, pf.k, wp, g.outW, g.outW, g.outH, j.count) {
		j.rows, j.useW, j.tiles = true, g.outW, g.outH
	}
	j.setFlags()
	n, work := batch*j.tiles, 2*batch*g.outH*g.outW*pf.k*o
	if work < directParallelFlops || serial(ctx, n, work) {
		j.rangeConv(0, n)
		return
	}
	jp := directJobs.get()
	*jp = j
	parallelTiles(ctx, n, (*convTiles)(jp))
	directJobs.put(jp)
}

// directParallelFlops is the work below which a direct convolution or
// product stays on the caller's goroutine: at the micro-kernels' rate
// (some 250 GFLOP/s a core with AVX-512, 120 with AVX2) it is done in
// about the time it takes to wake another thread.
const directParallelFlops = 1 << 22

// directJobs keeps the directJobs of parallel calls, which the worker
// pool holds while they run, so that such a call allocates nothing.
var directJobs freeList[directJob]

// convTiles is a directJob's convolution tiles as a ranger.
type convTiles directJob

func (j *convTiles) run(lo, hi int) { (*directJob)(j).rangeConv(lo, hi) }

// parallelTiles runs r over [0, n) in several ranges per thread, so that
// when a thread starts late (the cores are shared) the others take over
// its share instead of waiting for it. Callers check serial first.
func parallelTiles(ctx context.Context, n int, r ranger) {
	parallelRunParts(min(n, 4*Threads(ctx)), n, r)
}

// directJob is one convolution or product through the direct
// micro-kernels, shared read-only by the goroutines that each compute a
// range of its tiles.
type directJob struct {
	k          directKernels
	mr         int       // rows of a tile
	x          []float32 // the (padded) images, or A
	c          int       // channels, the stride between rows of A
	img        int       // elements per (padded) image
	wp, outW   int       // padded and output width (convolution)
	count      int       // rows of A per image
	tiles      int       // tiles per image
	nseg, kseg int
	offsBuf    [16]int
	offsBig    []int // the offsets when more than offsBuf holds
	pf         convPanels
	out        []float32
	outImg     int // output elements per image
	ep         epilogue[float32]
	flags      int
	asmEp      bool // the micro-kernel applies ep itself
	// rows says that the tiles are output rows, each computed over its
	// first useW pixels by runRow (directRowsBetter), rather than runs
	// of mr pixels across the padded width.
	rows bool
	useW int
}

func (j *directJob) offs() []int {
	if j.offsBig != nil {
		return j.offsBig[:j.nseg]
	}
	return j.offsBuf[:j.nseg]
}

// setFlags has the micro-kernel apply ep when it can: a bias and at most
// a Relu.
func (j *directJob) setFlags() {
	j.asmEp = j.ep.act == nil && !j.ep.cap6
	if !j.asmEp {
		return
	}
	if j.ep.bias != nil {
		j.flags |= directBias
	}
	if j.ep.relu {
		j.flags |= directRelu
	}
}

// rangeConv computes tiles lo..hi-1 (counted over all images) of the
// convolution.
func (j *directJob) rangeConv(lo, hi int) {
	if j.rows {
		j.rangeRows(lo, hi)
		return
	}
	var tile [directMR * 32]float32
	mr := j.mr
	o, outW, wp := j.pf.o, j.outW, j.wp
	offs := j.offs()
	npanels := (o + 31) / 32
	for t := lo; t < hi; {
		b, tt := t/j.tiles, t%j.tiles
		p := tt * mr
		// The last tile ends at the last pixel, so it overlaps the one
		// before; it writes only the rows that one did not.
		skip := 0
		if p+mr > j.count {
			skip = p - (j.count - mr)
			p = j.count - mr
		}
		a := j.x[b*j.img+p*j.c:]
		oy, ox := p/wp, p%wp
		dst := j.out[b*j.outImg:]
		// Tiles wholly inside one output row go straight to the output,
		// as many in one call as follow each other along the row.
		direct := skip == 0 && ox+mr <= outW
		run := 1
		if direct {
			run = min(hi-t, (outW-ox)/mr, (j.count-p)/mr)
		}
		for pi := 0; pi < npanels; pi++ {
			col, nr := directPanel(pi, o)
			pb := j.pf.data[col*j.pf.k:]
			if direct && col+nr <= o {
				cd := dst[(oy*outW+ox)*o+col:]
				var bias []float32
				if j.flags&directBias != 0 {
					bias = j.ep.bias[col:]
				}
				j.k.runN(directRun{n: run, strideA: mr * j.c, strideC: mr * o}, mr, nr, j.nseg, j.kseg, a, j.c, offs, pb, nr, cd, o, bias, j.flags)
				if !j.asmEp {
					for i := 0; i < run*mr; i++ {
						j.ep.apply(cd[i*o:i*o+nr], col)
					}
				}
				continue
			}
			// A tile that crosses a row end, the last one, or a panel
			// past the last channel is computed aside and its wanted rows
			// copied; a full-width panel is still finished by the
			// micro-kernel.
			full := col+nr <= o && j.asmEp
			var bias []float32
			flags := 0
			if full {
				flags = j.flags
				if flags&directBias != 0 {
					bias = j.ep.bias[col:]
				}
			}
			w := min(nr, o-col)
			for q := 0; q < run; q++ {
				pq := p + q*mr
				j.k.run(mr, nr, j.nseg, j.kseg, a[q*mr*j.c:], j.c, offs, pb, nr, tile[:], nr, bias, flags)
				for i := skip; i < mr; i++ {
					y, xx := (pq+i)/wp, (pq+i)%wp
					if xx >= outW {
						continue
					}
					row := dst[(y*outW+xx)*o+col:][:w]
					copy(row, tile[i*nr:])
					if !full {
						j.ep.apply(row, col)
					}
				}
			}
		}
		t += run
	}
}

// rangeRows computes output rows lo..hi-1 (counted over all images, tiles
// of them an image) of a convolution with j.rows: the first useW pixels
// of each, split evenly into tiles of at most directMR, straight into the
// output.
func (j *directJob) rangeRows(lo, hi int) {
	o, outW, wp := j.pf.o, j.outW, j.wp
	offs := j.offs()
	parts := (j.useW + directMR - 1) / directMR
	for t := lo; t < hi; t++ {
		b, y := t/j.tiles, t%j.tiles
		a := j.x[b*j.img+y*wp*j.c:]
		dst := j.out[b*j.outImg+y*outW*o:]
		for col := 0; col < o; col += 32 {
			pb := j.pf.data[col*j.pf.k:]
			var bias []float32
			if j.flags&directBias != 0 {
				bias = j.ep.bias[col:]
			}
			cd := dst[col:]
			j.k.runRowParts(j.useW, parts, j.nseg, j.kseg, a, j.c, offs, pb, 32, cd, o, bias, j.flags)
			if !j.asmEp {
				for i := 0; i < j.useW; i++ {
					j.ep.apply(cd[i*o:i*o+32], col)
				}
			}
		}
	}
}

// padImage copies the batch NHWC images x (of g.inH×g.inW×c) into the
// zeroed hp×wp×c images of dst, shifted down by g.padTop rows and right by
// g.padLeft columns.
func padImage(x []float32, batch, c int, g geometry, hp, wp int, dst []float32) {
	clear(dst[:batch*hp*wp*c])
	for b := 0; b < batch; b++ {
		for iy := 0; iy < g.inH; iy++ {
			y := iy + g.padTop
			if y < 0 || y >= hp {
				continue
			}
			x0 := max(0, -g.padLeft)
			x1 := min(g.inW, wp-g.padLeft)
			if x1 <= x0 {
				continue
			}
			src := x[((b*g.inH+iy)*g.inW+x0)*c : ((b*g.inH+iy)*g.inW+x1)*c]
			copy(dst[((b*hp+y)*wp+x0+g.padLeft)*c:], src)
		}
	}
}
