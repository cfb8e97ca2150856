package kernels

import (
	"context"

	"inferd/internal/tensor"
)

// The ONNX gather and scatter kernels. Indices may be negative (counted
// from the end of their dimension) and are checked against it.

func init() {
	Register("OnnxGather", shBuildGather)
	Register("OnnxGatherElements", shBuildGatherElements)
	Register("OnnxGatherND", shBuildGatherND)
	Register("OnnxScatterElements", shBuildScatterElements)
	Register("OnnxScatterND", shBuildScatterND)
}

// shIndex normalizes index x into [0, dim).
func shIndex(n Node, x int64, dim int) (int, error) {
	i := x
	if i < 0 {
		i += int64(dim)
	}
	if i < 0 || i >= int64(dim) {
		return 0, n.Errorf(ErrInvalidArgument, "index %d is out of range for a dimension of %d", x, dim)
	}
	return int(i), nil
}

// shBuildGather: Gather(data, indices) along axis (default 0); the output
// shape is data.shape[:axis] + indices.shape + data.shape[axis+1:].
func shBuildGather(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 0)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		data, indices := in[0], in[1]
		idx, err := intInput(n, "indices", indices)
		if err != nil {
			return nil, err
		}
		ds := data.Shape()
		a, err := onnxAxis(n, axis, len(ds))
		if err != nil {
			return nil, err
		}
		outShape := append(append(ds[:a].Clone(), indices.Shape()...), ds[a+1:]...)
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		pos := make([]int, len(idx))
		for i, x := range idx {
			if pos[i], err = shIndex(n, x, ds[a]); err != nil {
				return nil, err
			}
		}
		return single(shTakeAlong(ctx, data, ds, a, pos, outShape)), nil
	}), nil
}

// shTakeAlong copies entries pos along axis a of x, seen with shape s,
// for every position before a, into a new tensor of shape outShape.
func shTakeAlong(ctx context.Context, x *tensor.Tensor, s tensor.Shape, a int, pos []int, outShape tensor.Shape) *tensor.Tensor {
	out, e := newElems(ctx, x.DType(), outShape)
	outer, dim, inner := s[:a].NumElements(), s[a], s[a+1:].NumElements()
	if inner == 0 || len(pos) == 0 {
		return out
	}
	src := asElems(x)
	di := 0
	for o := range outer {
		for _, p := range pos {
			e.copyRun(di, src, (o*dim+p)*inner, inner)
			di += inner
		}
	}
	return out
}

// shElementwiseOffsets maps every position of an indices tensor of shape
// is to the flat offset in a tensor of shape ds (of the same rank) where
// the coordinate along axis is replaced by the index value there.
func shElementwiseOffsets(n Node, ds, is tensor.Shape, idx []int64, a int) ([]int, error) {
	if len(is) != len(ds) {
		return nil, n.Errorf(ErrInvalidArgument, "indices of rank %d for data of rank %d", len(is), len(ds))
	}
	for d := range is {
		if d != a && is[d] > ds[d] {
			return nil, n.Errorf(ErrInvalidArgument, "indices shape %v exceeds data shape %v", is, ds)
		}
	}
	dStrides := rowMajorStrides(ds)
	coord := make([]int, len(is))
	offs := make([]int, len(idx))
	for i, x := range idx {
		p, err := shIndex(n, x, ds[a])
		if err != nil {
			return nil, err
		}
		off := p * dStrides[a]
		for d, c := range coord {
			if d != a {
				off += c * dStrides[d]
			}
		}
		offs[i] = off
		for d := len(coord) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < is[d] {
				break
			}
			coord[d] = 0
		}
	}
	return offs, nil
}

// shBuildGatherElements: GatherElements(data, indices) along axis; the
// output has indices' shape.
func shBuildGatherElements(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 0)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		idx, err := intInput(n, "indices", in[1])
		if err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		a, err := onnxAxis(n, axis, len(ds))
		if err != nil {
			return nil, err
		}
		offs, err := shElementwiseOffsets(n, ds, is, idx, a)
		if err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[0].DType(), is)
		src := asElems(in[0])
		for i, off := range offs {
			e.copyRun(i, src, off, 1)
		}
		return single(out), nil
	}), nil
}

// shBuildGatherND: GatherND(data, indices) with batch_dims: the last
// dimension of indices holds index tuples into data's dimensions after
// the batch ones.
func shBuildGatherND(n Node) (Kernel, error) {
	b := int(attrInt(n, "batch_dims", 0))
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		idx, err := intInput(n, "indices", in[1])
		if err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		q := len(is)
		if q < 1 || b < 0 || b >= q || b >= len(ds) {
			return nil, n.Errorf(ErrInvalidArgument, "batch_dims %d does not suit data %v and indices %v", b, ds, is)
		}
		m := is[q-1]
		if b+m > len(ds) {
			return nil, n.Errorf(ErrInvalidArgument, "index tuples of %d for data %v after %d batch dimensions", m, ds, b)
		}
		for d := range b {
			if ds[d] != is[d] {
				return nil, n.Errorf(ErrInvalidArgument, "batch dimension %d differs: data %v, indices %v", d, ds, is)
			}
		}
		outShape := append(is[:q-1].Clone(), ds[b+m:]...)
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		B := ds[:b].NumElements()
		N := is[b : q-1].NumElements()
		S := ds[b+m:].NumElements()
		batchStride := ds[b:].NumElements()
		strides := rowMajorStrides(ds[b : b+m])
		out, e := newElems(ctx, in[0].DType(), outShape)
		if S == 0 {
			return single(out), nil
		}
		src := asElems(in[0])
		di := 0
		for bi := range B {
			for k := range N {
				tuple := idx[(bi*N+k)*m : (bi*N+k+1)*m]
				off := bi * batchStride
				for j, x := range tuple {
					p, err := shIndex(n, x, ds[b+j])
					if err != nil {
						return nil, err
					}
					off += p * strides[j] * S
				}
				e.copyRun(di, src, off, S)
				di += S
			}
		}
		return single(out), nil
	}), nil
}

// shApplier returns a function that combines updates[si] into out[di]
// under reduction: none (replace), add, mul, max or min.
func shApplier(n Node, out, updates *tensor.Tensor, reduction string) (func(di, si int), error) {
	if out.DType() != updates.DType() {
		return nil, n.Errorf(ErrInvalidArgument, "updates are %v, data %v", updates.DType(), out.DType())
	}
	if reduction == "none" || reduction == "" {
		e, u := asElems(out), asElems(updates)
		return func(di, si int) { e.copyRun(di, u, si, 1) }, nil
	}
	var f func(di, si int)
	switch d := out.Data().(type) {
	case []float32:
		f = shCombine(d, updates.Float32s(), reduction)
	case []float64:
		f = shCombine(d, updates.Float64s(), reduction)
	case []int8:
		f = shCombine(d, updates.Int8s(), reduction)
	case []uint8:
		f = shCombine(d, updates.Uint8s(), reduction)
	case []int32:
		f = shCombine(d, updates.Int32s(), reduction)
	case []int64:
		f = shCombine(d, updates.Int64s(), reduction)
	}
	if f == nil {
		return nil, n.Errorf(ErrUnsupported, "reduction %q on %v", reduction, out.DType())
	}
	return f, nil
}

func shCombine[T Real](d, u []T, reduction string) func(di, si int) {
	switch reduction {
	case "add":
		return func(di, si int) { d[di] += u[si] }
	case "mul":
		return func(di, si int) { d[di] *= u[si] }
	case "max":
		return func(di, si int) { d[di] = max(d[di], u[si]) }
	case "min":
		return func(di, si int) { d[di] = min(d[di], u[si]) }
	}
	return nil
}

// shCopy returns a copy of t allocated through ctx.
func shCopy(ctx context.Context, t *tensor.Tensor) *tensor.Tensor {
	out, e := newElems(ctx, t.DType(), t.Shape())
	if t.Len() > 0 {
		e.copyRun(0, asElems(t), 0, t.Len())
	}
	return out
}

// shBuildScatterElements: ScatterElements(data, indices, updates) along
// axis with the reduction attribute (none, add, mul, max, min); Scatter
// of opsets 9 and 10 maps here too.
func shBuildScatterElements(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 0)
	reduction := attrString(n, "reduction", "none")
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		idx, err := intInput(n, "indices", in[1])
		if err != nil {
			return nil, err
		}
		ds, is := in[0].Shape(), in[1].Shape()
		if !in[2].Shape().Equal(is) {
			return nil, n.Errorf(ErrInvalidArgument, "updates %v and indices %v differ in shape", in[2].Shape(), is)
		}
		a, err := onnxAxis(n, axis, len(ds))
		if err != nil {
			return nil, err
		}
		offs, err := shElementwiseOffsets(n, ds, is, idx, a)
		if err != nil {
			return nil, err
		}
		out := shCopy(ctx, in[0])
		apply, err := shApplier(n, out, in[2], reduction)
		if err != nil {
			return nil, err
		}
		for i, off := range offs {
			apply(off, i)
		}
		return single(out), nil
	}), nil
}

// shBuildScatterND: ScatterND(data, indices, updates) with the reduction
// attribute; the last dimension of indices holds index tuples into data.
func shBuildScatterND(n Node) (Kernel, error) {
	reduction := attrString(n, "reduction", "none")
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		idx, err := intInput(n, "indices", in[1])
		if err != nil {
			return nil, err
		}
		ds, is, us := in[0].Shape(), in[1].Shape(), in[2].Shape()
		q := len(is)
		if q < 1 || is[q-1] > len(ds) {
			return nil, n.Errorf(ErrInvalidArgument, "indices %v do not suit data %v", is, ds)
		}
		k := is[q-1]
		want := append(is[:q-1].Clone(), ds[k:]...)
		if !us.Equal(want) {
			return nil, n.Errorf(ErrInvalidArgument, "updates have shape %v, want %v", us, want)
		}
		S := ds[k:].NumElements()
		N := is[:q-1].NumElements()
		strides := rowMajorStrides(ds)
		out := shCopy(ctx, in[0])
		apply, err := shApplier(n, out, in[2], reduction)
		if err != nil {
			return nil, err
		}
		for i := range N {
			off := 0
			for j, x := range idx[i*k : (i+1)*k] {
				p, err := shIndex(n, x, ds[j])
				if err != nil {
					return nil, err
				}
				off += p * strides[j]
			}
			for s := range S {
				apply(off+s, i*S+s)
			}
		}
		return single(out), nil
	}), nil
}
