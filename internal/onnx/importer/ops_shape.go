package importer

import (
	"context"
	"errors"
	"fmt"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/kernels"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// The shape, layout and indexing ops lower onto kernels written to ONNX
// semantics (internal/kernels/onnx_shape*.go); the converters here only
// turn what the generic kernel converter cannot pass (tensor attributes,
// the output count, ONNX dtype codes) into inputs and attributes, and
// compute a node at import when its inputs are all constants (shFold).

func init() {
	for _, op := range []string{
		"Shape", "Size", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat",
		"Slice", "Expand", "Tile", "DepthToSpace", "SpaceToDepth",
		"Gather", "GatherElements", "GatherND", "ScatterElements", "ScatterND",
		"Pad", "Range", "Trilu", "OneHot", "NonZero", "Compress", "ReverseSequence",
		"CumSum", "TopK", "Unique",
	} {
		register(op, shKernel)
	}
	register("Split", shSplit)
	register("Scatter", shScatter)
	register("ConstantOfShape", shConstantOfShape)
	register("EyeLike", shEyeLike)
}

// shEmit adds a node of the kernel OnnxOp(op) reading n's inputs (absent
// ones in the middle fed an empty constant and listed in "_absent", as
// kernel does) followed by extra, and binds every output of n; when
// shFold can compute the node at import, its outputs are bound to the
// constants instead.
func shEmit(b *builder, n *node, op string, attrs map[string]*tfpb.AttrValue, extra ...graph.Port) {
	if shFold(b, n, op, attrs, extra) {
		return
	}
	ins := n.GetInput()
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	ports := make([]graph.Port, 0, len(ins)+len(extra))
	var absent []int64
	for i := range ins {
		if p, ok := b.in(n, i); ok {
			ports = append(ports, p)
			continue
		}
		absent = append(absent, int64(i))
		ports = append(ports, b.constant(tensor.New(tensor.Float32, tensor.Shape{0})))
	}
	if len(absent) > 0 {
		attrs["_absent"] = aInts(absent...)
	}
	name := b.add(n, OnnxOp(op), attrs, append(ports, extra...)...)
	for i := range n.GetOutput() {
		b.out(n, i, graph.Port{Node: name, Index: i})
	}
}

// shFoldLimit bounds the elements of the outputs shFold computes at
// import: folding is for shape-like values later converters read with
// constIn; larger constant computations are left to the engine's folding.
const shFoldLimit = 1 << 12

// shFold computes n at import when every input it reads (extra included)
// is a constant and binds its outputs as constants, so that converters of
// later nodes see them through constIn (a shape built by Shape, Gather,
// Unsqueeze and Concat, say). It reports false, changing nothing, when an
// input is not constant, the kernel fails or an output is large.
func shFold(b *builder, n *node, op string, attrs map[string]*tfpb.AttrValue, extra []graph.Port) bool {
	ins := n.GetInput()
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	vals := make([]*tensor.Tensor, 0, len(ins)+len(extra))
	for i := range ins {
		t, ok := b.constIn(n, i)
		if !ok {
			return false
		}
		vals = append(vals, t)
	}
	for _, p := range extra {
		t, ok := b.consts[p.Node]
		if !ok || p.Index != 0 {
			return false
		}
		vals = append(vals, t)
	}
	build, ok := kernels.Lookup(OnnxOp(op))
	if !ok {
		return false
	}
	k, err := build(kernels.Node{Name: n.name, Op: OnnxOp(op), Attrs: graph.Attrs(attrs), NumInputs: len(vals)})
	if err != nil {
		return false
	}
	outs, err := shCompute(k, vals)
	if err != nil || len(outs) < len(n.GetOutput()) {
		return false
	}
	for i := range n.GetOutput() {
		if outs[i] == nil || outs[i].Len() > shFoldLimit {
			return false
		}
	}
	for i := range n.GetOutput() {
		b.outConst(n, i, outs[i])
	}
	return true
}

// shTooLarge is the panic value of shLimitAlloc.
type shTooLarge struct{}

// shLimitAlloc allocates for shFold and gives up (panics with
// shTooLarge, which shCompute recovers) on any tensor larger than
// shFoldLimit, so that folding a ConstantOfShape or Expand of a large
// constant shape does not build the large tensor only to drop it.
type shLimitAlloc struct{}

func (shLimitAlloc) Alloc(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if shape.NumElements() > shFoldLimit {
		panic(shTooLarge{})
	}
	return tensor.New(dt, shape)
}

// shCompute runs k on vals through shLimitAlloc; an output too large to
// fold is an error, and so is a panic, leaving the node to run (and fail)
// in the engine rather than failing the import.
func shCompute(k kernels.Kernel, vals []*tensor.Tensor) (outs []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(shTooLarge); ok {
				outs, err = nil, errors.New("output too large to fold")
				return
			}
			outs, err = nil, fmt.Errorf("kernel panicked: %v", r)
		}
	}()
	return k.Compute(kernels.WithAllocator(context.Background(), shLimitAlloc{}), vals)
}

// shKernel is the generic kernel converter through shEmit, folding at
// import when every input is constant.
func shKernel(b *builder, n *node) error {
	shEmit(b, n, n.GetOpType(), onnxAttrs(n))
	return nil
}

// shSplit passes the number of outputs, which sets the equal parts when
// no split is given.
func shSplit(b *builder, n *node) error {
	attrs := onnxAttrs(n)
	attrs["_num_outputs"] = aInt(int64(len(n.GetOutput())))
	shEmit(b, n, "Split", attrs)
	return nil
}

// shScatter maps the deprecated Scatter (opsets 9 and 10) onto
// ScatterElements, which has the same semantics.
func shScatter(b *builder, n *node) error {
	shEmit(b, n, "ScatterElements", onnxAttrs(n))
	return nil
}

// shConstantOfShape passes the value attribute (a one-element tensor,
// float32 0 by default) as a second input.
func shConstantOfShape(b *builder, n *node) error {
	v, ok, err := n.tensorAttr(b, "value")
	if err != nil {
		return err
	}
	if !ok {
		v = tensor.MustFromSlice(tensor.Shape{1}, []float32{0})
	}
	if v.Len() != 1 {
		return fmt.Errorf("%w: ConstantOfShape's value holds %d elements, not one", engine.ErrInvalidModel, v.Len())
	}
	if _, err := b.need(n, 0); err != nil {
		return err
	}
	attrs := onnxAttrs(n)
	shEmit(b, n, "ConstantOfShape", attrs, b.constant(v))
	return nil
}

// shEyeLike turns the ONNX dtype code into an engine dtype attribute.
func shEyeLike(b *builder, n *node) error {
	attrs := onnxAttrs(n)
	delete(attrs, "dtype")
	if a, ok := n.attrs["dtype"]; ok {
		dt, err := dtypeOf(int32(a.GetI()))
		if err != nil {
			return err
		}
		attrs["dtype"] = aType(dt)
	}
	shEmit(b, n, "EyeLike", attrs)
	return nil
}
