package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("AddN", buildAddN)
	Register("DivNoNan", buildDivNoNan)
	Register("Assert", buildAssert)
}

// buildAddN sums its N inputs, which must share one shape and dtype.
func buildAddN(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", numericTypes...); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "needs at least one input")
		}
		if err := checkInputs(n, in, len(in)); err != nil {
			return nil, err
		}
		for i, x := range in {
			if err := checkDType(n, "input", x, numericTypes...); err != nil {
				return nil, err
			}
			if x.DType() != in[0].DType() || !x.Shape().Equal(in[0].Shape()) {
				return nil, n.Errorf(ErrInvalidArgument, "input %d is %v %v, input 0 is %v %v", i, x.DType(), x.Shape(), in[0].DType(), in[0].Shape())
			}
		}
		acc := in[0]
		for _, x := range in[1:] {
			res, ok := binaryVec(ctx, vecAdd, acc, x, acc.Shape())
			if !ok {
				switch x.DType() {
				case tensor.Int8:
					res = addTyped[int8](ctx, acc, x, acc.Shape())
				case tensor.Uint8:
					res = addTyped[uint8](ctx, acc, x, acc.Shape())
				}
			}
			acc = res
		}
		if len(in) == 1 {
			return Result(ctx, in[0]), nil
		}
		return Result(ctx, acc), nil
	}), nil
}

// buildDivNoNan divides like RealDiv but gives 0 wherever the divisor is 0.
func buildDivNoNan(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	f := func(x, y float64) float64 {
		if y == 0 {
			return 0
		}
		return x / y
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, floatTypes); err != nil {
			return nil, err
		}
		out, err := BroadcastShape(in[0].Shape(), in[1].Shape())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if in[0].DType() == tensor.Float32 {
			return Result(ctx, binaryFloat[float32](ctx, in[0], in[1], out, f)), nil
		}
		return Result(ctx, binaryFloat[float64](ctx, in[0], in[1], out, f)), nil
	}), nil
}

// buildAssert fails when its boolean scalar condition (input 0) is false;
// the remaining inputs are the data TensorFlow would print.
func buildAssert(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		c := in[0]
		if c.DType() != tensor.Bool || c.Len() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "condition must be a boolean scalar, got %v", c)
		}
		if !c.Bools()[0] {
			var data []string
			for _, d := range in[1:] {
				if d != nil && d.DType() == tensor.String && d.Len() > 0 {
					data = append(data, string(d.Strings()[0]))
				} else if d != nil {
					data = append(data, d.String())
				}
			}
			return nil, n.Errorf(ErrInvalidArgument, "assertion failed: %v", data)
		}
		return nil, nil
	}), nil
}

func init() {
	for op, f := range map[string]func(float64) bool{
		"IsNan":    math.IsNaN,
		"IsInf":    func(x float64) bool { return math.IsInf(x, 0) },
		"IsFinite": func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) },
	} {
		Register(op, func(n Node) (Kernel, error) {
			if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
				return nil, err
			}
			return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				if err := checkInputs(n, in, 1); err != nil {
					return nil, err
				}
				if err := checkDType(n, "input", in[0], floatTypes...); err != nil {
					return nil, err
				}
				res, o := NewLikeCtx[bool](ctx, tensor.Bool, in[0].Shape())
				for i, v := range asFloat64s(in[0]) {
					o[i] = f(v)
				}
				return Result(ctx, res), nil
			}), nil
		})
	}
	Register("ClipByValue", buildClipByValue)
}

// buildClipByValue clamps t between clip_value_min and clip_value_max,
// which are scalars or broadcast to t's shape.
func buildClipByValue(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", numericTypes...); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		x, lo, hi := in[0], in[1], in[2]
		if err := checkDType(n, "t", x, numericTypes...); err != nil {
			return nil, err
		}
		if lo.DType() != x.DType() || hi.DType() != x.DType() {
			return nil, n.Errorf(ErrInvalidArgument, "clip values must have the dtype of t (%v)", x.DType())
		}
		for _, b := range []*tensor.Tensor{lo, hi} {
			if s, err := BroadcastShape(b.Shape(), x.Shape()); err != nil || !s.Equal(x.Shape()) {
				return nil, n.Errorf(ErrInvalidArgument, "clip value shape %v does not broadcast to %v", b.Shape(), x.Shape())
			}
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = clipTyped[float32](ctx, x, lo, hi)
		case tensor.Float64:
			res = clipTyped[float64](ctx, x, lo, hi)
		case tensor.Int8:
			res = clipTyped[int8](ctx, x, lo, hi)
		case tensor.Uint8:
			res = clipTyped[uint8](ctx, x, lo, hi)
		case tensor.Int32:
			res = clipTyped[int32](ctx, x, lo, hi)
		case tensor.Int64:
			res = clipTyped[int64](ctx, x, lo, hi)
		}
		return Result(ctx, res), nil
	}), nil
}

func clipTyped[T Real](ctx context.Context, x, lo, hi *tensor.Tensor) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	broadcastTernary(x.Shape(), x.Shape(), lo.Shape(), hi.Shape(), Slice[T](x), Slice[T](lo), Slice[T](hi), o, func(v, a, b T) T {
		return min(max(v, a), b)
	})
	return res
}
