package importer

import (
	"fmt"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/onnx/pb"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// The control-flow ops become the engine's function ops (OnnxIf, OnnxLoop,
// OnnxScan, OnnxSequenceMap): each graph attribute is imported,
// recursively, into an engine function (GraphSpec.Functions), and the
// outer-scope values the sub-graphs read become extra trailing inputs of
// the node and of every function it calls (attribute "captured" counts
// them). Outer values known at import are bound as constants inside the
// function instead. The other sequence and optional ops are kernels of
// their own (kernels/onnx_seq.go) over tensors of dtype Sequence and
// Optional.
func init() {
	register("If", cfIf)
	register("Loop", cfLoop)
	register("Scan", cfScan)
	register("SequenceMap", cfSequenceMap)
	for _, op := range []string{"SequenceEmpty", "SequenceConstruct", "SequenceInsert", "SequenceErase", "SequenceAt",
		"SequenceLength", "SplitToSequence", "ConcatFromSequence", "Optional", "OptionalHasElement", "OptionalGetElement"} {
		register(op, kernel)
	}
}

// cfFreeNames lists, in order of first use, the names g reads (inputs of
// its nodes, of nested graphs, and its outputs) that g itself does not
// define.
func cfFreeNames(g *pb.GraphProto) []string {
	defined := map[string]bool{"": true}
	for _, vi := range g.GetInput() {
		defined[vi.GetName()] = true
	}
	for _, t := range g.GetInitializer() {
		defined[t.GetName()] = true
	}
	for _, np := range g.GetNode() {
		for _, o := range np.GetOutput() {
			defined[o] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	use := func(name string) {
		if !defined[name] && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, np := range g.GetNode() {
		for _, in := range np.GetInput() {
			use(in)
		}
		for _, a := range np.GetAttribute() {
			for _, sub := range cfGraphs(a) {
				for _, name := range cfFreeNames(sub) {
					use(name)
				}
			}
		}
	}
	for _, vi := range g.GetOutput() {
		use(vi.GetName())
	}
	return out
}

// cfGraphs returns the graphs an attribute holds.
func cfGraphs(a *pb.AttributeProto) []*pb.GraphProto {
	if a.GetG() != nil {
		return []*pb.GraphProto{a.GetG()}
	}
	return a.GetGraphs()
}

// cfCaptures returns the outer values that the graph attributes attrs of
// n read and that are not known at import, in order of first use; they
// become the trailing inputs of the node and of its functions.
func (b *builder) cfCaptures(n *node, attrs ...string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, attr := range attrs {
		a, ok := n.attrs[attr]
		if !ok || a.GetG() == nil {
			return nil, fmt.Errorf("%w: graph attribute %q is missing", engine.ErrInvalidModel, attr)
		}
		for _, name := range cfFreeNames(a.GetG()) {
			if seen[name] {
				continue
			}
			seen[name] = true
			if _, ok := b.values[name]; !ok {
				return nil, fmt.Errorf("%w: %s reads %q, which no outer node, input or initializer produces", engine.ErrInvalidModel, attr, name)
			}
			if _, known := b.known[name]; !known {
				out = append(out, name)
			}
		}
	}
	return out, nil
}

// cfFunction imports graph attribute attr of n as an engine function that
// takes g's inputs followed by captured, and returns the function's name.
func (b *builder) cfFunction(n *node, attr string, captured []string) (string, error) {
	g := n.attrs[attr].GetG()
	c := &builder{
		g:       graph.New(),
		consts:  map[string]*tensor.Tensor{},
		values:  map[string]graph.Port{},
		known:   map[string]*tensor.Tensor{},
		opset:   b.opset,
		dir:     b.dir,
		taken:   map[string]bool{},
		fetched: map[string]bool{},
		funcs:   b.funcs,
		domains: b.domains,
	}
	spec := &engine.GraphSpec{Graph: c.g, Consts: c.consts, Inputs: map[string]string{}, Outputs: map[string]string{}}
	addInput := func(onnxName string, dt tensor.DType) error {
		key := fmt.Sprintf("x%d", len(spec.Signature.Inputs))
		attrs := map[string]*tfpb.AttrValue{}
		if dt != tensor.Invalid {
			attrs["dtype"] = aType(dt)
		}
		name := c.unique(key)
		if err := c.g.Add(&graph.Node{Name: name, Op: "Placeholder", Attrs: attrs}); err != nil {
			return err
		}
		c.values[onnxName] = graph.Port{Node: name}
		spec.Inputs[key] = name
		spec.Signature.Inputs = append(spec.Signature.Inputs, engine.TensorSpec{Name: key, DType: dt})
		return nil
	}
	for _, vi := range g.GetInput() {
		if err := addInput(vi.GetName(), cfDTypeOf(vi)); err != nil {
			return "", err
		}
	}
	for _, t := range g.GetInitializer() {
		v, err := TensorFromProto(t, b.dir)
		if err != nil {
			return "", fmt.Errorf("%s: initializer %q: %w", attr, t.GetName(), err)
		}
		c.bindConst(t.GetName(), v)
	}
	for _, name := range cfFreeNames(g) {
		if t, ok := b.known[name]; ok {
			c.bindConst(name, t)
		}
	}
	for _, name := range captured {
		if _, bound := c.values[name]; bound {
			// A formal input of g shadows the outer value; the function
			// still takes it, unused, so that every function of the node
			// has the same inputs.
			if err := addInput(name+"\x00shadowed", tensor.Invalid); err != nil {
				return "", err
			}
			continue
		}
		dt := tensor.Invalid
		if p, ok := b.values[name]; ok {
			if pn := b.g.Node(p.Node); pn != nil && pn.Op == "Placeholder" {
				dt, _ = graph.Attrs(pn.Attrs).Type("dtype")
			}
		}
		if err := addInput(name, dt); err != nil {
			return "", err
		}
	}
	for i, np := range g.GetNode() {
		if err := c.convert(i, np); err != nil {
			return "", fmt.Errorf("%s: %w", attr, err)
		}
	}
	for _, vi := range g.GetOutput() {
		c.fetched[vi.GetName()] = true
	}
	for _, pass := range passes {
		if err := pass(c); err != nil {
			return "", fmt.Errorf("%s: %w", attr, err)
		}
	}
	for i, vi := range g.GetOutput() {
		p, ok := c.values[vi.GetName()]
		if !ok {
			return "", fmt.Errorf("%w: %s: output %q is not produced by any node", engine.ErrInvalidModel, attr, vi.GetName())
		}
		key := fmt.Sprintf("y%d", i)
		spec.Outputs[key] = p.String()
		spec.Signature.Outputs = append(spec.Signature.Outputs, engine.TensorSpec{Name: key, DType: cfDTypeOf(vi)})
	}
	name := fmt.Sprintf("f%d/%s/%s", len(b.funcs), n.name, attr)
	spec.Signature.Name = name
	b.funcs[name] = spec
	return name, nil
}

// cfDTypeOf is the tensor dtype a value info declares; Invalid when it
// declares none.
func cfDTypeOf(vi *pb.ValueInfoProto) tensor.DType {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetElemType() == 0 {
		return tensor.Invalid
	}
	dt, err := dtypeOf(tt.GetElemType())
	if err != nil {
		return tensor.Invalid
	}
	return dt
}

// cfShapeOf is the shape a value info declares, in TensorFlow's form:
// unknown rank when it declares none, -1 for a symbolic dimension.
func cfShapeOf(vi *pb.ValueInfoProto) *tfpb.TensorShapeProto {
	tt := vi.GetType().GetTensorType()
	if tt == nil || tt.GetShape() == nil {
		return &tfpb.TensorShapeProto{UnknownRank: true}
	}
	out := &tfpb.TensorShapeProto{}
	for _, d := range tt.GetShape().GetDim() {
		size := int64(-1)
		if v, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
			size = v.DimValue
		}
		out.Dim = append(out.Dim, &tfpb.TensorShapeProto_Dim{Size: size})
	}
	return out
}

// cfBody converts n's "body" graph attribute into a function, returning
// its name and the outer values it captures.
func (b *builder) cfBody(n *node) (body string, captured []string, err error) {
	captured, err = b.cfCaptures(n, "body")
	if err != nil {
		return "", nil, err
	}
	body, err = b.cfFunction(n, "body", captured)
	return body, captured, err
}

// aFunc names a function in a func-valued attribute.
func aFunc(name string) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Func{Func: &tfpb.NameAttrList{Name: name}}}
}

// cfPorts returns the ports of n's inputs lo.. (absent ones become empty
// constants listed in absent) followed by the captured values.
func (b *builder) cfPorts(n *node, lo int, captured []string) ([]graph.Port, []int64) {
	var ports []graph.Port
	var absent []int64
	for i := lo; i < len(n.GetInput()); i++ {
		if p, ok := b.in(n, i); ok {
			ports = append(ports, p)
			continue
		}
		absent = append(absent, int64(i))
		ports = append(ports, b.constant(tensor.New(tensor.Float32, tensor.Shape{0})))
	}
	for _, name := range captured {
		ports = append(ports, b.values[name])
	}
	return ports, absent
}

// cfEmit adds the function op node and binds its outputs.
func (b *builder) cfEmit(n *node, op string, attrs map[string]*tfpb.AttrValue, ports []graph.Port) {
	name := b.add(n, op, attrs, ports...)
	for i := range n.GetOutput() {
		b.out(n, i, graph.Port{Node: name, Index: i})
	}
}

func cfIf(b *builder, n *node) error {
	captured, err := b.cfCaptures(n, "then_branch", "else_branch")
	if err != nil {
		return err
	}
	cond, err := b.need(n, 0)
	if err != nil {
		return err
	}
	then, err := b.cfFunction(n, "then_branch", captured)
	if err != nil {
		return err
	}
	els, err := b.cfFunction(n, "else_branch", captured)
	if err != nil {
		return err
	}
	ports, _ := b.cfPorts(n, len(n.GetInput()), captured)
	attrs := map[string]*tfpb.AttrValue{"_opset": aInt(n.opset), "then_branch": aFunc(then), "else_branch": aFunc(els),
		"captured": aInt(int64(len(captured)))}
	b.cfEmit(n, "OnnxIf", attrs, append([]graph.Port{cond}, ports...))
	return nil
}

func cfLoop(b *builder, n *node) error {
	body, captured, err := b.cfBody(n)
	if err != nil {
		return err
	}
	var ports []graph.Port
	var absent []int64
	for i := 0; i < 2; i++ {
		if p, ok := b.in(n, i); ok {
			ports = append(ports, p)
			continue
		}
		absent = append(absent, int64(i))
		ports = append(ports, b.constant(tensor.New(tensor.Float32, tensor.Shape{0})))
	}
	rest, _ := b.cfPorts(n, 2, captured)
	for i := 2; i < len(n.GetInput()); i++ {
		if !n.has(i) {
			return fmt.Errorf("%w: loop-carried input %d is absent", engine.ErrInvalidModel, i)
		}
	}
	ports = append(ports, rest...)
	attrs := map[string]*tfpb.AttrValue{"_opset": aInt(n.opset), "body": aFunc(body), "captured": aInt(int64(len(captured)))}
	if len(absent) > 0 {
		attrs["_absent"] = aInts(absent...)
	}
	g := n.attrs["body"].GetG()
	if nc := len(n.GetInput()) - 2; nc >= 0 && len(g.GetOutput()) > 1+nc {
		var types []tfpb.DataType
		var shapes []*tfpb.TensorShapeProto
		for _, vi := range g.GetOutput()[1+nc:] {
			types = append(types, tfDType(cfDTypeOf(vi)))
			shapes = append(shapes, cfShapeOf(vi))
		}
		attrs["scan_types"] = &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{Type: types}}}
		attrs["scan_shapes"] = &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{Shape: shapes}}}
	}
	b.cfEmit(n, "OnnxLoop", attrs, ports)
	return nil
}

func cfScan(b *builder, n *node) error {
	body, captured, err := b.cfBody(n)
	if err != nil {
		return err
	}
	attrs := onnxAttrs(n)
	attrs["body"] = aFunc(body)
	attrs["captured"] = aInt(int64(len(captured)))
	ports, absent := b.cfPorts(n, 0, captured)
	for _, i := range absent {
		if i != 0 || n.opset >= 9 {
			return fmt.Errorf("%w: input %d is absent", engine.ErrInvalidModel, i)
		}
	}
	if n.opset < 9 && len(n.GetInput()) > 0 && len(absent) == 0 && !n.has(0) {
		absent = []int64{0}
	}
	if len(absent) > 0 {
		attrs["_absent"] = aInts(absent...)
	}
	b.cfEmit(n, "OnnxScan", attrs, ports)
	return nil
}

func cfSequenceMap(b *builder, n *node) error {
	body, captured, err := b.cfBody(n)
	if err != nil {
		return err
	}
	for i := range n.GetInput() {
		if !n.has(i) {
			return fmt.Errorf("%w: input %d is absent", engine.ErrInvalidModel, i)
		}
	}
	ports, _ := b.cfPorts(n, 0, captured)
	attrs := map[string]*tfpb.AttrValue{"_opset": aInt(n.opset), "body": aFunc(body), "captured": aInt(int64(len(captured)))}
	b.cfEmit(n, "OnnxSequenceMap", attrs, ports)
	return nil
}

// SequenceFromProto converts a SequenceProto (as ONNX's test data stores
// sequence values) into a tensor of dtype Sequence. dir is the directory
// external tensor data resolves against.
func SequenceFromProto(sp *pb.SequenceProto, dir string) (*tensor.Tensor, error) {
	var elems []*tensor.Tensor
	var err error
	switch sp.GetElemType() {
	case int32(pb.SequenceProto_TENSOR), int32(pb.SequenceProto_UNDEFINED):
		elems, err = fromProtos(sp.GetTensorValues(), dir, TensorFromProto)
	case int32(pb.SequenceProto_SEQUENCE):
		elems, err = fromProtos(sp.GetSequenceValues(), dir, SequenceFromProto)
	case int32(pb.SequenceProto_OPTIONAL):
		elems, err = fromProtos(sp.GetOptionalValues(), dir, OptionalFromProto)
	default:
		return nil, fmt.Errorf("%w: sequences of element type %d", engine.ErrUnsupported, sp.GetElemType())
	}
	if err != nil {
		return nil, err
	}
	return tensor.NewSequence(elems...), nil
}

// fromProtos converts each of ps with conv, stopping at the first error.
func fromProtos[P any](ps []P, dir string, conv func(P, string) (*tensor.Tensor, error)) ([]*tensor.Tensor, error) {
	var out []*tensor.Tensor
	for _, p := range ps {
		t, err := conv(p, dir)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// OptionalFromProto converts an OptionalProto into a tensor of dtype
// Optional, empty when the proto holds no value.
func OptionalFromProto(op *pb.OptionalProto, dir string) (*tensor.Tensor, error) {
	var elem *tensor.Tensor
	var err error
	switch op.GetElemType() {
	case int32(pb.OptionalProto_UNDEFINED):
	case int32(pb.OptionalProto_TENSOR):
		if op.GetTensorValue() != nil {
			elem, err = TensorFromProto(op.GetTensorValue(), dir)
		}
	case int32(pb.OptionalProto_SEQUENCE):
		if op.GetSequenceValue() != nil {
			elem, err = SequenceFromProto(op.GetSequenceValue(), dir)
		}
	case int32(pb.OptionalProto_OPTIONAL):
		if op.GetOptionalValue() != nil {
			elem, err = OptionalFromProto(op.GetOptionalValue(), dir)
		}
	default:
		return nil, fmt.Errorf("%w: optionals of element type %d", engine.ErrUnsupported, op.GetElemType())
	}
	if err != nil {
		return nil, err
	}
	return tensor.NewOptional(elem), nil
}
