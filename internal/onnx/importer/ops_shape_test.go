package importer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// shInput is a graph input fed at run time.
type shInput struct {
	name string
	t    *tensor.Tensor
}

// shModel builds a model of nodes over the fed inputs and the
// initializers, producing outputs.
func shModel(opset int64, feeds []shInput, inits map[string]*pb.TensorProto, outputs []string, nodes ...*pb.NodeProto) *pb.ModelProto {
	g := &pb.GraphProto{Node: nodes}
	for _, f := range feeds {
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: f.name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: int32(importer.ElemTypeOf(f.t.DType()))}}}})
	}
	for name, tp := range inits {
		tp.Name = name
		g.Initializer = append(g.Initializer, tp)
	}
	for _, o := range outputs {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: o})
	}
	return &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: opset}}, Graph: g}
}

func shInt64Proto(dims []int64, v ...int64) *pb.TensorProto {
	return &pb.TensorProto{Dims: dims, DataType: int32(pb.TensorProto_INT64), Int64Data: v}
}

// shFormat prints a tensor as dtype, shape and values.
func shFormat(t *tensor.Tensor) string {
	return fmt.Sprintf("%v%v%v", t.DType(), t.Shape(), t.Data())
}

func TestShapeConverters(t *testing.T) {
	x := []shInput{{"x", tensor.MustFromSlice(tensor.Shape{2, 3}, []float32{0, 1, 2, 3, 4, 5})}}
	cases := []struct {
		name    string
		opset   int64
		feeds   []shInput
		inits   map[string]*pb.TensorProto
		outputs []string
		node    *pb.NodeProto
		want    []string // one per output
	}{
		{"constant of shape passes the value attribute", 9,
			[]shInput{{"s", tensor.MustFromSlice(tensor.Shape{2}, []int64{2, 1})}}, nil, []string{"y"},
			&pb.NodeProto{OpType: "ConstantOfShape", Input: []string{"s"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{{
				Name: "value", Type: pb.AttributeProto_TENSOR, T: &pb.TensorProto{Dims: []int64{1}, DataType: int32(pb.TensorProto_INT32), Int32Data: []int32{7}}}}},
			[]string{"int32[2,1][7 7]"}},
		{"constant of shape defaults to float zero", 9,
			[]shInput{{"s", tensor.MustFromSlice(tensor.Shape{1}, []int64{2})}}, nil, []string{"y"},
			&pb.NodeProto{OpType: "ConstantOfShape", Input: []string{"s"}, Output: []string{"y"}},
			[]string{"float32[2][0 0]"}},
		{"split into as many parts as outputs", 13, x, nil, []string{"a", "b", "c"},
			&pb.NodeProto{OpType: "Split", Input: []string{"x"}, Output: []string{"a", "b", "c"}, Attribute: []*pb.AttributeProto{importer.IntAttr("axis", -1)}},
			[]string{"float32[2,1][0 3]", "float32[2,1][1 4]", "float32[2,1][2 5]"}},
		{"split attribute before opset 13", 11, x, nil, []string{"a", "b"},
			&pb.NodeProto{OpType: "Split", Input: []string{"x"}, Output: []string{"a", "b"}, Attribute: []*pb.AttributeProto{importer.IntAttr("axis", 1), importer.IntsAttr("split", 2, 1)}},
			[]string{"float32[2,2][0 1 3 4]", "float32[2,1][2 5]"}},
		{"eye like translates the dtype code", 9, x, nil, []string{"y"},
			&pb.NodeProto{OpType: "EyeLike", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntAttr("dtype", int64(pb.TensorProto_INT64)), importer.IntAttr("k", -1)}},
			[]string{"int64[2,3][0 0 0 1 0 0]"}},
		{"scatter is scatter elements", 10, x, map[string]*pb.TensorProto{
			"i": shInt64Proto([]int64{1, 1}, 2),
			"u": {Dims: []int64{1, 1}, DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{9}},
		}, []string{"y"},
			&pb.NodeProto{OpType: "Scatter", Input: []string{"x", "i", "u"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntAttr("axis", 1)}},
			[]string{"float32[2,3][0 1 9 3 4 5]"}},
		{"reshape shape attribute in opset 1", 1, x, nil, []string{"y"},
			&pb.NodeProto{OpType: "Reshape", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntsAttr("shape", 3, -1)}},
			[]string{"float32[3,2][0 1 2 3 4 5]"}},
		{"slice with absent axes and steps", 13, x, map[string]*pb.TensorProto{
			"st": shInt64Proto([]int64{2}, 0, -1), "en": shInt64Proto([]int64{2}, 9, -9), "sp": shInt64Proto([]int64{2}, 1, -2),
		}, []string{"y"},
			&pb.NodeProto{OpType: "Slice", Input: []string{"x", "st", "en", "", "sp"}, Output: []string{"y"}},
			[]string{"float32[2,2][2 0 5 3]"}},
		{"pad attributes in opset 2", 2, x, nil, []string{"y"},
			&pb.NodeProto{OpType: "Pad", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{
				importer.IntsAttr("pads", 0, 1, 0, 0), {Name: "value", Type: pb.AttributeProto_FLOAT, F: -1}}},
			[]string{"float32[2,4][-1 0 1 2 -1 3 4 5]"}},
		{"top k attribute in opset 1", 1, x, nil, []string{"v", "i"},
			&pb.NodeProto{OpType: "TopK", Input: []string{"x"}, Output: []string{"v", "i"}, Attribute: []*pb.AttributeProto{importer.IntAttr("k", 2)}},
			[]string{"float32[2,2][2 1 5 4]", "int64[2,2][2 1 2 1]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mp := shModel(c.opset, c.feeds, c.inits, c.outputs, c.node)
			m := loadModel(t, mp)
			feeds := map[string]*tensor.Tensor{}
			for _, f := range c.feeds {
				feeds[f.name] = f.t
			}
			out, err := m.Run(context.Background(), importer.Signature, feeds)
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range c.outputs {
				got, ok := out[name]
				if !ok {
					t.Fatalf("no output %q", name)
				}
				if s := shFormat(got); s != c.want[i] {
					t.Errorf("%s = %s, want %s", name, s, c.want[i])
				}
			}
		})
	}
}

// TestShapeFoldsAtImport checks that a shape computed from constants
// (Shape of an initializer, Gather, Unsqueeze, Concat) is a constant in
// the imported graph, with no node left to run.
func TestShapeFoldsAtImport(t *testing.T) {
	mp := shModel(13, nil, map[string]*pb.TensorProto{
		"w":   {Dims: []int64{4, 5, 6}, DataType: int32(pb.TensorProto_FLOAT), FloatData: make([]float32, 120)},
		"i":   shInt64Proto(nil, -1),
		"ax":  shInt64Proto([]int64{1}, 0),
		"two": shInt64Proto([]int64{1}, 2),
	}, []string{"y"},
		&pb.NodeProto{OpType: "Shape", Input: []string{"w"}, Output: []string{"s"}},
		&pb.NodeProto{OpType: "Gather", Input: []string{"s", "i"}, Output: []string{"last"}},
		&pb.NodeProto{OpType: "Unsqueeze", Input: []string{"last", "ax"}, Output: []string{"v"}},
		&pb.NodeProto{OpType: "Concat", Input: []string{"two", "v"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntAttr("axis", 0)}},
	)
	spec, err := importer.Import(mp, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range spec.Graph.Nodes() {
		if strings.HasPrefix(n.Op, "Onnx") {
			t.Errorf("node %s (%s) was not folded", n.Name, n.Op)
		}
	}
	node := strings.TrimSuffix(spec.Outputs["y"], ":0")
	v, ok := spec.Consts[node]
	if !ok {
		t.Fatalf("output y is %q, not a constant", spec.Outputs["y"])
	}
	if s := shFormat(v); s != "int64[2][2 6]" {
		t.Errorf("y = %s, want int64[2][2 6]", s)
	}
}

// TestShapeFoldLimit checks that a constant computation with a large
// output is left to the engine: ConstantOfShape of a constant [5000] stays
// a node and still runs, of [3] folds.
func TestShapeFoldLimit(t *testing.T) {
	for _, c := range []struct {
		n      int64
		folded bool
	}{{3, true}, {5000, false}} {
		mp := shModel(9, nil, map[string]*pb.TensorProto{"s": shInt64Proto([]int64{1}, c.n)}, []string{"y"},
			&pb.NodeProto{OpType: "ConstantOfShape", Input: []string{"s"}, Output: []string{"y"}})
		spec, err := importer.Import(mp, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		_, isConst := spec.Consts[strings.TrimSuffix(spec.Outputs["y"], ":0")]
		if isConst != c.folded {
			t.Errorf("n=%d: folded %v, want %v", c.n, isConst, c.folded)
		}
		m, err := engine.LoadGraph(context.Background(), spec, engine.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Run(context.Background(), importer.Signature, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := out["y"].Shape(); !got.Equal(tensor.Shape{int(c.n)}) {
			t.Errorf("n=%d: y has shape %v", c.n, got)
		}
	}
}
