package pb

import "inferd/internal/tensor"

// dtypes pairs each ONNX element type the engine holds with its dtype; the
// exporter and the importer both read it.
var dtypes = map[TensorProto_DataType]tensor.DType{
	TensorProto_FLOAT:    tensor.Float32,
	TensorProto_DOUBLE:   tensor.Float64,
	TensorProto_INT8:     tensor.Int8,
	TensorProto_UINT8:    tensor.Uint8,
	TensorProto_INT32:    tensor.Int32,
	TensorProto_INT64:    tensor.Int64,
	TensorProto_BOOL:     tensor.Bool,
	TensorProto_STRING:   tensor.String,
	TensorProto_INT16:    tensor.Int16,
	TensorProto_UINT16:   tensor.Uint16,
	TensorProto_UINT32:   tensor.Uint32,
	TensorProto_UINT64:   tensor.Uint64,
	TensorProto_FLOAT16:  tensor.Float16,
	TensorProto_BFLOAT16: tensor.BFloat16,
}

// DType returns the engine dtype of an ONNX element type; false when the
// engine has none.
func DType(et TensorProto_DataType) (tensor.DType, bool) {
	dt, ok := dtypes[et]
	return dt, ok
}

// ElemType returns the ONNX element type of an engine dtype; false when
// ONNX has none.
func ElemType(dt tensor.DType) (TensorProto_DataType, bool) {
	for et, d := range dtypes {
		if d == dt {
			return et, true
		}
	}
	return TensorProto_UNDEFINED, false
}
