package importer_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// rdInit is a float32 initializer.
func rdInit(name string, dims []int64, v ...float32) *pb.TensorProto {
	return &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_FLOAT), Dims: dims, FloatData: v}
}

// TestRdConverters checks which engine ops the reduce family's converters
// choose and that the model computes the expected values through them.
func TestRdConverters(t *testing.T) {
	x22 := tensor.MustFromSlice(tensor.Shape{2, 2}, []float32{1, 2, 3, 4})
	img := tensor.MustFromSlice(tensor.Shape{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	bn := func() []*pb.TensorProto {
		return []*pb.TensorProto{rdInit("s", []int64{1}, 3), rdInit("b", []int64{1}, 1), rdInit("m", []int64{1}, 0), rdInit("v", []int64{1}, 1)}
	}
	cases := []struct {
		name   string
		opset  int64
		nodes  []*pb.NodeProto
		inits  []*pb.TensorProto
		feeds  map[string]*tensor.Tensor
		has    string // an engine op the graph must hold
		hasnt  string // one it must not
		want   []float32
		approx bool
	}{
		{"gemm with a bias row is MatMul and BiasAdd", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "w", "c"}, Output: []string{"y"}}},
			[]*pb.TensorProto{rdInit("w", []int64{2, 2}, 1, 0, 0, 1), rdInit("c", []int64{1, 2}, 10, 20)},
			map[string]*tensor.Tensor{"x": x22}, "BiasAdd", "OnnxGemm", []float32{11, 22, 13, 24}, false},
		{"gemm scales a constant C by beta", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "w", "c"}, Output: []string{"y"},
				Attribute: []*pb.AttributeProto{importer.FloatAttr("beta", 0.5), importer.IntAttr("transB", 1)}}},
			[]*pb.TensorProto{rdInit("w", []int64{2, 2}, 1, 1, 0, 1), rdInit("c", []int64{2}, 10, 20)},
			map[string]*tensor.Tensor{"x": x22}, "MatMul", "OnnxGemm", []float32{8, 12, 12, 14}, false},
		{"gemm with a scalar C is AddV2", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "w", "c"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntAttr("transA", 1)}}},
			[]*pb.TensorProto{rdInit("w", []int64{2, 2}, 1, 0, 0, 1), rdInit("c", nil, 5)},
			map[string]*tensor.Tensor{"x": x22}, "AddV2", "BiasAdd", []float32{6, 8, 7, 9}, false},
		{"gemm folds alpha into a constant B", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "w"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatAttr("alpha", 2)}}},
			[]*pb.TensorProto{rdInit("w", []int64{2, 2}, 1, 0, 0, 1)},
			map[string]*tensor.Tensor{"x": x22}, "MatMul", "OnnxGemm", []float32{2, 4, 6, 8}, false},
		{"gemm with alpha and an input B is the ONNX kernel", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatAttr("alpha", 2)}}},
			nil, map[string]*tensor.Tensor{"x": x22}, "OnnxGemm", "MatMul", []float32{14, 20, 30, 44}, false},
		{"gemm of int32 is the ONNX kernel", 13,
			[]*pb.NodeProto{{OpType: "Gemm", Input: []string{"x", "w"}, Output: []string{"y"}}},
			[]*pb.TensorProto{{Name: "w", DataType: int32(pb.TensorProto_INT32), Dims: []int64{2, 1}, Int32Data: []int32{1, 1}}},
			map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{2, 2}, []int32{1, 2, 3, 4})},
			"OnnxGemm", "MatMul", []float32{3, 7}, false},
		{"matmul of a flattened input and a constant matrix is MatMul, its bias a BiasAdd", 13,
			[]*pb.NodeProto{
				{OpType: "Flatten", Input: []string{"x"}, Output: []string{"f"}},
				{OpType: "MatMul", Input: []string{"f", "w"}, Output: []string{"m"}},
				{OpType: "Add", Input: []string{"m", "c"}, Output: []string{"y"}},
			},
			[]*pb.TensorProto{rdInit("w", []int64{2, 2}, 1, 0, 0, 1), rdInit("c", []int64{2}, 10, 20)},
			map[string]*tensor.Tensor{"x": x22}, "BiasAdd", "OnnxMatMul", []float32{11, 22, 13, 24}, false},
		{"matmul after a reduction of a transpose is MatMul", 13,
			[]*pb.NodeProto{
				{OpType: "Transpose", Input: []string{"x"}, Output: []string{"t"},
					Attribute: []*pb.AttributeProto{{Name: "perm", Type: pb.AttributeProto_INTS, Ints: []int64{0, 1, 3, 2}}}},
				{OpType: "ReduceMean", Input: []string{"t"}, Output: []string{"r"}, Attribute: []*pb.AttributeProto{
					{Name: "axes", Type: pb.AttributeProto_INTS, Ints: []int64{2, -1}}, importer.IntAttr("keepdims", 0)}},
				{OpType: "MatMul", Input: []string{"r", "w"}, Output: []string{"m"}},
				{OpType: "Add", Input: []string{"c", "m"}, Output: []string{"y"}},
			},
			[]*pb.TensorProto{rdInit("w", []int64{2, 1}, 1, 1), rdInit("c", []int64{1}, 10)},
			map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{1, 2, 1, 2}, []float32{1, 3, 5, 7})},
			"BiasAdd", "OnnxMatMul", []float32{18}, false},
		{"matmul of a cast to int64 is the ONNX kernel", 13,
			[]*pb.NodeProto{
				{OpType: "Flatten", Input: []string{"x"}, Output: []string{"f"}},
				{OpType: "Cast", Input: []string{"f"}, Output: []string{"i"}, Attribute: []*pb.AttributeProto{importer.IntAttr("to", int64(pb.TensorProto_INT64))}},
				{OpType: "MatMul", Input: []string{"i", "i"}, Output: []string{"y"}},
			},
			nil, map[string]*tensor.Tensor{"x": x22}, "OnnxMatMul", "MatMul", []float32{7, 10, 15, 22}, false},
		{"a row wider than the product stays a broadcasting AddV2", 13,
			[]*pb.NodeProto{
				{OpType: "Flatten", Input: []string{"x"}, Output: []string{"f"}},
				{OpType: "MatMul", Input: []string{"f", "w"}, Output: []string{"m"}},
				{OpType: "Add", Input: []string{"m", "c"}, Output: []string{"y"}},
			},
			[]*pb.TensorProto{rdInit("w", []int64{2, 1}, 1, 1), rdInit("c", []int64{3}, 1, 2, 3)},
			map[string]*tensor.Tensor{"x": x22}, "AddV2", "BiasAdd", []float32{4, 5, 6, 8, 9, 10}, false},
		{"matmul of inputs of unknown rank is the ONNX kernel", 13,
			[]*pb.NodeProto{{OpType: "MatMul", Input: []string{"x", "w"}, Output: []string{"y"}}},
			nil, map[string]*tensor.Tensor{"x": x22, "w": tensor.MustFromSlice(tensor.Shape{2}, []float32{1, 1})},
			"OnnxMatMul", "MatMul", []float32{3, 7}, false},
		{"softmax over the last axis is TensorFlow's", 13,
			[]*pb.NodeProto{{OpType: "Softmax", Input: []string{"x"}, Output: []string{"y"}}},
			nil, map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{1, 2}, []float32{0, 0})},
			"Softmax", "OnnxSoftmax", []float32{0.5, 0.5}, true},
		{"softmax opset 11 coerces to rows at axis 1", 11,
			[]*pb.NodeProto{{OpType: "Softmax", Input: []string{"x"}, Output: []string{"y"}}},
			nil, map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{1, 2, 2}, []float32{0, 0, 0, 0})},
			"OnnxSoftmax", "Softmax", []float32{0.25, 0.25, 0.25, 0.25}, true},
		{"softmax opset 11 at axis 1 of a matrix is TensorFlow's", 11,
			[]*pb.NodeProto{
				{OpType: "Flatten", Input: []string{"x"}, Output: []string{"f"}},
				{OpType: "Softmax", Input: []string{"f"}, Output: []string{"y"}},
			},
			nil, map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{1, 2}, []float32{0, 0})},
			"Softmax", "OnnxSoftmax", []float32{0.5, 0.5}, true},
		{"dropout in inference is its input", 13,
			[]*pb.NodeProto{{OpType: "Dropout", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.IntAttr("seed", 0)}}},
			nil, map[string]*tensor.Tensor{"x": x22}, "", "OnnxDropout", []float32{1, 2, 3, 4}, false},
		{"batch norm after a conv is FusedBatchNormV3 on NHWC", 13,
			[]*pb.NodeProto{
				{OpType: "Conv", Input: []string{"x", "k"}, Output: []string{"c"}},
				{OpType: "BatchNormalization", Input: []string{"c", "s", "b", "m", "v"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatAttr("epsilon", 0)}},
			},
			append(bn(), rdInit("k", []int64{1, 1, 1, 1}, 2)),
			map[string]*tensor.Tensor{"x": img}, "FusedBatchNormV3", "OnnxBatchNormalization", []float32{7, 13, 19, 25}, true},
		{"batch norm of an input is the ONNX kernel", 13,
			[]*pb.NodeProto{{OpType: "BatchNormalization", Input: []string{"x", "s", "b", "m", "v"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatAttr("epsilon", 0)}}},
			bn(), map[string]*tensor.Tensor{"x": img}, "OnnxBatchNormalization", "FusedBatchNormV3", []float32{4, 7, 10, 13}, true},
		{"reduce mean keeps dimensions by default", 13,
			[]*pb.NodeProto{{OpType: "ReduceMean", Input: []string{"x"}, Output: []string{"y"},
				Attribute: []*pb.AttributeProto{{Name: "axes", Type: pb.AttributeProto_INTS, Ints: []int64{-1}}}}},
			nil, map[string]*tensor.Tensor{"x": x22}, "OnnxReduceMean", "", []float32{1.5, 3.5}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ins []*pb.ValueInfoProto
			for _, name := range slices.Sorted(func(yield func(string) bool) {
				for k := range c.feeds {
					if !yield(k) {
						return
					}
				}
			}) {
				et := pb.TensorProto_FLOAT
				if c.feeds[name].DType() == tensor.Int32 {
					et = pb.TensorProto_INT32
				}
				ins = append(ins, &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
					TensorType: &pb.TypeProto_Tensor{ElemType: int32(et)}}}})
			}
			mp := &pb.ModelProto{
				IrVersion:   8,
				OpsetImport: []*pb.OperatorSetIdProto{{Version: c.opset}},
				Graph: &pb.GraphProto{Node: c.nodes, Input: ins, Initializer: c.inits,
					Output: []*pb.ValueInfoProto{{Name: "y"}}},
			}
			spec, err := importer.Import(mp, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			var ops []string
			for _, n := range spec.Graph.Nodes() {
				ops = append(ops, n.Op)
			}
			if c.has != "" && !slices.Contains(ops, c.has) {
				t.Errorf("the graph's ops %v lack %s", ops, c.has)
			}
			if c.hasnt != "" && slices.Contains(ops, c.hasnt) {
				t.Errorf("the graph's ops %v hold %s", ops, c.hasnt)
			}
			data, err := proto.Marshal(mp)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "model.onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := importer.Load(context.Background(), path, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Run(context.Background(), importer.Signature, c.feeds)
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			switch y := out["y"]; y.DType() {
			case tensor.Int32:
				for _, v := range y.Int32s() {
					got = append(got, float32(v))
				}
			case tensor.Int64:
				for _, v := range y.Int64s() {
					got = append(got, float32(v))
				}
			default:
				got = y.Float32s()
			}
			if len(got) != len(c.want) {
				t.Fatalf("y = %v, want %v", got, c.want)
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - c.want[i])); d > 0 && (!c.approx || d > 1e-5) {
					t.Fatalf("y = %v, want %v", got, c.want)
				}
			}
		})
	}
}
