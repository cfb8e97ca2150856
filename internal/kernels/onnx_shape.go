package kernels

import (
	"context"

	"inferd/internal/tensor"
)

// This file holds the ONNX shape and layout kernels, registered as
// "Onnx<Op>" with ONNX semantics (the importer's generic converter passes
// the ONNX attributes through, "_opset" and "_absent" included). Where an
// input of a later opset was an attribute before, the kernel reads the
// attribute when it is present and the input otherwise.

func init() {
	Register("OnnxShape", shBuildShape)
	Register("OnnxSize", shBuildSize)
	Register("OnnxReshape", shBuildReshape)
	Register("OnnxFlatten", shBuildFlatten)
	Register("OnnxSqueeze", shBuildSqueeze)
	Register("OnnxUnsqueeze", shBuildUnsqueeze)
	Register("OnnxTranspose", shBuildTranspose)
	Register("OnnxConcat", shBuildConcat)
	Register("OnnxSplit", shBuildSplit)
	Register("OnnxSlice", shBuildSlice)
	Register("OnnxExpand", shBuildExpand)
	Register("OnnxTile", shBuildTile)
	Register("OnnxDepthToSpace", shBuildDepthToSpace)
	Register("OnnxSpaceToDepth", shBuildSpaceToDepth)
}

// shIntsArg reads an integer list that is the attribute name in early
// opsets and input i in later ones: the attribute when present, else the
// input's values; ok is false when neither is there.
func shIntsArg(n Node, in []*tensor.Tensor, name string, i int) (v []int64, ok bool, err error) {
	if n.Attrs != nil {
		if a, has := n.Attrs.Ints(name); has {
			return a, true, nil
		}
	}
	t := onnxAbsentOf(n).input(in, i)
	if t == nil {
		return nil, false, nil
	}
	v, err = intInput(n, name, t)
	return v, err == nil, err
}

// shDims converts a shape to int64 values.
func shDims(s tensor.Shape) []int64 {
	v := make([]int64, len(s))
	for i, d := range s {
		v[i] = int64(d)
	}
	return v
}

// shPermute returns x (viewed with shape s) transposed by perm.
func shPermute(ctx context.Context, x *tensor.Tensor, s tensor.Shape, perm []int) *tensor.Tensor {
	inStrides := rowMajorStrides(s)
	outShape := make(tensor.Shape, len(s))
	strides := make([]int, len(s))
	for i, p := range perm {
		outShape[i] = s[p]
		strides[i] = inStrides[p]
	}
	out, e := newElems(ctx, x.DType(), outShape)
	stridedCopy(e, outShape, asElems(x), 0, strides)
	return out
}

// shBuildShape: Shape(data) with the opset 15 start and end attributes,
// which are clamped to [0, rank] after adding rank to negative values.
func shBuildShape(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		r := int64(len(s))
		clampDim := func(v int64) int64 {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		start, end := clampDim(attrInt(n, "start", 0)), clampDim(attrInt(n, "end", r))
		dims := shDims(s)
		if end < start {
			end = start
		}
		return single(tensor.MustFromSlice(tensor.Shape{int(end - start)}, append([]int64{}, dims[start:end]...))), nil
	}), nil
}

// shBuildSize: Size(data), the element count as an int64 scalar.
func shBuildSize(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		return single(tensor.MustFromSlice(tensor.Shape{}, []int64{int64(in[0].Len())})), nil
	}), nil
}

// shBuildReshape: Reshape(data, shape), or the shape attribute before
// opset 5. A 0 copies the input's dimension at that index unless
// allowzero is set; one -1 is inferred. The output shares data's storage.
func shBuildReshape(n Node) (Kernel, error) {
	allowZero := attrInt(n, "allowzero", 0) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		dims, ok, err := shIntsArg(n, in, "shape", 1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "no shape")
		}
		s := in[0].Shape()
		out := make(tensor.Shape, len(dims))
		unknown, known := -1, int64(1)
		for i, d := range dims {
			switch {
			case d == -1:
				if unknown >= 0 {
					return nil, n.Errorf(ErrInvalidArgument, "more than one -1 in shape %v", dims)
				}
				unknown = i
				continue
			case d == 0 && !allowZero:
				if i >= len(s) {
					return nil, n.Errorf(ErrInvalidArgument, "shape %v copies dimension %d of an input of rank %d", dims, i, len(s))
				}
				d = int64(s[i])
			case d < 0:
				return nil, n.Errorf(ErrInvalidArgument, "invalid dimension %d in shape %v", d, dims)
			}
			if d > 0 && known > maxOutputElements/d {
				return nil, n.Errorf(ErrInvalidArgument, "shape %v is too large", dims)
			}
			out[i] = int(d)
			known *= d
		}
		total := int64(in[0].Len())
		if unknown >= 0 {
			if known == 0 || total%known != 0 {
				return nil, n.Errorf(ErrInvalidArgument, "cannot infer the -1 in shape %v for %d elements", dims, total)
			}
			out[unknown] = int(total / known)
		} else if known != total {
			return nil, n.Errorf(ErrInvalidArgument, "cannot reshape %v to %v", s, dims)
		}
		r, err := View(ctx, in[0], out)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		return single(r), nil
	}), nil
}

// shBuildFlatten: Flatten(input) to 2-D around axis (default 1, in
// [-rank, rank]).
func shBuildFlatten(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 1)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		a := axis
		if a < 0 {
			a += int64(len(s))
		}
		if a < 0 || a > int64(len(s)) {
			return nil, n.Errorf(ErrInvalidArgument, "axis %d is out of range for rank %d", axis, len(s))
		}
		r, _ := View(ctx, in[0], tensor.Shape{s[:a].NumElements(), s[a:].NumElements()})
		return single(r), nil
	}), nil
}

// shBuildSqueeze: Squeeze(data, axes) with axes an attribute before opset
// 13; without axes every dimension of extent 1 goes.
func shBuildSqueeze(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		axes, _, err := shIntsArg(n, in, "axes", 1)
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		drop := make([]bool, len(s))
		for _, ax := range axes {
			a, err := onnxAxis(n, ax, len(s))
			if err != nil {
				return nil, err
			}
			if s[a] != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "cannot squeeze axis %d of extent %d", a, s[a])
			}
			drop[a] = true
		}
		out := tensor.Shape{}
		for i, d := range s {
			if drop[i] || len(axes) == 0 && d == 1 {
				continue
			}
			out = append(out, d)
		}
		r, _ := View(ctx, in[0], out)
		return single(r), nil
	}), nil
}

// shBuildUnsqueeze: Unsqueeze(data, axes) with axes an attribute before
// opset 13; axes index the output, whose rank is rank + len(axes).
func shBuildUnsqueeze(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		axes, ok, err := shIntsArg(n, in, "axes", 1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "no axes")
		}
		s := in[0].Shape()
		r := len(s) + len(axes)
		ins := make([]bool, r)
		for _, ax := range axes {
			a, err := onnxAxis(n, ax, r)
			if err != nil {
				return nil, err
			}
			if ins[a] {
				return nil, n.Errorf(ErrInvalidArgument, "axis %d is repeated in %v", a, axes)
			}
			ins[a] = true
		}
		out := make(tensor.Shape, r)
		j := 0
		for i := range out {
			if ins[i] {
				out[i] = 1
				continue
			}
			out[i] = s[j]
			j++
		}
		t, _ := View(ctx, in[0], out)
		return single(t), nil
	}), nil
}

// shBuildTranspose: Transpose(data) by the perm attribute, which defaults
// to reversing the dimensions.
func shBuildTranspose(n Node) (Kernel, error) {
	perm, hasPerm := []int64(nil), false
	if n.Attrs != nil {
		perm, hasPerm = n.Attrs.Ints("perm")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		p := make([]int, len(s))
		if !hasPerm {
			for i := range p {
				p[i] = len(s) - 1 - i
			}
		} else {
			if len(perm) != len(s) {
				return nil, n.Errorf(ErrInvalidArgument, "perm %v does not match rank %d", perm, len(s))
			}
			seen := make([]bool, len(s))
			for i, x := range perm {
				a, ok := normAxis(x, len(s))
				if !ok || seen[a] {
					return nil, n.Errorf(ErrInvalidArgument, "%v is not a permutation of %d dimensions", perm, len(s))
				}
				seen[a] = true
				p[i] = a
			}
		}
		return single(shPermute(ctx, in[0], s, p)), nil
	}), nil
}

// shBuildConcat: Concat(inputs...) along axis (negative from opset 11).
// Every input must have the same rank and the same extents off the axis.
func shBuildConcat(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 1)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "no inputs")
		}
		if err := checkInputs(n, in, len(in)); err != nil {
			return nil, err
		}
		s0 := in[0].Shape()
		a, err := onnxAxis(n, axis, len(s0))
		if err != nil {
			return nil, err
		}
		outShape := s0.Clone()
		outShape[a] = 0
		for i, t := range in {
			s := t.Shape()
			if len(s) != len(s0) || t.DType() != in[0].DType() {
				return nil, n.Errorf(ErrInvalidArgument, "input %d (%v) does not match input 0 (%v)", i, t, in[0])
			}
			for d := range s {
				if d != a && s[d] != s0[d] {
					return nil, n.Errorf(ErrInvalidArgument, "input %d has shape %v, input 0 %v", i, s, s0)
				}
			}
			outShape[a] += s[a]
		}
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		outer := s0[:a].NumElements()
		rowOut := outShape[a:].NumElements()
		off := 0
		for _, t := range in {
			row := t.Shape()[a:].NumElements()
			if row == 0 {
				continue
			}
			src := asElems(t)
			for o := range outer {
				e.copyRun(o*rowOut+off, src, o*row, row)
			}
			off += row
		}
		return single(out), nil
	}), nil
}

// shBuildSplit: Split(input, split) along axis into as many outputs as
// the node has ("_num_outputs", set by the converter); split is an
// attribute before opset 13. Without split the parts are equal, the last
// one smaller when the extent does not divide.
func shBuildSplit(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 0)
	nout := int(attrInt(n, "_num_outputs", 1))
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		a, err := onnxAxis(n, axis, len(s))
		if err != nil {
			return nil, err
		}
		split, ok, err := shIntsArg(n, in, "split", 1)
		if err != nil {
			return nil, err
		}
		if !ok || len(split) == 0 {
			if nout <= 0 {
				return nil, n.Errorf(ErrInvalidArgument, "no outputs")
			}
			part := (s[a] + nout - 1) / nout
			split = make([]int64, nout)
			left := s[a]
			for i := range split {
				split[i] = int64(min(part, left))
				left -= int(split[i])
			}
		}
		total := int64(0)
		for _, x := range split {
			if x < 0 || x > int64(s[a]) {
				return nil, n.Errorf(ErrInvalidArgument, "split %v does not fit the extent %d", split, s[a])
			}
			total += x
		}
		if total != int64(s[a]) {
			return nil, n.Errorf(ErrInvalidArgument, "split %v does not sum to the extent %d", split, s[a])
		}
		outer, inner := s[:a].NumElements(), s[a+1:].NumElements()
		src := asElems(in[0])
		outs := make([]*tensor.Tensor, len(split))
		start := 0
		for i, x := range split {
			os := s.Clone()
			os[a] = int(x)
			t, e := newElems(ctx, in[0].DType(), os)
			row := int(x) * inner
			if row > 0 {
				for o := range outer {
					e.copyRun(o*row, src, (o*s[a]+start)*inner, row)
				}
			}
			start += int(x)
			outs[i] = t
		}
		return outs, nil
	}), nil
}

// shBuildSlice: Slice(data, starts, ends, axes, steps) from opset 10, or
// with the starts, ends and axes attributes before. Starts and ends are
// clamped as ONNX specifies, negative steps walk backwards.
func shBuildSlice(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		starts, ok1, err := shIntsArg(n, in, "starts", 1)
		if err != nil {
			return nil, err
		}
		ends, ok2, err := shIntsArg(n, in, "ends", 2)
		if err != nil {
			return nil, err
		}
		if !ok1 || !ok2 || len(starts) != len(ends) {
			return nil, n.Errorf(ErrInvalidArgument, "starts %v and ends %v must be given with the same length", starts, ends)
		}
		axes, hasAxes, err := shIntsArg(n, in, "axes", 3)
		if err != nil {
			return nil, err
		}
		var steps []int64
		if t := onnxAbsentOf(n).input(in, 4); t != nil {
			if steps, err = intInput(n, "steps", t); err != nil {
				return nil, err
			}
		}
		s := in[0].Shape()
		if !hasAxes {
			axes = make([]int64, len(starts))
			for i := range axes {
				axes[i] = int64(i)
			}
		}
		if steps == nil {
			steps = make([]int64, len(starts))
			for i := range steps {
				steps[i] = 1
			}
		}
		if len(axes) != len(starts) || len(steps) != len(starts) {
			return nil, n.Errorf(ErrInvalidArgument, "starts, ends, axes and steps differ in length")
		}
		inStrides := rowMajorStrides(s)
		outShape := s.Clone()
		strides := append([]int(nil), inStrides...)
		base := 0
		seen := make([]bool, len(s))
		for i, ax := range axes {
			a, err := onnxAxis(n, ax, len(s))
			if err != nil {
				return nil, err
			}
			if seen[a] {
				return nil, n.Errorf(ErrInvalidArgument, "axis %d is repeated", a)
			}
			seen[a] = true
			dim, step := int64(s[a]), steps[i]
			if step == 0 {
				return nil, n.Errorf(ErrInvalidArgument, "step 0")
			}
			start, end := starts[i], ends[i]
			if start < 0 {
				start += dim
			}
			if end < 0 {
				end += dim
			}
			// A step longer than the dimension takes one element at most;
			// clamping it keeps the arithmetic below from overflowing.
			step = min(max(step, -dim-1), dim+1)
			var count int64
			if step > 0 {
				start = min(max(start, 0), dim)
				end = min(max(end, 0), dim)
				if end > start {
					count = (end-start-1)/step + 1
				}
			} else {
				start = min(max(start, 0), dim-1)
				end = min(max(end, -1), dim-1)
				if start > end {
					count = (start-end-1)/-step + 1
				}
			}
			outShape[a] = int(count)
			if count > 0 {
				base += int(start) * inStrides[a]
			}
			strides[a] = int(step) * inStrides[a]
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		if outShape.NumElements() > 0 {
			stridedCopy(e, outShape, asElems(in[0]), base, strides)
		}
		return single(out), nil
	}), nil
}

// shBuildExpand: Expand(input, shape) broadcasts input and shape both
// ways (a 1 in shape keeps input's extent).
func shBuildExpand(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		dims, err := intInput(n, "shape", in[1])
		if err != nil {
			return nil, err
		}
		target, err := shapeFromValues(n, "shape", dims)
		if err != nil {
			return nil, err
		}
		outShape, err := BroadcastShape(in[0].Shape(), target)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "cannot expand %v to %v", in[0].Shape(), dims)
		}
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		return single(broadcastCopy(ctx, in[0], outShape)), nil
	}), nil
}

// shBuildTile: Tile(input, repeats), one repeat count per dimension; before
// opset 6, Tile(input, tiles, axis) repeats along the one axis.
func shBuildTile(n Node) (Kernel, error) {
	legacy := attrInt(n, "_opset", 6) < 6
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		var reps []int64
		var err error
		if legacy {
			if err := checkInputs(n, in, 3); err != nil {
				return nil, err
			}
			tiles, err := scalarInput(n, "tiles", in[1])
			if err != nil {
				return nil, err
			}
			ax, err := scalarInput(n, "axis", in[2])
			if err != nil {
				return nil, err
			}
			a, err := onnxAxis(n, ax, len(s))
			if err != nil {
				return nil, err
			}
			reps = make([]int64, len(s))
			for i := range reps {
				reps[i] = 1
			}
			reps[a] = tiles
		} else if reps, err = intInput(n, "repeats", in[1]); err != nil {
			return nil, err
		}
		if len(reps) != len(s) {
			return nil, n.Errorf(ErrInvalidArgument, "repeats %v do not match rank %d", reps, len(s))
		}
		// View the output as [r0, d0, r1, d1, ...] reading the input with
		// stride 0 along each repeat dimension.
		inStrides := rowMajorStrides(s)
		view := make(tensor.Shape, 0, 2*len(s))
		strides := make([]int, 0, 2*len(s))
		outShape := make(tensor.Shape, len(s))
		for i, r := range reps {
			if r < 0 || s[i] > 0 && r > maxOutputElements/int64(s[i]) {
				return nil, n.Errorf(ErrInvalidArgument, "repeats %v are negative or too large for %v", reps, s)
			}
			view = append(view, int(r), s[i])
			strides = append(strides, 0, inStrides[i])
			outShape[i] = int(r) * s[i]
		}
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		if outShape.NumElements() > 0 {
			stridedCopy(e, view, asElems(in[0]), 0, strides)
		}
		return single(out), nil
	}), nil
}

// shBuildDepthToSpace: DepthToSpace(input) of an NCHW tensor, in DCR
// (default) or CRD mode.
func shBuildDepthToSpace(n Node) (Kernel, error) {
	bs := int(attrInt(n, "blocksize", 0))
	mode := attrString(n, "mode", "DCR")
	if bs <= 0 {
		return nil, n.Errorf(ErrInvalidArgument, "blocksize %d", bs)
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, n.Errorf(ErrUnsupported, "mode %q", mode)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(s) != 4 || s[1]%(bs*bs) != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "input shape %v does not suit blocksize %d", s, bs)
		}
		N, C, H, W := s[0], s[1]/(bs*bs), s[2], s[3]
		var view tensor.Shape
		var perm []int
		if mode == "DCR" {
			view, perm = tensor.Shape{N, bs, bs, C, H, W}, []int{0, 3, 4, 1, 5, 2}
		} else {
			view, perm = tensor.Shape{N, C, bs, bs, H, W}, []int{0, 1, 4, 2, 5, 3}
		}
		out := shPermute(ctx, in[0], view, perm)
		r, _ := View(ctx, out, tensor.Shape{N, C, H * bs, W * bs})
		return single(r), nil
	}), nil
}

// shBuildSpaceToDepth: SpaceToDepth(input) of an NCHW tensor.
func shBuildSpaceToDepth(n Node) (Kernel, error) {
	bs := int(attrInt(n, "blocksize", 0))
	if bs <= 0 {
		return nil, n.Errorf(ErrInvalidArgument, "blocksize %d", bs)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(s) != 4 || s[2]%bs != 0 || s[3]%bs != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "input shape %v does not suit blocksize %d", s, bs)
		}
		N, C, H, W := s[0], s[1], s[2]/bs, s[3]/bs
		out := shPermute(ctx, in[0], tensor.Shape{N, C, H, bs, W, bs}, []int{0, 3, 5, 1, 2, 4})
		r, _ := View(ctx, out, tensor.Shape{N, C * bs * bs, H, W})
		return single(r), nil
	}), nil
}
