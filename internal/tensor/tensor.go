package tensor

import (
	"fmt"
	"strings"
)

// DType is the element type of a tensor.
type DType uint8

// The element types the engine supports.
const (
	Invalid DType = iota
	Float32
	Float64
	Int8
	Uint8
	Int32
	Int64
	Bool
	String
	// The types below came later; they follow String so that the values
	// above keep their numbers.
	Int16
	Uint16
	Uint32
	Uint64
	Float16  // IEEE 754 binary16, stored as F16 bit patterns
	BFloat16 // bfloat16 (float32's upper half), stored as BF16 bit patterns
	// Sequence and Optional are ONNX's values that are not tensors; see
	// NewSequence and NewOptional.
	Sequence
	Optional
)

var dtypeNames = [...]string{"invalid", "float32", "float64", "int8", "uint8", "int32", "int64", "bool", "string",
	"int16", "uint16", "uint32", "uint64", "float16", "bfloat16", "sequence", "optional"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size is the width of one element in bytes; 0 for String and Invalid.
func (d DType) Size() int {
	switch d {
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	case Int8, Uint8, Bool:
		return 1
	case Int16, Uint16, Float16, BFloat16:
		return 2
	}
	return 0
}

// Shape is the extent of each dimension. A Shape held by a Tensor must not
// be modified; copy it with Clone first.
type Shape []int

// NumElements is the product of the dimensions (1 for a scalar).
func (s Shape) NumElements() int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Equal reports whether s and o have the same rank and dimensions.
func (s Shape) Equal(o Shape) bool {
	if len(s) != len(o) {
		return false
	}
	for i := range s {
		if s[i] != o[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s that the caller may modify.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Tensor is a dense row-major array. Data holds a slice whose element type
// matches DType: []float32, []float64, []int8, []uint8, []int32, []int64,
// []bool, [][]byte for String, []int16, []uint16, []uint32, []uint64,
// []F16, []BF16, or Seq for Sequence and Optional.
type Tensor struct {
	dtype DType
	shape Shape
	data  any
}

// New returns a zeroed tensor of the given type and shape.
func New(dt DType, shape Shape) *Tensor {
	n := shape.NumElements()
	var data any
	switch dt {
	case Float32:
		data = make([]float32, n)
	case Float64:
		data = make([]float64, n)
	case Int8:
		data = make([]int8, n)
	case Uint8:
		data = make([]uint8, n)
	case Int32:
		data = make([]int32, n)
	case Int64:
		data = make([]int64, n)
	case Bool:
		data = make([]bool, n)
	case String:
		data = make([][]byte, n)
	case Int16:
		data = make([]int16, n)
	case Uint16:
		data = make([]uint16, n)
	case Uint32:
		data = make([]uint32, n)
	case Uint64:
		data = make([]uint64, n)
	case Float16:
		data = make([]F16, n)
	case BFloat16:
		data = make([]BF16, n)
	case Sequence, Optional:
		data = make(Seq, n)
	default:
		panic(fmt.Sprintf("tensor: New with %v", dt))
	}
	return &Tensor{dtype: dt, shape: shape.Clone(), data: data}
}

// FromSlice wraps data, which must be one of the slice types listed on
// Tensor and hold shape.NumElements() elements. The tensor shares data.
func FromSlice(shape Shape, data any) (*Tensor, error) {
	var dt DType
	var n int
	switch v := data.(type) {
	case []float32:
		dt, n = Float32, len(v)
	case []float64:
		dt, n = Float64, len(v)
	case []int8:
		dt, n = Int8, len(v)
	case []uint8:
		dt, n = Uint8, len(v)
	case []int32:
		dt, n = Int32, len(v)
	case []int64:
		dt, n = Int64, len(v)
	case []bool:
		dt, n = Bool, len(v)
	case [][]byte:
		dt, n = String, len(v)
	case []int16:
		dt, n = Int16, len(v)
	case []uint16:
		dt, n = Uint16, len(v)
	case []uint32:
		dt, n = Uint32, len(v)
	case []uint64:
		dt, n = Uint64, len(v)
	case []F16:
		dt, n = Float16, len(v)
	case []BF16:
		dt, n = BFloat16, len(v)
	case Seq:
		dt, n = Sequence, len(v)
	default:
		return nil, fmt.Errorf("tensor: unsupported data type %T", data)
	}
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor: negative dimension in shape %v", shape)
		}
	}
	if want := shape.NumElements(); n != want {
		return nil, fmt.Errorf("tensor: shape %v needs %d elements, got %d", shape, want, n)
	}
	return &Tensor{dtype: dt, shape: shape.Clone(), data: data}, nil
}

// MustFromSlice is FromSlice for tests and constants known to be valid.
func MustFromSlice(shape Shape, data any) *Tensor {
	t, err := FromSlice(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

// DType is the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Shape is the tensor's shape; callers must not modify it.
func (t *Tensor) Shape() Shape { return t.shape }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Len is the number of elements.
func (t *Tensor) Len() int { return t.shape.NumElements() }

// Data is the backing slice (see Tensor for its type).
func (t *Tensor) Data() any { return t.data }

// Reshaped returns a tensor sharing t's data with a new shape of the same
// element count.
func (t *Tensor) Reshaped(shape Shape) (*Tensor, error) {
	if shape.NumElements() != t.Len() {
		return nil, fmt.Errorf("tensor: cannot reshape %v to %v", t.shape, shape)
	}
	return &Tensor{dtype: t.dtype, shape: shape.Clone(), data: t.data}, nil
}

// The typed accessors below return the backing slice and panic when the
// tensor holds another type: calling the wrong one is a programmer error.

func (t *Tensor) Float32s() []float32 { return t.data.([]float32) }
func (t *Tensor) Float64s() []float64 { return t.data.([]float64) }
func (t *Tensor) Int8s() []int8       { return t.data.([]int8) }
func (t *Tensor) Uint8s() []uint8     { return t.data.([]uint8) }
func (t *Tensor) Int32s() []int32     { return t.data.([]int32) }
func (t *Tensor) Int64s() []int64     { return t.data.([]int64) }
func (t *Tensor) Bools() []bool       { return t.data.([]bool) }
func (t *Tensor) Strings() [][]byte   { return t.data.([][]byte) }
func (t *Tensor) Int16s() []int16     { return t.data.([]int16) }
func (t *Tensor) Uint16s() []uint16   { return t.data.([]uint16) }
func (t *Tensor) Uint32s() []uint32   { return t.data.([]uint32) }
func (t *Tensor) Uint64s() []uint64   { return t.data.([]uint64) }
func (t *Tensor) Float16s() []F16     { return t.data.([]F16) }
func (t *Tensor) BFloat16s() []BF16   { return t.data.([]BF16) }

func (t *Tensor) String() string { return fmt.Sprintf("Tensor(%v, %v)", t.dtype, t.shape) }
