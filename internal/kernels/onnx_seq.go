package kernels

import (
	"context"

	"inferd/internal/tensor"
)

// The ONNX sequence and optional kernels. A sequence or optional is a
// tensor of dtype Sequence or Optional whose elements (tensor.Seq) are
// never arena memory: a kernel that puts a tensor into one stores a clone,
// since the arena recycles a buffer once no slot refers to it and cannot
// see references from inside a sequence.

func init() {
	Register("OnnxSequenceEmpty", cfBuildSequenceEmpty)
	Register("OnnxSequenceConstruct", cfBuildSequenceConstruct)
	Register("OnnxSequenceInsert", cfBuildSequenceInsert)
	Register("OnnxSequenceErase", cfBuildSequenceErase)
	Register("OnnxSequenceAt", cfBuildSequenceAt)
	Register("OnnxSequenceLength", cfBuildSequenceLength)
	Register("OnnxSplitToSequence", cfBuildSplitToSequence)
	Register("OnnxConcatFromSequence", cfBuildConcatFromSequence)
	Register("OnnxOptional", cfBuildOptional)
	Register("OnnxOptionalHasElement", cfBuildOptionalHasElement)
	Register("OnnxOptionalGetElement", cfBuildOptionalGetElement)
}

// cfSeqIn returns input i, which must be a sequence.
func cfSeqIn(n Node, in []*tensor.Tensor, i int) (tensor.Seq, error) {
	if i >= len(in) || in[i] == nil {
		return nil, n.Errorf(ErrInvalidArgument, "input %d is missing", i)
	}
	if in[i].DType() != tensor.Sequence {
		return nil, n.Errorf(ErrInvalidArgument, "input %d is %v, want a sequence", i, in[i])
	}
	return in[i].Elems(), nil
}

// cfPosition reads the optional position input i (absent: def), which
// must lie in [-n, hi], and returns it counted from the front.
func cfPosition(n Node, in []*tensor.Tensor, i int, absent onnxAbsent, def, size, hi int) (int, error) {
	if i >= len(in) || absent.has(i) {
		return def, nil
	}
	t := in[i]
	if t == nil {
		return 0, n.Errorf(ErrInvalidArgument, "position is %v, want one int32 or int64", t)
	}
	p, ok := scalarInt(t)
	if !ok {
		return 0, n.Errorf(ErrInvalidArgument, "position is %v, want one int32 or int64", t)
	}
	if p < -int64(size) || p > int64(hi) {
		return 0, n.Errorf(ErrInvalidArgument, "position %d is out of range for a sequence of %d", p, size)
	}
	if p < 0 {
		p += int64(size)
	}
	return int(p), nil
}

// cfSameDType checks that t may join seq: ONNX sequences hold one dtype.
func cfSameDType(n Node, seq tensor.Seq, t *tensor.Tensor) error {
	if len(seq) > 0 && seq[0] != nil && seq[0].DType() != t.DType() {
		return n.Errorf(ErrInvalidArgument, "cannot put a %v tensor into a sequence of %v", t.DType(), seq[0].DType())
	}
	return nil
}

func cfBuildSequenceEmpty(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return []*tensor.Tensor{tensor.NewSequence()}, nil
	}), nil
}

func cfBuildSequenceConstruct(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq := make(tensor.Seq, 0, len(in))
		for i, t := range in {
			if t == nil {
				return nil, n.Errorf(ErrInvalidArgument, "input %d is missing", i)
			}
			if err := cfSameDType(n, seq, t); err != nil {
				return nil, err
			}
			seq = append(seq, t.Clone())
		}
		return []*tensor.Tensor{tensor.NewSequence(seq...)}, nil
	}), nil
}

func cfBuildSequenceInsert(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq, err := cfSeqIn(n, in, 0)
		if err != nil {
			return nil, err
		}
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		if err := cfSameDType(n, seq, in[1]); err != nil {
			return nil, err
		}
		p, err := cfPosition(n, in, 2, absent, len(seq), len(seq), len(seq))
		if err != nil {
			return nil, err
		}
		out := make(tensor.Seq, 0, len(seq)+1)
		out = append(append(append(out, seq[:p]...), in[1].Clone()), seq[p:]...)
		return []*tensor.Tensor{tensor.NewSequence(out...)}, nil
	}), nil
}

func cfBuildSequenceErase(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq, err := cfSeqIn(n, in, 0)
		if err != nil {
			return nil, err
		}
		if len(seq) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "cannot erase from an empty sequence")
		}
		p, err := cfPosition(n, in, 1, absent, len(seq)-1, len(seq), len(seq)-1)
		if err != nil {
			return nil, err
		}
		out := make(tensor.Seq, 0, len(seq)-1)
		out = append(append(out, seq[:p]...), seq[p+1:]...)
		return []*tensor.Tensor{tensor.NewSequence(out...)}, nil
	}), nil
}

func cfBuildSequenceAt(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq, err := cfSeqIn(n, in, 0)
		if err != nil {
			return nil, err
		}
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		p, err := cfPosition(n, in, 1, nil, 0, len(seq), len(seq)-1)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{seq[p]}, nil
	}), nil
}

func cfBuildSequenceLength(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq, err := cfSeqIn(n, in, 0)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{}, []int64{int64(len(seq))})}, nil
	}), nil
}

// cfPiece copies entries [lo, lo+cnt) along axis of t into a tensor of
// its own (not from the run's arena: a sequence outlives the step),
// dropping the axis when squeeze is set (cnt is then 1).
func cfPiece(t *tensor.Tensor, axis, lo, cnt int, squeeze bool) *tensor.Tensor {
	out := sliceAxis(context.Background(), t, axis, lo, cnt)
	if squeeze {
		s := out.Shape()
		out, _ = out.Reshaped(append(s[:axis:axis].Clone(), s[axis+1:]...))
	}
	return out
}

// cfPlain reports whether t is an ordinary tensor (not a sequence or
// optional).
func cfPlain(t *tensor.Tensor) bool {
	return t.DType() != tensor.Sequence && t.DType() != tensor.Optional && t.DType() != tensor.Invalid
}

// cfBuildSplitToSequence splits input 0 along "axis": into pieces of one
// (squeezed unless keepdims is 0) when split is absent, into pieces of the
// scalar split's size (the last may be smaller), or into the 1-D split's
// lengths.
func cfBuildSplitToSequence(n Node) (Kernel, error) {
	axisAttr := attrInt(n, "axis", 0)
	keep := attrInt(n, "keepdims", 1) != 0
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if !cfPlain(x) || x.Rank() == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "input is %v, want a tensor of rank 1 or more", x)
		}
		axis, err := onnxAxis(n, axisAttr, x.Rank())
		if err != nil {
			return nil, err
		}
		dim := x.Shape()[axis]
		var sizes []int
		squeeze := false
		if len(in) < 2 || absent.has(1) {
			for i := 0; i < dim; i++ {
				sizes = append(sizes, 1)
			}
			squeeze = !keep
		} else {
			s := in[1]
			vals, ok := IntValues(s)
			if !ok {
				return nil, n.Errorf(ErrInvalidArgument, "split is %v, want int32 or int64", s)
			}
			switch {
			case s.Rank() == 0:
				c := vals[0]
				if c <= 0 {
					return nil, n.Errorf(ErrInvalidArgument, "split size %d is not positive", c)
				}
				for lo := 0; lo < dim; lo += int(c) {
					sizes = append(sizes, min(int(c), dim-lo))
				}
			case s.Rank() == 1:
				total := int64(0)
				for _, v := range vals {
					if v < 0 {
						return nil, n.Errorf(ErrInvalidArgument, "split length %d is negative", v)
					}
					total += v
					sizes = append(sizes, int(v))
				}
				if total != int64(dim) {
					return nil, n.Errorf(ErrInvalidArgument, "split lengths sum to %d, but the axis has %d", total, dim)
				}
			default:
				return nil, n.Errorf(ErrInvalidArgument, "split is %v, want a scalar or a vector", s)
			}
		}
		seq := make(tensor.Seq, 0, len(sizes))
		lo := 0
		for _, c := range sizes {
			seq = append(seq, cfPiece(x, axis, lo, c, squeeze))
			lo += c
		}
		return []*tensor.Tensor{tensor.NewSequence(seq...)}, nil
	}), nil
}

// cfBuildConcatFromSequence joins a sequence's tensors along "axis", or
// stacks them along a new axis when new_axis is 1.
func cfBuildConcatFromSequence(n Node) (Kernel, error) {
	axisAttr, ok := n.Attrs.Int("axis")
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "the axis attribute is required")
	}
	newAxis := attrInt(n, "new_axis", 0) == 1
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		seq, err := cfSeqIn(n, in, 0)
		if err != nil {
			return nil, err
		}
		if len(seq) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "cannot concatenate an empty sequence")
		}
		first := seq[0]
		if !cfPlain(first) {
			return nil, n.Errorf(ErrInvalidArgument, "cannot concatenate %v elements", first.DType())
		}
		r := first.Rank()
		if newAxis {
			r++
		}
		axis, err := onnxAxis(n, axisAttr, r)
		if err != nil {
			return nil, err
		}
		// With new_axis, every element gains a dimension of one at axis.
		shapeOf := func(t *tensor.Tensor) tensor.Shape {
			s := t.Shape().Clone()
			if newAxis {
				s = append(s[:axis], append(tensor.Shape{1}, s[axis:]...)...)
			}
			return s
		}
		base := shapeOf(first)
		total := 0
		for _, t := range seq {
			s := shapeOf(t)
			if t.DType() != first.DType() || len(s) != len(base) {
				return nil, n.Errorf(ErrInvalidArgument, "cannot concatenate %v with %v", t, first)
			}
			for d := range s {
				if d != axis && s[d] != base[d] {
					return nil, n.Errorf(ErrInvalidArgument, "cannot concatenate %v with %v along axis %d", t, first, axis)
				}
			}
			total += s[axis]
		}
		os := base.Clone()
		os[axis] = total
		out := Alloc(ctx, first.DType(), os)
		outer, inner := 1, 1
		for _, d := range base[:axis] {
			outer *= d
		}
		for _, d := range base[axis+1:] {
			inner *= d
		}
		dst := asElems(out)
		off := 0
		for _, t := range seq {
			c := shapeOf(t)[axis]
			src := asElems(t)
			for o := 0; o < outer; o++ {
				dst.copyRun((o*total+off)*inner, src, o*c*inner, c*inner)
			}
			off += c
		}
		return Result(ctx, out), nil
	}), nil
}

func cfBuildOptional(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 || in[0] == nil {
			return []*tensor.Tensor{tensor.NewOptional(nil)}, nil
		}
		return []*tensor.Tensor{tensor.NewOptional(in[0].Clone())}, nil
	}), nil
}

// cfBuildOptionalHasElement answers whether an optional holds a value; a
// tensor or sequence (allowed from opset 18) always does, an absent input
// never.
func cfBuildOptionalHasElement(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		has := false
		if len(in) > 0 && in[0] != nil {
			has = in[0].DType() != tensor.Optional || len(in[0].Elems()) > 0
		}
		return []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{}, []bool{has})}, nil
	}), nil
}

// cfBuildOptionalGetElement returns an optional's value (an error when it
// is empty), or a tensor or sequence input itself.
func cfBuildOptionalGetElement(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		if in[0].DType() != tensor.Optional {
			return []*tensor.Tensor{in[0]}, nil
		}
		e := in[0].Elems()
		if len(e) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "the optional is empty")
		}
		return []*tensor.Tensor{e[0]}, nil
	}), nil
}
