package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// The ONNX control-flow ops, with ONNX semantics. Their nodes list, after
// the ONNX inputs, the outer-scope values their sub-graphs read (attribute
// "captured" counts them); every function they call takes those values as
// its trailing inputs.
func init() {
	cfOps["OnnxIf"] = cfBuildIf
	cfOps["OnnxLoop"] = cfBuildLoop
	cfOps["OnnxScan"] = cfBuildScan
	cfOps["OnnxSequenceMap"] = cfBuildSequenceMap
}

// errCF marks a control-flow op's failure on the values it was given.
var errCF = errors.New("engine: control flow")

// cfCaptured reads the node's "captured" count, which must leave at least
// min ONNX inputs.
func cfCaptured(n *graph.Node, min int) (int, error) {
	c, _ := graph.Attrs(n.Attrs).Int("captured")
	if c < 0 || int(c) > len(n.Inputs)-min {
		return 0, fmt.Errorf("%w: %d captured values but %d inputs", ErrInvalidModel, c, len(n.Inputs))
	}
	return int(c), nil
}

// cfTruth reads a condition: a bool tensor with one element.
func cfTruth(t *tensor.Tensor, what string) (bool, error) {
	if t == nil || t.DType() != tensor.Bool || t.Len() != 1 {
		return false, fmt.Errorf("%w: %s is %v, want one bool", errCF, what, t)
	}
	return t.Bools()[0], nil
}

// cfBuildIf builds ONNX If: input 0 is the condition; the chosen branch
// (then_branch or else_branch) runs on the captured values and its outputs
// are the node's.
func cfBuildIf(n *graph.Node, fn func(string) (*cfFunc, error)) (kernels.Kernel, error) {
	capt, err := cfCaptured(n, 1)
	if err != nil {
		return nil, err
	}
	then, err := fn("then_branch")
	if err != nil {
		return nil, err
	}
	els, err := fn("else_branch")
	if err != nil {
		return nil, err
	}
	if then.numOut() != els.numOut() {
		return nil, fmt.Errorf("%w: the branches have %d and %d outputs", ErrInvalidModel, then.numOut(), els.numOut())
	}
	if then.numIn() != capt || els.numIn() != capt {
		return nil, fmt.Errorf("%w: the branches take %d and %d inputs, want the %d captured values", ErrInvalidModel, then.numIn(), els.numIn(), capt)
	}
	return kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		c, err := cfTruth(in[0], "the condition")
		if err != nil {
			return nil, err
		}
		if c {
			return then.call(ctx, in[1:])
		}
		return els.call(ctx, in[1:])
	}), nil
}

// cfAbsent reports which inputs the converter marked absent ("_absent").
func cfAbsent(n *graph.Node) map[int]bool {
	out := map[int]bool{}
	if l, ok := graph.Attrs(n.Attrs).Ints("_absent"); ok {
		for _, i := range l {
			out[int(i)] = true
		}
	}
	return out
}

// cfBuildLoop builds ONNX Loop. Inputs: the trip count M and the condition
// (either may be absent, "_absent"), N loop-carried initial values, then
// the captured values. The body takes (iteration, condition, N carried,
// captured) and returns (condition, N carried, K scan values); the node
// returns the N final carried values and the K scan outputs, each the
// iterations' values stacked on a new first axis. "scan_types" and
// "scan_shapes" give the scan outputs' element dtypes and shapes, for a
// loop that runs no iteration.
func cfBuildLoop(n *graph.Node, fn func(string) (*cfFunc, error)) (kernels.Kernel, error) {
	capt, err := cfCaptured(n, 2)
	if err != nil {
		return nil, err
	}
	body, err := fn("body")
	if err != nil {
		return nil, err
	}
	nc := len(n.Inputs) - 2 - capt
	if body.numIn() != 2+nc+capt {
		return nil, fmt.Errorf("%w: the body takes %d inputs, want %d (iteration, condition, %d carried, %d captured)", ErrInvalidModel, body.numIn(), 2+nc+capt, nc, capt)
	}
	ns := body.numOut() - 1 - nc
	if ns < 0 {
		return nil, fmt.Errorf("%w: the body returns %d outputs, want at least %d", ErrInvalidModel, body.numOut(), 1+nc)
	}
	absent := cfAbsent(n)
	scanTypes, _ := graph.Attrs(n.Attrs).Types("scan_types")
	scanShapes, _ := graph.Attrs(n.Attrs).Shapes("scan_shapes")
	return kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		maxIter := int64(-1)
		if !absent[0] {
			if in[0] == nil || in[0].Len() != 1 || (in[0].DType() != tensor.Int64 && in[0].DType() != tensor.Int32) {
				return nil, fmt.Errorf("%w: the trip count is %v, want one int64", errCF, in[0])
			}
			maxIter = cfInt(in[0])
		}
		cond := true
		if !absent[1] {
			c, err := cfTruth(in[1], "the condition")
			if err != nil {
				return nil, err
			}
			cond = c
		}
		carried := append([]*tensor.Tensor(nil), in[2:2+nc]...)
		captured := in[2+nc:]
		scans := make([][]*tensor.Tensor, ns)
		args := make([]*tensor.Tensor, body.numIn())
		copy(args[2+nc:], captured)
		for i := int64(0); cond && (maxIter < 0 || i < maxIter); i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			args[0] = tensor.MustFromSlice(tensor.Shape{}, []int64{i})
			args[1] = tensor.MustFromSlice(tensor.Shape{}, []bool{cond})
			copy(args[2:], carried)
			outs, err := body.call(ctx, args)
			if err != nil {
				return nil, err
			}
			if cond, err = cfTruth(outs[0], "the body's condition"); err != nil {
				return nil, err
			}
			copy(carried, outs[1:1+nc])
			for k := range scans {
				scans[k] = append(scans[k], outs[1+nc+k])
			}
		}
		res := make([]*tensor.Tensor, 0, nc+ns)
		res = append(res, carried...)
		for k, s := range scans {
			if len(s) == 0 {
				dt := tensor.Float32
				if k < len(scanTypes) && scanTypes[k] != tensor.Invalid {
					dt = scanTypes[k]
				}
				// No iteration: an empty stack, of the body's declared
				// element shape when it is fully known.
				shape := tensor.Shape{0}
				if k < len(scanShapes) && fullyKnown(scanShapes[k]) {
					for _, d := range scanShapes[k] {
						shape = append(shape, int(d))
					}
				}
				res = append(res, tensor.New(dt, shape))
				continue
			}
			t, err := cfStack(s, 0, false)
			if err != nil {
				return nil, fmt.Errorf("scan output %d: %w", k, err)
			}
			res = append(res, t)
		}
		return res, nil
	}), nil
}

// cfInt reads the one element of an int32 or int64 tensor.
func cfInt(t *tensor.Tensor) int64 {
	if t.DType() == tensor.Int32 {
		return int64(t.Int32s()[0])
	}
	return t.Int64s()[0]
}

// cfBuildScan builds ONNX Scan. From opset 9 ("_opset"): inputs are N
// initial states, M scan inputs ("num_scan_inputs"), then the captured
// values; scan inputs are sliced along scan_input_axes (reversed where
// scan_input_directions is 1), the body takes (N states, M slices,
// captured) and returns (N states, K scan values), and the node returns
// the N final states and the K scan outputs, stacked along
// scan_output_axes (reversed where scan_output_directions is 1). Opset 8
// has a leading optional sequence_lens input and a batch axis 0 on every
// input and output: the scan runs once per batch entry, over axis 1, with
// "directions" for the scan inputs.
func cfBuildScan(n *graph.Node, fn func(string) (*cfFunc, error)) (kernels.Kernel, error) {
	a := graph.Attrs(n.Attrs)
	opset, _ := a.Int("_opset")
	lead := 0
	if opset > 0 && opset < 9 {
		lead = 1
	}
	capt, err := cfCaptured(n, lead)
	if err != nil {
		return nil, err
	}
	body, err := fn("body")
	if err != nil {
		return nil, err
	}
	m64, _ := a.Int("num_scan_inputs")
	m := int(m64)
	total := len(n.Inputs) - lead - capt
	ns := total - m
	if m < 1 || ns < 0 {
		return nil, fmt.Errorf("%w: num_scan_inputs %d with %d inputs", ErrInvalidModel, m, total)
	}
	if body.numIn() != total+capt {
		return nil, fmt.Errorf("%w: the body takes %d inputs, want %d", ErrInvalidModel, body.numIn(), total+capt)
	}
	k := body.numOut() - ns
	if k < 0 {
		return nil, fmt.Errorf("%w: the body returns %d outputs, want at least %d", ErrInvalidModel, body.numOut(), ns)
	}
	ints := func(name string, n int) ([]int64, error) {
		l, ok := a.Ints(name)
		if !ok {
			return make([]int64, n), nil
		}
		if len(l) != n {
			return nil, fmt.Errorf("%w: %s has %d entries, want %d", ErrInvalidModel, name, len(l), n)
		}
		return l, nil
	}
	sc := &cfScan{body: body, ns: ns, m: m, k: k}
	if lead == 1 {
		if sc.inDirs, err = ints("directions", m); err != nil {
			return nil, err
		}
		sc.inAxes, sc.outAxes, sc.outDirs = make([]int64, m), make([]int64, k), make([]int64, k)
	} else {
		if sc.inAxes, err = ints("scan_input_axes", m); err != nil {
			return nil, err
		}
		if sc.inDirs, err = ints("scan_input_directions", m); err != nil {
			return nil, err
		}
		if sc.outAxes, err = ints("scan_output_axes", k); err != nil {
			return nil, err
		}
		if sc.outDirs, err = ints("scan_output_directions", k); err != nil {
			return nil, err
		}
	}
	if lead == 0 {
		return kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return sc.run(ctx, in[:ns], in[ns:ns+m], in[ns+m:])
		}), nil
	}
	absent := cfAbsent(n)
	return kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if !absent[0] && in[0] != nil && in[0].Len() > 0 {
			return nil, fmt.Errorf("%w: Scan-8 with sequence_lens is not supported", ErrUnsupported)
		}
		states, xs, captured := in[1:1+ns], in[1+ns:1+ns+m], in[1+ns+m:]
		batch := -1
		for _, t := range append(append([]*tensor.Tensor(nil), states...), xs...) {
			if t.Rank() < 1 || (batch >= 0 && t.Shape()[0] != batch) {
				return nil, fmt.Errorf("%w: Scan-8 inputs must share a batch axis 0; got %v", errCF, t)
			}
			batch = t.Shape()[0]
		}
		per := make([][]*tensor.Tensor, ns+k)
		st := make([]*tensor.Tensor, ns)
		x := make([]*tensor.Tensor, m)
		for b := 0; b < batch; b++ {
			for i, t := range states {
				st[i] = cfSliceAxis(t, 0, b)
			}
			for i, t := range xs {
				x[i] = cfSliceAxis(t, 0, b)
			}
			outs, err := sc.run(ctx, st, x, captured)
			if err != nil {
				return nil, err
			}
			for i, t := range outs {
				per[i] = append(per[i], t)
			}
		}
		res := make([]*tensor.Tensor, ns+k)
		for i, l := range per {
			if len(l) == 0 {
				return nil, fmt.Errorf("%w: Scan-8 with an empty batch", errCF)
			}
			t, err := cfStack(l, 0, false)
			if err != nil {
				return nil, err
			}
			res[i] = t
		}
		return res, nil
	}), nil
}

// cfScan is the opset-9 form of Scan: N states, M scan inputs, K scan
// outputs.
type cfScan struct {
	body                             *cfFunc
	ns, m, k                         int
	inAxes, inDirs, outAxes, outDirs []int64
}

// run scans xs, starting from states.
func (sc *cfScan) run(ctx context.Context, states, xs, captured []*tensor.Tensor) ([]*tensor.Tensor, error) {
	length := -1
	axes := make([]int, sc.m)
	for i, x := range xs {
		ax := int(sc.inAxes[i])
		if ax < 0 {
			ax += x.Rank()
		}
		if ax < 0 || ax >= x.Rank() {
			return nil, fmt.Errorf("%w: scan input %d (%v) has no axis %d", errCF, i, x, sc.inAxes[i])
		}
		axes[i] = ax
		if l := x.Shape()[ax]; length >= 0 && l != length {
			return nil, fmt.Errorf("%w: scan input %d has %d steps, want %d", errCF, i, l, length)
		} else {
			length = l
		}
	}
	args := make([]*tensor.Tensor, sc.body.numIn())
	copy(args, states)
	copy(args[sc.ns+sc.m:], captured)
	scans := make([][]*tensor.Tensor, sc.k)
	for t := 0; t < length; t++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for i, x := range xs {
			idx := t
			if sc.inDirs[i] == 1 {
				idx = length - 1 - t
			}
			args[sc.ns+i] = cfSliceAxis(x, axes[i], idx)
		}
		outs, err := sc.body.call(ctx, args)
		if err != nil {
			return nil, err
		}
		copy(args[:sc.ns], outs[:sc.ns])
		for j := range scans {
			scans[j] = append(scans[j], outs[sc.ns+j])
		}
	}
	res := make([]*tensor.Tensor, 0, sc.ns+sc.k)
	res = append(res, args[:sc.ns]...)
	for j, s := range scans {
		if len(s) == 0 {
			return nil, fmt.Errorf("%w: Scan over zero steps", errCF)
		}
		ax := int(sc.outAxes[j])
		if ax < 0 {
			ax += s[0].Rank() + 1
		}
		t, err := cfStack(s, ax, sc.outDirs[j] == 1)
		if err != nil {
			return nil, fmt.Errorf("scan output %d: %w", j, err)
		}
		res = append(res, t)
	}
	return res, nil
}

// cfSliceAxis returns entry i of t along axis, a tensor without that axis.
func cfSliceAxis(t *tensor.Tensor, axis, i int) *tensor.Tensor {
	shape := t.Shape()
	outer, inner := 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	l := shape[axis]
	os := append(shape[:axis:axis].Clone(), shape[axis+1:]...)
	out := tensor.New(t.DType(), os)
	src, dst := reflect.ValueOf(t.Data()), reflect.ValueOf(out.Data())
	for o := 0; o < outer; o++ {
		lo := (o*l + i) * inner
		reflect.Copy(dst.Slice(o*inner, (o+1)*inner), src.Slice(lo, lo+inner))
	}
	return out
}

// cfStack stacks ts, which must share dtype and shape, along a new axis
// (last entry first when reverse is set).
func cfStack(ts []*tensor.Tensor, axis int, reverse bool) (*tensor.Tensor, error) {
	first := ts[0]
	if first.DType() != tensor.String && first.DType().Size() == 0 {
		return nil, fmt.Errorf("%w: cannot stack %v values", errCF, first.DType())
	}
	shape := first.Shape()
	if axis < 0 || axis > len(shape) {
		return nil, fmt.Errorf("%w: cannot stack %v along axis %d", errCF, first, axis)
	}
	for _, t := range ts[1:] {
		if t.DType() != first.DType() || !t.Shape().Equal(shape) {
			return nil, fmt.Errorf("%w: cannot stack %v with %v", errCF, t, first)
		}
	}
	outer, inner := 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis:] {
		inner *= d
	}
	l := len(ts)
	os := append(append(shape[:axis:axis].Clone(), l), shape[axis:]...)
	out := tensor.New(first.DType(), os)
	dst := reflect.ValueOf(out.Data())
	for j, t := range ts {
		p := j
		if reverse {
			p = l - 1 - j
		}
		src := reflect.ValueOf(t.Data())
		for o := 0; o < outer; o++ {
			lo := (o*l + p) * inner
			reflect.Copy(dst.Slice(lo, lo+inner), src.Slice(o*inner, (o+1)*inner))
		}
	}
	return out, nil
}

// cfBuildSequenceMap builds ONNX SequenceMap: input 0 is a sequence, the
// further ONNX inputs sequences of the same length or tensors, then the
// captured values. The body runs once per element, on element i of each
// sequence input and the whole of each tensor input, and each of its
// outputs becomes a sequence of the per-element results.
func cfBuildSequenceMap(n *graph.Node, fn func(string) (*cfFunc, error)) (kernels.Kernel, error) {
	capt, err := cfCaptured(n, 1)
	if err != nil {
		return nil, err
	}
	body, err := fn("body")
	if err != nil {
		return nil, err
	}
	nin := len(n.Inputs) - capt
	if body.numIn() != nin+capt {
		return nil, fmt.Errorf("%w: the body takes %d inputs, want %d", ErrInvalidModel, body.numIn(), nin+capt)
	}
	return kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if in[0] == nil || in[0].DType() != tensor.Sequence {
			return nil, fmt.Errorf("%w: input 0 is %v, want a sequence", errCF, in[0])
		}
		length := len(in[0].Elems())
		for i, t := range in[1:nin] {
			if t.DType() == tensor.Sequence && len(t.Elems()) != length {
				return nil, fmt.Errorf("%w: sequence input %d has %d elements, want %d", errCF, i+1, len(t.Elems()), length)
			}
		}
		args := make([]*tensor.Tensor, body.numIn())
		copy(args, in)
		outs := make([]tensor.Seq, body.numOut())
		for e := 0; e < length; e++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			for i, t := range in[:nin] {
				if t.DType() == tensor.Sequence {
					args[i] = t.Elems()[e]
				}
			}
			res, err := body.call(ctx, args)
			if err != nil {
				return nil, err
			}
			for k, t := range res {
				// The body may return a value of the caller's arena (a
				// captured input), which a sequence cannot hold.
				outs[k] = append(outs[k], t.Clone())
			}
		}
		res := make([]*tensor.Tensor, len(outs))
		for k, s := range outs {
			res[k] = tensor.NewSequence(s...)
		}
		return res, nil
	}), nil
}
