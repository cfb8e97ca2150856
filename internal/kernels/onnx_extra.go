package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// This file holds ONNX's Resize and Upsample, written to ONNX semantics
// (onnx/reference's interpolate_nd): each axis is resampled in turn, from
// the last to the first, in float64.

func init() {
	Register("OnnxResize", xtBuildResize(false))
	Register("OnnxUpsample", xtBuildResize(true))
}

// xtAbsent reports whether an optional ONNX input was left out: the
// importer feeds an empty tensor in its place.
func xtAbsent(in []*tensor.Tensor, i int) bool {
	return i >= len(in) || in[i] == nil || in[i].Len() == 0
}

// xtFloat64s reads a numeric or bool tensor as a fresh slice of float64
// values (shNumbers without its ok).
func xtFloat64s(t *tensor.Tensor) []float64 {
	v, _ := shNumbers(t)
	return v
}

// xtResizeOpts are a Resize node's attributes.
type xtResizeOpts struct {
	mode        string // nearest, linear or cubic
	coord       string // coordinate_transformation_mode
	nearest     string // nearest_mode
	cubicA      float64
	exclude     bool
	extrapolate float64
}

// xtTaps says how one output position along an axis is computed: the
// weighted sum of the input at idx, or extrapolation value when out is set.
type xtTaps struct {
	idx []int
	w   []float64
	out bool
}

func xtBuildResize(upsample bool) Builder {
	return func(n Node) (Kernel, error) {
		opset := attrInt(n, "_opset", 13)
		o := xtResizeOpts{
			mode:        attrString(n, "mode", "nearest"),
			coord:       attrString(n, "coordinate_transformation_mode", "half_pixel"),
			nearest:     attrString(n, "nearest_mode", "round_prefer_floor"),
			cubicA:      float64(attrFloat(n, "cubic_coeff_a", -0.75)),
			exclude:     attrInt(n, "exclude_outside", 0) != 0,
			extrapolate: float64(attrFloat(n, "extrapolation_value", 0)),
		}
		if upsample || opset < 11 {
			// Upsample and Resize-10 sample asymmetrically; nearest takes
			// the floor when enlarging (as numpy's repeat does) and the
			// ceiling when shrinking, as ONNX Runtime does.
			o.coord, o.nearest = "asymmetric", "simple"
			if o.mode == "bilinear" {
				o.mode = "linear"
			}
		}
		switch o.mode {
		case "nearest", "linear", "cubic":
		default:
			return nil, n.Errorf(ErrUnsupported, "mode %q", o.mode)
		}
		switch o.coord {
		case "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize", "tf_half_pixel_for_nn":
		default:
			return nil, n.Errorf(ErrUnsupported, "coordinate_transformation_mode %q", o.coord)
		}
		switch o.nearest {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple":
		default:
			return nil, n.Errorf(ErrUnsupported, "nearest_mode %q", o.nearest)
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "X", x, numericTypes...); err != nil {
				return nil, err
			}
			rank := x.Rank()
			var roi []float64
			scaleIn, sizeIn := 1, -1
			if !upsample && opset >= 11 {
				scaleIn, sizeIn = 2, 3
				if !xtAbsent(in, 1) {
					roi = xtFloat64s(in[1])
				}
			}
			scales := make([]float64, rank)
			outShape := make(tensor.Shape, rank)
			switch {
			case sizeIn > 0 && !xtAbsent(in, sizeIn):
				sz, ok := IntValues(in[sizeIn])
				if !ok || len(sz) != rank {
					return nil, n.Errorf(ErrInvalidArgument, "sizes must hold %d integers, got %v", rank, in[sizeIn])
				}
				for i, s := range sz {
					if s < 0 {
						return nil, n.Errorf(ErrInvalidArgument, "negative size %d", s)
					}
					outShape[i] = int(s)
					scales[i] = float64(s) / float64(x.Shape()[i])
				}
			case !xtAbsent(in, scaleIn):
				sc := xtFloat64s(in[scaleIn])
				if len(sc) != rank {
					return nil, n.Errorf(ErrInvalidArgument, "scales must hold %d values, got %v", rank, in[scaleIn])
				}
				for i, s := range sc {
					if s <= 0 || math.IsNaN(s) {
						return nil, n.Errorf(ErrInvalidArgument, "scale %v is not positive", s)
					}
					scales[i] = s
					f := math.Floor(s * float64(x.Shape()[i]))
					if f > onnxMaxElements || math.IsInf(s, 0) {
						return nil, n.Errorf(ErrInvalidArgument, "scale %v makes dimension %d too large", s, i)
					}
					outShape[i] = int(f)
				}
			default:
				return nil, n.Errorf(ErrInvalidArgument, "one of scales and sizes must be given")
			}
			if o.coord == "tf_crop_and_resize" && len(roi) != 2*rank {
				return nil, n.Errorf(ErrInvalidArgument, "roi must hold %d values for tf_crop_and_resize, got %d", 2*rank, len(roi))
			}
			if err := onnxCheckShape(n, outShape); err != nil {
				return nil, err
			}
			return []*tensor.Tensor{xtResize(ctx, x, outShape, scales, roi, o)}, nil
		}), nil
	}
}

// xtResize resamples x to outShape.
func xtResize(ctx context.Context, x *tensor.Tensor, outShape tensor.Shape, scales, roi []float64, o xtResizeOpts) *tensor.Tensor {
	rank := x.Rank()
	taps := make([][]xtTaps, rank)
	for d := 0; d < rank; d++ {
		in := x.Shape()[d]
		if outShape[d] == in && scales[d] == 1 && o.coord != "tf_crop_and_resize" {
			continue
		}
		var r0, r1 float64
		if roi != nil && len(roi) == 2*rank {
			r0, r1 = roi[d], roi[rank+d]
		}
		taps[d] = xtAxisTaps(in, outShape[d], scales[d], r0, r1, o)
	}
	if outShape.NumElements() == 0 || x.Len() == 0 {
		return AllocZeroed(ctx, x.DType(), outShape)
	}
	if o.mode == "nearest" {
		switch x.DType() {
		case tensor.Float32:
			return xtResizeGather(ctx, x, Slice[float32](x), outShape, taps, float32(o.extrapolate))
		case tensor.Float64:
			return xtResizeGather(ctx, x, Slice[float64](x), outShape, taps, o.extrapolate)
		case tensor.Int8:
			return xtResizeGather(ctx, x, Slice[int8](x), outShape, taps, int8(o.extrapolate))
		case tensor.Uint8:
			return xtResizeGather(ctx, x, Slice[uint8](x), outShape, taps, uint8(o.extrapolate))
		case tensor.Int32:
			return xtResizeGather(ctx, x, Slice[int32](x), outShape, taps, int32(o.extrapolate))
		case tensor.Int64:
			return xtResizeGather(ctx, x, Slice[int64](x), outShape, taps, int64(o.extrapolate))
		}
	}
	cur := xtFloat64s(x)
	shape := x.Shape().Clone()
	for d := rank - 1; d >= 0; d-- {
		if taps[d] == nil {
			continue
		}
		outer := shape[:d].NumElements()
		inner := shape[d+1:].NumElements()
		w := shape[d]
		next := make([]float64, outer*outShape[d]*inner)
		for a := 0; a < outer; a++ {
			src := cur[a*w*inner : (a+1)*w*inner]
			for j, t := range taps[d] {
				dst := next[(a*outShape[d]+j)*inner : (a*outShape[d]+j+1)*inner]
				if t.out {
					for i := range dst {
						dst[i] = o.extrapolate
					}
					continue
				}
				clear(dst)
				for k, idx := range t.idx {
					wk := t.w[k]
					if wk == 0 {
						continue
					}
					s := src[idx*inner : (idx+1)*inner]
					for i := range dst {
						dst[i] += wk * s[i]
					}
				}
			}
		}
		cur = next
		shape[d] = outShape[d]
	}
	return rdStore(ctx, x.DType(), outShape, cur)
}

// xtResizeGather is nearest-neighbour resizing: a gather along each axis.
func xtResizeGather[T any](ctx context.Context, x *tensor.Tensor, src []T, outShape tensor.Shape, taps [][]xtTaps, extrapolate T) *tensor.Tensor {
	rank := x.Rank()
	cur := src
	shape := x.Shape().Clone()
	for d := rank - 1; d >= 0; d-- {
		if taps[d] == nil {
			continue
		}
		outer := shape[:d].NumElements()
		inner := shape[d+1:].NumElements()
		w := shape[d]
		next := make([]T, outer*outShape[d]*inner)
		for a := 0; a < outer; a++ {
			s := cur[a*w*inner : (a+1)*w*inner]
			for j, t := range taps[d] {
				dst := next[(a*outShape[d]+j)*inner : (a*outShape[d]+j+1)*inner]
				if t.out {
					for i := range dst {
						dst[i] = extrapolate
					}
					continue
				}
				copy(dst, s[t.idx[0]*inner:(t.idx[0]+1)*inner])
			}
		}
		cur = next
		shape[d] = outShape[d]
	}
	out := Alloc(ctx, x.DType(), outShape)
	copy(Slice[T](out), cur)
	return out
}

// xtAxisTaps computes, for each of the out positions along an axis of in
// elements, the input coordinate it maps to and the taps around it.
func xtAxisTaps(in, out int, scale, roi0, roi1 float64, o xtResizeOpts) []xtTaps {
	taps := make([]xtTaps, out)
	if o.nearest == "simple" {
		o.nearest = "floor"
		if scale < 1 {
			o.nearest = "ceil"
		}
	}
	width := scale * float64(in) // the reference's output_width, not always whole
	for i := range taps {
		x := float64(i)
		var xo float64
		switch o.coord {
		case "align_corners":
			if width != 1 {
				xo = x * float64(in-1) / (width - 1)
			}
		case "asymmetric":
			xo = x / scale
		case "tf_crop_and_resize":
			if width == 1 {
				xo = (roi1 - roi0) * float64(in-1) / 2
			} else {
				xo = x * (roi1 - roi0) * float64(in-1) / (width - 1)
			}
			xo += roi0 * float64(in-1)
			if xo < 0 || xo > float64(in-1) {
				taps[i].out = true
				continue
			}
		case "pytorch_half_pixel":
			if width == 1 {
				xo = -0.5
			} else {
				xo = (x+0.5)/scale - 0.5
			}
		case "tf_half_pixel_for_nn":
			xo = (x + 0.5) / scale
		default: // half_pixel
			xo = (x+0.5)/scale - 0.5
		}
		taps[i] = xtTapsAt(xo, in, o)
	}
	return taps
}

// xtTapsAt picks the neighbours of coordinate xo the way the reference
// does: the n input positions nearest xo in the input padded by ceil(n/2)
// copies of its edges, with coefficients from the fractional part ratio,
// which is 1 (not 0) when xo is whole.
func xtTapsAt(xo float64, in int, o xtResizeOpts) xtTaps {
	ratio := xo - math.Floor(xo)
	if ratio == 0 {
		ratio = 1
	}
	var coeffs []float64
	switch o.mode {
	case "nearest":
		pick := 1
		if ratio != 1 {
			switch o.nearest {
			case "round_prefer_floor":
				if ratio <= 0.5 {
					pick = 0
				}
			case "round_prefer_ceil":
				if ratio < 0.5 {
					pick = 0
				}
			case "floor":
				pick = 0
			}
		}
		coeffs = []float64{0, 0}
		coeffs[pick] = 1
	case "linear":
		coeffs = []float64{1 - ratio, ratio}
	case "cubic":
		a := o.cubicA
		r1, q := ratio+1, 1-ratio
		q1 := q + 1
		coeffs = []float64{
			((a*r1-5*a)*r1+8*a)*r1 - 4*a,
			((a+2)*ratio-(a+3))*ratio*ratio + 1,
			((a+2)*q-(a+3))*q*q + 1,
			((a*q1-5*a)*q1+8*a)*q1 - 4*a,
		}
	}
	nc := len(coeffs)
	pad := (nc + 1) / 2
	padded := in + 2*pad
	start := int(math.Ceil(xo+float64(pad))) - nc/2
	start = max(0, min(start, padded-nc))
	t := xtTaps{idx: make([]int, nc), w: coeffs}
	sum := 0.0
	for k := range nc {
		orig := start + k - pad
		if o.exclude && o.mode != "nearest" && (orig < 0 || orig >= in) {
			coeffs[k] = 0
		}
		sum += coeffs[k]
		t.idx[k] = max(0, min(orig, in-1))
	}
	if o.exclude && o.mode != "nearest" && sum != 0 {
		for k := range coeffs {
			coeffs[k] /= sum
		}
	}
	if o.mode == "nearest" {
		for k, c := range coeffs {
			if c == 1 {
				t.idx, t.w = []int{t.idx[k]}, []float64{1}
				break
			}
		}
	}
	return t
}
