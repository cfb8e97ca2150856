package importer_test

import (
	"fmt"
	"testing"

	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// TestTensorFromProtoWideTypes reads the 16-bit, unsigned 32/64-bit and
// half-precision element types from raw_data (little-endian) and from the
// typed fields ONNX puts them in.
func TestTensorFromProtoWideTypes(t *testing.T) {
	tests := []struct {
		name string
		tp   *pb.TensorProto
		want any
	}{
		{"int16 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_INT16), Dims: []int64{2}, RawData: []byte{0xfe, 0xff, 0x34, 0x12}},
			[]int16{-2, 0x1234}},
		{"int16 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_INT16), Dims: []int64{2}, Int32Data: []int32{-2, 300}},
			[]int16{-2, 300}},
		{"uint16 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT16), Dims: []int64{2}, RawData: []byte{0xff, 0xff, 1, 0}},
			[]uint16{65535, 1}},
		{"uint16 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT16), Dims: []int64{1}, Int32Data: []int32{65535}},
			[]uint16{65535}},
		{"uint32 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT32), Dims: []int64{1}, RawData: []byte{1, 0, 0, 0x80}},
			[]uint32{0x80000001}},
		{"uint32 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT32), Dims: []int64{2}, Uint64Data: []uint64{4294967295, 7}},
			[]uint32{4294967295, 7}},
		{"uint64 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT64), Dims: []int64{1}, RawData: []byte{2, 0, 0, 0, 0, 0, 0, 0x80}},
			[]uint64{1<<63 + 2}},
		{"uint64 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_UINT64), Dims: []int64{1}, Uint64Data: []uint64{1<<64 - 1}},
			[]uint64{1<<64 - 1}},
		{"float16 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT16), Dims: []int64{2}, RawData: []byte{0x00, 0x3c, 0x00, 0xc0}},
			[]tensor.F16{0x3c00, 0xc000}},
		{"float16 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT16), Dims: []int64{1}, Int32Data: []int32{0x3555}},
			[]tensor.F16{0x3555}},
		{"bfloat16 raw", &pb.TensorProto{DataType: int32(pb.TensorProto_BFLOAT16), Dims: []int64{1}, RawData: []byte{0x80, 0x3f}},
			[]tensor.BF16{0x3f80}},
		{"bfloat16 typed", &pb.TensorProto{DataType: int32(pb.TensorProto_BFLOAT16), Dims: []int64{1}, Int32Data: []int32{0xc000}},
			[]tensor.BF16{0xc000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := importer.TensorFromProto(tc.tp, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprintf("%T %#v", got.Data(), got.Data()), fmt.Sprintf("%T %#v", tc.want, tc.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
	short := &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT16), Dims: []int64{2}, RawData: []byte{0, 0x3c}}
	if _, err := importer.TensorFromProto(short, t.TempDir()); err == nil {
		t.Error("a float16 tensor of 2 elements read from 2 bytes")
	}
}
