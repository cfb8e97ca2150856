package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("Select", buildSelect(false))
	Register("SelectV2", buildSelect(true))
}

// buildSelect makes Select (TensorFlow 1 rules: the condition has the
// shape of the branches, or is a vector over their first dimension, or all
// three are scalars) and SelectV2 (the three inputs broadcast).
func buildSelect(v2 bool) Builder {
	return func(n Node) (Kernel, error) {
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 3); err != nil {
				return nil, err
			}
			c, x, y := in[0], in[1], in[2]
			if err := checkDType(n, "condition", c, tensor.Bool); err != nil {
				return nil, err
			}
			if x.DType() != y.DType() {
				return nil, n.Errorf(ErrInvalidArgument, "branch dtypes differ: %v and %v", x.DType(), y.DType())
			}
			var out, cs tensor.Shape
			if v2 {
				var err error
				if out, err = BroadcastShapes(c.Shape(), x.Shape(), y.Shape()); err != nil {
					return nil, n.Errorf(ErrInvalidArgument, "%v", err)
				}
				cs = c.Shape()
			} else {
				if !x.Shape().Equal(y.Shape()) {
					return nil, n.Errorf(ErrInvalidArgument, "branch shapes differ: %v and %v", x.Shape(), y.Shape())
				}
				out = x.Shape()
				switch {
				case c.Shape().Equal(out):
					cs = out
				case c.Rank() == 1 && x.Rank() >= 1 && c.Shape()[0] == out[0]:
					// Align the vector with the first dimension.
					cs = make(tensor.Shape, len(out))
					for i := range cs {
						cs[i] = 1
					}
					cs[0] = out[0]
				default:
					return nil, n.Errorf(ErrInvalidArgument, "condition shape %v must equal %v or be a vector of length %v", c.Shape(), out, firstDim(out))
				}
			}
			var res *tensor.Tensor
			switch x.DType() {
			case tensor.Float32:
				res = selectTyped[float32](ctx, c, x, y, cs, out)
			case tensor.Float64:
				res = selectTyped[float64](ctx, c, x, y, cs, out)
			case tensor.Int8:
				res = selectTyped[int8](ctx, c, x, y, cs, out)
			case tensor.Uint8:
				res = selectTyped[uint8](ctx, c, x, y, cs, out)
			case tensor.Int32:
				res = selectTyped[int32](ctx, c, x, y, cs, out)
			case tensor.Int64:
				res = selectTyped[int64](ctx, c, x, y, cs, out)
			case tensor.Bool:
				res = selectTyped[bool](ctx, c, x, y, cs, out)
			case tensor.String:
				res = selectTyped[[]byte](ctx, c, x, y, cs, out)
			case tensor.Int16:
				res = selectTyped[int16](ctx, c, x, y, cs, out)
			case tensor.Uint16:
				res = selectTyped[uint16](ctx, c, x, y, cs, out)
			case tensor.Uint32:
				res = selectTyped[uint32](ctx, c, x, y, cs, out)
			case tensor.Uint64:
				res = selectTyped[uint64](ctx, c, x, y, cs, out)
			case tensor.Float16:
				res = selectTyped[tensor.F16](ctx, c, x, y, cs, out)
			case tensor.BFloat16:
				res = selectTyped[tensor.BF16](ctx, c, x, y, cs, out)
			default:
				return nil, n.Errorf(ErrUnsupported, "dtype %v", x.DType())
			}
			return Result(ctx, res), nil
		}), nil
	}
}

func firstDim(s tensor.Shape) int {
	if len(s) == 0 {
		return 0
	}
	return s[0]
}

func selectTyped[T any](ctx context.Context, c, x, y *tensor.Tensor, cs, out tensor.Shape) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), out)
	broadcastTernary(out, cs, x.Shape(), y.Shape(), c.Bools(), Slice[T](x), Slice[T](y), o, func(c bool, a, b T) T {
		if c {
			return a
		}
		return b
	})
	return res
}
