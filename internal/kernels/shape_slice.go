package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("Slice", buildSlice)
	Register("StridedSlice", buildStridedSlice)
}

// buildSlice: Slice(input, begin, size); a size of -1 takes the rest of the
// dimension.
func buildSlice(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		begin, err := intInput(n, "begin", in[1])
		if err != nil {
			return nil, err
		}
		size, err := intInput(n, "size", in[2])
		if err != nil {
			return nil, err
		}
		if len(begin) != len(s) || len(size) != len(s) {
			return nil, n.Errorf(ErrInvalidArgument, "expected begin and size arguments to be 1-D tensors of size %d, but got shapes %v and %v instead", len(s), in[1].Shape(), in[2].Shape())
		}
		strides := rowMajorStrides(s)
		outShape := make(tensor.Shape, len(s))
		base := 0
		for i := range s {
			b, z := begin[i], size[i]
			if z == -1 {
				z = int64(s[i]) - b
			}
			if b < 0 || b > int64(s[i]) || z < 0 || b+z > int64(s[i]) {
				return nil, n.Errorf(ErrInvalidArgument, "expected begin[%d] in [0, %d] and size[%d] in [0, %d], but got %d and %d", i, s[i], i, int64(s[i])-b, begin[i], size[i])
			}
			outShape[i] = int(z)
			base += int(b) * strides[i]
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		if outShape.NumElements() > 0 {
			stridedCopy(e, outShape, asElems(in[0]), base, strides)
		}
		return Result(ctx, out), nil
	}), nil
}

// Markers in the final-shape gather list of a strided slice.
const (
	sliceNewAxis    = -1
	sliceShrinkAxis = -2
)

type stridedSliceMasks struct {
	begin, end, ellipsis, newAxis, shrink int64
}

// buildStridedSlice: StridedSlice(input, begin, end, strides) with
// TensorFlow's begin/end/ellipsis/new_axis/shrink_axis masks.
func buildStridedSlice(n Node) (Kernel, error) {
	m := stridedSliceMasks{
		begin:    attrInt(n, "begin_mask", 0),
		end:      attrInt(n, "end_mask", 0),
		ellipsis: attrInt(n, "ellipsis_mask", 0),
		newAxis:  attrInt(n, "new_axis_mask", 0),
		shrink:   attrInt(n, "shrink_axis_mask", 0),
	}
	if m.ellipsis&(m.ellipsis-1) != 0 {
		return nil, n.Errorf(ErrInvalidArgument, "multiple ellipses in slice spec not allowed")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 4); err != nil {
			return nil, err
		}
		var spec [3][]int64
		for i, name := range []string{"begin", "end", "strides"} {
			v, err := intInput(n, name, in[1+i])
			if err != nil {
				return nil, err
			}
			if in[1+i].Rank() != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "%s must be a vector, got shape %v", name, in[1+i].Shape())
			}
			spec[i] = v
		}
		if len(spec[1]) != len(spec[0]) || len(spec[2]) != len(spec[0]) {
			return nil, n.Errorf(ErrInvalidArgument, "expected begin, end, and strides to be 1D equal size tensors, but got shapes %v, %v, and %v instead", in[1].Shape(), in[2].Shape(), in[3].Shape())
		}
		plan, err := planStridedSlice(n, in[0].Shape(), spec[0], spec[1], spec[2], m)
		if err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[0].DType(), plan.procShape)
		if plan.procShape.NumElements() > 0 {
			stridedCopy(e, plan.procShape, asElems(in[0]), plan.base, plan.strides)
		}
		r, _ := out.Reshaped(plan.finalShape)
		return Result(ctx, r), nil
	}), nil
}

type stridedSlicePlan struct {
	procShape  tensor.Shape // one entry per input dimension
	finalShape tensor.Shape // with new axes added and shrunk axes removed
	base       int          // element offset of the first element
	strides    []int        // element step per input dimension
}

// planStridedSlice follows TensorFlow's ValidateStridedSliceOp: expand the
// sparse spec (with its ellipsis and new axes) to one entry per input
// dimension, canonicalize begin and end, and size each dimension.
func planStridedSlice(n Node, s tensor.Shape, begin, end, strides []int64, m stridedSliceMasks) (*stridedSlicePlan, error) {
	sparseDims := len(begin)
	ellipsis := m.ellipsis
	numAddAfterEllipsis := 0
	seen := false
	for i := range sparseDims {
		if seen && m.newAxis&(1<<i) != 0 {
			numAddAfterEllipsis++
		}
		if ellipsis&(1<<i) != 0 {
			seen = true
		}
	}
	if !seen {
		ellipsis |= 1 << sparseDims
		sparseDims++
	}
	rank := len(s)
	dBegin := make([]int64, rank)
	dEnd := make([]int64, rank)
	dStride := make([]int64, rank)
	var dBeginMask, dEndMask, dShrink int64
	var gather []int
	full := 0
	for i := range sparseDims {
		bit := int64(1) << i
		switch {
		case ellipsis&bit != 0:
			next := min(rank-(sparseDims-i)+1+numAddAfterEllipsis, rank)
			for ; full < next; full++ {
				dStride[full] = 1
				dBeginMask |= 1 << full
				dEndMask |= 1 << full
				gather = append(gather, full)
			}
		case m.newAxis&bit != 0:
			gather = append(gather, sliceNewAxis)
		default:
			if full == rank {
				return nil, n.Errorf(ErrInvalidArgument, "index out of range using input dim %d; input has only %d dims", full, rank)
			}
			dBegin[full], dEnd[full], dStride[full] = begin[i], end[i], strides[i]
			if m.begin&bit != 0 {
				dBeginMask |= 1 << full
			}
			if m.end&bit != 0 {
				dEndMask |= 1 << full
			}
			if m.shrink&bit != 0 {
				gather = append(gather, sliceShrinkAxis)
				dShrink |= 1 << full
			} else {
				gather = append(gather, full)
			}
			full++
		}
	}
	p := &stridedSlicePlan{procShape: make(tensor.Shape, rank), strides: make([]int, rank)}
	inStrides := rowMajorStrides(s)
	for i := range rank {
		b, e, st := dBegin[i], dEnd[i], dStride[i]
		dim := int64(s[i])
		if st == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "strides[%d] must be non-zero", i)
		}
		shrink := dShrink&(1<<i) != 0
		if shrink && st <= 0 {
			return nil, n.Errorf(ErrInvalidArgument, "only stride 1 allowed on non-range indexing")
		}
		lo, hi := int64(0), dim
		if st < 0 {
			lo, hi = -1, dim-1
		}
		canonical := func(x int64, isEnd bool) int64 {
			masked := dBeginMask&(1<<i) != 0
			if isEnd {
				masked = dEndMask&(1<<i) != 0
			}
			if masked {
				// A masked begin takes the start of the walk, a masked end
				// its finish: [lo, hi] forward, [hi, lo] backward.
				if (st > 0) != isEnd {
					return lo
				}
				return hi
			}
			if x < 0 {
				x += dim
			}
			return min(max(x, lo), hi)
		}
		if shrink {
			x := b
			if x < 0 {
				x += dim
			}
			if x < 0 || x >= dim {
				return nil, n.Errorf(ErrInvalidArgument, "slice index %d of dimension %d out of bounds", b, i)
			}
			b, e = x, x+1
		} else {
			b, e = canonical(b, false), canonical(e, true)
		}
		size := int64(0)
		if l := e - b; l != 0 && (l < 0) == (st < 0) {
			size = l / st
			if l%st != 0 {
				size++
			}
		}
		p.procShape[i] = int(size)
		p.strides[i] = inStrides[i] * int(st)
		if size > 0 {
			p.base += int(b) * inStrides[i]
		}
	}
	p.finalShape = tensor.Shape{}
	for _, g := range gather {
		switch g {
		case sliceNewAxis:
			p.finalShape = append(p.finalShape, 1)
		case sliceShrinkAxis:
		default:
			p.finalShape = append(p.finalShape, p.procShape[g])
		}
	}
	return p, nil
}
