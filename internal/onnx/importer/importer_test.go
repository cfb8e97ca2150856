package importer_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// model builds a one-input, one-output ONNX model around nodes.
func model(opset int64, nodes ...*pb.NodeProto) *pb.ModelProto {
	f := int32(pb.TensorProto_FLOAT)
	vi := func(name string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: f}}}}
	}
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: opset}},
		Graph:       &pb.GraphProto{Node: nodes, Input: []*pb.ValueInfoProto{vi("x")}, Output: []*pb.ValueInfoProto{vi("y")}},
	}
}

func write(t *testing.T, dir string, mp *pb.ModelProto) string {
	t.Helper()
	data, err := proto.Marshal(mp)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadRuns(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, model(13, &pb.NodeProto{OpType: "Relu", Input: []string{"x"}, Output: []string{"y"}}))
	m, err := importer.Load(context.Background(), dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"x": tensor.MustFromSlice(tensor.Shape{3}, []float32{-1, 0, 2})})
	if err != nil {
		t.Fatal(err)
	}
	if got := out["y"].Float32s(); got[0] != 0 || got[1] != 0 || got[2] != 2 {
		t.Fatalf("y = %v, want [0 0 2]", got)
	}
}

func TestLoadRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		mp   *pb.ModelProto
		want []string
	}{
		{"unknown op", model(13, &pb.NodeProto{Name: "weird", OpType: "NoSuchOp", Input: []string{"x"}, Output: []string{"y"}}),
			[]string{"NoSuchOp", "weird", "ai.onnx"}},
		{"other domain", model(13, &pb.NodeProto{OpType: "Relu", Domain: "com.example", Input: []string{"x"}, Output: []string{"y"}}),
			[]string{"Relu", "com.example"}},
		{"new opset", model(99, &pb.NodeProto{OpType: "Relu", Input: []string{"x"}, Output: []string{"y"}}),
			[]string{"opset 99"}},
		{"dangling input", model(13, &pb.NodeProto{OpType: "Relu", Input: []string{"nowhere"}, Output: []string{"y"}}),
			[]string{"nowhere"}},
		{"unproduced output", model(13, &pb.NodeProto{OpType: "Relu", Input: []string{"x"}, Output: []string{"z"}}),
			[]string{`"y"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, t.TempDir(), tt.mp)
			_, err := importer.Load(context.Background(), path, engine.Options{})
			if err == nil {
				t.Fatal("loaded")
			}
			if !errors.Is(err, engine.ErrUnsupported) && !errors.Is(err, engine.ErrInvalidModel) {
				t.Errorf("error %v is neither ErrUnsupported nor ErrInvalidModel", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTensorFromProto(t *testing.T) {
	dir := t.TempDir()
	raw := make([]byte, 12)
	for i, v := range []float32{1.5, -2, 3} {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(filepath.Join(dir, "weights.bin"), append([]byte("pad!"), raw...), 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(kv ...string) []*pb.StringStringEntryProto {
		var out []*pb.StringStringEntryProto
		for i := 0; i < len(kv); i += 2 {
			out = append(out, &pb.StringStringEntryProto{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	f := int32(pb.TensorProto_FLOAT)
	for _, tt := range []struct {
		name string
		tp   *pb.TensorProto
		want []float32
		err  string
	}{
		{"raw", &pb.TensorProto{DataType: f, Dims: []int64{3}, RawData: raw}, []float32{1.5, -2, 3}, ""},
		{"typed", &pb.TensorProto{DataType: f, Dims: []int64{3}, FloatData: []float32{1.5, -2, 3}}, []float32{1.5, -2, 3}, ""},
		{"external", &pb.TensorProto{DataType: f, Dims: []int64{3}, DataLocation: pb.TensorProto_EXTERNAL,
			ExternalData: ext("location", "weights.bin", "offset", "4", "length", "12")}, []float32{1.5, -2, 3}, ""},
		{"escape", &pb.TensorProto{DataType: f, Dims: []int64{3}, DataLocation: pb.TensorProto_EXTERNAL,
			ExternalData: ext("location", "../weights.bin")}, nil, "inside the model's directory"},
		{"short", &pb.TensorProto{DataType: f, Dims: []int64{4}, RawData: raw}, nil, "holds 3 values, want 4"},
		{"complex64", &pb.TensorProto{DataType: int32(pb.TensorProto_COMPLEX64), Dims: []int64{1}, RawData: make([]byte, 8)}, nil, "COMPLEX64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := importer.TensorFromProto(tt.tp, dir)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				if got.Float32s()[i] != w {
					t.Fatalf("got %v, want %v", got.Float32s(), tt.want)
				}
			}
		})
	}
}

func TestFindModel(t *testing.T) {
	dir := t.TempDir()
	if _, err := importer.FindModel(dir); err == nil {
		t.Error("found a model in an empty directory")
	}
	os.MkdirAll(filepath.Join(dir, "1"), 0o755)
	os.WriteFile(filepath.Join(dir, "1", "net.onnx"), nil, 0o644)
	if got, err := importer.FindModel(dir); err != nil || got != filepath.Join(dir, "1", "net.onnx") {
		t.Errorf("FindModel = %q, %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "other.onnx"), nil, 0o644)
	if _, err := importer.FindModel(dir); err == nil || !strings.Contains(err.Error(), "several") {
		t.Errorf("two models: error %v", err)
	}
	os.WriteFile(filepath.Join(dir, "1", "model.onnx"), nil, 0o644)
	if got, err := importer.FindModel(dir); err != nil || got != filepath.Join(dir, "1", "model.onnx") {
		t.Errorf("with a model.onnx: FindModel = %q, %v", got, err)
	}
}
