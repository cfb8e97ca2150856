package importer

import (
	"context"
	"slices"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// nnOptimize keeps chains of convolutions in NHWC. The Conv converter
// wraps each Conv2D in transposes (NCHW->NHWC before, NHWC->NCHW after);
// this pass moves each NHWC->NCHW transpose down past what follows it:
// element-wise ops (transposing their constant operands instead), Concat
// (remapping the axis), reductions with constant axes and inference
// BatchNormalization (as TensorFlow's ops on the NHWC data), and the ONNX
// pools (their NHWC forms, or TensorFlow's MaxPool, Max and Mean where
// the semantics match). Pairs of transposes that undo each other are then
// removed, so that the data stays NHWC from one convolution to the next.
// An Add of a per-channel constant right after a convolution becomes a
// BiasAdd, which the engine fuses.
func nnOptimize(b *builder) error {
	p := &nnPass{b: b, folded: map[graph.Port]*tensor.Tensor{}, dead: map[string]bool{}}
	for round := 0; round < 8; round++ {
		changed := false
		for i := 0; i < len(b.g.Nodes()); i++ {
			n := b.g.Nodes()[i]
			if p.visit(n) {
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	p.prune()
	return nil
}

// nnPass is the state of one nnOptimize run.
type nnPass struct {
	b      *builder
	folded map[graph.Port]*tensor.Tensor
	dead   map[string]bool // nodes replaced, which nothing reads any more
}

// nnLayoutFree are the element-wise ops whose result does not depend on
// the layout of their operands, as long as every non-scalar operand is
// laid out the same way.
var nnLayoutFree = map[string]bool{
	"Relu": true, "Relu6": true, "Elu": true, "Selu": true, "Sigmoid": true, "Tanh": true,
	"Softplus": true, "Softsign": true, "LeakyRelu": true, "Identity": true, "Abs": true,
	"Neg": true, "Exp": true, "Log": true, "Sqrt": true, "Rsqrt": true, "Square": true,
	"Floor": true, "Ceil": true, "Round": true, "Sign": true, "Erf": true, "Reciprocal": true,
	"Sin": true, "Cos": true,
	"Add": true, "AddV2": true, "Sub": true, "Mul": true, "Div": true, "RealDiv": true,
	"Maximum": true, "Minimum": true, "Pow": true, "SquaredDifference": true,
	"OnnxClip": true, "OnnxMax": true, "OnnxMin": true, "OnnxSum": true, "OnnxMean": true,
	"OnnxCelu": true, "OnnxHardSigmoid": true, "OnnxHardSwish": true, "OnnxThresholdedRelu": true,
	"OnnxShrink": true, "OnnxPRelu": true, "OnnxPow": true,
}

// nnPoolOps are the pooling kernels that also run channels-last.
var nnPoolOps = map[string]bool{
	"OnnxMaxPool": true, "OnnxAveragePool": true, "OnnxLpPool": true,
	"OnnxGlobalMaxPool": true, "OnnxGlobalAveragePool": true, "OnnxGlobalLpPool": true,
}

// nnGlobalTF are the global pools TensorFlow's reductions over the
// spatial axes of NHWC data compute.
var nnGlobalTF = map[string]string{"OnnxGlobalMaxPool": "Max", "OnnxGlobalAveragePool": "Mean"}

// nnReduceOps maps the ONNX reductions to the TensorFlow reductions of
// the same semantics over the same axes.
var nnReduceOps = map[string]string{
	"OnnxReduceMax": "Max", "OnnxReduceMin": "Min", "OnnxReduceMean": "Mean",
	"OnnxReduceSum": "Sum", "OnnxReduceProd": "Prod",
}

// reduce moves a transpose below a reduction with an axes attribute:
// reduce(T(x, p), A) is reduce(x, p[A]), transposed back by p when the
// dimensions are kept, and as it is when they are dropped and the kept
// ones stay in order. The reduction becomes TensorFlow's, which has the
// engine's fast paths.
func (p *nnPass) reduce(n *graph.Node) bool {
	x, perm, ok := p.transposeOf(n.Inputs[0])
	if !ok {
		return false
	}
	a := graph.Attrs(n.Attrs)
	axes, ok := a.Ints("axes")
	if !ok || len(axes) == 0 {
		return false
	}
	r := int64(len(perm))
	reduced := make([]bool, r)
	for _, ax := range axes {
		if ax < 0 {
			ax += r
		}
		if ax < 0 || ax >= r || reduced[perm[ax]] {
			return false
		}
		reduced[perm[ax]] = true
	}
	keep, ok := a.Int("keepdims")
	if !ok {
		keep = 1
	}
	if keep == 0 {
		last := int64(-1)
		for _, src := range perm {
			if reduced[src] {
				continue
			}
			if src < last {
				return false
			}
			last = src
		}
	}
	var idx []int32
	for d, red := range reduced {
		if red {
			idx = append(idx, int32(d))
		}
	}
	axesT := p.b.constant(tensor.MustFromSlice(tensor.Shape{len(idx)}, idx))
	y := p.add(n.Name, nnReduceOps[n.Op], map[string]*tfpb.AttrValue{"keep_dims": aBool(keep != 0), "Tidx": aType(tensor.Int32)}, x, axesT)
	if keep != 0 {
		y = p.transpose(n.Name, y, perm)
	}
	p.replace(graph.Port{Node: n.Name}, y)
	return true
}

// concat moves transposes of the same permutation feeding every input
// of a Concat below it: Concat(T(a, p), T(b, p), axis) is
// T(Concat(a, b, p[axis]), p).
func (p *nnPass) concat(n *graph.Node) bool {
	a := graph.Attrs(n.Attrs)
	axis, ok := a.Int("axis")
	if !ok || len(n.Inputs) == 0 {
		return false
	}
	var perm []int64
	ins := make([]graph.Port, len(n.Inputs))
	for i, in := range n.Inputs {
		x, pm, ok := p.transposeOf(in)
		if !ok || (perm != nil && !slices.Equal(pm, perm)) {
			return false
		}
		perm, ins[i] = pm, x
	}
	r := int64(len(perm))
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return false
	}
	attrs := map[string]*tfpb.AttrValue{}
	for k, v := range n.Attrs {
		attrs[k] = v
	}
	attrs["axis"] = aInt(perm[axis])
	y := p.add(n.Name, n.Op, attrs, ins...)
	p.replace(graph.Port{Node: n.Name}, p.transpose(n.Name, y, perm))
	return true
}

// alongAxis moves a transpose below an op working along one axis
// (Softmax and LogSoftmax from opset 13, whose axis is a single
// dimension; ArgMax, ArgMin): op(T(x, p), axis) is T(op(x, p[axis]), p),
// without the transpose when ArgMax drops the axis and the other
// dimensions keep their order. A softmax that ends up along the last
// axis is TensorFlow's.
func (p *nnPass) alongAxis(n *graph.Node) bool {
	if len(n.Inputs) != 1 {
		return false
	}
	x, perm, ok := p.transposeOf(n.Inputs[0])
	if !ok {
		return false
	}
	a := graph.Attrs(n.Attrs)
	r := int64(len(perm))
	arg := n.Op == "OnnxArgMax" || n.Op == "OnnxArgMin"
	var axis int64
	switch {
	case n.Op == "Softmax" || n.Op == "LogSoftmax":
		axis = r - 1
	case arg:
		axis, _ = a.Int("axis")
	default:
		if opset, ok := a.Int("_opset"); !ok || opset < 13 {
			return false // before 13 the input is coerced to 2-D from axis on
		}
		if axis, ok = a.Int("axis"); !ok {
			axis = -1
		}
	}
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r {
		return false
	}
	q := perm[axis]
	keep := true
	if arg {
		if v, ok := a.Int("keepdims"); ok && v == 0 {
			keep = false
			last := int64(-1)
			for _, src := range perm {
				if src == q {
					continue
				}
				if src < last {
					return false
				}
				last = src
			}
		}
	}
	var y graph.Port
	if !arg && q == r-1 {
		op := "Softmax"
		if n.Op == "OnnxLogSoftmax" || n.Op == "LogSoftmax" {
			op = "LogSoftmax"
		}
		y = p.add(n.Name, op, nil, x)
	} else {
		attrs := map[string]*tfpb.AttrValue{}
		for k, v := range n.Attrs {
			attrs[k] = v
		}
		op := n.Op
		switch op {
		case "Softmax", "LogSoftmax":
			op = "Onnx" + op
			attrs = map[string]*tfpb.AttrValue{"_opset": aInt(13)}
		}
		attrs["axis"] = aInt(q)
		y = p.add(n.Name, op, attrs, x)
	}
	if keep {
		y = p.transpose(n.Name, y, perm)
	}
	p.replace(graph.Port{Node: n.Name}, y)
	return true
}

// perAxis moves a transpose below Resize, Upsample or Pad, which treat
// each axis on its own: their constant per-axis operands and attributes
// (scales, sizes, roi's starts and ends, pads' befores and afters) are
// permuted to the untransposed axes; scalars (Pad's constant_value) and
// absent inputs stay as they are.
func (p *nnPass) perAxis(n *graph.Node) bool {
	if len(n.Inputs) < 1 {
		return false
	}
	x, perm, ok := p.transposeOf(n.Inputs[0])
	if !ok {
		return false
	}
	r := len(perm)
	a := graph.Attrs(n.Attrs)
	absent := map[int]bool{}
	if ab, ok := a.Ints("_absent"); ok {
		for _, i := range ab {
			absent[int(i)] = true
		}
	}
	if n.Op == "OnnxPad" && len(n.Inputs) > 3 && !absent[3] {
		return false // axes
	}
	ins := []graph.Port{x}
	for i, in := range n.Inputs[1:] {
		c, ok := p.constOf(in, 0)
		if !ok || c.Rank() > 1 {
			return false
		}
		switch {
		case absent[i+1] || c.Len() == 0:
			ins = append(ins, in)
		case c.Len() == 1 && n.Op == "OnnxPad":
			ins = append(ins, in)
		case c.Len() == r || c.Len() == 2*r:
			moved := tensor.New(c.DType(), c.Shape())
			for half := 0; half < c.Len(); half += r {
				for j, src := range perm {
					nnCopyElem(moved, half+int(src), c, half+j)
				}
			}
			ins = append(ins, p.b.constant(moved))
		default:
			return false
		}
	}
	attrs := map[string]*tfpb.AttrValue{}
	for k, v := range n.Attrs {
		attrs[k] = v
	}
	for _, name := range []string{"pads", "paddings"} {
		v, ok := a.Ints(name)
		if !ok {
			continue
		}
		if len(v) != 2*r {
			return false
		}
		moved := make([]int64, 2*r)
		for half := 0; half < 2*r; half += r {
			for j, src := range perm {
				moved[half+int(src)] = v[half+j]
			}
		}
		attrs[name] = aInts(moved...)
	}
	if sc, ok := a.Floats("scales"); ok {
		if len(sc) != r {
			return false
		}
		moved := make([]float32, r)
		for j, src := range perm {
			moved[src] = sc[j]
		}
		attrs["scales"] = aFloats(moved...)
	}
	y := p.add(n.Name, n.Op, attrs, ins...)
	p.replace(graph.Port{Node: n.Name}, p.transpose(n.Name, y, perm))
	return true
}

// used reports whether anything reads port q.
func (p *nnPass) used(q graph.Port) bool {
	for _, n := range p.b.g.Nodes() {
		if p.dead[n.Name] {
			continue
		}
		if slices.Contains(n.Inputs, q) {
			return true
		}
	}
	for _, v := range p.b.values {
		if v == q {
			return true
		}
	}
	return false
}

// batchNorm runs an inference BatchNormalization of an NHWC->NCHW
// transpose as TensorFlow's FusedBatchNormV3 on the NHWC data.
func (p *nnPass) batchNorm(n *graph.Node) bool {
	a := graph.Attrs(n.Attrs)
	if len(n.Inputs) != 5 {
		return false
	}
	if _, ok := a.Ints("_absent"); ok {
		return false
	}
	if v, _ := a.Int("training_mode"); v != 0 {
		return false
	}
	if v, ok := a.Int("spatial"); ok && v != 1 {
		return false
	}
	if v, ok := a.Int("is_test"); ok && v == 0 {
		return false
	}
	x, perm, ok := p.transposeOf(n.Inputs[0])
	if !ok || !slices.Equal(perm, nnToNCHW) {
		return false
	}
	for i := 1; i < 5; i++ {
		if p.used(graph.Port{Node: n.Name, Index: i}) {
			return false
		}
		if c, ok := p.constOf(n.Inputs[i], 0); !ok || c.Rank() != 1 || c.DType() != tensor.Float32 {
			return false
		}
	}
	eps, ok := a.Float("epsilon")
	if !ok {
		eps = 1e-5
	}
	ins := append([]graph.Port{x}, n.Inputs[1:]...)
	y := p.add(n.Name, "FusedBatchNormV3", map[string]*tfpb.AttrValue{
		"epsilon": aFloat(eps), "is_training": aBool(false), "data_format": aStr("NHWC"),
		"T": aType(tensor.Float32), "U": aType(tensor.Float32),
	}, ins...)
	p.replace(graph.Port{Node: n.Name}, p.transpose(n.Name, y, perm))
	return true
}

// perm returns the permutation of a Transpose node (TensorFlow's, with a
// constant perm, or the ONNX kernel's with its perm attribute).
func (p *nnPass) perm(n *graph.Node) ([]int64, bool) {
	if n == nil {
		return nil, false
	}
	switch n.Op {
	case "Transpose":
		if len(n.Inputs) != 2 {
			return nil, false
		}
		t, ok := p.constOf(n.Inputs[1], 0)
		if !ok {
			return nil, false
		}
		return kernels.IntValues(t)
	case "OnnxTranspose":
		if len(n.Inputs) != 1 {
			return nil, false
		}
		return graph.Attrs(n.Attrs).Ints("perm")
	}
	return nil, false
}

// transposeOf reports the transpose producing port q: its input and perm.
func (p *nnPass) transposeOf(q graph.Port) (graph.Port, []int64, bool) {
	if q.Index != 0 {
		return graph.Port{}, nil, false
	}
	n := p.b.g.Node(q.Node)
	perm, ok := p.perm(n)
	if !ok {
		return graph.Port{}, nil, false
	}
	return n.Inputs[0], perm, true
}

// constOf returns the value of q when it is a constant or computed from
// constants only (evaluating at most depth levels of kernels).
func (p *nnPass) constOf(q graph.Port, depth int) (*tensor.Tensor, bool) {
	if t, ok := p.folded[q]; ok {
		return t, t != nil
	}
	n := p.b.g.Node(q.Node)
	if n == nil {
		return nil, false
	}
	if n.Op == "Const" {
		t, ok := p.b.consts[n.Name]
		return t, ok && q.Index == 0
	}
	if depth > 4 || len(n.Inputs) == 0 || n.Op == "Placeholder" {
		return nil, false
	}
	ins := make([]*tensor.Tensor, len(n.Inputs))
	for i, in := range n.Inputs {
		t, ok := p.constOf(in, depth+1)
		if !ok {
			p.folded[q] = nil
			return nil, false
		}
		ins[i] = t
	}
	build, ok := kernels.Lookup(n.Op)
	var out *tensor.Tensor
	if ok {
		if k, err := build(kernels.Node{Name: n.Name, Op: n.Op, Attrs: graph.Attrs(n.Attrs), NumInputs: len(n.Inputs)}); err == nil {
			if res, err := k.Compute(context.Background(), ins); err == nil && q.Index < len(res) {
				out = res[q.Index]
			}
		}
	}
	p.folded[q] = out
	return out, out != nil
}

// replace points every reader of old (nodes and ONNX value names) at nu;
// old's node is then dead.
func (p *nnPass) replace(old, nu graph.Port) {
	p.dead[old.Node] = true
	for _, n := range p.b.g.Nodes() {
		for i, in := range n.Inputs {
			if in == old {
				n.Inputs[i] = nu
			}
		}
	}
	for k, v := range p.b.values {
		if v == old {
			p.b.values[k] = nu
		}
	}
}

// add inserts a node after the current ones and returns its output 0.
func (p *nnPass) add(base, op string, attrs map[string]*tfpb.AttrValue, ins ...graph.Port) graph.Port {
	name := p.b.unique(base + "/nhwc")
	if attrs == nil {
		attrs = map[string]*tfpb.AttrValue{}
	}
	p.b.g.Add(&graph.Node{Name: name, Op: op, Inputs: ins, Attrs: attrs})
	return graph.Port{Node: name}
}

func (p *nnPass) transpose(base string, x graph.Port, perm []int64) graph.Port {
	pc := p.b.constant(tensor.MustFromSlice(tensor.Shape{len(perm)}, nnInt32s(perm)))
	return p.add(base, "Transpose", map[string]*tfpb.AttrValue{"Tperm": aType(tensor.Int32)}, x, pc)
}

// nnComposeIdentity reports whether transposing by p and then by q is
// the identity.
func nnComposeIdentity(p, q []int64) bool {
	if len(p) != len(q) {
		return false
	}
	for j, v := range q {
		if v < 0 || int(v) >= len(p) || p[v] != int64(j) {
			return false
		}
	}
	return true
}

// nnInverse returns the inverse permutation of perm.
func nnInverse(perm []int64) []int64 {
	inv := make([]int64, len(perm))
	for i, v := range perm {
		inv[v] = int64(i)
	}
	return inv
}

// visit applies the first rewrite that fits n and reports whether it
// changed the graph.
func (p *nnPass) visit(n *graph.Node) bool {
	if p.dead[n.Name] || p.b.g.Node(n.Name) != n {
		return false
	}
	// A transpose of a transpose that undoes it.
	if perm, ok := p.perm(n); ok {
		x, inner, ok := p.transposeOf(n.Inputs[0])
		if ok && nnComposeIdentity(inner, perm) {
			p.replace(graph.Port{Node: n.Name}, x)
			return true
		}
		return false
	}
	if nnPoolOps[n.Op] && len(n.Inputs) == 1 {
		return p.pool(n)
	}
	if _, ok := nnReduceOps[n.Op]; ok && len(n.Inputs) == 1 {
		return p.reduce(n)
	}
	switch n.Op {
	case "OnnxConcat":
		return p.concat(n)
	case "OnnxBatchNormalization":
		return p.batchNorm(n)
	case "OnnxSoftmax", "OnnxLogSoftmax", "Softmax", "LogSoftmax", "OnnxArgMax", "OnnxArgMin":
		return p.alongAxis(n)
	case "OnnxResize", "OnnxUpsample", "OnnxPad":
		return p.perAxis(n)
	}
	if nnLayoutFree[n.Op] && len(n.Inputs) >= 1 {
		return p.elementwise(n)
	}
	return false
}

// pool runs a pooling kernel reading an NHWC->NCHW transpose on the NHWC
// data instead, transposing its result.
func (p *nnPass) pool(n *graph.Node) bool {
	a := graph.Attrs(n.Attrs)
	if v, _ := a.Int("_nhwc"); v != 0 {
		return false
	}
	if v, _ := a.Int("_indices"); v != 0 {
		return false
	}
	x, perm, ok := p.transposeOf(n.Inputs[0])
	if !ok || !slices.Equal(perm, nnToNCHW) {
		return false
	}
	if ks, ok := a.Ints("kernel_shape"); ok && len(ks) != 2 {
		return false
	}
	var y graph.Port
	if tf, ok := p.tfMaxPool(n); ok {
		y = p.add(n.Name, "MaxPool", tf, x)
	} else if op, ok := nnGlobalTF[n.Op]; ok {
		axes := p.b.constant(tensor.MustFromSlice(tensor.Shape{2}, []int32{1, 2}))
		y = p.add(n.Name, op, map[string]*tfpb.AttrValue{"keep_dims": aBool(true), "Tidx": aType(tensor.Int32)}, x, axes)
	} else {
		attrs := map[string]*tfpb.AttrValue{}
		for k, v := range n.Attrs {
			attrs[k] = v
		}
		attrs["_nhwc"] = aInt(1)
		y = p.add(n.Name, n.Op, attrs, x)
	}
	p.replace(graph.Port{Node: n.Name}, p.transpose(n.Name, y, nnToNCHW))
	return true
}

// tfMaxPool gives TensorFlow MaxPool attributes for an OnnxMaxPool whose
// semantics it has: no dilation, no ceil mode, padding VALID, SAME_UPPER
// or explicit.
func (p *nnPass) tfMaxPool(n *graph.Node) (map[string]*tfpb.AttrValue, bool) {
	if n.Op != "OnnxMaxPool" {
		return nil, false
	}
	a := graph.Attrs(n.Attrs)
	if v, _ := a.Int("ceil_mode"); v != 0 {
		return nil, false
	}
	if d, ok := a.Ints("dilations"); ok && (len(d) != 2 || d[0] != 1 || d[1] != 1) {
		return nil, false
	}
	ks, _ := a.Ints("kernel_shape")
	if len(ks) != 2 {
		return nil, false
	}
	s, ok := a.Ints("strides")
	if !ok {
		s = []int64{1, 1}
	}
	if len(s) != 2 {
		return nil, false
	}
	attrs := map[string]*tfpb.AttrValue{
		"ksize":       aInts(1, ks[0], ks[1], 1),
		"strides":     aInts(1, s[0], s[1], 1),
		"data_format": aStr("NHWC"),
	}
	ap, _ := a.String("auto_pad")
	switch ap {
	case "", "NOTSET":
		pads, ok := a.Ints("pads")
		if !ok {
			pads = []int64{0, 0, 0, 0}
		}
		if len(pads) != 4 || slices.Min(pads) < 0 {
			return nil, false
		}
		// A window lying wholly in the padding would give TensorFlow's
		// lowest value where ONNX's reference differs; keep the kernel.
		if pads[0] >= ks[0] || pads[2] >= ks[0] || pads[1] >= ks[1] || pads[3] >= ks[1] {
			return nil, false
		}
		if slices.Max(pads) == 0 {
			attrs["padding"] = aStr("VALID")
		} else {
			attrs["padding"] = aStr("EXPLICIT")
			attrs["explicit_paddings"] = aInts(0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0)
		}
	case "VALID":
		attrs["padding"] = aStr("VALID")
	case "SAME_UPPER":
		attrs["padding"] = aStr("SAME")
	default:
		return nil, false
	}
	return attrs, true
}

// elementwise moves a transpose feeding an element-wise op below it:
// op(T(x), c) becomes T(op(x, T⁻¹(c))) when every operand is either the
// same transpose of something, or a constant that broadcasts (a scalar or
// an empty placeholder of an absent input is left as it is).
func (p *nnPass) elementwise(n *graph.Node) bool {
	var perm []int64
	for _, in := range n.Inputs {
		if _, pm, ok := p.transposeOf(in); ok {
			perm = pm
			break
		}
	}
	if perm == nil {
		return false
	}
	inv := nnInverse(perm)
	ins := make([]graph.Port, len(n.Inputs))
	var nhwcIn graph.Port
	var channel *tensor.Tensor // the per-channel constant of an Add
	for i, in := range n.Inputs {
		if x, pm, ok := p.transposeOf(in); ok && slices.Equal(pm, perm) {
			ins[i] = x
			nhwcIn = x
			continue
		}
		c, ok := p.constOf(in, 0)
		if !ok || c.Rank() > len(perm) {
			return false
		}
		if c.Len() <= 1 {
			ins[i] = in
			continue
		}
		// Pad to the transpose's rank with leading ones, then undo it.
		shape := make(tensor.Shape, len(perm)-c.Rank(), len(perm))
		for j := range shape {
			shape[j] = 1
		}
		shape = append(shape, c.Shape()...)
		padded, err := c.Reshaped(shape)
		if err != nil {
			return false
		}
		ct := nnPermute(padded, nnIntsOf(inv))
		channel = ct
		ins[i] = p.b.constant(ct)
	}
	out := graph.Port{Node: n.Name}
	if y, ok := p.biasAdd(n, ins, nhwcIn, channel); ok {
		p.replace(out, p.transpose(n.Name, y, perm))
		return true
	}
	attrs := map[string]*tfpb.AttrValue{}
	for k, v := range n.Attrs {
		attrs[k] = v
	}
	y := p.add(n.Name, n.Op, attrs, ins...)
	p.replace(out, p.transpose(n.Name, y, perm))
	return true
}

func nnIntsOf(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// biasAdd turns Add(conv, c), with conv an NHWC convolution of a constant
// filter with C output channels and c a [1, 1, 1, C] constant, into
// BiasAdd(conv, c as [C]).
func (p *nnPass) biasAdd(n *graph.Node, ins []graph.Port, x graph.Port, c *tensor.Tensor) (graph.Port, bool) {
	if (n.Op != "Add" && n.Op != "AddV2") || len(ins) != 2 || c == nil || ins[0] != x || x.Index != 0 {
		return graph.Port{}, false
	}
	conv := p.b.g.Node(x.Node)
	if conv == nil || (conv.Op != "Conv2D" && conv.Op != "DepthwiseConv2dNative") || len(conv.Inputs) != 2 {
		return graph.Port{}, false
	}
	f, ok := p.constOf(conv.Inputs[1], 0)
	if !ok || f.Rank() != 4 || f.DType() != c.DType() {
		return graph.Port{}, false
	}
	depth := f.Shape()[3]
	if conv.Op == "DepthwiseConv2dNative" {
		depth *= f.Shape()[2]
	}
	cs := c.Shape()
	if len(cs) != 4 || cs[0] != 1 || cs[1] != 1 || cs[2] != 1 || cs[3] != depth {
		return graph.Port{}, false
	}
	bias, err := c.Reshaped(tensor.Shape{depth})
	if err != nil {
		return graph.Port{}, false
	}
	return p.add(n.Name, "BiasAdd", map[string]*tfpb.AttrValue{"T": aType(c.DType()), "data_format": aStr("NHWC")}, x, p.b.constant(bias)), true
}

// prune removes the nodes nothing reads any more (neither another node
// nor an ONNX value name).
func (p *nnPass) prune() {
	for {
		read := map[string]bool{}
		for _, n := range p.b.g.Nodes() {
			for _, in := range n.Inputs {
				read[in.Node] = true
			}
			for _, c := range n.Control {
				read[c] = true
			}
		}
		for _, v := range p.b.values {
			read[v.Node] = true
		}
		drop := map[string]bool{}
		for _, n := range p.b.g.Nodes() {
			if !read[n.Name] && n.Op != "Placeholder" {
				drop[n.Name] = true
			}
		}
		if len(drop) == 0 {
			return
		}
		p.b.g.Remove(drop)
		for name := range drop {
			delete(p.b.consts, name)
		}
	}
}
