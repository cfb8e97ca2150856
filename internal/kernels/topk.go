package kernels

import (
	"cmp"
	"context"
	"slices"

	"inferd/internal/tensor"
)

func init() {
	Register("TopKV2", buildTopK)
}

// buildTopK makes TopKV2: the k largest entries of each row along the last
// dimension, in descending order, ties broken toward the lower index, with
// their indices (int32, or the index_type attribute).
func buildTopK(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", numericTypes...); err != nil {
		return nil, err
	}
	idxType := tensor.Int32
	if dt, ok := attrType(n, "index_type"); ok {
		if dt != tensor.Int32 && dt != tensor.Int64 {
			return nil, n.Errorf(ErrUnsupported, "index_type %v", dt)
		}
		idxType = dt
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, numericTypes...); err != nil {
			return nil, err
		}
		k, ok := scalarInt(in[1])
		if !ok || in[1].Rank() != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "k must be an int32 scalar, got %v", in[1])
		}
		if x.Rank() < 1 {
			return nil, n.Errorf(ErrInvalidArgument, "input must be at least 1-dimensional")
		}
		cols := x.Shape()[x.Rank()-1]
		if k < 0 || k > int64(cols) {
			return nil, n.Errorf(ErrInvalidArgument, "input must have at least k=%d columns, has %d", k, cols)
		}
		outShape := x.Shape().Clone()
		outShape[len(outShape)-1] = int(k)
		idx := make([]int, outShape.NumElements())
		var vals *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			vals = topK[float32](ctx, x, cols, int(k), outShape, idx)
		case tensor.Float64:
			vals = topK[float64](ctx, x, cols, int(k), outShape, idx)
		case tensor.Int8:
			vals = topK[int8](ctx, x, cols, int(k), outShape, idx)
		case tensor.Uint8:
			vals = topK[uint8](ctx, x, cols, int(k), outShape, idx)
		case tensor.Int32:
			vals = topK[int32](ctx, x, cols, int(k), outShape, idx)
		case tensor.Int64:
			vals = topK[int64](ctx, x, cols, int(k), outShape, idx)
		}
		ind := Alloc(ctx, idxType, outShape)
		for i, v := range idx {
			if idxType == tensor.Int32 {
				ind.Int32s()[i] = int32(v)
			} else {
				ind.Int64s()[i] = int64(v)
			}
		}
		return Result(ctx, vals, ind), nil
	}), nil
}

func topK[T Real](ctx context.Context, x *tensor.Tensor, cols, k int, outShape tensor.Shape, idx []int) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), outShape)
	v := Slice[T](x)
	if cols == 0 || k == 0 {
		return res
	}
	order := make([]int, cols)
	for r := 0; r*cols < len(v); r++ {
		row := v[r*cols : (r+1)*cols]
		for i := range order {
			order[i] = i
		}
		// A stable sort by descending value keeps equal values in index
		// order.
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(row[b], row[a]) })
		for j := 0; j < k; j++ {
			o[r*k+j] = row[order[j]]
			idx[r*k+j] = order[j]
		}
	}
	return res
}
