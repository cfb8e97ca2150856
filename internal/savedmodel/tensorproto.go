package savedmodel

import (
	"encoding/binary"
	"fmt"
	"math"

	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// DType maps a TensorFlow DataType, reference types included, to the
// engine's element type. Types the engine has no storage for are
// ErrUnsupported.
func DType(dt pb.DataType) (tensor.DType, error) {
	base := dt
	if base > 100 {
		base -= 100
	}
	switch base {
	case pb.DataType_DT_FLOAT:
		return tensor.Float32, nil
	case pb.DataType_DT_DOUBLE:
		return tensor.Float64, nil
	case pb.DataType_DT_INT8:
		return tensor.Int8, nil
	case pb.DataType_DT_UINT8:
		return tensor.Uint8, nil
	case pb.DataType_DT_INT32:
		return tensor.Int32, nil
	case pb.DataType_DT_INT64:
		return tensor.Int64, nil
	case pb.DataType_DT_BOOL:
		return tensor.Bool, nil
	case pb.DataType_DT_STRING:
		return tensor.String, nil
	case pb.DataType_DT_INT16:
		return tensor.Int16, nil
	case pb.DataType_DT_UINT16:
		return tensor.Uint16, nil
	case pb.DataType_DT_UINT32:
		return tensor.Uint32, nil
	case pb.DataType_DT_UINT64:
		return tensor.Uint64, nil
	case pb.DataType_DT_HALF:
		return tensor.Float16, nil
	case pb.DataType_DT_BFLOAT16:
		return tensor.BFloat16, nil
	}
	return tensor.Invalid, fmt.Errorf("%w: dtype %v", ErrUnsupported, dt)
}

// maxElements bounds the element count of a tensor decoded from a file, so
// that a corrupt shape cannot ask for an absurd allocation.
const maxElements = 1 << 31

// Shape converts a fully known TensorShapeProto to a tensor shape. Unknown
// rank or unknown (negative) dimensions are an error.
func Shape(p *pb.TensorShapeProto) (tensor.Shape, error) {
	if p.GetUnknownRank() {
		return nil, fmt.Errorf("%w: shape of unknown rank", ErrCorrupt)
	}
	s := make(tensor.Shape, len(p.GetDim()))
	n := int64(1)
	for i, d := range p.GetDim() {
		if d.GetSize() < 0 {
			return nil, fmt.Errorf("%w: shape %v has an unknown dimension", ErrCorrupt, dims(p))
		}
		if d.GetSize() > 0 && n > maxElements/d.GetSize() {
			return nil, fmt.Errorf("%w: shape %v has more than %d elements", ErrUnsupported, dims(p), maxElements)
		}
		n *= d.GetSize()
		s[i] = int(d.GetSize())
	}
	return s, nil
}

func dims(p *pb.TensorShapeProto) []int64 {
	out := make([]int64, len(p.GetDim()))
	for i, d := range p.GetDim() {
		out[i] = d.GetSize()
	}
	return out
}

// TensorFromProto decodes a TensorProto (a Const node's value, a signature
// default). It follows TensorFlow's rules: tensor_content holds the raw
// little-endian elements; otherwise the typed field holds them, an empty
// field means all zeros, and a field shorter than the shape is padded with
// its last value (so one value fills the whole tensor).
func TensorFromProto(p *pb.TensorProto) (*tensor.Tensor, error) {
	dt, err := DType(p.GetDtype())
	if err != nil {
		return nil, err
	}
	shape, err := Shape(p.GetTensorShape())
	if err != nil {
		return nil, err
	}
	n := shape.NumElements()
	if c := p.GetTensorContent(); len(c) > 0 && dt != tensor.String {
		return decodeRaw(dt, shape, c)
	}
	switch dt {
	case tensor.Float32:
		return fill(shape, p.GetFloatVal(), n, func(v float32) float32 { return v })
	case tensor.Float64:
		return fill(shape, p.GetDoubleVal(), n, func(v float64) float64 { return v })
	case tensor.Int8:
		return fill(shape, p.GetIntVal(), n, func(v int32) int8 { return int8(v) })
	case tensor.Uint8:
		return fill(shape, p.GetIntVal(), n, func(v int32) uint8 { return uint8(v) })
	case tensor.Int32:
		return fill(shape, p.GetIntVal(), n, func(v int32) int32 { return v })
	case tensor.Int64:
		return fill(shape, p.GetInt64Val(), n, func(v int64) int64 { return v })
	case tensor.Bool:
		return fill(shape, p.GetBoolVal(), n, func(v bool) bool { return v })
	case tensor.Int16:
		return fill(shape, p.GetIntVal(), n, func(v int32) int16 { return int16(v) })
	case tensor.Uint16:
		return fill(shape, p.GetIntVal(), n, func(v int32) uint16 { return uint16(v) })
	case tensor.Uint32:
		return fill(shape, p.GetUint32Val(), n, func(v uint32) uint32 { return v })
	case tensor.Uint64:
		return fill(shape, p.GetUint64Val(), n, func(v uint64) uint64 { return v })
	case tensor.Float16: // half_val holds the bit patterns
		return fill(shape, p.GetHalfVal(), n, func(v int32) tensor.F16 { return tensor.F16(v) })
	case tensor.BFloat16:
		return fill(shape, p.GetHalfVal(), n, func(v int32) tensor.BF16 { return tensor.BF16(v) })
	case tensor.String:
		if len(p.GetTensorContent()) > 0 {
			return nil, fmt.Errorf("%w: string tensor in tensor_content", ErrUnsupported)
		}
		return fill(shape, p.GetStringVal(), n, func(v []byte) []byte { return append([]byte(nil), v...) })
	}
	return nil, fmt.Errorf("%w: dtype %v", ErrUnsupported, dt)
}

// fill builds a tensor of n elements from vals, padding with the last value.
func fill[S, D any](shape tensor.Shape, vals []S, n int, conv func(S) D) (*tensor.Tensor, error) {
	if len(vals) > n {
		return nil, fmt.Errorf("%w: tensor of shape %v has %d values", ErrCorrupt, shape, len(vals))
	}
	out := make([]D, n)
	for i, v := range vals {
		out[i] = conv(v)
	}
	if len(vals) > 0 {
		last := out[len(vals)-1]
		for i := len(vals); i < n; i++ {
			out[i] = last
		}
	}
	return tensor.FromSlice(shape, any(out))
}

// decodeRaw decodes little-endian fixed-width elements.
func decodeRaw(dt tensor.DType, shape tensor.Shape, b []byte) (*tensor.Tensor, error) {
	n := shape.NumElements()
	if w := dt.Size(); w == 0 || len(b) != n*w {
		return nil, fmt.Errorf("%w: %d bytes of content for a %v tensor of shape %v", ErrCorrupt, len(b), dt, shape)
	}
	var data any
	le := binary.LittleEndian
	switch dt {
	case tensor.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		data = v
	case tensor.Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
		data = v
	case tensor.Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(b[4*i:]))
		}
		data = v
	case tensor.Int64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(b[8*i:]))
		}
		data = v
	case tensor.Int8:
		v := make([]int8, n)
		for i := range v {
			v[i] = int8(b[i])
		}
		data = v
	case tensor.Uint8:
		data = append([]uint8(nil), b...)
	case tensor.Bool:
		v := make([]bool, n)
		for i := range v {
			v[i] = b[i] != 0
		}
		data = v
	case tensor.Int16:
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(le.Uint16(b[2*i:]))
		}
		data = v
	case tensor.Uint16:
		v := make([]uint16, n)
		for i := range v {
			v[i] = le.Uint16(b[2*i:])
		}
		data = v
	case tensor.Float16:
		v := make([]tensor.F16, n)
		for i := range v {
			v[i] = tensor.F16(le.Uint16(b[2*i:]))
		}
		data = v
	case tensor.BFloat16:
		v := make([]tensor.BF16, n)
		for i := range v {
			v[i] = tensor.BF16(le.Uint16(b[2*i:]))
		}
		data = v
	case tensor.Uint32:
		v := make([]uint32, n)
		for i := range v {
			v[i] = le.Uint32(b[4*i:])
		}
		data = v
	case tensor.Uint64:
		v := make([]uint64, n)
		for i := range v {
			v[i] = le.Uint64(b[8*i:])
		}
		data = v
	default:
		return nil, fmt.Errorf("%w: raw content for dtype %v", ErrUnsupported, dt)
	}
	return tensor.FromSlice(shape, data)
}
