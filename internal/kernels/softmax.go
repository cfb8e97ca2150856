package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("Softmax", buildSoftmax(false))
	Register("LogSoftmax", buildSoftmax(true))
}

// buildSoftmax makes Softmax and LogSoftmax over the last axis. The row's
// maximum is subtracted first so that exp never overflows.
func buildSoftmax(logOut bool) Builder {
	return func(n Node) (Kernel, error) {
		if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "logits", x, floatTypes...); err != nil {
				return nil, err
			}
			if x.Rank() < 1 {
				return nil, n.Errorf(ErrInvalidArgument, "logits must have rank >= 1, got a scalar")
			}
			var res *tensor.Tensor
			if x.DType() == tensor.Float32 {
				res = softmaxTyped[float32](ctx, x, logOut)
			} else {
				res = softmaxTyped[float64](ctx, x, logOut)
			}
			return Result(ctx, res), nil
		}), nil
	}
}

func softmaxTyped[T Float](ctx context.Context, x *tensor.Tensor, logOut bool) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	v := Slice[T](x)
	c := x.Shape()[x.Rank()-1]
	if c == 0 {
		return res
	}
	ex := scratch[float64](ctx, c)
	for r := 0; r+c <= len(v); r += c {
		row, dst := v[r:r+c], o[r:r+c]
		m := math.Inf(-1)
		for _, e := range row {
			m = max(m, float64(e))
		}
		sum := 0.0
		for j, e := range row {
			ex[j] = math.Exp(float64(e) - m)
			sum += ex[j]
		}
		if logOut {
			ls := math.Log(sum)
			for j, e := range row {
				dst[j] = T(float64(e) - m - ls)
			}
		} else {
			inv := 1 / sum
			for j := range dst {
				dst[j] = T(ex[j] * inv)
			}
		}
	}
	return res
}
