package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("MaxPool", buildPool(poolMax, false))
	Register("MaxPoolV2", buildPool(poolMax, true))
	Register("AvgPool", buildPool(poolAvg, false))
}

type poolKind int

const (
	poolMax poolKind = iota
	poolAvg
)

// parseWindow checks a ksize or strides list of the form [1, h, w, 1].
func parseWindow(n Node, name string, v []int64) (int, int, error) {
	if len(v) != 4 || v[0] != 1 || v[3] != 1 || v[1] < 1 || v[2] < 1 {
		return 0, 0, n.Errorf(ErrUnsupported, "%s %v (want [1, h, w, 1] with h, w >= 1)", name, v)
	}
	return int(v[1]), int(v[2]), nil
}

// buildPool makes MaxPool, MaxPoolV2 (whose ksize and strides are inputs
// 1 and 2 rather than attributes) and AvgPool. Padded positions never take
// part: MaxPool ignores them and AvgPool divides by the number of input
// elements its window covers, as TensorFlow does.
func buildPool(kind poolKind, v2 bool) Builder {
	return func(n Node) (Kernel, error) {
		allowed := numericTypes
		if kind == poolAvg {
			allowed = floatTypes
		}
		if err := checkTypeAttr(n, "T", allowed...); err != nil {
			return nil, err
		}
		sp, err := parseSpatial(n, false)
		if err != nil {
			return nil, err
		}
		if kind == poolAvg && sp.padding == "EXPLICIT" {
			return nil, n.Errorf(ErrUnsupported, "padding EXPLICIT")
		}
		var kh, kw int
		if !v2 {
			if kh, kw, err = parseWindow(n, "ksize", attrInts(n, "ksize", nil)); err != nil {
				return nil, err
			}
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			want := 1
			if v2 {
				want = 3
			}
			if err := checkInputs(n, in, want); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "input", x, allowed...); err != nil {
				return nil, err
			}
			sp, kh, kw := sp, kh, kw
			if v2 {
				ks, ok1 := IntValues(in[1])
				st, ok2 := IntValues(in[2])
				if !ok1 || !ok2 {
					return nil, n.Errorf(ErrInvalidArgument, "ksize and strides must be int32 vectors")
				}
				var err error
				if kh, kw, err = parseWindow(n, "ksize", ks); err != nil {
					return nil, err
				}
				if sp.strideH, sp.strideW, err = parseWindow(n, "strides", st); err != nil {
					return nil, err
				}
			}
			if x.Rank() != 4 {
				return nil, n.Errorf(ErrInvalidArgument, "input %v must have rank 4", x.Shape())
			}
			xs := x.Shape()
			g, err := sp.geometry(xs[1], xs[2], kh, kw)
			if err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "%v", err)
			}
			out := Alloc(ctx, x.DType(), tensor.Shape{xs[0], g.outH, g.outW, xs[3]})
			switch x.DType() {
			case tensor.Float32:
				if kind == poolMax {
					maxPoolF32(ctx, Slice[float32](x), xs[0], xs[3], sp, g, Slice[float32](out))
					break
				}
				pool(ctx, kind, Slice[float32](x), xs[0], xs[3], sp, g, Slice[float32](out), float32(math.Inf(-1)))
			case tensor.Float64:
				pool(ctx, kind, Slice[float64](x), xs[0], xs[3], sp, g, Slice[float64](out), math.Inf(-1))
			case tensor.Int8:
				pool(ctx, kind, Slice[int8](x), xs[0], xs[3], sp, g, Slice[int8](out), math.MinInt8)
			case tensor.Uint8:
				pool(ctx, kind, Slice[uint8](x), xs[0], xs[3], sp, g, Slice[uint8](out), 0)
			case tensor.Int32:
				pool(ctx, kind, Slice[int32](x), xs[0], xs[3], sp, g, Slice[int32](out), math.MinInt32)
			case tensor.Int64:
				pool(ctx, kind, Slice[int64](x), xs[0], xs[3], sp, g, Slice[int64](out), math.MinInt64)
			}
			return Result(ctx, out), nil
		}), nil
	}
}

func pool[T Real](ctx context.Context, kind poolKind, x []T, batch, c int, sp spatial, g geometry, out []T, lowest T) {
	rows := batch * g.outH
	parallelFor(ctx, rows, rows*g.outW*g.kH*g.kW*c, func(lo, hi int) {
		var acc []float64 // the average's running sums
		if kind != poolMax {
			acc = make([]float64, c)
		}
		for r := lo; r < hi; r++ {
			b, oy := r/g.outH, r%g.outH
			y0 := oy*sp.strideH - g.padTop
			y1 := min(y0+g.kH, g.inH)
			y0 = max(y0, 0)
			for ox := 0; ox < g.outW; ox++ {
				x0 := ox*sp.strideW - g.padLeft
				x1 := min(x0+g.kW, g.inW)
				x0 = max(x0, 0)
				dst := out[(r*g.outW+ox)*c:][:c]
				if kind == poolMax {
					for i := range dst {
						dst[i] = lowest
					}
					for iy := y0; iy < y1; iy++ {
						for ix := x0; ix < x1; ix++ {
							maxInto(dst, x[((b*g.inH+iy)*g.inW+ix)*c:][:c])
						}
					}
					continue
				}
				clear(acc)
				for iy := y0; iy < y1; iy++ {
					for ix := x0; ix < x1; ix++ {
						src := x[((b*g.inH+iy)*g.inW+ix)*c:][:c]
						for i, v := range src {
							acc[i] += float64(v)
						}
					}
				}
				cnt := float64((y1 - y0) * (x1 - x0))
				for i := range dst {
					dst[i] = T(acc[i] / cnt)
				}
			}
		}
	})
}

// maxInto32Go is the portable maxInto32.
func maxInto32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v > dst[i] {
			dst[i] = v
		}
	}
}

// maxInto sets dst[i] = src[i] where src[i] > dst[i] (so a NaN in src is
// passed over), with the vector loop for float32.
func maxInto[T Real](dst, src []T) {
	if d, ok := any(dst).([]float32); ok {
		maxInto32(d, any(src).([]float32))
		return
	}
	src = src[:len(dst)]
	for i, v := range src {
		if v > dst[i] {
			dst[i] = v
		}
	}
}

// maxPoolF32 is pool's maximum for float32, through maxPool32: a run of
// output pixels whose windows lie wholly inside the image at a time, and
// each other pixel with its window clipped.
func maxPoolF32(ctx context.Context, x []float32, batch, c int, sp spatial, g geometry, out []float32) {
	rows := batch * g.outH
	j := maxPoolJob{x: x, c: c, sp: sp, g: g, out: out}
	// Output columns oxLo..oxHi-1 have their whole window inside the row.
	j.oxLo = min(g.outW, (g.padLeft+sp.strideW-1)/sp.strideW)
	j.oxHi = j.oxLo
	if g.inW-g.kW+g.padLeft >= 0 {
		j.oxHi = max(j.oxLo, min(g.outW, (g.inW-g.kW+g.padLeft)/sp.strideW+1))
	}
	work := rows * g.outW * g.kH * g.kW * c
	if serial(ctx, rows, work) {
		j.rows(0, rows)
		return
	}
	jp := maxPoolJobs.get()
	*jp = j
	parallelTiles(ctx, rows, jp)
	maxPoolJobs.put(jp)
}

// maxPoolJobs keeps the maxPoolJobs of parallel calls (see directJobs).
var maxPoolJobs freeList[maxPoolJob]

func (j *maxPoolJob) run(lo, hi int) { j.rows(lo, hi) }

// maxPoolJob is one float32 max pool, shared read-only by the goroutines
// that each compute a range of its output rows.
type maxPoolJob struct {
	x          []float32
	c          int
	sp         spatial
	g          geometry
	out        []float32
	oxLo, oxHi int
}

// rows computes output rows lo..hi-1, counted over the batch.
func (j *maxPoolJob) rows(lo, hi int) {
	g, sp, c := j.g, j.sp, j.c
	var buf [64]int
	offs := buf[:0]
	if g.kH*g.kW > len(buf) {
		offs = make([]int, 0, g.kH*g.kW)
	}
	// window lists the taps of rows y0..y1 and columns x0..x1 from the
	// top-left one.
	window := func(y0, y1, x0, x1 int) []int {
		offs = offs[:0]
		for iy := y0; iy < y1; iy++ {
			for ix := x0; ix < x1; ix++ {
				offs = append(offs, ((iy-y0)*g.inW+ix-x0)*c)
			}
		}
		return offs
	}
	for r := lo; r < hi; r++ {
		b, oy := r/g.outH, r%g.outH
		y0 := oy*sp.strideH - g.padTop
		y1 := min(y0+g.kH, g.inH)
		y0 = max(y0, 0)
		dst := j.out[r*g.outW*c:]
		if y1 <= y0 {
			maxPool32(dst, nil, c, g.outW, c, 0, nil)
			continue
		}
		img := j.x[((b*g.inH+y0)*g.inW)*c:]
		for ox := 0; ox < g.outW; ox++ {
			if ox == j.oxLo && j.oxLo < j.oxHi {
				x0 := ox*sp.strideW - g.padLeft
				maxPool32(dst[ox*c:], img[x0*c:], c, j.oxHi-j.oxLo, c, sp.strideW*c, window(y0, y1, 0, g.kW))
				ox = j.oxHi - 1
				continue
			}
			x0 := ox*sp.strideW - g.padLeft
			x1 := min(x0+g.kW, g.inW)
			x0 = max(x0, 0)
			if x1 <= x0 {
				maxPool32(dst[ox*c:], nil, c, 1, c, 0, nil)
				continue
			}
			maxPool32(dst[ox*c:], img[x0*c:], c, 1, c, 0, window(y0, y1, x0, x1))
		}
	}
}

// checkMaxPool32 panics, as an index out of range does, unless every
// element maxPool32 reads or writes lies in dst and src.
func checkMaxPool32(dst, src []float32, c, npix, dstStep, srcStep int, offs []int) {
	_ = dst[(npix-1)*dstStep+c-1]
	hi := 0
	for _, o := range offs {
		if o < 0 {
			panic("kernels: negative pooling offset")
		}
		hi = max(hi, o)
	}
	if len(offs) > 0 {
		_ = src[hi+(npix-1)*srcStep+c-1]
	}
}

// maxPool32Go is the portable maxPool32: for each of npix pixels,
//
//	d := -Inf; for each t { if v := src[offs[t]+ch]; v > d { d = v } }; dst[ch] = d
//
// for ch < c, then dst moves on by dstStep and src by srcStep elements.
// A NaN never wins, so a window of NaNs (or none) gives -Inf.
func maxPool32Go(dst, src []float32, c, npix, dstStep, srcStep int, offs []int) {
	if npix == 0 || c == 0 {
		return
	}
	checkMaxPool32(dst, src, c, npix, dstStep, srcStep, offs)
	lowest := float32(math.Inf(-1))
	for p := 0; p < npix; p++ {
		d := dst[p*dstStep : p*dstStep+c]
		for i := range d {
			d[i] = lowest
		}
		for _, o := range offs {
			maxInto32Go(d, src[o+p*srcStep:])
		}
	}
}

// maxNaNInto32Go is the portable maxNaNInto32.
func maxNaNInto32Go(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v > dst[i] || v != v {
			dst[i] = v
		}
	}
}

// reduceMaxF32 computes a float32 Max reduction whose reduced dimensions
// (of in, with keep its kept shape) are one contiguous block with at least
// eight elements after it, as a global max pool over H and W of NHWC is:
// each run of inner elements is folded into the output by the vector loop,
// with reduceFloat's semantics (a NaN wins and stays). It returns nil for
// any other reduction.
func reduceMaxF32(ctx context.Context, x []float32, in, keep, outShape tensor.Shape) *tensor.Tensor {
	d0, d1 := -1, -1
	for d := range in {
		if keep[d] != in[d] {
			if d0 < 0 {
				d0 = d
			}
			d1 = d + 1
		}
	}
	if d0 < 0 {
		return nil
	}
	for d := d0; d < d1; d++ {
		if keep[d] == in[d] && in[d] != 1 {
			return nil
		}
	}
	outer, red, inner := 1, 1, 1
	for d := range in {
		switch {
		case d < d0:
			outer *= in[d]
		case d < d1:
			red *= in[d]
		default:
			inner *= in[d]
		}
	}
	if inner < 8 || red == 0 || outer == 0 {
		return nil
	}
	res, o := NewLikeCtx[float32](ctx, tensor.Float32, outShape)
	lowest := float32(math.Inf(-1))
	for ob := 0; ob < outer; ob++ {
		dst := o[ob*inner : (ob+1)*inner]
		for i := range dst {
			dst[i] = lowest
		}
		for r := 0; r < red; r++ {
			maxNaNInto32(dst, x[(ob*red+r)*inner:])
		}
	}
	return res
}
