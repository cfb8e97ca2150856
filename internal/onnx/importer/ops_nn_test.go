package importer

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// nnNet describes a small ONNX graph for the layout tests: nodes, the
// float32 initializers (name -> shape; values are random), and which of
// them are convolution weights.
type nnNet struct {
	nodes   []*pb.NodeProto
	inits   map[string][]int
	weights []string
	outputs []string
}

// model builds the ONNX model; with weightsAsInputs the convolution
// weights are graph inputs rather than initializers, which keeps every
// Conv on the OnnxConv kernel and so gives the reference outputs.
func (net nnNet) model(weightsAsInputs bool, r *rand.Rand) (*pb.ModelProto, map[string]*tensor.Tensor) {
	f := int32(pb.TensorProto_FLOAT)
	vi := func(name string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: f}}}}
	}
	g := &pb.GraphProto{Node: net.nodes, Input: []*pb.ValueInfoProto{vi("x")}}
	feeds := map[string]*tensor.Tensor{}
	isWeight := map[string]bool{}
	for _, w := range net.weights {
		isWeight[w] = true
	}
	for _, name := range nnSortedKeys(net.inits) {
		shape := net.inits[name]
		n := 1
		dims := make([]int64, len(shape))
		for i, d := range shape {
			n *= d
			dims[i] = int64(d)
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = r.Float32()*2 - 1
		}
		if weightsAsInputs && isWeight[name] {
			g.Input = append(g.Input, vi(name))
			feeds[name] = tensor.MustFromSlice(tensor.Shape(shape), vals)
			continue
		}
		g.Initializer = append(g.Initializer, &pb.TensorProto{Name: name, Dims: dims, DataType: f, FloatData: vals})
	}
	for _, o := range net.outputs {
		g.Output = append(g.Output, vi(o))
	}
	return &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}}, Graph: g}, feeds
}

func nnSortedKeys(m map[string][]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}

// nnRun imports mp and runs it on feeds, returning the outputs and the
// ops of the nodes the outputs depend on.
func nnRun(t *testing.T, mp *pb.ModelProto, feeds map[string]*tensor.Tensor) (map[string]*tensor.Tensor, map[string]int) {
	t.Helper()
	spec, err := Import(mp, t.TempDir())
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	ops := liveOps(t, spec)
	m, err := engine.LoadGraph(context.Background(), spec, engine.Options{})
	if err != nil {
		t.Fatalf("LoadGraph: %v", err)
	}
	out, err := m.Run(context.Background(), Signature, feeds)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return out, ops
}

// liveOps counts the nodes of spec's graph that its outputs depend on, by
// op.
func liveOps(t *testing.T, spec engine.GraphSpec) map[string]int {
	t.Helper()
	var roots []graph.Port
	for _, o := range spec.Outputs {
		p, err := graph.ParsePort(o)
		if err != nil {
			t.Fatal(err)
		}
		roots = append(roots, p)
	}
	live, err := spec.Graph.Reachable(roots, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for name := range live {
		if n := spec.Graph.Node(name); n != nil {
			ops[n.Op]++
		}
	}
	return ops
}

// TestNNLayout runs CNN-shaped graphs through the NHWC fast path (Conv2D
// and the transpose-cancelling pass) and through the NCHW kernels, and
// checks that both give the same outputs, including intermediate values
// that are graph outputs, and that the fast path runs the expected
// number of transposes.
func TestNNLayout(t *testing.T) {
	conv := func(in, w, b, out string, attrs ...*pb.AttributeProto) *pb.NodeProto {
		ins := []string{in, w}
		if b != "" {
			ins = append(ins, b)
		}
		return NodeProto("Conv", ins, []string{out}, attrs...)
	}
	for _, tt := range []struct {
		name       string
		net        nnNet
		transposes int      // the most the fast path may run
		gone       []string // ops the fast path must not run
	}{
		{"conv relu maxpool depthwise avgpool global", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1", IntsAttr("pads", 1, 1, 1, 1)),
				NodeProto("Relu", []string{"c1"}, []string{"r1"}),
				NodeProto("MaxPool", []string{"r1"}, []string{"p1"}, IntsAttr("kernel_shape", 2, 2), IntsAttr("strides", 2, 2)),
				conv("p1", "w2", "", "c2", IntAttr("group", 6), IntsAttr("strides", 2, 2), StringAttr("auto_pad", "SAME_UPPER")),
				NodeProto("Add", []string{"c2", "bias"}, []string{"a2"}),
				NodeProto("AveragePool", []string{"a2"}, []string{"p2"}, IntsAttr("kernel_shape", 3, 3), IntsAttr("pads", 1, 1, 1, 1), IntAttr("count_include_pad", 1)),
				NodeProto("GlobalAveragePool", []string{"p2"}, []string{"y"}),
			},
			inits:   map[string][]int{"w1": {6, 4, 3, 3}, "b1": {6}, "w2": {12, 1, 3, 3}, "bias": {12, 1, 1}},
			weights: []string{"w1", "w2"},
			outputs: []string{"y", "r1"},
		}, 3, nil},
		{"grouped dilated prelu ceil lp residual reduce", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1", IntAttr("group", 2), IntsAttr("dilations", 2, 2), IntsAttr("pads", 2, 1, 2, 1)),
				NodeProto("PRelu", []string{"c1", "slope"}, []string{"r1"}),
				NodeProto("MaxPool", []string{"r1"}, []string{"p1"}, IntsAttr("kernel_shape", 3, 3), IntsAttr("strides", 2, 2), IntAttr("ceil_mode", 1)),
				NodeProto("LpPool", []string{"p1"}, []string{"l1"}, IntsAttr("kernel_shape", 2, 2), IntAttr("p", 2)),
				conv("l1", "wa", "ba", "ca"),
				conv("l1", "wb", "", "cb", IntsAttr("kernel_shape", 3, 3), StringAttr("auto_pad", "SAME_UPPER")),
				NodeProto("Add", []string{"ca", "cb"}, []string{"s"}),
				NodeProto("Mul", []string{"s", "half"}, []string{"m"}),
				NodeProto("ReduceMean", []string{"m"}, []string{"y"}, IntsAttr("axes", 2, 3), IntAttr("keepdims", 0)),
				NodeProto("ReduceMax", []string{"m"}, []string{"z"}, IntsAttr("axes", 1)),
			},
			inits:   map[string][]int{"w1": {8, 2, 3, 3}, "b1": {8}, "slope": {8, 1, 1}, "wa": {5, 8, 1, 1}, "ba": {5}, "wb": {5, 8, 3, 3}, "half": {1}},
			weights: []string{"w1", "wa", "wb"},
			outputs: []string{"y", "z", "s"},
		}, 3, nil},
		{"zero pad folded into conv", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1"),
				NodeProto("Relu", []string{"c1"}, []string{"r1"}),
				NodeProto("Constant", nil, []string{"pads"}, IntsAttr("value_ints", 0, 0, 1, 2, 0, 0, 2, 1)),
				NodeProto("Pad", []string{"r1", "pads"}, []string{"p1"}),
				conv("p1", "w2", "", "c2", IntsAttr("pads", 1, 0, 0, 1), IntsAttr("strides", 2, 2)),
				NodeProto("MaxPool", []string{"c2"}, []string{"y"}, IntsAttr("kernel_shape", 3, 2), IntsAttr("pads", 1, 1, 0, 1)),
			},
			inits:   map[string][]int{"w1": {6, 4, 3, 3}, "b1": {6}, "w2": {5, 6, 3, 3}},
			weights: []string{"w1", "w2"},
			outputs: []string{"y"},
		}, 2, []string{"OnnxPad", "OnnxConv", "OnnxMaxPool"}},
		{"softmax and argmax over channels", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1", IntsAttr("pads", 1, 1, 1, 1)),
				NodeProto("Softmax", []string{"c1"}, []string{"y"}, IntAttr("axis", 1)),
				NodeProto("LogSoftmax", []string{"c1"}, []string{"z"}, IntAttr("axis", -2)),
				NodeProto("Softmax", []string{"c1"}, []string{"s"}),
				NodeProto("ArgMax", []string{"c1"}, []string{"am"}, IntAttr("axis", 1), IntAttr("keepdims", 0)),
				NodeProto("ArgMin", []string{"c1"}, []string{"an"}, IntAttr("axis", 3)),
				NodeProto("Cast", []string{"am"}, []string{"amf"}, IntAttr("to", int64(pb.TensorProto_FLOAT))),
				NodeProto("Cast", []string{"an"}, []string{"anf"}, IntAttr("to", int64(pb.TensorProto_FLOAT))),
			},
			inits:   map[string][]int{"w1": {6, 4, 3, 3}, "b1": {6}},
			weights: []string{"w1"},
			outputs: []string{"y", "z", "s", "amf", "anf"},
		}, 5, nil},
		{"resize and pad between convs", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1", IntsAttr("pads", 1, 1, 1, 1)),
				NodeProto("Constant", nil, []string{"scales"}, &pb.AttributeProto{Name: "value_floats", Type: pb.AttributeProto_FLOATS, Floats: []float32{1, 1, 2, 1.5}}),
				NodeProto("Resize", []string{"c1", "", "scales"}, []string{"u1"}, StringAttr("mode", "linear")),
				conv("u1", "w2", "", "y"),
				NodeProto("Constant", nil, []string{"sizes"}, IntsAttr("value_ints", 2, 6, 7, 13)),
				NodeProto("Resize", []string{"c1", "", "", "sizes"}, []string{"r2"}, StringAttr("mode", "cubic"), StringAttr("coordinate_transformation_mode", "align_corners")),
				NodeProto("Constant", nil, []string{"pads"}, IntsAttr("value_ints", 0, 0, 2, 1, 0, 0, 1, 2)),
				NodeProto("Pad", []string{"r2", "pads"}, []string{"z"}, StringAttr("mode", "reflect")),
			},
			inits:   map[string][]int{"w1": {6, 4, 3, 3}, "b1": {6}, "w2": {3, 6, 3, 3}},
			weights: []string{"w1", "w2"},
			outputs: []string{"y", "z"},
		}, 3, []string{"OnnxConv"}},
		{"relu batchnorm concat", nnNet{
			nodes: []*pb.NodeProto{
				conv("x", "w1", "b1", "c1", IntsAttr("pads", 1, 1, 1, 1)),
				NodeProto("Relu", []string{"c1"}, []string{"r1"}),
				NodeProto("Abs", []string{"var"}, []string{"absvar"}),
				NodeProto("BatchNormalization", []string{"r1", "scale", "shift", "mean", "absvar"}, []string{"n1"}, &pb.AttributeProto{Name: "epsilon", Type: pb.AttributeProto_FLOAT, F: 0.01}),
				conv("n1", "wa", "", "ca"),
				conv("n1", "wb", "", "cb", IntsAttr("pads", 0, 1, 0, 1), IntsAttr("kernel_shape", 1, 3)),
				NodeProto("Concat", []string{"ca", "cb", "n1"}, []string{"cat"}, IntAttr("axis", 1)),
				NodeProto("Concat", []string{"ca", "cb"}, []string{"y"}, IntAttr("axis", -1)),
				NodeProto("GlobalAveragePool", []string{"cat"}, []string{"z"}),
			},
			inits: map[string][]int{"w1": {6, 4, 3, 3}, "b1": {6}, "scale": {6}, "shift": {6}, "mean": {6}, "var": {6},
				"wa": {3, 6, 1, 1}, "wb": {3, 6, 1, 3}},
			weights: []string{"w1", "wa", "wb"},
			outputs: []string{"y", "z"},
		}, 3, nil},
		{"maxpool indices and global max, folded weights", nnNet{
			nodes: []*pb.NodeProto{
				NodeProto("Abs", []string{"w1"}, []string{"w1abs"}),
				conv("x", "w1abs", "b1", "c1", IntsAttr("strides", 1, 2)),
				NodeProto("MaxPool", []string{"c1"}, []string{"p1", "i1"}, IntsAttr("kernel_shape", 2, 2)),
				NodeProto("GlobalMaxPool", []string{"c1"}, []string{"y"}),
				NodeProto("Sigmoid", []string{"p1"}, []string{"q"}),
			},
			inits:   map[string][]int{"w1": {3, 4, 2, 2}, "b1": {3}},
			weights: []string{"w1"},
			outputs: []string{"y", "q"},
		}, 3, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x := make([]float32, 2*4*11*10)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range x {
				x[i] = r.Float32()*2 - 1
			}
			xt := tensor.MustFromSlice(tensor.Shape{2, 4, 11, 10}, x)
			fast, feeds := tt.net.model(false, rand.New(rand.NewPCG(3, 4)))
			ref, refFeeds := tt.net.model(true, rand.New(rand.NewPCG(3, 4)))
			feeds["x"], refFeeds["x"] = xt, xt
			got, ops := nnRun(t, fast, feeds)
			want, refOps := nnRun(t, ref, refFeeds)
			if ops["Conv2D"]+ops["DepthwiseConv2dNative"] == 0 || refOps["OnnxConv"] == 0 {
				t.Fatalf("fast path ops %v, reference ops %v: the paths are not the ones under test", ops, refOps)
			}
			for _, op := range tt.gone {
				if ops[op] != 0 {
					t.Errorf("the fast path runs %s (ops %v)", op, ops)
				}
			}
			if n := ops["Transpose"]; n > tt.transposes {
				t.Errorf("the fast path runs %d transposes, want at most %d (ops %v)", n, tt.transposes, ops)
			}
			for _, name := range tt.net.outputs {
				g, w := got[name], want[name]
				if g == nil || w == nil || !g.Shape().Equal(w.Shape()) {
					t.Fatalf("output %s: %v, want %v", name, g, w)
				}
				for i, v := range w.Float32s() {
					if d := math.Abs(float64(g.Float32s()[i] - v)); !(d <= 1e-4*max(1, math.Abs(float64(v)))) {
						t.Fatalf("output %s[%d] = %v, want %v", name, i, g.Float32s()[i], v)
					}
				}
			}
		})
	}
}
