package onnx

import (
	"fmt"
	"testing"

	"inferd/internal/onnx/importer"
	"inferd/internal/tensor"
)

// TestTensorProtoWideTypes encodes tensors of the 16-bit, unsigned and
// half-precision dtypes and reads them back with the importer.
func TestTensorProtoWideTypes(t *testing.T) {
	for _, x := range []*tensor.Tensor{
		tensor.MustFromSlice(tensor.Shape{2}, []int16{-2, 300}),
		tensor.MustFromSlice(tensor.Shape{2}, []uint16{65535, 1}),
		tensor.MustFromSlice(tensor.Shape{1}, []uint32{1<<32 - 1}),
		tensor.MustFromSlice(tensor.Shape{1}, []uint64{1<<64 - 1}),
		tensor.MustFromSlice(tensor.Shape{2, 1}, []tensor.F16{0x3c00, 0x7e00}),
		tensor.MustFromSlice(tensor.Shape{}, []tensor.BF16{0xbf80}),
	} {
		t.Run(x.DType().String(), func(t *testing.T) {
			tp, err := tensorProto(x)
			if err != nil {
				t.Fatal(err)
			}
			if want := x.Len() * x.DType().Size(); len(tp.GetRawData()) != want {
				t.Errorf("raw_data has %d bytes, want %d", len(tp.GetRawData()), want)
			}
			back, err := importer.TensorFromProto(tp, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if back.DType() != x.DType() || !back.Shape().Equal(x.Shape()) || fmt.Sprintf("%#v", back.Data()) != fmt.Sprintf("%#v", x.Data()) {
				t.Errorf("read back %v %#v, want %v %#v", back, back.Data(), x, x.Data())
			}
		})
	}
}
