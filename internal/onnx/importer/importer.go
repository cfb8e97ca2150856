package importer

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/onnx/pb"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// The opsets and IR versions the importer reads.
const (
	MinOpset = 1
	MaxOpset = 17
	MaxIR    = 9
)

// Signature is the name of the one signature an ONNX model serves.
const Signature = "serving_default"

// Load reads the ONNX model at path, a .onnx file or a directory that
// holds one (see FindModel), and compiles it with the engine.
func Load(ctx context.Context, path string, opts engine.Options) (*engine.Model, error) {
	file, err := FindModel(path)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", engine.ErrInvalidModel, err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		return nil, fmt.Errorf("%w: %s is not an ONNX model: %v", engine.ErrInvalidModel, filepath.Base(file), err)
	}
	spec, err := Import(&mp, filepath.Dir(file))
	if err != nil {
		return nil, err
	}
	spec.Dir = file
	return engine.LoadGraph(ctx, spec, opts)
}

// FindModel returns path itself when it is a file, and otherwise the one
// .onnx file in the tree under path. When the tree holds several, the
// shallowest one called model.onnx wins; any other choice is ambiguous
// and an error.
func FindModel(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", engine.ErrInvalidModel, err)
	}
	if !st.IsDir() {
		return path, nil
	}
	var found []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(strings.ToLower(d.Name()), ".onnx") {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("%w: %w", engine.ErrInvalidModel, err)
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no .onnx file under %s", engine.ErrInvalidModel, path)
	case 1:
		return found[0], nil
	}
	sort.Slice(found, func(i, j int) bool {
		di, dj := strings.Count(found[i], string(filepath.Separator)), strings.Count(found[j], string(filepath.Separator))
		if di != dj {
			return di < dj
		}
		return found[i] < found[j]
	})
	for _, f := range found {
		if filepath.Base(f) == "model.onnx" {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w: %s holds several .onnx files (%s); keep one, or name the one to serve model.onnx", engine.ErrInvalidModel, path, strings.Join(found, ", "))
}

// Import turns an ONNX model into a graph the engine compiles. dir is the
// directory external tensor data resolves against.
func Import(mp *pb.ModelProto, dir string) (engine.GraphSpec, error) {
	var spec engine.GraphSpec
	if ir := mp.GetIrVersion(); ir > MaxIR {
		return spec, fmt.Errorf("%w: ONNX IR version %d is newer than %d", engine.ErrUnsupported, ir, MaxIR)
	}
	opset := int64(-1)
	domains := map[string]int64{}
	for _, o := range mp.GetOpsetImport() {
		if o.GetVersion() < 0 {
			return spec, fmt.Errorf("%w: opset %d of domain %q is negative", engine.ErrInvalidModel, o.GetVersion(), o.GetDomain())
		}
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			opset = o.GetVersion()
		} else {
			domains[o.GetDomain()] = o.GetVersion()
		}
	}
	if opset < 0 && len(mp.GetOpsetImport()) == 0 {
		opset = 1 // IR 1 and 2 models name no opset
	}
	if opset >= 0 && (opset < MinOpset || opset > MaxOpset) {
		return spec, fmt.Errorf("%w: ONNX opset %d (inferd reads opsets %d to %d)", engine.ErrUnsupported, opset, MinOpset, MaxOpset)
	}
	gp := mp.GetGraph()
	if gp == nil {
		return spec, fmt.Errorf("%w: the model has no graph", engine.ErrInvalidModel)
	}
	b := &builder{
		g:       graph.New(),
		consts:  map[string]*tensor.Tensor{},
		values:  map[string]graph.Port{},
		known:   map[string]*tensor.Tensor{},
		opset:   opset,
		domains: domains,
		dir:     dir,
		taken:   map[string]bool{},
		fetched: map[string]bool{},
		funcs:   map[string]*engine.GraphSpec{},
	}
	for _, init := range gp.GetInitializer() {
		t, err := TensorFromProto(init, dir)
		if err != nil {
			return spec, fmt.Errorf("initializer %q: %w", init.GetName(), err)
		}
		b.bindConst(init.GetName(), t)
	}
	spec.Inputs, spec.Outputs = map[string]string{}, map[string]string{}
	for i, vi := range gp.GetInput() {
		if _, isInit := b.values[vi.GetName()]; isInit {
			continue // an initializer listed as an input: a constant here
		}
		ts, err := specOf(vi)
		if err != nil {
			return spec, fmt.Errorf("input %q: %w", vi.GetName(), err)
		}
		attrs := map[string]*tfpb.AttrValue{}
		if ts.DType != tensor.Invalid {
			attrs["dtype"] = aType(ts.DType)
		}
		if ts.Shape != nil {
			attrs["shape"] = aShape(ts.Shape)
		}
		name := b.unique(fmt.Sprintf("input_%d", i))
		if err := b.g.Add(&graph.Node{Name: name, Op: "Placeholder", Attrs: attrs}); err != nil {
			return spec, err
		}
		b.values[vi.GetName()] = graph.Port{Node: name}
		spec.Inputs[vi.GetName()] = name
		spec.Signature.Inputs = append(spec.Signature.Inputs, ts)
	}
	for i, np := range gp.GetNode() {
		if err := b.convert(i, np); err != nil {
			return spec, err
		}
	}
	for _, vi := range gp.GetOutput() {
		b.fetched[vi.GetName()] = true
	}
	if err := runPasses(b); err != nil {
		return spec, err
	}
	for _, vi := range gp.GetOutput() {
		p, ok := b.values[vi.GetName()]
		if !ok {
			return spec, fmt.Errorf("%w: graph output %q is not produced by any node", engine.ErrInvalidModel, vi.GetName())
		}
		ts, err := specOf(vi)
		if err != nil {
			return spec, fmt.Errorf("output %q: %w", vi.GetName(), err)
		}
		spec.Outputs[vi.GetName()] = p.String()
		spec.Signature.Outputs = append(spec.Signature.Outputs, ts)
	}
	sort.Slice(spec.Signature.Outputs, func(i, j int) bool { return spec.Signature.Outputs[i].Name < spec.Signature.Outputs[j].Name })
	spec.Signature.Name = Signature
	spec.Signature.MethodName = "tensorflow/serving/predict"
	spec.Graph, spec.Consts, spec.Functions = b.g, b.consts, b.funcs
	spec.StrictShapes = true
	return spec, nil
}

// specOf describes a graph input or output. A missing type leaves the
// dtype Invalid and the shape unknown; symbolic dimensions are -1.
func specOf(vi *pb.ValueInfoProto) (engine.TensorSpec, error) {
	ts := engine.TensorSpec{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		switch {
		case vi.GetType().GetSequenceType() != nil:
			ts.DType = tensor.Sequence
			return ts, nil
		case vi.GetType().GetOptionalType() != nil:
			ts.DType = tensor.Optional
			return ts, nil
		}
		if vi.GetType().GetValue() != nil {
			return ts, fmt.Errorf("%w: only tensor inputs and outputs are supported, not sequences, maps or optionals", engine.ErrUnsupported)
		}
		return ts, nil
	}
	if tt.GetElemType() != 0 {
		dt, err := dtypeOf(tt.GetElemType())
		if err != nil {
			return ts, err
		}
		ts.DType = dt
	}
	if tt.GetShape() != nil {
		ts.Shape = make([]int64, len(tt.GetShape().GetDim()))
		for i, d := range tt.GetShape().GetDim() {
			ts.Shape[i] = -1
			if v, ok := d.GetValue().(*pb.TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
				ts.Shape[i] = v.DimValue
			}
		}
	}
	return ts, nil
}

// builder accumulates the engine graph while the importer walks the ONNX
// nodes in order.
type builder struct {
	g      *graph.Graph
	consts map[string]*tensor.Tensor // Const node name -> value
	values map[string]graph.Port     // ONNX value name -> the port carrying it
	known  map[string]*tensor.Tensor // ONNX value name -> its value, when constant
	opset  int64
	// domains holds the opset versions the model imports of domains
	// other than the default one.
	domains map[string]int64
	dir     string
	taken   map[string]bool
	// fetched holds the ONNX names of the graph outputs, which passes
	// must keep bound (b.values) to a port computing the same value.
	fetched map[string]bool
	// funcs collects the sub-graphs of If, Loop and Scan, nested ones
	// included, shared by the builders of every graph level.
	funcs map[string]*engine.GraphSpec
}

// passes rewrite the graph after every node is converted, in order, before
// the graph outputs are bound; a layout pass cancelling transposes is one.
// They are registered from init functions.
var passes []func(b *builder) error

// runPasses runs the passes over b's graph. A pass that panics on a graph
// it did not expect fails the import, not the process.
func runPasses(b *builder) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: rewriting the imported graph failed: %v", engine.ErrInvalidModel, r)
		}
	}()
	for _, pass := range passes {
		if err := pass(b); err != nil {
			return err
		}
	}
	return nil
}

// node is the ONNX node being converted.
type node struct {
	*pb.NodeProto
	name  string // a graph-safe base for the names of the nodes it becomes
	opset int64
	attrs map[string]*pb.AttributeProto
}

// converter lowers one ONNX node into engine graph nodes, binding each of
// its outputs with b.out.
type converter func(b *builder, n *node) error

var converters = map[string]converter{}

// register adds the converter for an ONNX op of the default domain. It is
// called from init functions.
func register(op string, c converter) {
	if _, dup := converters[op]; dup {
		panic("importer: duplicate converter for " + op)
	}
	converters[op] = c
}

// domainConverters holds the converters for ops of domains other than the
// default one, keyed by domain and op.
var domainConverters = map[[2]string]converter{}

// registerDomain adds the converter for op of domain, a domain other than
// the default ONNX one; the node's opset is then the version the model
// imports of domain. It is called from init functions.
func registerDomain(domain, op string, c converter) {
	k := [2]string{domain, op}
	if _, dup := domainConverters[k]; dup {
		panic("importer: duplicate converter for " + domain + "." + op)
	}
	domainConverters[k] = c
}

// Ops lists the ONNX ops the importer converts, in order.
func Ops() []string {
	out := make([]string, 0, len(converters))
	for op := range converters {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}

func (b *builder) convert(i int, np *pb.NodeProto) (err error) {
	label := np.GetName()
	if label == "" {
		label = fmt.Sprintf("#%d", i)
	}
	// A converter that panics on a malformed node (a last resort: each
	// should check what it reads) fails the import, not the process.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: node %s (op %s): malformed node: %v", engine.ErrInvalidModel, label, np.GetOpType(), r)
		}
	}()
	c, opset := converters[np.GetOpType()], b.opset
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		dc, ok := domainConverters[[2]string{d, np.GetOpType()}]
		if !ok {
			return fmt.Errorf("%w: node %s: op %s of domain %q is not supported", engine.ErrUnsupported, label, np.GetOpType(), d)
		}
		v, imported := b.domains[d]
		if !imported {
			return fmt.Errorf("%w: node %s uses op %s of domain %q, but the model imports no opset of that domain", engine.ErrInvalidModel, label, np.GetOpType(), d)
		}
		c, opset = dc, v
	} else {
		if b.opset < 0 {
			return fmt.Errorf("%w: node %s uses op %s of the default ONNX domain, but the model imports no opset of that domain", engine.ErrInvalidModel, label, np.GetOpType())
		}
		if c == nil {
			return fmt.Errorf("%w: node %s: op %s (domain ai.onnx, opset %d) is not supported", engine.ErrUnsupported, label, np.GetOpType(), b.opset)
		}
	}
	n := &node{NodeProto: np, opset: opset, attrs: map[string]*pb.AttributeProto{}}
	base := np.GetName()
	if base == "" {
		base = np.GetOpType()
	}
	n.name = b.unique(sanitize(base))
	for _, a := range np.GetAttribute() {
		if a.GetRefAttrName() != "" {
			return fmt.Errorf("%w: node %s: attribute %q refers to a function attribute", engine.ErrUnsupported, label, a.GetName())
		}
		n.attrs[a.GetName()] = a
	}
	for j, in := range np.GetInput() {
		if in == "" {
			continue
		}
		if _, ok := b.values[in]; !ok {
			return fmt.Errorf("%w: node %s (op %s) reads %q (input %d), which no earlier node, input or initializer produces", engine.ErrInvalidModel, label, np.GetOpType(), in, j)
		}
	}
	if err := c(b, n); err != nil {
		return fmt.Errorf("node %s (op %s): %w", label, np.GetOpType(), err)
	}
	for j, out := range np.GetOutput() {
		if out == "" {
			continue
		}
		if _, ok := b.values[out]; !ok {
			return fmt.Errorf("%w: node %s (op %s): output %d (%q) is not supported", engine.ErrUnsupported, label, np.GetOpType(), j, out)
		}
	}
	return nil
}

// sanitize makes s usable in a graph node name, which may not hold ':'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ':' || r == '^' {
			return '_'
		}
		return r
	}, s)
}

// unique returns base, or base with a numeric suffix, unused so far.
func (b *builder) unique(base string) string {
	name := base
	for i := 1; b.taken[name] || b.g.Node(name) != nil; i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	b.taken[name] = true
	return name
}

// bindConst makes the ONNX value name a constant with value t.
func (b *builder) bindConst(name string, t *tensor.Tensor) {
	b.values[name] = b.constant(t)
	b.known[name] = t
}

// constant adds a Const node holding t and returns its port.
func (b *builder) constant(t *tensor.Tensor) graph.Port {
	name := b.unique("const")
	b.g.Add(&graph.Node{Name: name, Op: "Const", Attrs: map[string]*tfpb.AttrValue{"dtype": aType(t.DType())}})
	b.consts[name] = t
	return graph.Port{Node: name}
}

// has reports whether input i is present (ONNX leaves optional inputs out
// or names them "").
func (n *node) has(i int) bool { return i < len(n.GetInput()) && n.GetInput()[i] != "" }

// in returns the port carrying input i; false when the input is absent.
func (b *builder) in(n *node, i int) (graph.Port, bool) {
	if !n.has(i) {
		return graph.Port{}, false
	}
	p, ok := b.values[n.GetInput()[i]]
	return p, ok
}

// need returns the port of input i, which must be present.
func (b *builder) need(n *node, i int) (graph.Port, error) {
	p, ok := b.in(n, i)
	if !ok {
		return p, fmt.Errorf("%w: input %d is required", engine.ErrInvalidModel, i)
	}
	return p, nil
}

// constIn returns the value of input i when it is known at import (an
// initializer or a Constant's output).
func (b *builder) constIn(n *node, i int) (*tensor.Tensor, bool) {
	if !n.has(i) {
		return nil, false
	}
	t, ok := b.known[n.GetInput()[i]]
	return t, ok
}

// add appends a node of op reading inputs and returns its name; the
// node's output k is graph.Port{Node: name, Index: k}.
func (b *builder) add(n *node, op string, attrs map[string]*tfpb.AttrValue, inputs ...graph.Port) string {
	name := b.unique(n.name + "/" + op)
	if attrs == nil {
		attrs = map[string]*tfpb.AttrValue{}
	}
	b.g.Add(&graph.Node{Name: name, Op: op, Inputs: inputs, Attrs: attrs})
	return name
}

// out binds output i of n to port p.
func (b *builder) out(n *node, i int, p graph.Port) {
	if i < len(n.GetOutput()) && n.GetOutput()[i] != "" {
		b.values[n.GetOutput()[i]] = p
	}
}

// outConst binds output i of n to the constant t.
func (b *builder) outConst(n *node, i int, t *tensor.Tensor) {
	if i < len(n.GetOutput()) && n.GetOutput()[i] != "" {
		b.bindConst(n.GetOutput()[i], t)
	}
}

// Attribute getters; each takes the default used when the attribute is
// absent.

func (n *node) int(name string, def int64) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.GetI()
	}
	return def
}

func (n *node) float(name string, def float32) float32 {
	if a, ok := n.attrs[name]; ok {
		return a.GetF()
	}
	return def
}

func (n *node) str(name, def string) string {
	if a, ok := n.attrs[name]; ok {
		return string(a.GetS())
	}
	return def
}

func (n *node) ints(name string) ([]int64, bool) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, false
	}
	return a.GetInts(), true
}

func (n *node) floats(name string) ([]float32, bool) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, false
	}
	return a.GetFloats(), true
}

func (n *node) tensorAttr(b *builder, name string) (*tensor.Tensor, bool, error) {
	a, ok := n.attrs[name]
	if !ok || a.GetT() == nil {
		return nil, false, nil
	}
	t, err := TensorFromProto(a.GetT(), b.dir)
	return t, true, err
}

// TensorFlow attribute values for the nodes converters emit.

func aInt(v int64) *tfpb.AttrValue     { return &tfpb.AttrValue{Value: &tfpb.AttrValue_I{I: v}} }
func aFloat(v float32) *tfpb.AttrValue { return &tfpb.AttrValue{Value: &tfpb.AttrValue_F{F: v}} }
func aBool(v bool) *tfpb.AttrValue     { return &tfpb.AttrValue{Value: &tfpb.AttrValue_B{B: v}} }
func aStr(v string) *tfpb.AttrValue    { return &tfpb.AttrValue{Value: &tfpb.AttrValue_S{S: []byte(v)}} }
func aInts(v ...int64) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{I: v}}}
}
func aFloats(v ...float32) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{F: v}}}
}
func aStrs(v ...[]byte) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_List{List: &tfpb.AttrValue_ListValue{S: v}}}
}

// aShape is a shape attribute; -1 marks an unknown dimension.
func aShape(dims []int64) *tfpb.AttrValue {
	sh := &tfpb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
	}
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Shape{Shape: sh}}
}

func aType(dt tensor.DType) *tfpb.AttrValue {
	return &tfpb.AttrValue{Value: &tfpb.AttrValue_Type{Type: tfDType(dt)}}
}

func tfDType(dt tensor.DType) tfpb.DataType {
	switch dt {
	case tensor.Float32:
		return tfpb.DataType_DT_FLOAT
	case tensor.Float64:
		return tfpb.DataType_DT_DOUBLE
	case tensor.Int8:
		return tfpb.DataType_DT_INT8
	case tensor.Uint8:
		return tfpb.DataType_DT_UINT8
	case tensor.Int32:
		return tfpb.DataType_DT_INT32
	case tensor.Int64:
		return tfpb.DataType_DT_INT64
	case tensor.Bool:
		return tfpb.DataType_DT_BOOL
	case tensor.String:
		return tfpb.DataType_DT_STRING
	case tensor.Int16:
		return tfpb.DataType_DT_INT16
	case tensor.Uint16:
		return tfpb.DataType_DT_UINT16
	case tensor.Uint32:
		return tfpb.DataType_DT_UINT32
	case tensor.Uint64:
		return tfpb.DataType_DT_UINT64
	case tensor.Float16:
		return tfpb.DataType_DT_HALF
	case tensor.BFloat16:
		return tfpb.DataType_DT_BFLOAT16
	}
	return tfpb.DataType_DT_INVALID
}

// onnxAttrs converts n's attributes to TensorFlow attribute values, for
// kernels written to ONNX semantics; "_opset" carries the opset. Tensor
// and graph attributes are left out: converters turn tensors into inputs.
func onnxAttrs(n *node) map[string]*tfpb.AttrValue {
	out := map[string]*tfpb.AttrValue{"_opset": aInt(n.opset)}
	for name, a := range n.attrs {
		switch a.GetType() {
		case pb.AttributeProto_INT:
			out[name] = aInt(a.GetI())
		case pb.AttributeProto_FLOAT:
			out[name] = aFloat(a.GetF())
		case pb.AttributeProto_STRING:
			out[name] = aStr(string(a.GetS()))
		case pb.AttributeProto_INTS:
			out[name] = aInts(a.GetInts()...)
		case pb.AttributeProto_FLOATS:
			out[name] = aFloats(a.GetFloats()...)
		case pb.AttributeProto_STRINGS:
			out[name] = aStrs(a.GetStrings()...)
		}
	}
	return out
}

// OnnxOp is the kernel op name under which an ONNX op written to ONNX
// semantics is registered with the kernels package.
func OnnxOp(op string) string { return "Onnx" + op }

// kernel is the converter for ops that have a kernel of their own
// registered as OnnxOp(op): every input is passed through in order, every
// output bound. An absent optional input in the middle becomes an empty
// float32 constant and its index is listed in the "_absent" attribute;
// absent trailing inputs are dropped.
func kernel(b *builder, n *node) error {
	attrs := onnxAttrs(n)
	ins := n.GetInput()
	for len(ins) > 0 && ins[len(ins)-1] == "" {
		ins = ins[:len(ins)-1]
	}
	ports := make([]graph.Port, len(ins))
	var absent []int64
	for i := range ins {
		if p, ok := b.in(n, i); ok {
			ports[i] = p
			continue
		}
		absent = append(absent, int64(i))
		ports[i] = b.constant(tensor.New(tensor.Float32, tensor.Shape{0}))
	}
	if len(absent) > 0 {
		attrs["_absent"] = aInts(absent...)
	}
	name := b.add(n, OnnxOp(n.GetOpType()), attrs, ports...)
	for i := range n.GetOutput() {
		b.out(n, i, graph.Port{Node: name, Index: i})
	}
	return nil
}

// direct returns a converter that maps an ONNX op onto a TensorFlow op of
// the same semantics, inputs and outputs in the same order, with attrs
// (which may be nil) computing the TensorFlow attributes.
func direct(tfOp string, attrs func(n *node) map[string]*tfpb.AttrValue) converter {
	return func(b *builder, n *node) error {
		var ports []graph.Port
		for i := range n.GetInput() {
			p, ok := b.in(n, i)
			if !ok {
				return fmt.Errorf("%w: optional input %d is absent", engine.ErrUnsupported, i)
			}
			ports = append(ports, p)
		}
		var a map[string]*tfpb.AttrValue
		if attrs != nil {
			a = attrs(n)
		}
		name := b.add(n, tfOp, a, ports...)
		for i := range n.GetOutput() {
			b.out(n, i, graph.Port{Node: name, Index: i})
		}
		return nil
	}
}
