package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// Opset is the ONNX operator set version the exporter writes.
const Opset = 17

// BatchDim is the dim_param of a signature's leading unknown dimension.
const BatchDim = "batch"

// ErrUnsupported marks a graph with an op or attribute the exporter cannot
// express in ONNX; the message names the node and the op.
var ErrUnsupported = errors.New("onnx: unsupported")

// Convert translates an engine ExportGraph into an ONNX model whose graph
// inputs and outputs are named by the signature's keys.
func Convert(eg *engine.ExportGraph) (*pb.ModelProto, error) {
	b := &builder{
		names:  map[string]string{},
		used:   map[string]bool{},
		rank:   map[string]int{},
		shape:  map[string][]int64{},
		nchw:   map[string]string{},
		consts: map[string]*tensor.Tensor{},
		inits:  map[string]bool{},
	}
	for _, p := range eg.Inputs {
		b.used[p.Spec.Name] = true
	}
	for _, p := range eg.Outputs {
		b.used[p.Spec.Name] = true
	}
	g := &pb.GraphProto{Name: eg.Signature.Name}
	for _, p := range eg.Inputs {
		b.names[p.Value] = p.Spec.Name
		b.rank[p.Spec.Name] = rankOf(p.Spec.Shape)
		if p.Spec.Shape != nil {
			b.shape[p.Spec.Name] = p.Spec.Shape
		}
		vi, err := valueInfo(p.Spec)
		if err != nil {
			return nil, err
		}
		g.Input = append(g.Input, vi)
	}
	for name, t := range eg.Consts {
		b.consts[name] = t
	}
	for _, n := range eg.Nodes {
		if err := b.node(n); err != nil {
			return nil, err
		}
	}
	for _, p := range eg.Outputs {
		src, err := b.input(p.Value)
		if err != nil {
			return nil, err
		}
		b.emit("Identity", []string{src}, []string{p.Spec.Name})
		vi, err := valueInfo(p.Spec)
		if err != nil {
			return nil, err
		}
		g.Output = append(g.Output, vi)
	}
	g.Node, g.Initializer = b.live(g.Output)
	return &pb.ModelProto{
		IrVersion:       8,
		ProducerName:    "inferd",
		ProducerVersion: "1",
		OpsetImport:     []*pb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		Graph:           g,
	}, nil
}

// Marshal converts eg and encodes the model as ONNX's binary protobuf.
func Marshal(eg *engine.ExportGraph) ([]byte, error) {
	m, err := Convert(eg)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(m)
}

// builder accumulates ONNX nodes and initializers for one graph.
type builder struct {
	nodes  []*pb.NodeProto
	initsL []*pb.TensorProto
	inits  map[string]bool
	names  map[string]string  // TF tensor name -> ONNX value name
	used   map[string]bool    // ONNX value names taken
	rank   map[string]int     // ONNX value name -> rank, when known
	shape  map[string][]int64 // ONNX value name -> static shape (-1 unknown) of 4-D values on the conv path
	nchw   map[string]string  // NHWC ONNX value -> the NCHW value it was transposed from
	consts map[string]*tensor.Tensor
	seq    int
}

func rankOf(shape []int64) int {
	if shape == nil {
		return -1
	}
	return len(shape)
}

// fresh returns an unused value name based on base.
func (b *builder) fresh(base string) string {
	name := base
	for b.used[name] {
		b.seq++
		name = fmt.Sprintf("%s__%d", base, b.seq)
	}
	b.used[name] = true
	return name
}

func (b *builder) emit(op string, in, out []string, attrs ...*pb.AttributeProto) {
	b.nodes = append(b.nodes, &pb.NodeProto{OpType: op, Input: in, Output: out, Name: b.fresh("node_" + out[0]), Attribute: attrs})
}

// op emits op on in and returns its single output, named after base.
func (b *builder) op(op, base string, in []string, attrs ...*pb.AttributeProto) string {
	out := b.fresh(base)
	b.emit(op, in, []string{out}, attrs...)
	return out
}

// init adds t as an initializer and returns its name.
func (b *builder) init(base string, t *tensor.Tensor) (string, error) {
	tp, err := tensorProto(t)
	if err != nil {
		return "", err
	}
	tp.Name = b.fresh(base)
	b.inits[tp.Name] = true
	b.initsL = append(b.initsL, tp)
	b.rank[tp.Name] = t.Rank()
	return tp.Name, nil
}

func (b *builder) int64s(base string, vals ...int64) string {
	name, _ := b.init(base, tensor.MustFromSlice(tensor.Shape{len(vals)}, vals))
	return name
}

// input resolves a TF tensor name to an ONNX value, adding an initializer
// the first time a constant is read.
func (b *builder) input(tf string) (string, error) {
	if n, ok := b.names[tf]; ok {
		return n, nil
	}
	t, ok := b.consts[tf]
	if !ok {
		return "", fmt.Errorf("onnx: tensor %q is neither computed nor constant", tf)
	}
	name, err := b.init(tf, t)
	if err != nil {
		return "", err
	}
	b.names[tf] = name
	return name, nil
}

// live returns the nodes and initializers that the outputs depend on, in
// order; transposes that layout folding made redundant drop out here.
func (b *builder) live(outs []*pb.ValueInfoProto) ([]*pb.NodeProto, []*pb.TensorProto) {
	need := map[string]bool{}
	for _, o := range outs {
		need[o.Name] = true
	}
	keep := make([]bool, len(b.nodes))
	for i := len(b.nodes) - 1; i >= 0; i-- {
		n := b.nodes[i]
		for _, o := range n.Output {
			if need[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Input {
				need[in] = true
			}
		}
	}
	var nodes []*pb.NodeProto
	for i, n := range b.nodes {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	var inits []*pb.TensorProto
	for _, t := range b.initsL {
		if need[t.Name] {
			inits = append(inits, t)
		}
	}
	return nodes, inits
}

func attrInt(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

func attrInts(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: v}
}

func attrFloat(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}

func attrString(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_STRING, S: []byte(v)}
}

// ElemType maps an engine dtype to ONNX's TensorProto.DataType.
func ElemType(dt tensor.DType) (pb.TensorProto_DataType, error) {
	if et, ok := pb.ElemType(dt); ok {
		return et, nil
	}
	return 0, fmt.Errorf("%w: dtype %v", ErrUnsupported, dt)
}

// valueInfo describes a signature tensor: its leading unknown dimension is
// the symbolic "batch", any other unknown one gets a name of its own.
func valueInfo(spec engine.TensorSpec) (*pb.ValueInfoProto, error) {
	et, err := ElemType(spec.DType)
	if err != nil {
		return nil, fmt.Errorf("%w (tensor %q)", err, spec.Name)
	}
	tt := &pb.TypeProto_Tensor{ElemType: int32(et)}
	if spec.Shape != nil {
		tt.Shape = &pb.TensorShapeProto{}
		for i, d := range spec.Shape {
			dim := &pb.TensorShapeProto_Dimension{}
			switch {
			case d >= 0:
				dim.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}
			case i == 0:
				dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: BatchDim}
			default:
				dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: fmt.Sprintf("%s_dim%d", spec.Name, i)}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &pb.ValueInfoProto{Name: spec.Name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: tt}}}, nil
}

// tensorProto encodes t with raw_data (little-endian), or string_data.
func tensorProto(t *tensor.Tensor) (*pb.TensorProto, error) {
	et, err := ElemType(t.DType())
	if err != nil {
		return nil, err
	}
	tp := &pb.TensorProto{DataType: int32(et)}
	for _, d := range t.Shape() {
		tp.Dims = append(tp.Dims, int64(d))
	}
	var raw []byte
	switch t.DType() {
	case tensor.Float32:
		for _, v := range t.Float32s() {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
		}
	case tensor.Float64:
		for _, v := range t.Float64s() {
			raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(v))
		}
	case tensor.Int32:
		for _, v := range t.Int32s() {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(v))
		}
	case tensor.Int64:
		for _, v := range t.Int64s() {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
	case tensor.Int8:
		for _, v := range t.Int8s() {
			raw = append(raw, byte(v))
		}
	case tensor.Uint8:
		raw = append(raw, t.Uint8s()...)
	case tensor.Bool:
		for _, v := range t.Bools() {
			if v {
				raw = append(raw, 1)
			} else {
				raw = append(raw, 0)
			}
		}
	case tensor.String:
		tp.StringData = append(tp.StringData, t.Strings()...)
		return tp, nil
	case tensor.Int16:
		for _, v := range t.Int16s() {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	case tensor.Uint16:
		for _, v := range t.Uint16s() {
			raw = binary.LittleEndian.AppendUint16(raw, v)
		}
	case tensor.Float16:
		for _, v := range t.Float16s() {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	case tensor.BFloat16:
		for _, v := range t.BFloat16s() {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	case tensor.Uint32:
		for _, v := range t.Uint32s() {
			raw = binary.LittleEndian.AppendUint32(raw, v)
		}
	case tensor.Uint64:
		for _, v := range t.Uint64s() {
			raw = binary.LittleEndian.AppendUint64(raw, v)
		}
	}
	if raw == nil {
		raw = []byte{}
	}
	tp.RawData = raw
	return tp, nil
}

// unsupported is the error for a node the exporter cannot translate.
func unsupported(n engine.ExportNode, why string) error {
	if why == "" {
		return fmt.Errorf("%w: node %q uses op %q, which the ONNX exporter does not support", ErrUnsupported, n.Name, n.Op)
	}
	return fmt.Errorf("%w: node %q (op %s): %s", ErrUnsupported, n.Name, n.Op, why)
}

// constInput returns the constant value of input i of n.
func (b *builder) constInput(n engine.ExportNode, i int) (*tensor.Tensor, error) {
	if i >= len(n.Inputs) {
		return nil, unsupported(n, fmt.Sprintf("missing input %d", i))
	}
	t, ok := b.consts[n.Inputs[i]]
	if !ok {
		return nil, unsupported(n, fmt.Sprintf("input %d must be a load-time constant", i))
	}
	return t, nil
}

func intsOf(t *tensor.Tensor) []int64 {
	switch t.DType() {
	case tensor.Int32:
		out := make([]int64, t.Len())
		for i, v := range t.Int32s() {
			out[i] = int64(v)
		}
		return out
	case tensor.Int64:
		return append([]int64(nil), t.Int64s()...)
	}
	return nil
}

// nchwOf returns the NCHW form of NHWC value x, reusing the tensor x was
// transposed from when there is one, so back-to-back transposes vanish.
func (b *builder) nchwOf(x string) string {
	if y, ok := b.nchw[x]; ok {
		return y
	}
	y := b.op("Transpose", x+"_nchw", []string{x}, attrInts("perm", 0, 3, 1, 2))
	b.rank[y] = 4
	if s := b.shape[x]; len(s) == 4 {
		b.shape[y] = []int64{s[0], s[3], s[1], s[2]}
	}
	b.nchw[x] = y
	return y
}

// fromNCHW binds TF output out to the NHWC transpose of NCHW value y.
func (b *builder) fromNCHW(out, y string) {
	name := b.fresh(out)
	b.emit("Transpose", []string{y}, []string{name}, attrInts("perm", 0, 2, 3, 1))
	b.names[out] = name
	b.rank[name] = 4
	b.nchw[name] = y
	if s := b.shape[y]; len(s) == 4 {
		b.shape[name] = []int64{s[0], s[2], s[3], s[1]}
	}
}

// bind names TF output out as the ONNX value name.
func (b *builder) bind(out, name string, rank int) {
	b.names[out] = name
	b.rank[name] = rank
}

func (b *builder) rankOf(v string) int {
	if r, ok := b.rank[v]; ok {
		return r
	}
	return -1
}

// nhwc checks the data_format attribute of a 4-D TF op.
func nhwc(n engine.ExportNode) error {
	if f, ok := n.Attrs.String("data_format"); ok && f != "NHWC" && f != "" {
		return unsupported(n, "data_format "+f+" (only NHWC)")
	}
	return nil
}

// windowAttrs turns TF's NHWC strides, dilations and padding for a
// kernel of kh×kw into ONNX's attributes, and gives the output's spatial
// size (-1 where unknown). For SAME it writes explicit pads computed as
// TensorFlow does (the odd extra row or column at the bottom or right)
// when the input's height and width are static, and SAME_UPPER, which
// means the same, when they are not. in is the NCHW input shape or nil.
func windowAttrs(n engine.ExportNode, in []int64, kh, kw int64, withDilations bool) ([]*pb.AttributeProto, [2]int64, error) {
	var attrs []*pb.AttributeProto
	outHW := [2]int64{-1, -1}
	strides, ok := n.Attrs.Ints("strides")
	if !ok || len(strides) != 4 {
		return nil, outHW, unsupported(n, "strides is not 4 values")
	}
	attrs = append(attrs, attrInts("strides", strides[1], strides[2]))
	dil := []int64{1, 1, 1, 1}
	if withDilations {
		if d, ok := n.Attrs.Ints("dilations"); ok && len(d) == 4 {
			dil = d
			attrs = append(attrs, attrInts("dilations", d[1], d[2]))
		}
	}
	k := [2]int64{kh, kw}
	size := [2]int64{-1, -1}
	if len(in) == 4 {
		size = [2]int64{in[2], in[3]}
	}
	var pads [4]int64 // h_begin, w_begin, h_end, w_end
	pad, _ := n.Attrs.String("padding")
	switch pad {
	case "SAME":
		if size[0] < 0 || size[1] < 0 {
			return append(attrs, attrString("auto_pad", "SAME_UPPER")), outHW, nil
		}
		for i := range 2 {
			s := strides[i+1]
			out := (size[i] + s - 1) / s
			eff := (k[i]-1)*dil[i+1] + 1
			total := max((out-1)*s+eff-size[i], 0)
			pads[i], pads[i+2] = total/2, total-total/2
		}
	case "VALID":
	case "EXPLICIT":
		p, ok := n.Attrs.Ints("explicit_paddings")
		if !ok || len(p) != 8 {
			return nil, outHW, unsupported(n, "explicit_paddings is not 8 values")
		}
		pads = [4]int64{p[2], p[4], p[3], p[5]}
	default:
		return nil, outHW, unsupported(n, "padding "+pad)
	}
	attrs = append(attrs, attrInts("pads", pads[:]...))
	for i := range 2 {
		if size[i] >= 0 {
			eff := (k[i]-1)*dil[i+1] + 1
			outHW[i] = (size[i]+pads[i]+pads[i+2]-eff)/strides[i+1] + 1
		}
	}
	return attrs, outHW, nil
}

// transposeConst returns t permuted by perm.
func transposeConst(t *tensor.Tensor, perm []int) (*tensor.Tensor, error) {
	if t.DType() != tensor.Float32 {
		return nil, fmt.Errorf("%w: transposing a %v constant", ErrUnsupported, t.DType())
	}
	in := t.Shape()
	out := make(tensor.Shape, len(perm))
	for i, p := range perm {
		out[i] = in[p]
	}
	src := t.Float32s()
	dst := make([]float32, len(src))
	inStride := make([]int, len(in))
	s := 1
	for i := len(in) - 1; i >= 0; i-- {
		inStride[i] = s
		s *= in[i]
	}
	idx := make([]int, len(out))
	for o := range dst {
		off := 0
		for i := range idx {
			off += idx[i] * inStride[perm[i]]
		}
		dst[o] = src[off]
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < out[i] {
				break
			}
			idx[i] = 0
		}
	}
	return tensor.FromSlice(out, dst)
}

var unaryOps = map[string]string{
	"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Elu": "Elu", "Exp": "Exp", "Neg": "Neg",
	"Sqrt": "Sqrt", "Abs": "Abs", "Log": "Log", "Floor": "Floor", "Ceil": "Ceil", "Softplus": "Softplus",
}

var binaryOps = map[string]string{
	"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Maximum": "Max", "Minimum": "Min",
}

func maxRank(a, b int) int {
	if a < 0 || b < 0 {
		return -1
	}
	if a > b {
		return a
	}
	return b
}

// node translates one TF op.
func (b *builder) node(n engine.ExportNode) error {
	if len(n.Outputs) == 0 {
		return nil
	}
	out := n.Outputs[0]
	in := func(i int) (string, error) {
		if i >= len(n.Inputs) {
			return "", unsupported(n, fmt.Sprintf("missing input %d", i))
		}
		return b.input(n.Inputs[i])
	}
	x, err := in(0)
	if err != nil {
		return err
	}
	xr := b.rankOf(x)
	// Elementwise ops on a value that has an NCHW twin run on the twin,
	// so a chain Conv -> BiasAdd -> Relu -> MaxPool stays in NCHW.
	layoutFree := func(onnxOp string, extra []string, attrs ...*pb.AttributeProto) {
		if y, ok := b.nchw[x]; ok {
			z := b.op(onnxOp, out+"_nchw", append([]string{y}, extra...), attrs...)
			b.shape[z] = b.shape[y]
			b.fromNCHW(out, z)
			return
		}
		b.bind(out, b.op(onnxOp, out, append([]string{x}, extra...), attrs...), xr)
	}
	if op, ok := unaryOps[n.Op]; ok {
		layoutFree(op, nil)
		return nil
	}
	if op, ok := binaryOps[n.Op]; ok {
		y, err := in(1)
		if err != nil {
			return err
		}
		b.bind(out, b.op(op, out, []string{x, y}), maxRank(xr, b.rankOf(y)))
		return nil
	}
	switch n.Op {
	case "Identity", "Snapshot", "StopGradient":
		b.bind(out, x, xr)
	case "Relu6":
		layoutFree("Clip", []string{b.floatConst(0), b.floatConst(6)})
	case "LeakyRelu":
		alpha, ok := n.Attrs.Float("alpha")
		if !ok {
			alpha = 0.2
		}
		layoutFree("LeakyRelu", nil, attrFloat("alpha", alpha))
	case "Selu":
		layoutFree("Selu", nil, attrFloat("alpha", 1.6732632423543772), attrFloat("gamma", 1.0507009873554805))
	case "Softmax", "LogSoftmax":
		b.bind(out, b.op(n.Op, out, []string{x}, attrInt("axis", -1)), xr)
	case "BiasAdd", "BiasAddV1":
		if err := nhwc(n); err != nil {
			return err
		}
		bias, err := in(1)
		if err != nil {
			return err
		}
		if y, ok := b.nchw[x]; ok {
			shaped := b.op("Reshape", bias+"_c11", []string{bias, b.int64s("shape_c11", -1, 1, 1)})
			z := b.op("Add", out+"_nchw", []string{y, shaped})
			b.shape[z] = b.shape[y]
			b.fromNCHW(out, z)
			return nil
		}
		b.bind(out, b.op("Add", out, []string{x, bias}), xr)
	case "Conv2D", "DepthwiseConv2dNative":
		return b.conv(n, x)
	case "MaxPool", "AvgPool":
		if err := nhwc(n); err != nil {
			return err
		}
		k, ok := n.Attrs.Ints("ksize")
		if !ok || len(k) != 4 || k[0] != 1 || k[3] != 1 {
			return unsupported(n, "ksize must be [1,h,w,1]")
		}
		y := b.nchwOf(x)
		attrs, hw, err := windowAttrs(n, b.shape[y], k[1], k[2], false)
		if err != nil {
			return err
		}
		attrs = append(attrs, attrInts("kernel_shape", k[1], k[2]))
		op := "MaxPool"
		if n.Op == "AvgPool" {
			op = "AveragePool"
			attrs = append(attrs, attrInt("count_include_pad", 0))
		}
		z := b.op(op, out+"_nchw", []string{y}, attrs...)
		if s := b.shape[y]; len(s) == 4 {
			b.shape[z] = []int64{s[0], s[1], hw[0], hw[1]}
		}
		b.fromNCHW(out, z)
	case "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3":
		if err := nhwc(n); err != nil {
			return err
		}
		if tr, ok := n.Attrs.Bool("is_training"); ok && tr {
			return unsupported(n, "is_training is true")
		}
		eps, ok := n.Attrs.Float("epsilon")
		if !ok {
			eps = 1e-4
		}
		y := b.nchwOf(x)
		ins := []string{y}
		for i := 1; i <= 4; i++ {
			v, err := in(i)
			if err != nil {
				return err
			}
			ins = append(ins, v)
		}
		z := b.op("BatchNormalization", out+"_nchw", ins, attrFloat("epsilon", eps))
		b.shape[z] = b.shape[y]
		b.fromNCHW(out, z)
	case "MatMul", "BatchMatMul", "BatchMatMulV2":
		ta, tb := "transpose_a", "transpose_b"
		if n.Op != "MatMul" {
			ta, tb = "adj_x", "adj_y"
		}
		y, err := in(1)
		if err != nil {
			return err
		}
		if t, _ := n.Attrs.Bool(ta); t {
			if x, err = b.swapLast(n, x); err != nil {
				return err
			}
		}
		if t, _ := n.Attrs.Bool(tb); t {
			if y, err = b.swapLast(n, y); err != nil {
				return err
			}
		}
		b.bind(out, b.op("MatMul", out, []string{x, y}), maxRank(b.rankOf(x), b.rankOf(y)))
	case "Reshape":
		shape, ok := b.consts[n.Inputs[1]]
		if ok {
			dims := intsOf(shape)
			var attrs []*pb.AttributeProto
			for _, d := range dims {
				if d == 0 {
					attrs = append(attrs, attrInt("allowzero", 1))
					break
				}
			}
			b.bind(out, b.op("Reshape", out, []string{x, b.int64s(out+"_shape", dims...)}, attrs...), len(dims))
			return nil
		}
		s, err := in(1)
		if err != nil {
			return err
		}
		s64 := b.op("Cast", s+"_i64", []string{s}, attrInt("to", int64(pb.TensorProto_INT64)))
		b.bind(out, b.op("Reshape", out, []string{x, s64}), -1)
	case "Squeeze":
		dims, _ := n.Attrs.Ints("squeeze_dims")
		ins := []string{x}
		r := -1
		if len(dims) > 0 {
			ins = append(ins, b.int64s(out+"_axes", dims...))
			if xr >= 0 {
				r = xr - len(dims)
			}
		}
		b.bind(out, b.op("Squeeze", out, ins), r)
	case "ExpandDims":
		ax, err := b.constInput(n, 1)
		if err != nil {
			return err
		}
		r := -1
		if xr >= 0 {
			r = xr + 1
		}
		b.bind(out, b.op("Unsqueeze", out, []string{x, b.int64s(out+"_axes", intsOf(ax)...)}), r)
	case "Transpose":
		perm, err := b.constInput(n, 1)
		if err != nil {
			return err
		}
		p := intsOf(perm)
		b.bind(out, b.op("Transpose", out, []string{x}, attrInts("perm", p...)), len(p))
	case "ConcatV2":
		ax, err := b.constInput(n, len(n.Inputs)-1)
		if err != nil {
			return err
		}
		var ins []string
		for i := 0; i < len(n.Inputs)-1; i++ {
			v, err := in(i)
			if err != nil {
				return err
			}
			ins = append(ins, v)
		}
		b.bind(out, b.op("Concat", out, ins, attrInt("axis", intsOf(ax)[0])), xr)
	case "Pack":
		axis, _ := n.Attrs.Int("axis")
		r := xr
		if axis < 0 {
			if xr < 0 {
				return unsupported(n, "negative axis on an input of unknown rank")
			}
			axis += int64(xr) + 1
		}
		axes := b.int64s(out+"_axis", axis)
		var ins []string
		for i := range n.Inputs {
			v, err := in(i)
			if err != nil {
				return err
			}
			ins = append(ins, b.op("Unsqueeze", v+"_u", []string{v, axes}))
		}
		if r >= 0 {
			r++
		}
		b.bind(out, b.op("Concat", out, ins, attrInt("axis", axis)), r)
	case "Mean", "Sum", "Max", "Min", "Prod":
		ax, err := b.constInput(n, 1)
		if err != nil {
			return err
		}
		axes := intsOf(ax)
		keep, _ := n.Attrs.Bool("keep_dims")
		k := int64(0)
		r := -1
		if keep {
			k, r = 1, xr
		} else if xr >= 0 {
			r = xr - len(axes)
		}
		op := map[string]string{"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin", "Prod": "ReduceProd"}[n.Op]
		if len(axes) == 0 {
			b.bind(out, x, xr)
			return nil
		}
		reduce := func(src, name string, axes []int64) string {
			if op == "ReduceSum" {
				return b.op(op, name, []string{src, b.int64s(name+"_axes", axes...)}, attrInt("keepdims", k))
			}
			return b.op(op, name, []string{src}, attrInts("axes", axes...), attrInt("keepdims", k))
		}
		// A global pool over H and W of a value with an NCHW twin reduces
		// the twin, which saves the transpose back to NHWC.
		if y, ok := b.nchw[x]; ok && spatialAxes(axes) {
			if !keep {
				b.bind(out, reduce(y, out, []int64{2, 3}), 2)
				return nil
			}
			z := reduce(y, out+"_nchw", []int64{2, 3})
			if sh := b.shape[y]; len(sh) == 4 {
				b.shape[z] = []int64{sh[0], sh[1], 1, 1}
			}
			b.fromNCHW(out, z)
			return nil
		}
		b.bind(out, reduce(x, out, axes), r)
	case "Pad", "PadV2":
		p, err := b.constInput(n, 1)
		if err != nil {
			return err
		}
		pv := intsOf(p)
		r := len(pv) / 2
		pads := make([]int64, 2*r)
		for i := 0; i < r; i++ {
			pads[i], pads[r+i] = pv[2*i], pv[2*i+1]
		}
		ins := []string{x, b.int64s(out+"_pads", pads...)}
		if n.Op == "PadV2" {
			c, err := in(2)
			if err != nil {
				return err
			}
			ins = append(ins, c)
		}
		b.bind(out, b.op("Pad", out, ins, attrString("mode", "constant")), r)
	case "Cast":
		dt, ok := n.Attrs.Type("DstT")
		if !ok {
			return unsupported(n, "no DstT")
		}
		et, err := ElemType(dt)
		if err != nil {
			return unsupported(n, err.Error())
		}
		b.bind(out, b.op("Cast", out, []string{x}, attrInt("to", int64(et))), xr)
	case "Shape":
		s := b.op("Shape", out+"_i64", []string{x})
		if dt, ok := n.Attrs.Type("out_type"); !ok || dt == tensor.Int32 {
			s = b.op("Cast", out, []string{s}, attrInt("to", int64(pb.TensorProto_INT32)))
		}
		b.bind(out, s, 1)
	case "ArgMax", "ArgMin":
		ax, err := b.constInput(n, 1)
		if err != nil {
			return err
		}
		r := -1
		if xr >= 0 {
			r = xr - 1
		}
		v := b.op(n.Op, out+"_i64", []string{x}, attrInt("axis", intsOf(ax)[0]), attrInt("keepdims", 0))
		if dt, ok := n.Attrs.Type("output_type"); ok && dt == tensor.Int32 {
			v = b.op("Cast", out, []string{v}, attrInt("to", int64(pb.TensorProto_INT32)))
		}
		b.bind(out, v, r)
	case "StridedSlice":
		return b.stridedSlice(n, x)
	default:
		return unsupported(n, "")
	}
	return nil
}

// spatialAxes reports whether axes of a 4-D NHWC value are exactly H and W.
func spatialAxes(axes []int64) bool {
	seen := map[int64]bool{}
	for _, a := range axes {
		if a < 0 {
			a += 4
		}
		if a != 1 && a != 2 {
			return false
		}
		seen[a] = true
	}
	return len(seen) == 2
}

func (b *builder) floatConst(v float32) string {
	name, _ := b.init("const_f", tensor.MustFromSlice(tensor.Shape{}, []float32{v}))
	return name
}

// swapLast transposes the last two dimensions of x.
func (b *builder) swapLast(n engine.ExportNode, x string) (string, error) {
	r := b.rankOf(x)
	if r < 2 {
		return "", unsupported(n, "transposed operand of unknown rank")
	}
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[r-1], perm[r-2] = perm[r-2], perm[r-1]
	y := b.op("Transpose", x+"_t", []string{x}, attrInts("perm", perm...))
	b.rank[y] = r
	return y, nil
}

// conv translates Conv2D and DepthwiseConv2dNative: the NHWC input goes
// through NCHW and the HWIO (or HWCM) filter becomes OIHW.
func (b *builder) conv(n engine.ExportNode, x string) error {
	if err := nhwc(n); err != nil {
		return err
	}
	f, err := b.constInput(n, 1)
	if err != nil {
		return err
	}
	if f.Rank() != 4 {
		return unsupported(n, "filter is not 4-D")
	}
	s := f.Shape()
	y := b.nchwOf(x)
	attrs, hw, err := windowAttrs(n, b.shape[y], int64(s[0]), int64(s[1]), true)
	if err != nil {
		return err
	}
	attrs = append(attrs, attrInts("kernel_shape", int64(s[0]), int64(s[1])))
	var w *tensor.Tensor
	if n.Op == "Conv2D" {
		// HWIO -> OIHW.
		w, err = transposeConst(f, []int{3, 2, 0, 1})
	} else {
		// HWCM -> (C*M)1HW, with output channel c*M+m as in TensorFlow.
		if w, err = transposeConst(f, []int{2, 3, 0, 1}); err == nil {
			w, err = w.Reshaped(tensor.Shape{s[2] * s[3], 1, s[0], s[1]})
		}
		attrs = append(attrs, attrInt("group", int64(s[2])))
	}
	if err != nil {
		return unsupported(n, err.Error())
	}
	wn, err := b.init(n.Inputs[1]+"_oihw", w)
	if err != nil {
		return err
	}
	out := n.Outputs[0]
	z := b.op("Conv", out+"_nchw", []string{y, wn}, attrs...)
	if sh := b.shape[y]; len(sh) == 4 {
		b.shape[z] = []int64{sh[0], int64(w.Shape()[0]), hw[0], hw[1]}
	}
	b.fromNCHW(out, z)
	return nil
}

// stridedSlice translates the common StridedSlice forms (no ellipsis or
// new axes) into Slice plus Squeeze for the shrunk axes.
func (b *builder) stridedSlice(n engine.ExportNode, x string) error {
	var bounds [3][]int64
	for i := 1; i <= 3; i++ {
		t, err := b.constInput(n, i)
		if err != nil {
			return err
		}
		bounds[i-1] = intsOf(t)
	}
	begin, end, strides := bounds[0], bounds[1], bounds[2]
	mask := func(name string) int64 { v, _ := n.Attrs.Int(name); return v }
	if mask("ellipsis_mask") != 0 || mask("new_axis_mask") != 0 {
		return unsupported(n, "ellipsis_mask and new_axis_mask")
	}
	bm, em, sm := mask("begin_mask"), mask("end_mask"), mask("shrink_axis_mask")
	var starts, ends, axes, steps, shrink []int64
	for i := range begin {
		st, e, step := begin[i], end[i], strides[i]
		if step == 0 {
			return unsupported(n, "stride 0")
		}
		if bm&(1<<i) != 0 {
			st = 0
			if step < 0 {
				st = math.MaxInt64
			}
		}
		if em&(1<<i) != 0 {
			e = math.MaxInt64
			if step < 0 {
				e = math.MinInt64
			}
		}
		if sm&(1<<i) != 0 {
			st, step = begin[i], 1
			e = st + 1
			if st == -1 {
				e = math.MaxInt64
			}
			shrink = append(shrink, int64(i))
		}
		starts, ends, axes, steps = append(starts, st), append(ends, e), append(axes, int64(i)), append(steps, step)
	}
	out := n.Outputs[0]
	y := b.op("Slice", out+"_slice", []string{x, b.int64s(out+"_starts", starts...), b.int64s(out+"_ends", ends...),
		b.int64s(out+"_axes", axes...), b.int64s(out+"_steps", steps...)})
	r := b.rankOf(x)
	if len(shrink) > 0 {
		y = b.op("Squeeze", out, []string{y, b.int64s(out+"_shrink", shrink...)})
		if r >= 0 {
			r -= len(shrink)
		}
	}
	b.bind(out, y, r)
	return nil
}

// KnownOps lists the ONNX op types the exporter can emit.
var KnownOps = func() map[string]bool {
	m := map[string]bool{}
	for _, op := range unaryOps {
		m[op] = true
	}
	for _, op := range binaryOps {
		m[op] = true
	}
	for _, op := range strings.Fields(`Identity Clip LeakyRelu Selu Softmax LogSoftmax Reshape Add Conv Transpose
		MaxPool AveragePool BatchNormalization MatMul Cast Squeeze Unsqueeze Concat ReduceMean ReduceSum ReduceMax
		ReduceMin ReduceProd Pad Shape ArgMax ArgMin Slice`) {
		m[op] = true
	}
	return m
}()
