package importer_test

import (
	"context"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// loadModel imports mp and loads it on one thread.
func loadModel(t *testing.T, mp *pb.ModelProto) *engine.Model {
	t.Helper()
	spec, err := importer.Import(mp, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := engine.LoadGraph(context.Background(), spec, engine.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestElemTypeRoundTrip checks that every dtype the importer reads maps
// back to the ONNX element type it was read from.
func TestElemTypeRoundTrip(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16,
		tensor.Int32, tensor.Uint32, tensor.Int64, tensor.Uint64, tensor.Bool, tensor.String, tensor.Float16, tensor.BFloat16} {
		et := importer.ElemTypeOf(dt)
		got, err := importer.TensorFromProto(&pb.TensorProto{DataType: int32(et), Dims: []int64{0}}, t.TempDir())
		if err != nil || got.DType() != dt {
			t.Errorf("%v -> %v -> %v, %v; want %v", dt, et, got, err, dt)
		}
	}
	if et := importer.ElemTypeOf(tensor.Invalid); et != pb.TensorProto_UNDEFINED {
		t.Errorf("ElemTypeOf(Invalid) = %v, want UNDEFINED", et)
	}
}
