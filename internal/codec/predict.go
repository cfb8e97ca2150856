package codec

import (
	"encoding/base64"
	"math"
	"slices"
	"strings"

	"inferd/internal/tensor"
)

// Format is the layout of a predict request, which decides the layout of
// its response.
type Format int

// The request formats.
const (
	// FormatRow is {"instances": [...]}, answered by {"predictions": [...]}.
	FormatRow Format = iota + 1
	// FormatColumnar is {"inputs": ...}, answered by {"outputs": ...}.
	FormatColumnar
)

// Input describes one input of a signature: its key and element type.
type Input struct {
	Name  string
	DType tensor.DType
}

// InputsFunc returns the inputs of the named signature; name is "" when
// the request names none (the default signature). Its error is returned by
// DecodePredict unchanged (see ErrSignatureNotFound).
type InputsFunc func(signature string) ([]Input, error)

// PredictRequest is a decoded predict request.
type PredictRequest struct {
	SignatureName string // as the request gave it; "" when absent
	Format        Format
	Inputs        map[string]*tensor.Tensor
}

// maxRank is TensorFlow's limit on the number of dimensions.
const maxRank = 254

// DecodePredict decodes a TF Serving predict request body, converting each
// value to the dtype of the signature input it feeds, exactly as TF Serving
// does (json_tensor.cc FillPredictRequestFromJson). Errors are *Error.
// String elements without escapes share memory with body (capacity
// clipped), so body must not be modified while the tensors are in use.
func DecodePredict(body []byte, inputs InputsFunc) (*PredictRequest, error) {
	d, perr := parseJSON(body)
	if perr != nil {
		return nil, perr
	}
	defer d.release()
	root := int32(0)
	if d.nodes[root].kind != kObject {
		return nil, formatError(d, root, "Is not object")
	}
	req := &PredictRequest{}
	if i := d.member(root, "signature_name"); i >= 0 {
		if d.nodes[i].kind != kString {
			return nil, formatError(d, root, "not formatted correctly. 'signature_name' key must be a string value.")
		}
		req.SignatureName = string(d.text(i))
	}
	specs, err := inputs(req.SignatureName)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		name := req.SignatureName
		if name == "" {
			name = "DEFAULT"
		}
		return nil, Errorf(InvalidArgument, "Failed to get input map for signature: %s", name)
	}
	specs = slices.Clone(specs)
	slices.SortFunc(specs, func(a, b Input) int { return strings.Compare(a.Name, b.Name) })

	inst, cols := d.member(root, "instances"), d.member(root, "inputs")
	switch {
	case inst >= 0 && cols >= 0:
		return nil, formatError(d, root, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist ")
	case inst >= 0:
		if d.nodes[inst].kind != kArray {
			return nil, formatError(d, root, "Excepting 'instances' to be an list/array")
		}
		if d.nodes[inst].count == 0 {
			return nil, formatError(d, root, "No values in 'instances' array")
		}
		req.Format = FormatRow
		req.Inputs, err = d.rows(inst, specs)
	case cols >= 0:
		req.Format = FormatColumnar
		req.Inputs, err = d.columns(cols, specs)
	default:
		return nil, Errorf(InvalidArgument, "Missing 'inputs' or 'instances' key")
	}
	if err != nil {
		return nil, err
	}
	return req, nil
}

// formatError is TF Serving's FormatError: the offending JSON, then a
// description.
func formatError(d *document, i int32, msg string) *Error {
	return Errorf(InvalidArgument, "JSON Value: %s %s", d.valueString(i), msg)
}

// column accumulates the values of one input tensor.
type column struct {
	dtype tensor.DType
	shape []int // of one instance (row format) or of the tensor
	size  int   // elements of one instance
	set   bool  // shape and size are known
	f32   []float32
	f64   []float64
	i32   []int32 // int8, uint8, int16, uint16 and int32, kept as TF keeps int_val
	i64   []int64
	u64   []uint64 // uint32 and uint64
	b     []bool
	s     [][]byte
}

// elementObject is TF Serving's test for an instance given as an object of
// named inputs (a {"b64": ...} object is a value).
func (d *document) elementObject(i int32) bool {
	return d.nodes[i].kind == kObject && !d.isBase64Object(i)
}

func (d *document) rows(inst int32, specs []Input) (map[string]*tensor.Tensor, error) {
	first := inst + 1
	if d.nodes[first].kind != kObject && len(specs) > 1 {
		return nil, Errorf(InvalidArgument, "instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map")
	}
	objects := d.elementObject(first)
	byName := make(map[string]Input, len(specs))
	names := make([]string, len(specs))
	for k, s := range specs {
		byName[s.Name] = s
		names[k] = s.Name
	}
	cols := make(map[string]*column, len(specs))
	count := 0
	for e := first; count < int(d.nodes[inst].count); e = d.nodes[e].next {
		if objects {
			if !d.elementObject(e) {
				return nil, Errorf(InvalidArgument, "Expecting object but got list at item %d of input list", count)
			}
			var keys []string
			m := e + 1
			for range d.nodes[e].count {
				name := string(d.text(m))
				if slices.Contains(keys, name) {
					return nil, Errorf(InvalidArgument, "Failed to process element: %d key: %s of 'instances' list. Error: %s", count, name,
						Errorf(InvalidArgument, "JSON object: has duplicate named input: %s", name).String())
				}
				keys = append(keys, name)
				if err := d.addInstanceItem(m+1, name, int(d.nodes[inst].count), byName, cols); err != nil {
					return nil, Errorf(InvalidArgument, "Failed to process element: %d key: %s of 'instances' list. Error: %s", count, name, err.String())
				}
				m = d.nodes[m+1].next
			}
			slices.Sort(keys)
			if !slices.Equal(keys, names) {
				return nil, Errorf(InvalidArgument, "Failed to process element: %d of 'instances' list. JSON object: %s must only have keys: %s",
					count, d.valueString(e), strings.Join(names, ","))
			}
		} else {
			if d.elementObject(e) {
				return nil, Errorf(InvalidArgument, "Expecting value/list but got object at item %d of input list", count)
			}
			if err := d.addInstanceItem(e, names[0], int(d.nodes[inst].count), byName, cols); err != nil {
				return nil, Errorf(InvalidArgument, "Failed to process element: %d of 'instances' list. Error: %s", count, err.String())
			}
		}
		count++
	}
	out := make(map[string]*tensor.Tensor, len(cols))
	for name, c := range cols {
		shape := append([]int{count}, c.shape...)
		t, err := c.tensor(shape)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

// addInstanceItem adds one instance's value for input name.
// instances is the length of the instances list, for sizing a new column.
func (d *document) addInstanceItem(i int32, name string, instances int, specs map[string]Input, cols map[string]*column) *Error {
	spec, ok := specs[name]
	if !ok {
		return Errorf(InvalidArgument, "JSON object: does not have named input: %s", name)
	}
	c := cols[name]
	shape := d.denseShape(i)
	if c == nil {
		c = &column{dtype: spec.DType}
		c.reserve(instances * elements(shape))
		cols[name] = c
	}
	if len(shape) >= maxRank {
		return Errorf(InvalidArgument, "Shape %s has %d dimensions which is over the limit of %d", shapeString(shape), len(shape)+1, maxRank)
	}
	size := 0
	if err := d.fill(i, 0, shape, c, &size); err != nil {
		return err
	}
	switch {
	case !c.set:
		c.shape, c.size, c.set = shape, size, true
	case c.size != size:
		return Errorf(InvalidArgument, "Expecting tensor size: %d but got: %d", c.size, size)
	case !slices.Equal(c.shape, shape):
		return Errorf(InvalidArgument, "Expecting shape %s but got: %s", shapeString(c.shape), shapeString(shape))
	}
	return nil
}

func (d *document) columns(v int32, specs []Input) (map[string]*tensor.Tensor, error) {
	out := make(map[string]*tensor.Tensor, len(specs))
	if d.nodes[v].kind != kObject || d.isBase64Object(v) {
		if len(specs) > 1 {
			return nil, Errorf(InvalidArgument, "inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map")
		}
		t, err := d.columnTensor(v, specs[0])
		if err != nil {
			return nil, err
		}
		out[specs[0].Name] = t
		return out, nil
	}
	for _, s := range specs {
		i := d.member(v, s.Name)
		if i < 0 {
			return nil, Errorf(InvalidArgument, "Missing named input: %s in 'inputs' object.", s.Name)
		}
		t, err := d.columnTensor(i, s)
		if err != nil {
			return nil, err
		}
		out[s.Name] = t
	}
	return out, nil
}

func (d *document) columnTensor(i int32, s Input) (*tensor.Tensor, error) {
	shape := d.denseShape(i)
	if len(shape) > maxRank {
		return nil, Errorf(InvalidArgument, "Shape %s has %d dimensions which is over the limit of %d", shapeString(shape), len(shape), maxRank)
	}
	c := &column{dtype: s.DType}
	c.reserve(elements(shape))
	size := 0
	if err := d.fill(i, 0, shape, c, &size); err != nil {
		return nil, err
	}
	return c.tensor(shape)
}

// elements is the number of scalars a dense value of shape holds.
func elements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// maxReserve bounds what reserve allocates ahead of the values (64 MB of
// float32), since the shape comes from the request's first element.
const maxReserve = 1 << 24

// reserve makes room for n float values; a request's values are mostly
// floats, and growing by appending copied them twice over.
func (c *column) reserve(n int) {
	n = min(n, maxReserve)
	switch c.dtype {
	case tensor.Float32:
		c.f32 = make([]float32, 0, n)
	case tensor.Float64:
		c.f64 = make([]float64, 0, n)
	}
}

// denseShape is TF Serving's GetDenseTensorShape: the sizes of the first
// element's lists, level by level.
func (d *document) denseShape(i int32) []int {
	var shape []int
	for d.nodes[i].kind == kArray {
		n := int(d.nodes[i].count)
		shape = append(shape, n)
		if n == 0 {
			break
		}
		i++
	}
	return shape
}

// fill is TF Serving's FillTensorProto: it checks that node i is dense
// with the given shape and appends its values to c.
func (d *document) fill(i int32, level int, shape []int, c *column, count *int) *Error {
	n := &d.nodes[i]
	rank := len(shape)
	if n.kind != kArray {
		if level != rank {
			return Errorf(InvalidArgument, "JSON Value: %s found at incorrect level: %d in the JSON DOM. Expected at level: %d",
				d.valueString(i), level+1, rank)
		}
		var err *Error
		if n.kind == kObject {
			if c.dtype == tensor.String {
				err = d.addBase64(i, c)
			} else {
				err = d.typeError(i, c.dtype)
			}
		} else {
			err = d.addValue(i, c)
		}
		if err == nil {
			*count++
		}
		return err
	}
	if level >= rank {
		return Errorf(InvalidArgument, "Encountered list at unexpected level: %d expected < %d", level, rank)
	}
	if int(n.count) != shape[level] {
		return Errorf(InvalidArgument, "Encountered list at unexpected size: %d at level: %d expected size: %d", n.count, level, shape[level])
	}
	j := i + 1
	if level == rank-1 && c.dtype == tensor.Float32 {
		// The innermost lists, most of a request: numbers are added
		// here, anything else (an error, a nested list) as below.
		for range n.count {
			m := &d.nodes[j]
			if m.kind != kNumber {
				if err := d.fill(j, level+1, shape, c, count); err != nil {
					return err
				}
				j = m.next
				continue
			}
			if m.flags&fDouble != 0 {
				f := math.Float64frombits(m.bits)
				if f > math.MaxFloat32 || f < -math.MaxFloat32 {
					if err := d.addValue(j, c); err != nil {
						return err
					}
				} else {
					c.f32 = append(c.f32, float32(f))
				}
			} else if err := d.addValue(j, c); err != nil {
				return err
			}
			*count++
			j++
		}
		return nil
	}
	for range n.count {
		if err := d.fill(j, level+1, shape, c, count); err != nil {
			return err
		}
		j = d.nodes[j].next
	}
	return nil
}

// dtypeNames are TensorFlow's DataTypeString names.
var dtypeNames = map[tensor.DType]string{
	tensor.Float32: "float", tensor.Float64: "double", tensor.Int8: "int8", tensor.Uint8: "uint8",
	tensor.Int32: "int32", tensor.Int64: "int64", tensor.Bool: "bool", tensor.String: "string",
	tensor.Int16: "int16", tensor.Uint16: "uint16", tensor.Uint32: "uint32", tensor.Uint64: "uint64",
	tensor.Float16: "half", tensor.BFloat16: "bfloat16",
}

func dtypeName(dt tensor.DType) string {
	if s, ok := dtypeNames[dt]; ok {
		return s
	}
	return dt.String()
}

func (d *document) typeError(i int32, dt tensor.DType) *Error {
	return Errorf(InvalidArgument, "JSON Value: %s Type: %s is not of expected type: %s",
		d.valueString(i), jsonTypeNames[d.nodes[i].kind], dtypeName(dt))
}

// lossless is TF Serving's IsLosslessDecimal for a float type with the
// given mantissa digits and maximum.
func lossless(n *node, digits uint, max float64) bool {
	f := n.float64()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return true
	}
	maxInt := uint64(1)<<digits - 1
	switch {
	case n.isUint64():
		return n.bits <= maxInt
	case n.isInt64():
		v := int64(n.bits)
		if v < 0 {
			v = -v
		}
		return uint64(v) <= maxInt
	}
	return f <= max && f >= -max
}

// addValue is TF Serving's AddValueToTensor.
func (d *document) addValue(i int32, c *column) *Error {
	n := &d.nodes[i]
	switch c.dtype {
	case tensor.Float32:
		if n.kind != kNumber {
			return d.typeError(i, c.dtype)
		}
		if !lossless(n, 24, math.MaxFloat32) {
			return Errorf(InvalidArgument, "Cannot convert JSON value: %s to float without loss of precision.", d.valueString(i))
		}
		c.f32 = append(c.f32, float32(n.float64()))
	case tensor.Float64:
		if n.kind != kNumber {
			return d.typeError(i, c.dtype)
		}
		if !lossless(n, 53, math.MaxFloat64) {
			return Errorf(InvalidArgument, "Cannot convert JSON value: %s to double without loss of precision.", d.valueString(i))
		}
		c.f64 = append(c.f64, n.float64())
	case tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int16, tensor.Uint16:
		if !n.isInt() {
			return d.typeError(i, c.dtype)
		}
		c.i32 = append(c.i32, int32(int64(n.bits)))
	case tensor.Uint32:
		if !n.isUint() {
			return d.typeError(i, c.dtype)
		}
		c.u64 = append(c.u64, n.bits)
	case tensor.Uint64:
		if !n.isUint64() {
			return d.typeError(i, c.dtype)
		}
		c.u64 = append(c.u64, n.bits)
	case tensor.Float16, tensor.BFloat16:
		// TF Serving has no JSON form for these; a number rounds to
		// the nearest value, as a cast would.
		if n.kind != kNumber {
			return d.typeError(i, c.dtype)
		}
		c.f64 = append(c.f64, n.float64())
	case tensor.Int64:
		if !n.isInt64() {
			return d.typeError(i, c.dtype)
		}
		c.i64 = append(c.i64, int64(n.bits))
	case tensor.Bool:
		if n.kind != kTrue && n.kind != kFalse {
			return d.typeError(i, c.dtype)
		}
		c.b = append(c.b, n.kind == kTrue)
	case tensor.String:
		if n.kind != kString {
			return d.typeError(i, c.dtype)
		}
		c.s = append(c.s, slices.Clip(d.text(i)))
	default:
		return Errorf(Unimplemented, "Conversion of JSON Value: %s to type: %s", d.valueString(i), dtypeName(c.dtype))
	}
	return nil
}

// addBase64 decodes a {"b64": ...} object into a string element.
func (d *document) addBase64(i int32, c *column) *Error {
	if !d.isBase64Object(i) {
		return Errorf(InvalidArgument, "JSON Value: %s not formatted correctly for base64 data", d.valueString(i))
	}
	b, ok := decodeBase64(d.text(i + 2))
	if !ok {
		return Errorf(InvalidArgument, "Unable to base64 decode")
	}
	c.s = append(c.s, b)
	return nil
}

// decodeBase64 decodes standard base64 with or without padding, skipping
// ASCII whitespace.
func decodeBase64(s []byte) ([]byte, bool) {
	clean := make([]byte, 0, len(s))
	for _, c := range s {
		switch c {
		case ' ', '\t', '\n', '\r', '\f', '\v':
		default:
			clean = append(clean, c)
		}
	}
	trimmed := clean
	for len(trimmed) > 0 && trimmed[len(trimmed)-1] == '=' {
		trimmed = trimmed[:len(trimmed)-1]
	}
	if pad := len(clean) - len(trimmed); pad > 0 && (pad > 2 || len(clean)%4 != 0) {
		return nil, false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(trimmed)))
	n, err := base64.RawStdEncoding.Decode(out, trimmed)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}

// tensor converts the accumulated values; int8, uint8, int16 and uint16
// wrap as TensorFlow's conversion from int_val does.
func (c *column) tensor(shape []int) (*tensor.Tensor, error) {
	var data any
	switch c.dtype {
	case tensor.Float32:
		data = nonNil(c.f32)
	case tensor.Float64:
		data = nonNil(c.f64)
	case tensor.Int32:
		data = nonNil(c.i32)
	case tensor.Int8:
		v := make([]int8, len(c.i32))
		for k, x := range c.i32 {
			v[k] = int8(x)
		}
		data = v
	case tensor.Uint8:
		v := make([]uint8, len(c.i32))
		for k, x := range c.i32 {
			v[k] = uint8(x)
		}
		data = v
	case tensor.Int64:
		data = nonNil(c.i64)
	case tensor.Int16:
		v := make([]int16, len(c.i32))
		for k, x := range c.i32 {
			v[k] = int16(x)
		}
		data = v
	case tensor.Uint16:
		v := make([]uint16, len(c.i32))
		for k, x := range c.i32 {
			v[k] = uint16(x)
		}
		data = v
	case tensor.Uint32:
		v := make([]uint32, len(c.u64))
		for k, x := range c.u64 {
			v[k] = uint32(x)
		}
		data = v
	case tensor.Uint64:
		data = nonNil(c.u64)
	case tensor.Float16:
		v := make([]tensor.F16, len(c.f64))
		for k, x := range c.f64 {
			v[k] = tensor.F16FromFloat64(x)
		}
		data = v
	case tensor.BFloat16:
		v := make([]tensor.BF16, len(c.f64))
		for k, x := range c.f64 {
			v[k] = tensor.BF16FromFloat64(x)
		}
		data = v
	case tensor.Bool:
		data = nonNil(c.b)
	case tensor.String:
		data = nonNil(c.s)
	default:
		return nil, Errorf(Unimplemented, "Conversion to type: %s", dtypeName(c.dtype))
	}
	t, err := tensor.FromSlice(tensor.Shape(shape), data)
	if err != nil {
		return nil, Errorf(InvalidArgument, "%v", err)
	}
	return t, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
