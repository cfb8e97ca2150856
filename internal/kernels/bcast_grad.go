package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("BroadcastGradientArgs", buildBroadcastGradientArgs)
}

// buildBroadcastGradientArgs: BroadcastGradientArgs(s0, s1) returns, for
// each of two shapes broadcast against each other, the axes of the
// broadcast result that its gradient must be summed over: the axes where
// the shape, padded on the left with ones to the result's rank, is 1.
// Gradient tapes in training signatures use it; the outputs have s0's type.
func buildBroadcastGradientArgs(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		if in[0].DType() != in[1].DType() {
			return nil, n.Errorf(ErrInvalidArgument, "shapes must have one type, got %v and %v", in[0].DType(), in[1].DType())
		}
		s0, err := intInput(n, "s0", in[0])
		if err != nil {
			return nil, err
		}
		s1, err := intInput(n, "s1", in[1])
		if err != nil {
			return nil, err
		}
		rank := max(len(s0), len(s1))
		dim := func(s []int64, i int) int64 { // i counts from the left of the padded shape
			if j := i - (rank - len(s)); j >= 0 {
				return s[j]
			}
			return 1
		}
		var r0, r1 []int64
		for i := 0; i < rank; i++ {
			a, b := dim(s0, i), dim(s1, i)
			if a != b && a != 1 && b != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "incompatible shapes: %v vs. %v", s0, s1)
			}
			if a == 1 {
				r0 = append(r0, int64(i))
			}
			if b == 1 {
				r1 = append(r1, int64(i))
			}
		}
		return Result(ctx, axesTensor(in[0].DType(), r0), axesTensor(in[0].DType(), r1)), nil
	}), nil
}

// axesTensor is a vector of axes as an int32 or int64 tensor.
func axesTensor(dt tensor.DType, axes []int64) *tensor.Tensor {
	if dt == tensor.Int64 {
		return tensor.MustFromSlice(tensor.Shape{len(axes)}, append([]int64{}, axes...))
	}
	v := make([]int32, len(axes))
	for i, a := range axes {
		v[i] = int32(a)
	}
	return tensor.MustFromSlice(tensor.Shape{len(v)}, v)
}
