package importer

import (
	"errors"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/pb"
)

// TestImportRecoversPanics checks the last resort: a converter or a pass
// that panics makes Import fail with ErrInvalidModel naming the node and
// op, instead of taking the process down.
func TestImportRecoversPanics(t *testing.T) {
	f := int32(pb.TensorProto_FLOAT)
	vi := func(name string) *pb.ValueInfoProto {
		return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: f}}}}
	}
	mk := func(op string) *pb.ModelProto {
		return &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}}, Graph: &pb.GraphProto{
			Node:   []*pb.NodeProto{{Name: "boom", OpType: op, Input: []string{"x"}, Output: []string{"y"}}},
			Input:  []*pb.ValueInfoProto{vi("x")},
			Output: []*pb.ValueInfoProto{vi("y")}}}
	}

	converters["TestPanics"] = func(*builder, *node) error { panic("index out of range [3] with length 1") }
	defer delete(converters, "TestPanics")
	_, err := Import(mk("TestPanics"), t.TempDir())
	if !errors.Is(err, engine.ErrInvalidModel) || !strings.Contains(err.Error(), "node boom (op TestPanics)") || !strings.Contains(err.Error(), "index out of range") {
		t.Errorf("converter panic: Import error = %v; want ErrInvalidModel naming node boom and op TestPanics", err)
	}

	saved := passes
	passes = append(append([]func(*builder) error(nil), passes...), func(*builder) error { panic("nil map") })
	defer func() { passes = saved }()
	_, err = Import(mk("Relu"), t.TempDir())
	if !errors.Is(err, engine.ErrInvalidModel) || !strings.Contains(err.Error(), "nil map") {
		t.Errorf("pass panic: Import error = %v; want ErrInvalidModel with the panic", err)
	}
}
