package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("ResizeBilinear", buildResize(true))
	Register("ResizeNearestNeighbor", buildResize(false))
}

// buildResize makes ResizeBilinear (float32 output for any real input) and
// ResizeNearestNeighbor (output of the input's dtype). Coordinates are
// computed in float32, as TensorFlow's CPU kernels compute them, so that
// the nearest-neighbour rounding picks the same pixels.
func buildResize(bilinear bool) Builder {
	return func(n Node) (Kernel, error) {
		if err := checkTypeAttr(n, "T", numericTypes...); err != nil {
			return nil, err
		}
		alignCorners := attrBool(n, "align_corners", false)
		halfPixel := attrBool(n, "half_pixel_centers", false)
		if alignCorners && halfPixel {
			return nil, n.Errorf(ErrInvalidArgument, "if half_pixel_centers is true, align_corners must be false")
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "images", x, numericTypes...); err != nil {
				return nil, err
			}
			if x.Rank() != 4 {
				return nil, n.Errorf(ErrInvalidArgument, "images must be 4-dimensional, got shape %v", x.Shape())
			}
			size, ok := IntValues(in[1])
			if !ok || in[1].Rank() != 1 || len(size) != 2 {
				return nil, n.Errorf(ErrInvalidArgument, "size must be a vector of 2 int32, got %v", in[1])
			}
			xs := x.Shape()
			if xs[3] <= 0 || xs[1] <= 0 || xs[2] <= 0 {
				return nil, n.Errorf(ErrInvalidArgument, "input image must have non-zero size and channels, got shape %v", xs)
			}
			if size[0] <= 0 || size[1] <= 0 {
				return nil, n.Errorf(ErrInvalidArgument, "output dimensions must be positive, got %v", size)
			}
			oh, ow := int(size[0]), int(size[1])
			hScale := resizeScale(xs[1], oh, alignCorners)
			wScale := resizeScale(xs[2], ow, alignCorners)
			outShape := tensor.Shape{xs[0], oh, ow, xs[3]}
			if bilinear {
				ys := lerpTable(oh, xs[1], hScale, halfPixel)
				ws := lerpTable(ow, xs[2], wScale, halfPixel)
				out := Alloc(ctx, tensor.Float32, outShape)
				vals := asFloat32s(x)
				if oh == xs[1] && ow == xs[2] {
					copy(out.Float32s(), vals)
				} else {
					resizeBilinear(ctx, vals, xs, ys, ws, out.Float32s())
				}
				return Result(ctx, out), nil
			}
			ys := nearestTable(oh, xs[1], hScale, alignCorners, halfPixel)
			ws := nearestTable(ow, xs[2], wScale, alignCorners, halfPixel)
			out := Alloc(ctx, x.DType(), outShape)
			switch x.DType() {
			case tensor.Float32:
				resizeNearest(Slice[float32](x), xs, ys, ws, Slice[float32](out))
			case tensor.Float64:
				resizeNearest(Slice[float64](x), xs, ys, ws, Slice[float64](out))
			case tensor.Int8:
				resizeNearest(Slice[int8](x), xs, ys, ws, Slice[int8](out))
			case tensor.Uint8:
				resizeNearest(Slice[uint8](x), xs, ys, ws, Slice[uint8](out))
			case tensor.Int32:
				resizeNearest(Slice[int32](x), xs, ys, ws, Slice[int32](out))
			case tensor.Int64:
				resizeNearest(Slice[int64](x), xs, ys, ws, Slice[int64](out))
			}
			return Result(ctx, out), nil
		}), nil
	}
}

// resizeScale is TensorFlow's CalculateResizeScale, in float32.
func resizeScale(in, out int, alignCorners bool) float32 {
	if alignCorners && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

// lerpEntry is one output coordinate's two source indices and weight.
type lerpEntry struct {
	lo, hi int
	w      float32
}

// lerpTable computes, for each output index, the source position (i+0.5)
// ·scale−0.5 with half-pixel centres or i·scale otherwise, its floor
// (clamped at 0) and ceiling (clamped at in−1), and the fractional part.
// The explicit float32 conversions keep each step rounded as in float.
func lerpTable(out, in int, scale float32, halfPixel bool) []lerpEntry {
	t := make([]lerpEntry, out)
	for i := range t {
		var pos float32
		if halfPixel {
			pos = float32(float32(float32(i)+0.5)*scale) - 0.5
		} else {
			pos = float32(float32(i) * scale)
		}
		fl := float32(math.Floor(float64(pos)))
		t[i] = lerpEntry{
			lo: max(int(fl), 0),
			hi: min(int(math.Ceil(float64(pos))), in-1),
			w:  pos - fl,
		}
	}
	return t
}

// nearestTable computes the source index for each output index: the
// position i·scale (or (i+0.5)·scale with half-pixel centres, where the
// floor does the rest), rounded half away from zero with align_corners and
// floored otherwise, then clamped to the input.
func nearestTable(out, in int, scale float32, alignCorners, halfPixel bool) []int {
	t := make([]int, out)
	for i := range t {
		var pos float32
		if halfPixel {
			pos = float32(float32(float32(i)+0.5) * scale)
		} else {
			pos = float32(float32(i) * scale)
		}
		var idx int
		if alignCorners {
			idx = int(math.Round(float64(pos)))
		} else {
			idx = int(math.Floor(float64(pos)))
		}
		idx = min(idx, in-1)
		if halfPixel {
			idx = max(idx, 0)
		}
		t[i] = idx
	}
	return t
}

func asFloat32s(x *tensor.Tensor) []float32 {
	if x.DType() == tensor.Float32 {
		return x.Float32s()
	}
	out := make([]float32, x.Len())
	switch v := x.Data().(type) {
	case []float64:
		for i, e := range v {
			out[i] = float32(e)
		}
	case []int8:
		for i, e := range v {
			out[i] = float32(e)
		}
	case []uint8:
		for i, e := range v {
			out[i] = float32(e)
		}
	case []int32:
		for i, e := range v {
			out[i] = float32(e)
		}
	case []int64:
		for i, e := range v {
			out[i] = float32(e)
		}
	}
	return out
}

// resizeBilinear interpolates first along x on the two source rows, then
// along y, as TensorFlow's compute_lerp does.
func resizeBilinear(ctx context.Context, x []float32, xs tensor.Shape, ys, ws []lerpEntry, out []float32) {
	ih, iw, c := xs[1], xs[2], xs[3]
	oh, ow := len(ys), len(ws)
	parallelFor(ctx, xs[0]*oh, xs[0]*oh*ow*c*8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, y := r/oh, r%oh
			top := x[(b*ih+ys[y].lo)*iw*c:]
			bot := x[(b*ih+ys[y].hi)*iw*c:]
			yl := ys[y].w
			dst := out[r*ow*c : (r+1)*ow*c]
			for j, e := range ws {
				tl, tr := top[e.lo*c:e.lo*c+c], top[e.hi*c:e.hi*c+c]
				bl, br := bot[e.lo*c:e.lo*c+c], bot[e.hi*c:e.hi*c+c]
				d := dst[j*c : j*c+c]
				for k := range d {
					t := tl[k] + float32((tr[k]-tl[k])*e.w)
					bb := bl[k] + float32((br[k]-bl[k])*e.w)
					d[k] = t + float32((bb-t)*yl)
				}
			}
		}
	})
}

func resizeNearest[T any](x []T, xs tensor.Shape, ys, ws []int, out []T) {
	ih, iw, c := xs[1], xs[2], xs[3]
	oh, ow := len(ys), len(ws)
	for b := 0; b < xs[0]; b++ {
		for y, sy := range ys {
			src := x[(b*ih+sy)*iw*c:]
			dst := out[((b*oh)+y)*ow*c:]
			for j, sx := range ws {
				copy(dst[j*c:j*c+c], src[sx*c:sx*c+c])
			}
		}
	}
}
