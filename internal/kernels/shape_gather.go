package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("GatherV2", func(n Node) (Kernel, error) { return buildGather(n, true) })
	Register("Gather", func(n Node) (Kernel, error) { return buildGather(n, false) })
}

// buildGather: GatherV2(params, indices, axis) with the batch_dims
// attribute, or Gather(params, indices) along axis 0. An index outside
// [0, params.shape[axis]) is an error, as on TensorFlow's CPU.
func buildGather(n Node, v2 bool) (Kernel, error) {
	batchDims := attrInt(n, "batch_dims", 0)
	nin := 2
	if v2 {
		nin = 3
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, nin); err != nil {
			return nil, err
		}
		params, indicesT := in[0], in[1]
		idx, err := intInput(n, "indices", indicesT)
		if err != nil {
			return nil, err
		}
		ax := int64(0)
		if v2 {
			if ax, err = scalarInput(n, "axis", in[2]); err != nil {
				return nil, err
			}
		}
		ps, is := params.Shape(), indicesT.Shape()
		bd := batchDims
		if bd < 0 {
			bd += int64(len(is))
		}
		if bd < 0 || bd > int64(len(is)) {
			return nil, n.Errorf(ErrInvalidArgument, "expected batch_dims in the range [%d, %d], but got %d", -len(is), len(is), batchDims)
		}
		if ax < 0 {
			ax += int64(len(ps))
		}
		if ax < 0 || ax >= int64(len(ps)) {
			return nil, n.Errorf(ErrInvalidArgument, "expected axis in the range [%d, %d), but got %d", -len(ps), len(ps), ax)
		}
		if bd > ax {
			return nil, n.Errorf(ErrInvalidArgument, "batch_dims (%d) must be less than or equal to axis (%d)", bd, ax)
		}
		axis, b := int(ax), int(bd)
		for i := range b {
			if ps[i] != is[i] {
				return nil, n.Errorf(ErrInvalidArgument, "params.shape[%d]: %d should be equal to indices.shape[%d]: %d", i, ps[i], i, is[i])
			}
		}
		outShape := append(append(ps[:axis].Clone(), is[b:]...), ps[axis+1:]...)
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		B := ps[:b].NumElements()
		P := ps[b:axis].NumElements()
		A := ps[axis]
		I := ps[axis+1:].NumElements()
		N := is[b:].NumElements()
		if err := checkIndices(n, idx, A); err != nil {
			return nil, err
		}
		out, e := newElems(ctx, params.DType(), outShape)
		if I == 0 {
			return Result(ctx, out), nil
		}
		src := asElems(params)
		di := 0
		for bi := range B {
			for p := range P {
				for k := range N {
					j := int(idx[bi*N+k])
					e.copyRun(di, src, ((bi*P+p)*A+j)*I, I)
					di += I
				}
			}
		}
		return Result(ctx, out), nil
	}), nil
}

func checkIndices(n Node, idx []int64, limit int) error {
	for i, x := range idx {
		if x < 0 || x >= int64(limit) {
			return n.Errorf(ErrInvalidArgument, "indices[%d] = %d is not in [0, %d)", i, x, limit)
		}
	}
	return nil
}
