package codec

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"

	"inferd/internal/tensor"
)

// EncodeOptions tunes how responses are written. The zero value writes
// exactly what TF Serving writes.
type EncodeOptions struct {
	// NonUTF8AsBase64 writes string elements that are not valid UTF-8 as
	// {"b64": ...}, as for outputs whose name ends in "_bytes". TF Serving
	// writes such bytes raw, which yields invalid JSON.
	NonUTF8AsBase64 bool
}

// bytesSuffix marks string outputs that TF Serving writes as base64.
const bytesSuffix = "_bytes"

// EncodePredict writes the response TF Serving answers for a predict
// request of the given format: {"predictions": ...} for rows and
// {"outputs": ...} for columns, with outputs in name order.
func EncodePredict(f Format, outputs map[string]*tensor.Tensor, opts EncodeOptions) ([]byte, error) {
	return AppendPredict(nil, f, outputs, opts)
}

// AppendPredict is EncodePredict appending the response to dst, so that a
// server can write every response into one reused buffer.
func AppendPredict(dst []byte, f Format, outputs map[string]*tensor.Tensor, opts EncodeOptions) ([]byte, error) {
	if len(outputs) == 0 {
		return nil, Errorf(InvalidArgument, "Cannot convert empty tensor map to JSON")
	}
	names := make([]string, 0, len(outputs))
	for n := range outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	switch f {
	case FormatRow:
		return encodeRows(dst, names, outputs, opts)
	case FormatColumnar:
		return encodeColumns(dst, names, outputs, opts)
	}
	return nil, Errorf(InvalidArgument, "Invalid request format")
}

func encodeRows(dst []byte, names []string, outputs map[string]*tensor.Tensor, opts EncodeOptions) ([]byte, error) {
	batch := -1
	for _, n := range names {
		t := outputs[n]
		if t.Rank() == 0 {
			return nil, Errorf(InvalidArgument, "Tensor name: %s has no shape information ", n)
		}
		b := t.Shape()[0]
		if batch >= 0 && b != batch {
			return nil, Errorf(InvalidArgument, "Tensor name: %s has inconsistent batch size: %d expecting: %d", n, b, batch)
		}
		batch = b
	}
	w := prettyWriter{buf: slices.Grow(dst, 64+16*totalLen(outputs))}
	w.startObject()
	w.key("predictions")
	w.startArray()
	objects := len(names) > 1
	offsets := make([]int, len(names))
	for range batch {
		if objects {
			w.startObject()
		}
		w.singleLine = true
		for k, n := range names {
			if objects {
				w.key(n)
			}
			if err := writeTensor(&w, outputs[n], n, 1, &offsets[k], opts); err != nil {
				return nil, err
			}
		}
		w.singleLine = false
		if objects {
			w.endObject()
		}
	}
	w.endArray()
	w.endObject()
	return w.buf, nil
}

func encodeColumns(dst []byte, names []string, outputs map[string]*tensor.Tensor, opts EncodeOptions) ([]byte, error) {
	w := prettyWriter{buf: slices.Grow(dst, 64+16*totalLen(outputs))}
	w.startObject()
	w.key("outputs")
	objects := len(names) > 1
	if objects {
		w.startObject()
	}
	for _, n := range names {
		if objects {
			w.key(n)
		}
		off := 0
		if err := writeTensor(&w, outputs[n], n, 0, &off, opts); err != nil {
			return nil, err
		}
	}
	if objects {
		w.endObject()
	}
	w.endObject()
	return w.buf, nil
}

func totalLen(outputs map[string]*tensor.Tensor) int {
	n := 0
	for _, t := range outputs {
		n += t.Len()
	}
	return n
}

// writeTensor is TF Serving's AddTensorValues: the sub-tensor from
// dimension dim on, starting at element *off.
func writeTensor(w *prettyWriter, t *tensor.Tensor, name string, dim int, off *int, opts EncodeOptions) error {
	shape := t.Shape()
	if dim > len(shape)-1 {
		return writeElement(w, t, name, off, opts)
	}
	if dim == len(shape)-1 && t.DType() == tensor.Float32 {
		// The innermost lists of a float tensor, most of a response.
		n := shape[dim]
		w.float32s(t.Float32s()[*off : *off+n])
		*off += n
		return nil
	}
	w.startArray()
	for range shape[dim] {
		if err := writeTensor(w, t, name, dim+1, off, opts); err != nil {
			return err
		}
	}
	w.endArray()
	return nil
}

func writeElement(w *prettyWriter, t *tensor.Tensor, name string, off *int, opts EncodeOptions) error {
	k := *off
	switch t.DType() {
	case tensor.Float32:
		w.float32(t.Float32s()[k])
	case tensor.Float64:
		w.float64(t.Float64s()[k])
	case tensor.Int8:
		w.int64(int64(t.Int8s()[k]))
	case tensor.Uint8:
		w.int64(int64(t.Uint8s()[k]))
	case tensor.Int32:
		w.int64(int64(t.Int32s()[k]))
	case tensor.Int64:
		w.int64(t.Int64s()[k])
	case tensor.Bool:
		w.bool(t.Bools()[k])
	case tensor.Int16:
		w.int64(int64(t.Int16s()[k]))
	case tensor.Uint16:
		w.int64(int64(t.Uint16s()[k]))
	case tensor.Uint32:
		w.uint64(uint64(t.Uint32s()[k]))
	case tensor.Uint64:
		w.uint64(t.Uint64s()[k])
	case tensor.Float16:
		w.float32(t.Float16s()[k].Float32())
	case tensor.BFloat16:
		w.float32(t.BFloat16s()[k].Float32())
	case tensor.String:
		s := t.Strings()[k]
		if strings.HasSuffix(name, bytesSuffix) || opts.NonUTF8AsBase64 && !utf8.Valid(s) {
			w.startObject()
			w.key("b64")
			w.str([]byte(base64.StdEncoding.EncodeToString(s)))
			w.endObject()
		} else {
			w.str(s)
		}
	default:
		return Errorf(InvalidArgument, "Failed to write JSON value for tensor type: %s", dtypeName(t.DType()))
	}
	*off = k + 1
	return nil
}
