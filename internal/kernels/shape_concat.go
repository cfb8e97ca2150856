package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("ConcatV2", func(n Node) (Kernel, error) { return buildConcat(n, false) })
	Register("Concat", func(n Node) (Kernel, error) { return buildConcat(n, true) })
	Register("Pack", buildPack)
	Register("Unpack", buildUnpack)
	Register("Split", buildSplit)
	Register("SplitV", buildSplitV)
	Register("Tile", buildTile)
}

// buildConcat: ConcatV2(values..., axis) or Concat(axis, values...).
func buildConcat(n Node, axisFirst bool) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) < 2 {
			return nil, n.Errorf(ErrInvalidArgument, "got %d inputs, want at least 2", len(in))
		}
		if err := checkInputs(n, in, len(in)); err != nil {
			return nil, err
		}
		axisT, vals := in[len(in)-1], in[:len(in)-1]
		if axisFirst {
			axisT, vals = in[0], in[1:]
		}
		ax, err := scalarInput(n, "axis", axisT)
		if err != nil {
			return nil, err
		}
		out, err := concat(ctx, n, vals, ax)
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// concat joins vals along axis (possibly negative).
func concat(ctx context.Context, n Node, vals []*tensor.Tensor, ax int64) (*tensor.Tensor, error) {
	first := vals[0]
	r := first.Rank()
	if r == 0 {
		return nil, n.Errorf(ErrInvalidArgument, "can't concatenate scalars (use tf.stack instead)")
	}
	axis, ok := normAxis(ax, r)
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "ConcatOp : Expected concatenating dimensions in the range [%d, %d), but got %d", -r, r, ax)
	}
	outShape := first.Shape().Clone()
	outShape[axis] = 0
	for i, v := range vals {
		if v.DType() != first.DType() {
			return nil, n.Errorf(ErrInvalidArgument, "input %d has dtype %v, input 0 has %v", i, v.DType(), first.DType())
		}
		s := v.Shape()
		if len(s) != r {
			return nil, n.Errorf(ErrInvalidArgument, "ConcatOp : Ranks of all input tensors should match: shape[0] = %v vs. shape[%d] = %v", first.Shape(), i, s)
		}
		for d := range r {
			if d != axis && s[d] != first.Shape()[d] {
				return nil, n.Errorf(ErrInvalidArgument, "ConcatOp : Dimension %d in both shapes must be equal: shape[0] = %v vs. shape[%d] = %v", d, first.Shape(), i, s)
			}
		}
		outShape[axis] += s[axis]
	}
	if err := checkSize(n, outShape); err != nil {
		return nil, err
	}
	outer := outShape[:axis].NumElements()
	out, e := newElems(ctx, first.DType(), outShape)
	srcs := make([]elems, len(vals))
	inners := make([]int, len(vals))
	for i, v := range vals {
		srcs[i] = asElems(v)
		inners[i] = v.Shape()[axis:].NumElements()
	}
	di := 0
	for o := range outer {
		for i, src := range srcs {
			if k := inners[i]; k > 0 {
				e.copyRun(di, src, o*k, k)
				di += k
			}
		}
	}
	return out, nil
}

// buildPack stacks N tensors of one shape along a new axis.
func buildPack(n Node) (Kernel, error) {
	ax := attrInt(n, "axis", 0)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "Pack of no tensors")
		}
		if err := checkInputs(n, in, len(in)); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		r := int64(len(s))
		if ax < -r-1 || ax > r {
			return nil, n.Errorf(ErrInvalidArgument, "axis = %d not in [%d, %d]", ax, -r-1, r)
		}
		axis := ax
		if axis < 0 {
			axis += r + 1
		}
		expanded := make(tensor.Shape, 0, r+1)
		expanded = append(append(append(expanded, s[:axis]...), 1), s[axis:]...)
		views := make([]*tensor.Tensor, len(in))
		for i, v := range in {
			if !v.Shape().Equal(s) {
				return nil, n.Errorf(ErrInvalidArgument, "Shapes of all inputs must match: values[0].shape = %v != values[%d].shape = %v", s, i, v.Shape())
			}
			views[i], _ = v.Reshaped(expanded)
		}
		out, err := concat(ctx, n, views, axis)
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// sliceAxis copies t[..., start:start+length, ...] along axis into a fresh
// tensor.
func sliceAxis(ctx context.Context, t *tensor.Tensor, axis, start, length int) *tensor.Tensor {
	s := t.Shape()
	outShape := s.Clone()
	outShape[axis] = length
	out, e := newElems(ctx, t.DType(), outShape)
	inner := s[axis+1:].NumElements()
	run := length * inner
	if run == 0 {
		return out
	}
	src := asElems(t)
	outer := s[:axis].NumElements()
	for o := range outer {
		e.copyRun(o*run, src, (o*s[axis]+start)*inner, run)
	}
	return out
}

// buildUnpack splits a tensor into num tensors along axis, removing it.
func buildUnpack(n Node) (Kernel, error) {
	num := attrInt(n, "num", -1)
	ax := attrInt(n, "axis", 0)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		axis, ok := normAxis(ax, len(s))
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "axis = %d not in [%d, %d)", ax, -len(s), len(s))
		}
		if num >= 0 && int64(s[axis]) != num {
			return nil, n.Errorf(ErrInvalidArgument, "input shape axis %d must equal %d, got shape %v", axis, num, s)
		}
		outShape := append(s[:axis].Clone(), s[axis+1:]...)
		out := make([]*tensor.Tensor, s[axis])
		for i := range out {
			t := sliceAxis(ctx, in[0], axis, i, 1)
			out[i], _ = t.Reshaped(outShape)
		}
		return out, nil
	}), nil
}

// buildSplit: Split(axis, value) into num_split equal parts.
func buildSplit(n Node) (Kernel, error) {
	num := attrInt(n, "num_split", 0)
	if num < 1 {
		return nil, n.Errorf(ErrInvalidArgument, "num_split = %d", num)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		ax, err := scalarInput(n, "split_dim", in[0])
		if err != nil {
			return nil, err
		}
		v := in[1]
		axis, ok := normAxis(ax, v.Rank())
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "-input rank(-%d) <= split_dim < input rank (%d), but got %d", v.Rank(), v.Rank(), ax)
		}
		d := v.Shape()[axis]
		if d%int(num) != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "number of ways to split should evenly divide the split dimension, but got split_dim %d (size = %d) and num_split %d", axis, d, num)
		}
		part := d / int(num)
		out := make([]*tensor.Tensor, num)
		for i := range out {
			out[i] = sliceAxis(ctx, v, axis, i*part, part)
		}
		return out, nil
	}), nil
}

// buildSplitV: SplitV(value, size_splits, axis); one size may be -1.
func buildSplitV(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		v := in[0]
		sizes, err := intInput(n, "size_splits", in[1])
		if err != nil {
			return nil, err
		}
		ax, err := scalarInput(n, "split_dim", in[2])
		if err != nil {
			return nil, err
		}
		axis, ok := normAxis(ax, v.Rank())
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "-input rank(-%d) <= split_dim < input rank (%d), but got %d", v.Rank(), v.Rank(), ax)
		}
		if num := attrInt(n, "num_split", int64(len(sizes))); num != int64(len(sizes)) {
			return nil, n.Errorf(ErrInvalidArgument, "size_splits has %d entries, num_split is %d", len(sizes), num)
		}
		d := int64(v.Shape()[axis])
		unknown, sum := -1, int64(0)
		for i, s := range sizes {
			switch {
			case s == -1:
				if unknown >= 0 {
					return nil, n.Errorf(ErrInvalidArgument, "there can only be one -1 in the input")
				}
				unknown = i
			case s < 0:
				return nil, n.Errorf(ErrInvalidArgument, "split size %d is negative", s)
			default:
				sum += s
			}
		}
		sizes = append([]int64(nil), sizes...)
		if unknown >= 0 {
			if sum > d {
				return nil, n.Errorf(ErrInvalidArgument, "determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified; got %d > %d", sum, d)
			}
			sizes[unknown] = d - sum
		} else if sum != d {
			return nil, n.Errorf(ErrInvalidArgument, "determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified; got %d != %d", sum, d)
		}
		out := make([]*tensor.Tensor, len(sizes))
		start := 0
		for i, s := range sizes {
			out[i] = sliceAxis(ctx, v, axis, start, int(s))
			start += int(s)
		}
		return out, nil
	}), nil
}

// buildTile: Tile(input, multiples) repeats the input multiples[i] times
// along dimension i.
func buildTile(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		mult, err := intInput(n, "multiples", in[1])
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(mult) != len(s) || in[1].Rank() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "expected multiples argument to be a vector of length %d but got length %d", len(s), len(mult))
		}
		dims := make([]int64, len(s))
		for i, m := range mult {
			if m < 0 {
				return nil, n.Errorf(ErrInvalidArgument, "expected multiples[%d] >= 0, but got %d", i, m)
			}
			dims[i] = int64(s[i]) * m
			if s[i] > 0 && m > maxOutputElements {
				return nil, n.Errorf(ErrInvalidArgument, "multiples %v are too large", mult)
			}
		}
		outShape, err := shapeFromValues(n, "output shape", dims)
		if err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		total := outShape.NumElements()
		if total == 0 {
			return Result(ctx, out), nil
		}
		r := len(s)
		if r == 0 {
			e.copyRun(0, asElems(in[0]), 0, 1)
			return Result(ctx, out), nil
		}
		src := asElems(in[0])
		inStrides := rowMajorStrides(s)
		last := s[r-1]
		idx := make([]int, r-1)
		for di := 0; di < total; {
			off := 0
			for i, x := range idx {
				off += (x % s[i]) * inStrides[i]
			}
			for range mult[r-1] {
				e.copyRun(di, src, off, last)
				di += last
			}
			for i := r - 2; i >= 0; i-- {
				idx[i]++
				if idx[i] < outShape[i] {
					break
				}
				idx[i] = 0
			}
		}
		return Result(ctx, out), nil
	}), nil
}
