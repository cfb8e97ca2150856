package importer

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"inferd/internal/engine"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// dtypeOf maps an ONNX element type to the engine's dtype.
func dtypeOf(et int32) (tensor.DType, error) {
	if dt, ok := pb.DType(pb.TensorProto_DataType(et)); ok {
		return dt, nil
	}
	name := pb.TensorProto_DataType_name[et]
	if name == "" {
		name = strconv.Itoa(int(et))
	}
	return tensor.Invalid, fmt.Errorf("%w: tensor element type %s is not supported", engine.ErrUnsupported, name)
}

// TensorFromProto reads an ONNX TensorProto. dir is the model's directory,
// against which external data locations resolve; a location may not leave
// it.
func TensorFromProto(tp *pb.TensorProto, dir string) (*tensor.Tensor, error) {
	dt, err := dtypeOf(tp.GetDataType())
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", tp.GetName(), err)
	}
	shape := make(tensor.Shape, len(tp.GetDims()))
	n := 1
	for i, d := range tp.GetDims() {
		if d < 0 || d > math.MaxInt32 {
			return nil, fmt.Errorf("%w: tensor %q has dimension %d", engine.ErrInvalidModel, tp.GetName(), d)
		}
		if d > 0 && n > math.MaxInt32/int(d) {
			return nil, fmt.Errorf("%w: tensor %q has shape %v, over %d elements", engine.ErrInvalidModel, tp.GetName(), tp.GetDims(), math.MaxInt32)
		}
		shape[i] = int(d)
		n *= int(d)
	}
	raw := tp.GetRawData()
	hasRaw := raw != nil
	if tp.GetDataLocation() == pb.TensorProto_EXTERNAL {
		if raw, err = externalData(tp, dir); err != nil {
			return nil, err
		}
		hasRaw = true
	}
	bad := func(have int) error {
		return fmt.Errorf("%w: tensor %q of shape %v holds %d values, want %d", engine.ErrInvalidModel, tp.GetName(), shape, have, n)
	}
	// Check the count before allocating, so that a corrupt shape cannot
	// ask for a huge tensor.
	if have := dtValueCount(tp, dt, raw, hasRaw); have != n {
		return nil, bad(have)
	}
	t := tensor.New(dt, shape)
	if dt == tensor.String {
		s := tp.GetStringData()
		if len(s) != n {
			return nil, bad(len(s))
		}
		copy(t.Strings(), s)
		return t, nil
	}
	if hasRaw {
		size := dt.Size()
		if len(raw) != n*size {
			return nil, bad(len(raw) / max(size, 1))
		}
		switch dt {
		case tensor.Float32:
			for i, d := 0, t.Float32s(); i < n; i++ {
				d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case tensor.Float64:
			for i, d := 0, t.Float64s(); i < n; i++ {
				d[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case tensor.Int32:
			for i, d := 0, t.Int32s(); i < n; i++ {
				d[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case tensor.Int64:
			for i, d := 0, t.Int64s(); i < n; i++ {
				d[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		case tensor.Int8:
			for i, d := 0, t.Int8s(); i < n; i++ {
				d[i] = int8(raw[i])
			}
		case tensor.Uint8:
			copy(t.Uint8s(), raw)
		case tensor.Bool:
			for i, d := 0, t.Bools(); i < n; i++ {
				d[i] = raw[i] != 0
			}
		case tensor.Int16:
			for i, d := 0, t.Int16s(); i < n; i++ {
				d[i] = int16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case tensor.Uint16:
			for i, d := 0, t.Uint16s(); i < n; i++ {
				d[i] = binary.LittleEndian.Uint16(raw[2*i:])
			}
		case tensor.Float16:
			for i, d := 0, t.Float16s(); i < n; i++ {
				d[i] = tensor.F16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case tensor.BFloat16:
			for i, d := 0, t.BFloat16s(); i < n; i++ {
				d[i] = tensor.BF16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case tensor.Uint32:
			for i, d := 0, t.Uint32s(); i < n; i++ {
				d[i] = binary.LittleEndian.Uint32(raw[4*i:])
			}
		case tensor.Uint64:
			for i, d := 0, t.Uint64s(); i < n; i++ {
				d[i] = binary.LittleEndian.Uint64(raw[8*i:])
			}
		}
		return t, nil
	}
	switch dt {
	case tensor.Float32:
		if len(tp.GetFloatData()) != n {
			return nil, bad(len(tp.GetFloatData()))
		}
		copy(t.Float32s(), tp.GetFloatData())
	case tensor.Float64:
		if len(tp.GetDoubleData()) != n {
			return nil, bad(len(tp.GetDoubleData()))
		}
		copy(t.Float64s(), tp.GetDoubleData())
	case tensor.Int64:
		if len(tp.GetInt64Data()) != n {
			return nil, bad(len(tp.GetInt64Data()))
		}
		copy(t.Int64s(), tp.GetInt64Data())
	case tensor.Uint32, tensor.Uint64:
		src := tp.GetUint64Data()
		if len(src) != n {
			return nil, bad(len(src))
		}
		if dt == tensor.Uint64 {
			copy(t.Uint64s(), src)
			break
		}
		for i, v := range src {
			t.Uint32s()[i] = uint32(v)
		}
	default:
		// int32, int8, uint8, bool, int16, uint16, and float16 and
		// bfloat16 as their bit patterns, travel in int32_data.
		src := tp.GetInt32Data()
		if len(src) != n {
			return nil, bad(len(src))
		}
		for i, v := range src {
			switch dt {
			case tensor.Int32:
				t.Int32s()[i] = v
			case tensor.Int8:
				t.Int8s()[i] = int8(v)
			case tensor.Uint8:
				t.Uint8s()[i] = uint8(v)
			case tensor.Bool:
				t.Bools()[i] = v != 0
			case tensor.Int16:
				t.Int16s()[i] = int16(v)
			case tensor.Uint16:
				t.Uint16s()[i] = uint16(v)
			case tensor.Float16:
				t.Float16s()[i] = tensor.F16(v)
			case tensor.BFloat16:
				t.BFloat16s()[i] = tensor.BF16(v)
			}
		}
	}
	return t, nil
}

// dtValueCount is the number of values tp holds for dtype dt: in raw
// (when hasRaw) or in the typed field dt travels in.
func dtValueCount(tp *pb.TensorProto, dt tensor.DType, raw []byte, hasRaw bool) int {
	switch {
	case dt == tensor.String:
		return len(tp.GetStringData())
	case hasRaw:
		if len(raw)%dt.Size() != 0 {
			return -1
		}
		return len(raw) / dt.Size()
	}
	switch dt {
	case tensor.Float32:
		return len(tp.GetFloatData())
	case tensor.Float64:
		return len(tp.GetDoubleData())
	case tensor.Int64:
		return len(tp.GetInt64Data())
	case tensor.Uint32, tensor.Uint64:
		return len(tp.GetUint64Data())
	}
	return len(tp.GetInt32Data())
}

// externalData reads the bytes of a tensor stored beside the model.
func externalData(tp *pb.TensorProto, dir string) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.GetExternalData() {
		var err error
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset":
			offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		}
		if err != nil || offset < 0 {
			return nil, fmt.Errorf("%w: tensor %q: bad external data %s=%q", engine.ErrInvalidModel, tp.GetName(), kv.GetKey(), kv.GetValue())
		}
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if loc == "" || filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: tensor %q: external data location %q must be a relative path inside the model's directory", engine.ErrInvalidModel, tp.GetName(), loc)
	}
	f, err := os.Open(filepath.Join(dir, clean))
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %w", engine.ErrInvalidModel, tp.GetName(), err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %w", engine.ErrInvalidModel, tp.GetName(), err)
	}
	if length < 0 {
		return io.ReadAll(f)
	}
	buf := make([]byte, length)
	if _, err := io.ReadFull(f, buf); err != nil {
		return nil, fmt.Errorf("%w: tensor %q: external data %s is shorter than offset %d + length %d", engine.ErrInvalidModel, tp.GetName(), loc, offset, length)
	}
	return buf, nil
}
