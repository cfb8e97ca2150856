package kernels

import (
	"context"
	"math"
	"sync"

	"inferd/internal/tensor"
)

// convPool is the max pool a fused convolution applies to its finished
// output: windows of kh×kw taken kh and kw apart (so that they do not
// overlap), VALID, so that a pooled row needs its own kh rows of the
// convolution and no others.
type convPool struct {
	kh, kw int
}

// FusablePool reports whether n, the only reader of a Conv2D's output,
// can be folded into it: a float MaxPool over NHWC whose strides equal
// its window, with VALID padding.
func FusablePool(n Node) bool {
	_, err := parseConvPool(n)
	return err == nil
}

// parseConvPool reads the MaxPool node n into a convPool, refusing what
// the fused kernel does not do.
func parseConvPool(n Node) (*convPool, error) {
	if n.Op != "MaxPool" {
		return nil, n.Errorf(ErrUnsupported, "cannot fuse pool op %s", n.Op)
	}
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	sp, err := parseSpatial(n, false)
	if err != nil {
		return nil, err
	}
	kh, kw, err := parseWindow(n, "ksize", attrInts(n, "ksize", nil))
	if err != nil {
		return nil, err
	}
	if sp.padding != "VALID" || sp.strideH != kh || sp.strideW != kw || kh*kw > 64 {
		return nil, n.Errorf(ErrUnsupported, "fused pool needs VALID padding and strides equal to a window of at most 64 taps")
	}
	return &convPool{kh: kh, kw: kw}, nil
}

// geometry returns the pool's window over a conv output of outH×outW:
// VALID with strides equal to the window, so outH/kh × outW/kw.
func (p convPool) geometry(outH, outW int) (spatial, geometry) {
	sp := spatial{strideH: p.kh, strideW: p.kw, dilH: 1, dilW: 1, padding: "VALID"}
	return sp, geometry{inH: outH, inW: outW, kH: p.kh, kW: p.kw, outH: outH / p.kh, outW: outW / p.kw}
}

// directBandFloats bounds the band of convolution rows that
// convDirectPool computes before pooling them, so that it stays in the
// level-2 cache.
const directBandFloats = 1 << 14

// directPoolApplies reports whether convDirectPool computes this fused
// convolution and pool: the convolution is one convDirect computes, and
// one band of kh rows fits directBandFloats and holds a full tile, or the
// kernel set k computes tiles a row at a time (directRowsBetter).
func directPoolApplies(k directKernels, groups int, sp spatial, g geometry, o int, p convPool) bool {
	if groups != 1 || sp.strideH != 1 || sp.strideW != 1 || g.outH < p.kh || g.outW < p.kw || p.kh < 1 || p.kw < 1 {
		return false
	}
	wp := g.outW + (g.kW-1)*sp.dilW
	if p.kh*g.outW*o > directBandFloats {
		return false
	}
	return (p.kh-1)*wp+g.outW >= directMR || k.rowTiles() && o%32 == 0
}

// convDirectPool is convDirect followed by the max pool p, without the
// full convolution output ever being stored: each band of conv rows that
// a few pooled rows need is computed into a buffer (as convDirect does,
// over the band alone) and pooled from there into out, which holds
// batch × outH/kh × outW/kw × o. Conv rows and columns that no window
// covers are not kept, and, when a band is computed a row at a time
// (directRowsBetter), not computed either.
func convDirectPool(ctx context.Context, k directKernels, x []float32, batch, c int, pf convPanels, sp spatial, g geometry, p convPool, out []float32, ep epilogue[float32]) {
	o := pf.o
	hp := g.outH + (g.kH-1)*sp.dilH
	wp := g.outW + (g.kW-1)*sp.dilW
	img := hp * wp * c
	xp := x
	if g.padTop != 0 || g.padLeft != 0 || hp != g.inH || wp != g.inW {
		xp = scratch[float32](ctx, batch*img)
		padImage(x, batch, c, g, hp, wp, xp)
	}
	j := directPoolJob{conv: directJob{k: k, c: c, wp: wp, outW: g.outW, pf: pf, ep: ep}, xp: xp, img: img, pool: p}
	j.conv.nseg, j.conv.kseg = g.kH, g.kW*c
	if sp.dilW != 1 {
		j.conv.nseg, j.conv.kseg = g.kH*g.kW, c
	}
	offs := j.conv.offsBuf[:0]
	if j.conv.nseg > len(j.conv.offsBuf) {
		j.conv.offsBig = make([]int, 0, j.conv.nseg)
		offs = j.conv.offsBig
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
	j.conv.setFlags()
	j.ph, j.pw = g.outH/p.kh, g.outW/p.kw
	j.out = out
	// As many pooled rows a band as fit the buffer, but, when the work
	// is to be shared, few enough for every thread to get two bands, for
	// some rows computed twice at the bands' ends.
	j.nb = max(1, directBandFloats/(p.kh*g.outW*o))
	work := 2 * batch * j.ph * p.kh * g.outW * pf.k * o
	if threads := Threads(ctx); threads > 1 && work >= directParallelFlops {
		j.nb = max(1, min(j.nb, batch*j.ph/(2*threads)))
	}
	j.bands = (j.ph + j.nb - 1) / j.nb
	// Whether a band is computed a row at a time depends only on its
	// rows: all have nb but the last.
	for i, rows := range [2]int{j.nb, j.ph - (j.bands-1)*j.nb} {
		count := (rows*p.kh-1)*wp + g.outW
		j.rowBands[i] = directRowsBetter(k, o, pf.k, wp, g.outW, j.pw*p.kw, rows*p.kh, count)
	}
	for iy := 0; iy < p.kh; iy++ {
		for ix := 0; ix < p.kw; ix++ {
			j.tapsBuf[j.ntaps] = (iy*g.outW + ix) * o
			j.ntaps++
		}
	}
	n := batch * j.bands
	if work < directParallelFlops || serial(ctx, n, work) {
		j.run(0, n)
		return
	}
	jp := poolJobs.get()
	*jp = j
	parallelTiles(ctx, n, jp)
	poolJobs.put(jp)
}

// directPoolJob is one fused convolution and pool, shared read-only by
// the goroutines that each compute a range of its bands.
type directPoolJob struct {
	conv   directJob // the convolution, but for x, count, tiles, mr and out
	xp     []float32 // the (padded) images
	img    int       // elements per (padded) image
	pool   convPool
	ph, pw int // pooled rows and columns
	nb     int // pooled rows a band
	// rowBands says whether the bands but the last, and the last, are
	// computed a row at a time (directRowsBetter).
	rowBands [2]bool
	bands    int     // bands an image
	tapsBuf  [64]int // the window's offsets in the band
	ntaps    int
	out      []float32
}

// poolJobs keeps the directPoolJobs of parallel calls, as directJobs does.
var poolJobs freeList[directPoolJob]

// bandBufs keeps the band buffers of convDirectPool: a band is handed to
// the epilogue's activation, so it cannot live on the stack, and a
// buffer is taken per range rather than allocated per call.
var bandBufs = sync.Pool{New: func() any { return new([directBandFloats]float32) }}

// run computes bands lo..hi-1, counted over the batch.
func (j *directPoolJob) run(lo, hi int) {
	bp := bandBufs.Get().(*[directBandFloats]float32)
	defer bandBufs.Put(bp)
	band := bp[:]
	o, outW, kh := j.conv.pf.o, j.conv.outW, j.pool.kh
	taps := j.tapsBuf[:j.ntaps]
	for t := lo; t < hi; t++ {
		b, bi := t/j.bands, t%j.bands
		py0 := bi * j.nb
		rows := min(j.nb, j.ph-py0) // pooled rows of this band
		cj := j.conv
		cj.x = j.xp[b*j.img+py0*kh*cj.wp*cj.c:]
		cj.count = (rows*kh-1)*cj.wp + outW
		cj.mr = directMR
		if o <= 16 && cj.count >= directMR16 {
			cj.mr = directMR16
		}
		cj.tiles = (cj.count + cj.mr - 1) / cj.mr
		last := 0
		if bi == j.bands-1 {
			last = 1
		}
		if j.rowBands[last] {
			cj.rows, cj.useW, cj.tiles = true, j.pw*j.pool.kw, rows*kh
		}
		cj.out, cj.outImg = band[:rows*kh*outW*o], 0
		cj.rangeConv(0, cj.tiles)
		for py := 0; py < rows; py++ {
			dst := j.out[((b*j.ph+py0+py)*j.pw)*o:]
			maxPool32(dst, band[py*kh*outW*o:], o, j.pw, o, j.pool.kw*o, taps)
		}
	}
}

// poolConvOutput is the fused pool's fallback: conv, the finished
// convolution output, pooled into out as the MaxPool kernel does.
func poolConvOutput[T Float](ctx context.Context, conv []T, batch, o int, g geometry, p convPool, out []T) {
	sp, pg := p.geometry(g.outH, g.outW)
	if c32, ok := any(conv).([]float32); ok {
		maxPoolF32(ctx, c32, batch, o, sp, pg, any(out).([]float32))
		return
	}
	pool(ctx, poolMax, conv, batch, o, sp, pg, out, T(math.Inf(-1)))
}

// convPooled computes the convolution of x with f (geometry g), finished
// with the epilogue of x's dtype, and then the max pool p: through
// convDirectPool where it applies, else into a temporary output that is
// then pooled. usePre says whether the filter laid out in pre is f's.
func convPooled(ctx context.Context, n Node, x, f *tensor.Tensor, sp spatial, g geometry, ep32 epilogue[float32], ep64 epilogue[float64], pre *convPanels, usePre bool, p convPool) ([]*tensor.Tensor, error) {
	xs, fs := x.Shape(), f.Shape()
	batch, c, fc, o := xs[0], xs[3], fs[2], fs[3]
	_, pg := p.geometry(g.outH, g.outW)
	out := Alloc(ctx, x.DType(), tensor.Shape{batch, pg.outH, pg.outW, o})
	if batch == 0 || pg.outH == 0 || pg.outW == 0 || o == 0 {
		return Result(ctx, out), nil
	}
	kdim := g.kH * g.kW * fc
	if dk, ok := directKernelsFor(); ok && x.DType() == tensor.Float32 && directPoolApplies(dk, c/fc, sp, g, o, p) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !usePre || pre == nil || pre.k != kdim || pre.o != o {
			pf := packDirectPanels(Slice[float32](f), kdim, o, scratch[float32](ctx, directPanelsLen(kdim, o)))
			pre = &pf
		}
		convDirectPool(ctx, dk, Slice[float32](x), batch, c, *pre, sp, g, p, Slice[float32](out), ep32)
		return Result(ctx, out), nil
	}
	var err error
	if x.DType() == tensor.Float32 {
		if !usePre {
			pre = nil
		}
		full := scratch[float32](ctx, batch*g.outH*g.outW*o)
		if err = conv2D(ctx, Slice[float32](x), batch, c, Slice[float32](f), fc, o, sp, g, full, ep32, pre); err == nil {
			poolConvOutput(ctx, full, batch, o, g, p, Slice[float32](out))
		}
	} else {
		full := scratch[float64](ctx, batch*g.outH*g.outW*o)
		if err = conv2D(ctx, Slice[float64](x), batch, c, Slice[float64](f), fc, o, sp, g, full, ep64, nil); err == nil {
			poolConvOutput(ctx, full, batch, o, g, p, Slice[float64](out))
		}
	}
	if err != nil {
		return nil, err
	}
	return Result(ctx, out), nil
}
