package importer_test

import (
	"context"
	"math"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// dtCNN builds a small CNN (Conv with bias, Relu, GlobalAveragePool,
// Flatten, MatMul, Add, Softmax) whose input, weights and output have
// element type et, the weights given as float32 values.
func dtCNN(et pb.TensorProto_DataType, enc func([]float32) []byte) *pb.ModelProto {
	vi := func(name string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: int32(et)}}}}
	}
	init := func(name string, dims []int64, v []float32) *pb.TensorProto {
		return &pb.TensorProto{Name: name, DataType: int32(et), Dims: dims, RawData: enc(v)}
	}
	seq := func(n int, scale float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = scale * float32((i*7)%11-5)
		}
		return v
	}
	node := func(op string, in []string, out string, attrs ...*pb.AttributeProto) *pb.NodeProto {
		return &pb.NodeProto{OpType: op, Input: in, Output: []string{out}, Attribute: attrs}
	}
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}},
		Graph: &pb.GraphProto{
			Node: []*pb.NodeProto{
				node("Conv", []string{"x", "w", "b"}, "c", importer.IntsAttr("pads", 1, 1, 1, 1)),
				node("Relu", []string{"c"}, "r"),
				node("GlobalAveragePool", []string{"r"}, "g"),
				node("Flatten", []string{"g"}, "f"),
				node("MatMul", []string{"f", "m"}, "mm"),
				node("Add", []string{"mm", "mb"}, "a"),
				node("Softmax", []string{"a"}, "y"),
			},
			Initializer: []*pb.TensorProto{
				init("w", []int64{4, 2, 3, 3}, seq(72, 0.05)),
				init("b", []int64{4}, seq(4, 0.1)),
				init("m", []int64{4, 3}, seq(12, 0.2)),
				init("mb", []int64{3}, seq(3, 0.1)),
			},
			Input:  []*pb.ValueInfoProto{vi("x")},
			Output: []*pb.ValueInfoProto{vi("y")},
		},
	}
}

// TestFloat16Model imports the CNN in float16 and in bfloat16 and checks
// its answers against the float32 model's, within the 16-bit types'
// precision.
func TestFloat16Model(t *testing.T) {
	f32bytes := func(v []float32) []byte {
		b := make([]byte, 0, 4*len(v))
		for _, x := range v {
			b = append(b, byte(math.Float32bits(x)), byte(math.Float32bits(x)>>8), byte(math.Float32bits(x)>>16), byte(math.Float32bits(x)>>24))
		}
		return b
	}
	x := make([]float32, 2*2*5*5)
	for i := range x {
		x[i] = float32((i*13)%17-8) / 8
	}
	ctx := context.Background()
	load := func(mp *pb.ModelProto) *engine.Model {
		m, err := importer.Load(ctx, write(t, t.TempDir(), mp), engine.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	ref, err := load(dtCNN(pb.TensorProto_FLOAT, f32bytes)).Run(ctx, importer.Signature,
		map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{2, 2, 5, 5}, x)})
	if err != nil {
		t.Fatal(err)
	}
	want := ref["y"].Float32s()
	t.Logf("float32 model: %v", want)
	tests := []struct {
		name string
		et   pb.TensorProto_DataType
		dt   tensor.DType
		bits func(float32) uint16
		tol  float64
	}{
		{"float16", pb.TensorProto_FLOAT16, tensor.Float16, func(f float32) uint16 { return uint16(tensor.F16FromFloat32(f)) }, 5e-3},
		{"bfloat16", pb.TensorProto_BFLOAT16, tensor.BFloat16, func(f float32) uint16 { return uint16(tensor.BF16FromFloat32(f)) }, 4e-2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := func(v []float32) []byte {
				b := make([]byte, 0, 2*len(v))
				for _, f := range v {
					h := tc.bits(f)
					b = append(b, byte(h), byte(h>>8))
				}
				return b
			}
			in := tensor.New(tc.dt, tensor.Shape{2, 2, 5, 5})
			for i, f := range x {
				switch tc.dt {
				case tensor.Float16:
					in.Float16s()[i] = tensor.F16(tc.bits(f))
				default:
					in.BFloat16s()[i] = tensor.BF16(tc.bits(f))
				}
			}
			got, err := load(dtCNN(tc.et, enc)).Run(ctx, importer.Signature, map[string]*tensor.Tensor{"x": in})
			if err != nil {
				t.Fatal(err)
			}
			y := got["y"]
			t.Logf("%s model: %v", tc.name, y.Data())
			if y.DType() != tc.dt || !y.Shape().Equal(tensor.Shape{2, 3}) {
				t.Fatalf("output %v, want %v [2,3]", y, tc.dt)
			}
			for i, w := range want {
				var g float32
				if tc.dt == tensor.Float16 {
					g = y.Float16s()[i].Float32()
				} else {
					g = y.BFloat16s()[i].Float32()
				}
				if math.Abs(float64(g-w)) > tc.tol {
					t.Errorf("y[%d] = %v, want %v (float32 model)", i, g, w)
				}
			}
		})
	}
}
