package kernels

import "inferd/internal/tensor"

// Real is the set of numeric Go element types a tensor can hold, except
// tensor.F16 and tensor.BF16, whose arithmetic goes through float32. The
// later integer types are listed without ~ so that F16 and BF16 (uint16
// underneath) stay out.
type Real interface {
	~float32 | ~float64 | ~int8 | ~uint8 | ~int32 | ~int64 | int16 | uint16 | uint32 | uint64
}

// Float is the set of floating point element types.
type Float interface{ ~float32 | ~float64 }

// Integer is the set of integer element types.
type Integer interface {
	~int8 | ~uint8 | ~int32 | ~int64 | int16 | uint16 | uint32 | uint64
}

// Slice returns t's backing slice as []T; it panics when T does not match
// t's dtype, which is a programmer error.
func Slice[T any](t *tensor.Tensor) []T { return t.Data().([]T) }

// NewLike allocates a tensor of dtype dt and the given shape and returns it
// with its backing slice typed as []T.
func NewLike[T any](dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, []T) {
	t := tensor.New(dt, shape)
	return t, t.Data().([]T)
}

// numericTypes are the dtypes the arithmetic kernels accept.
var numericTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int64}

// floatTypes are the dtypes the transcendental kernels accept.
var floatTypes = []tensor.DType{tensor.Float32, tensor.Float64}

// isFloat reports whether dt is a floating point dtype.
func isFloat(dt tensor.DType) bool { return dt == tensor.Float32 || dt == tensor.Float64 }

// scalarInt reads a scalar or one-element integer tensor (int32 or int64).
func scalarInt(t *tensor.Tensor) (int64, bool) {
	if t.Len() != 1 {
		return 0, false
	}
	switch t.DType() {
	case tensor.Int32:
		return int64(t.Int32s()[0]), true
	case tensor.Int64:
		return t.Int64s()[0], true
	}
	return 0, false
}

// IntValues reads an int32 or int64 tensor as []int64; it reports false for
// another dtype.
func IntValues(t *tensor.Tensor) ([]int64, bool) {
	switch t.DType() {
	case tensor.Int32:
		v := t.Int32s()
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out, true
	case tensor.Int64:
		return append([]int64(nil), t.Int64s()...), true
	}
	return nil, false
}

// intValuesInto is IntValues appending to buf, so that a caller's array
// can hold the values.
func intValuesInto(buf []int64, t *tensor.Tensor) ([]int64, bool) {
	switch t.DType() {
	case tensor.Int32:
		for _, x := range t.Int32s() {
			buf = append(buf, int64(x))
		}
		return buf, true
	case tensor.Int64:
		return append(buf, t.Int64s()...), true
	}
	return nil, false
}
