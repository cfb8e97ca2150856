package importer_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// ewModel builds a model of one node of op whose inputs are graph inputs
// named after the feeds (in order; "" leaves an optional input out) and
// whose one output is "y".
func ewModel(opset int64, op string, attrs []*pb.AttributeProto, inputs []string, feeds map[string]*tensor.Tensor) *pb.ModelProto {
	var vis []*pb.ValueInfoProto
	for _, name := range inputs {
		if name == "" {
			continue
		}
		vis = append(vis, &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
			TensorType: &pb.TypeProto_Tensor{ElemType: int32(importer.ElemTypeOf(feeds[name].DType()))}}}})
	}
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: opset}},
		Graph: &pb.GraphProto{
			Node:   []*pb.NodeProto{{OpType: op, Input: inputs, Output: []string{"y"}, Attribute: attrs}},
			Input:  vis,
			Output: []*pb.ValueInfoProto{{Name: "y"}},
		},
	}
}

// ewValues renders a tensor's elements for comparison.
func ewValues(t *tensor.Tensor) string {
	switch v := t.Data().(type) {
	case [][]byte:
		s := make([]string, len(v))
		for i, b := range v {
			s[i] = string(b)
		}
		return fmt.Sprint(s)
	}
	return fmt.Sprint(t.Data())
}

// TestElementwiseConverters runs the element-wise converters through the
// engine, on the paths the conformance suite leaves out or covers thinly:
// legacy broadcasting, attribute defaults, absent optional inputs and the
// choice between TensorFlow kernels and ONNX ones.
func TestElementwiseConverters(t *testing.T) {
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	i32 := func(shape tensor.Shape, v ...int32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	bools := func(v ...bool) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
	tests := []struct {
		name   string
		opset  int64
		op     string
		attrs  []*pb.AttributeProto
		inputs []string
		feeds  map[string]*tensor.Tensor
		shape  tensor.Shape
		want   string
	}{
		{"legacy broadcast at an axis", 6, "Add", []*pb.AttributeProto{importer.IntAttr("broadcast", 1), importer.IntAttr("axis", 1)}, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": f32(tensor.Shape{1, 3, 2}, 0, 0, 0, 0, 0, 0), "b": f32(tensor.Shape{3}, 1, 2, 3)},
			tensor.Shape{1, 3, 2}, "[1 1 2 2 3 3]"},
		{"legacy broadcast at the end", 6, "Sub", []*pb.AttributeProto{importer.IntAttr("broadcast", 1)}, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": f32(tensor.Shape{2, 2}, 5, 5, 5, 5), "b": f32(tensor.Shape{2}, 1, 2)},
			tensor.Shape{2, 2}, "[4 3 4 3]"},
		{"legacy pow at an axis", 6, "Pow", []*pb.AttributeProto{importer.IntAttr("broadcast", 1), importer.IntAttr("axis", 0)}, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": f32(tensor.Shape{2, 2}, 2, 2, 2, 2), "b": f32(tensor.Shape{2}, 1, 3)},
			tensor.Shape{2, 2}, "[2 2 8 8]"},
		{"int division truncates", 14, "Div", nil, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": i32(tensor.Shape{2}, -7, 7), "b": i32(tensor.Shape{}, 2)},
			tensor.Shape{2}, "[-3 3]"},
		{"mod takes the divisor's sign", 13, "Mod", nil, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": i32(tensor.Shape{3}, -7, 7, -7), "b": i32(tensor.Shape{3}, 3, -3, -3)},
			tensor.Shape{3}, "[2 -2 -1]"},
		{"fmod takes the dividend's sign", 13, "Mod", []*pb.AttributeProto{importer.IntAttr("fmod", 1)}, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": f32(tensor.Shape{3}, -7, 7, -7), "b": f32(tensor.Shape{3}, 3, -3, -3)},
			tensor.Shape{3}, "[-1 1 -1]"},
		{"xor", 7, "Xor", nil, []string{"a", "b"},
			map[string]*tensor.Tensor{"a": bools(true, true, false, false), "b": bools(true, false, true, false)},
			tensor.Shape{4}, "[false true true false]"},
		{"where broadcasts", 9, "Where", nil, []string{"c", "a", "b"},
			map[string]*tensor.Tensor{"c": bools(true, false), "a": f32(tensor.Shape{}, 1), "b": f32(tensor.Shape{2, 1}, 5, 6)},
			tensor.Shape{2, 2}, "[1 5 1 6]"},
		{"leaky relu's ONNX default alpha", 16, "LeakyRelu", nil, []string{"x"},
			map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, -100, 3)},
			tensor.Shape{2}, "[-1 3]"},
		{"elu with another alpha", 6, "Elu", []*pb.AttributeProto{importer.FloatAttr("alpha", 2)}, []string{"x"},
			map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, float32(math.Log(0.5)), 3)},
			tensor.Shape{2}, "[-1 3]"},
		{"sum of three", 13, "Sum", nil, []string{"a", "b", "c"},
			map[string]*tensor.Tensor{"a": i32(tensor.Shape{2}, 1, 2), "b": i32(tensor.Shape{2, 1}, 10, 20), "c": i32(tensor.Shape{}, 100)},
			tensor.Shape{2, 2}, "[111 112 121 122]"},
		{"clip with only a max", 13, "Clip", nil, []string{"x", "", "hi"},
			map[string]*tensor.Tensor{"x": f32(tensor.Shape{3}, -9, 0, 9), "hi": f32(tensor.Shape{}, 1)},
			tensor.Shape{3}, "[-9 0 1]"},
		{"clip with only a min", 13, "Clip", nil, []string{"x", "lo"},
			map[string]*tensor.Tensor{"x": i32(tensor.Shape{3}, -9, 0, 9), "lo": i32(tensor.Shape{}, -1)},
			tensor.Shape{3}, "[-1 0 9]"},
		{"cast to string", 13, "Cast", []*pb.AttributeProto{importer.IntAttr("to", int64(pb.TensorProto_STRING))}, []string{"x"},
			map[string]*tensor.Tensor{"x": i32(tensor.Shape{2}, -3, 40)},
			tensor.Shape{2}, "[-3 40]"},
		{"cast to a type named as before opset 6", 5, "Cast", []*pb.AttributeProto{{Name: "to", Type: pb.AttributeProto_STRING, S: []byte("INT32")}}, []string{"x"},
			map[string]*tensor.Tensor{"x": f32(tensor.Shape{2}, -3.5, 40.25)},
			tensor.Shape{2}, "[-3 40]"},
		{"cast to bool", 13, "Cast", []*pb.AttributeProto{importer.IntAttr("to", int64(pb.TensorProto_BOOL))}, []string{"x"},
			map[string]*tensor.Tensor{"x": f32(tensor.Shape{3}, 0, 0.5, float32(math.NaN()))},
			tensor.Shape{3}, "[false true true]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := write(t, t.TempDir(), ewModel(tc.opset, tc.op, tc.attrs, tc.inputs, tc.feeds))
			m, err := importer.Load(context.Background(), path, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Run(context.Background(), importer.Signature, tc.feeds)
			if err != nil {
				t.Fatal(err)
			}
			y := out["y"]
			if !y.Shape().Equal(tc.shape) {
				t.Fatalf("shape = %v, want %v", y.Shape(), tc.shape)
			}
			if got := ewValues(y); got != tc.want {
				t.Fatalf("y = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestElementwiseLowering checks which engine op a converter chooses: the
// TensorFlow one where its semantics match (so that fusion and the vector
// loops apply), the ONNX kernel otherwise.
func TestElementwiseLowering(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{4}, []float32{-7, 0.5, 3, 9})
	scalar := func(v float32) *pb.TensorProto {
		return &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{v}}
	}
	tests := []struct {
		name   string
		opset  int64
		op     string
		attrs  []*pb.AttributeProto
		inputs []string
		inits  map[string]*pb.TensorProto
		engine string // the op computing y
		want   string
	}{
		{"clip 0..6 inputs is Relu6", 13, "Clip", nil, []string{"x", "lo", "hi"},
			map[string]*pb.TensorProto{"lo": scalar(0), "hi": scalar(6)}, "Relu6", "[0 0.5 3 6]"},
		{"clip 0..6 attributes is Relu6", 6, "Clip", []*pb.AttributeProto{importer.FloatAttr("min", 0), importer.FloatAttr("max", 6)}, []string{"x"},
			nil, "Relu6", "[0 0.5 3 6]"},
		{"clip from 0 is Relu", 13, "Clip", nil, []string{"x", "lo"},
			map[string]*pb.TensorProto{"lo": scalar(0)}, "Relu", "[0 0.5 3 9]"},
		{"clip 1..6 is the ONNX kernel", 13, "Clip", nil, []string{"x", "lo", "hi"},
			map[string]*pb.TensorProto{"lo": scalar(1), "hi": scalar(6)}, "OnnxClip", "[1 1 3 6]"},
		{"max of two is Maximum", 13, "Max", nil, []string{"x", "c"},
			map[string]*pb.TensorProto{"c": scalar(1)}, "Maximum", "[1 1 3 9]"},
		{"min of three is the ONNX kernel", 13, "Min", nil, []string{"x", "c", "d"},
			map[string]*pb.TensorProto{"c": scalar(1), "d": scalar(-8)}, "OnnxMin", "[-8 -8 -8 -8]"},
		{"sum of two is AddV2", 13, "Sum", nil, []string{"x", "x"}, nil, "AddV2", "[-14 1 6 18]"},
		{"elu with ONNX's default alpha is TensorFlow's", 6, "Elu", []*pb.AttributeProto{importer.FloatAttr("alpha", 1)}, []string{"x"},
			nil, "Elu", fmt.Sprint([]float32{float32(math.Expm1(-7)), 0.5, 3, 9})},
		{"selu with other constants is the ONNX kernel", 6, "Selu", []*pb.AttributeProto{importer.FloatAttr("gamma", 2)}, []string{"x"},
			nil, "OnnxSelu", fmt.Sprint([]float32{float32(2 * 1.67326319217681884765625 * math.Expm1(-7)), 1, 6, 18})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := ewModel(tc.opset, tc.op, tc.attrs, tc.inputs[:1], map[string]*tensor.Tensor{"x": x})
			mp.Graph.Node[0].Input = tc.inputs
			for name, tp := range tc.inits {
				tp.Name = name
				mp.Graph.Initializer = append(mp.Graph.Initializer, tp)
			}
			spec, err := importer.Import(mp, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			port := spec.Outputs["y"]
			var ops []string
			for _, n := range spec.Graph.Nodes() {
				if strings.HasPrefix(port, n.Name+":") || port == n.Name {
					ops = append(ops, n.Op)
				}
			}
			if len(ops) != 1 || ops[0] != tc.engine {
				t.Errorf("y (%s) is computed by %v, want %s", port, ops, tc.engine)
			}
			m, err := importer.Load(context.Background(), write(t, t.TempDir(), mp), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			if got := ewValues(out["y"]); got != tc.want {
				t.Fatalf("y = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestElementwiseRefuses checks that a Cast to a dtype the engine lacks
// fails the load, naming the dtype.
func TestElementwiseRefuses(t *testing.T) {
	feeds := map[string]*tensor.Tensor{"x": tensor.New(tensor.Float32, tensor.Shape{1})}
	mp := ewModel(13, "Cast", []*pb.AttributeProto{importer.IntAttr("to", int64(pb.TensorProto_COMPLEX64))}, []string{"x"}, feeds)
	_, err := importer.Load(context.Background(), write(t, t.TempDir(), mp), engine.Options{})
	if !errors.Is(err, engine.ErrUnsupported) || !strings.Contains(err.Error(), "COMPLEX64") {
		t.Fatalf("err = %v, want ErrUnsupported naming COMPLEX64", err)
	}
}
