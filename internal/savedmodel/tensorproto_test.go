package savedmodel

import (
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"testing"

	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

func shapeProto(dims ...int64) *pb.TensorShapeProto {
	s := &pb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &pb.TensorShapeProto_Dim{Size: d})
	}
	return s
}

func f32Bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func TestTensorFromProto(t *testing.T) {
	tests := []struct {
		name      string
		p         *pb.TensorProto
		wantShape tensor.Shape
		want      any
		wantErr   error
	}{
		{"float content", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(2, 2), TensorContent: f32Bytes(1, 2, 3, -4)},
			tensor.Shape{2, 2}, []float32{1, 2, 3, -4}, nil},
		{"one value fills the shape", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(2, 3), FloatVal: []float32{7}},
			tensor.Shape{2, 3}, []float32{7, 7, 7, 7, 7, 7}, nil},
		{"short field padded with last value", &pb.TensorProto{Dtype: pb.DataType_DT_INT32, TensorShape: shapeProto(4), IntVal: []int32{1, 2}},
			tensor.Shape{4}, []int32{1, 2, 2, 2}, nil},
		{"no values is zeros", &pb.TensorProto{Dtype: pb.DataType_DT_DOUBLE, TensorShape: shapeProto(3)},
			tensor.Shape{3}, []float64{0, 0, 0}, nil},
		{"scalar", &pb.TensorProto{Dtype: pb.DataType_DT_INT64, TensorShape: shapeProto(), Int64Val: []int64{-9}},
			tensor.Shape{}, []int64{-9}, nil},
		{"nil shape is scalar", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, FloatVal: []float32{1.5}},
			tensor.Shape{}, []float32{1.5}, nil},
		{"empty tensor", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(0, 3)},
			tensor.Shape{0, 3}, []float32{}, nil},
		{"int8 from int_val", &pb.TensorProto{Dtype: pb.DataType_DT_INT8, TensorShape: shapeProto(2), IntVal: []int32{-3, 127}},
			tensor.Shape{2}, []int8{-3, 127}, nil},
		{"uint8 content", &pb.TensorProto{Dtype: pb.DataType_DT_UINT8, TensorShape: shapeProto(3), TensorContent: []byte{1, 255, 0}},
			tensor.Shape{3}, []uint8{1, 255, 0}, nil},
		{"int64 content", &pb.TensorProto{Dtype: pb.DataType_DT_INT64, TensorShape: shapeProto(1), TensorContent: []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
			tensor.Shape{1}, []int64{-2}, nil},
		{"bool", &pb.TensorProto{Dtype: pb.DataType_DT_BOOL, TensorShape: shapeProto(3), BoolVal: []bool{true, false}},
			tensor.Shape{3}, []bool{true, false, false}, nil},
		{"strings", &pb.TensorProto{Dtype: pb.DataType_DT_STRING, TensorShape: shapeProto(2), StringVal: [][]byte{[]byte("a"), []byte("bc")}},
			tensor.Shape{2}, [][]byte{[]byte("a"), []byte("bc")}, nil},
		{"string broadcast", &pb.TensorProto{Dtype: pb.DataType_DT_STRING, TensorShape: shapeProto(2), StringVal: [][]byte{[]byte("x")}},
			tensor.Shape{2}, [][]byte{[]byte("x"), []byte("x")}, nil},
		{"ref dtype", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT_REF, FloatVal: []float32{2}},
			tensor.Shape{}, []float32{2}, nil},
		{"too many values", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(1), FloatVal: []float32{1, 2}},
			nil, nil, ErrCorrupt},
		{"content of wrong length", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(2), TensorContent: f32Bytes(1)},
			nil, nil, ErrCorrupt},
		{"unknown dim", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(-1)},
			nil, nil, ErrCorrupt},
		{"huge shape", &pb.TensorProto{Dtype: pb.DataType_DT_FLOAT, TensorShape: shapeProto(1<<20, 1<<20)},
			nil, nil, ErrUnsupported},
		{"half from half_val", &pb.TensorProto{Dtype: pb.DataType_DT_HALF, TensorShape: shapeProto(2), HalfVal: []int32{0x3c00, 0xc000}},
			tensor.Shape{2}, []tensor.F16{0x3c00, 0xc000}, nil},
		{"bfloat16 from half_val", &pb.TensorProto{Dtype: pb.DataType_DT_BFLOAT16, HalfVal: []int32{0x3f80}},
			tensor.Shape{}, []tensor.BF16{0x3f80}, nil},
		{"half content", &pb.TensorProto{Dtype: pb.DataType_DT_HALF, TensorShape: shapeProto(1), TensorContent: []byte{0x55, 0x35}},
			tensor.Shape{1}, []tensor.F16{0x3555}, nil},
		{"bfloat16 content", &pb.TensorProto{Dtype: pb.DataType_DT_BFLOAT16, TensorShape: shapeProto(1), TensorContent: []byte{0x80, 0xbf}},
			tensor.Shape{1}, []tensor.BF16{0xbf80}, nil},
		{"int16 from int_val", &pb.TensorProto{Dtype: pb.DataType_DT_INT16, TensorShape: shapeProto(2), IntVal: []int32{-300, 32767}},
			tensor.Shape{2}, []int16{-300, 32767}, nil},
		{"int16 content", &pb.TensorProto{Dtype: pb.DataType_DT_INT16, TensorShape: shapeProto(1), TensorContent: []byte{0xfe, 0xff}},
			tensor.Shape{1}, []int16{-2}, nil},
		{"uint16 from int_val", &pb.TensorProto{Dtype: pb.DataType_DT_UINT16, TensorShape: shapeProto(1), IntVal: []int32{65535}},
			tensor.Shape{1}, []uint16{65535}, nil},
		{"uint16 content", &pb.TensorProto{Dtype: pb.DataType_DT_UINT16, TensorShape: shapeProto(1), TensorContent: []byte{0x01, 0x80}},
			tensor.Shape{1}, []uint16{0x8001}, nil},
		{"uint32 from uint32_val", &pb.TensorProto{Dtype: pb.DataType_DT_UINT32, TensorShape: shapeProto(2), Uint32Val: []uint32{1 << 31}},
			tensor.Shape{2}, []uint32{1 << 31, 1 << 31}, nil},
		{"uint32 content", &pb.TensorProto{Dtype: pb.DataType_DT_UINT32, TensorShape: shapeProto(1), TensorContent: []byte{1, 0, 0, 0x80}},
			tensor.Shape{1}, []uint32{0x80000001}, nil},
		{"uint64 from uint64_val", &pb.TensorProto{Dtype: pb.DataType_DT_UINT64, TensorShape: shapeProto(1), Uint64Val: []uint64{1<<64 - 1}},
			tensor.Shape{1}, []uint64{1<<64 - 1}, nil},
		{"uint64 content", &pb.TensorProto{Dtype: pb.DataType_DT_UINT64, TensorShape: shapeProto(1), TensorContent: []byte{2, 0, 0, 0, 0, 0, 0, 0x80}},
			tensor.Shape{1}, []uint64{1<<63 + 2}, nil},
		{"half content of wrong length", &pb.TensorProto{Dtype: pb.DataType_DT_HALF, TensorShape: shapeProto(2), TensorContent: []byte{0, 0x3c}},
			nil, nil, ErrCorrupt},
		{"complex unsupported", &pb.TensorProto{Dtype: pb.DataType_DT_COMPLEX64},
			nil, nil, ErrUnsupported},
		{"resource unsupported", &pb.TensorProto{Dtype: pb.DataType_DT_RESOURCE},
			nil, nil, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := TensorFromProto(tt.p)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Shape().Equal(tt.wantShape) {
				t.Errorf("shape = %v, want %v", got.Shape(), tt.wantShape)
			}
			if !reflect.DeepEqual(got.Data(), tt.want) {
				t.Errorf("data = %v, want %v", got.Data(), tt.want)
			}
		})
	}
}

func TestDType(t *testing.T) {
	tests := []struct {
		in   pb.DataType
		want tensor.DType
	}{
		{pb.DataType_DT_FLOAT, tensor.Float32},
		{pb.DataType_DT_DOUBLE, tensor.Float64},
		{pb.DataType_DT_INT8, tensor.Int8},
		{pb.DataType_DT_UINT8, tensor.Uint8},
		{pb.DataType_DT_INT32, tensor.Int32},
		{pb.DataType_DT_INT64, tensor.Int64},
		{pb.DataType_DT_BOOL, tensor.Bool},
		{pb.DataType_DT_STRING, tensor.String},
		{pb.DataType_DT_FLOAT_REF, tensor.Float32},
		{pb.DataType_DT_INT64_REF, tensor.Int64},
		{pb.DataType_DT_STRING_REF, tensor.String},
		{pb.DataType_DT_INT16, tensor.Int16},
		{pb.DataType_DT_UINT16, tensor.Uint16},
		{pb.DataType_DT_UINT32, tensor.Uint32},
		{pb.DataType_DT_UINT64, tensor.Uint64},
		{pb.DataType_DT_HALF, tensor.Float16},
		{pb.DataType_DT_BFLOAT16, tensor.BFloat16},
		{pb.DataType_DT_UINT64_REF, tensor.Uint64},
	}
	for _, tt := range tests {
		got, err := DType(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("DType(%v) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []pb.DataType{pb.DataType_DT_INVALID, pb.DataType_DT_RESOURCE, pb.DataType_DT_VARIANT, pb.DataType_DT_COMPLEX64, pb.DataType_DT_QINT8, pb.DataType_DT_COMPLEX128_REF} {
		if _, err := DType(bad); !errors.Is(err, ErrUnsupported) {
			t.Errorf("DType(%v) err = %v, want ErrUnsupported", bad, err)
		}
	}
}
