package kernels

import (
	"context"
	"fmt"

	"inferd/internal/tensor"
)

// elems is a tensor's backing slice seen without its element type, so that
// the layout kernels (which only move elements) are written once for every
// dtype. String elements are shared, not deep-copied: no kernel mutates an
// input's bytes.
type elems interface {
	// copyRun sets dst[di:di+n] to src[si:si+n].
	copyRun(di int, src elems, si, n int)
	// strideRun sets dst[di+k] to src[si+k*stride] for k < n; stride may be
	// negative or zero.
	strideRun(di int, src elems, si, n, stride int)
	// fillRun sets dst[di:di+n] to src[si].
	fillRun(di int, src elems, si, n int)
}

type elemSlice[T any] []T

func (d elemSlice[T]) copyRun(di int, src elems, si, n int) {
	copy(d[di:di+n], src.(elemSlice[T])[si:si+n])
}

func (d elemSlice[T]) strideRun(di int, src elems, si, n, stride int) {
	s := src.(elemSlice[T])
	if stride == 1 {
		copy(d[di:di+n], s[si:si+n])
		return
	}
	out := d[di : di+n]
	for k := range out {
		out[k] = s[si+k*stride]
	}
}

func (d elemSlice[T]) fillRun(di int, src elems, si, n int) {
	v := src.(elemSlice[T])[si]
	out := d[di : di+n]
	for k := range out {
		out[k] = v
	}
}

// asElems wraps t's backing slice.
func asElems(t *tensor.Tensor) elems {
	switch v := t.Data().(type) {
	case []float32:
		return elemSlice[float32](v)
	case []float64:
		return elemSlice[float64](v)
	case []int8:
		return elemSlice[int8](v)
	case []uint8:
		return elemSlice[uint8](v)
	case []int32:
		return elemSlice[int32](v)
	case []int64:
		return elemSlice[int64](v)
	case []bool:
		return elemSlice[bool](v)
	case [][]byte:
		return elemSlice[[]byte](v)
	case []int16:
		return elemSlice[int16](v)
	case []uint16:
		return elemSlice[uint16](v)
	case []uint32:
		return elemSlice[uint32](v)
	case []uint64:
		return elemSlice[uint64](v)
	case []tensor.F16:
		return elemSlice[tensor.F16](v)
	case []tensor.BF16:
		return elemSlice[tensor.BF16](v)
	}
	panic(fmt.Sprintf("kernels: no element access for %T", t.Data()))
}

// newElems allocates a tensor of dtype dt and shape through ctx (see Alloc:
// the caller must write every element) and wraps its storage.
func newElems(ctx context.Context, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, elems) {
	t := Alloc(ctx, dt, shape)
	return t, asElems(t)
}

// rowMajorStrides returns the element strides of a row-major shape.
func rowMajorStrides(s tensor.Shape) []int {
	st := make([]int, len(s))
	acc := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = acc
		acc *= s[i]
	}
	return st
}

// stridedCopy fills dst (of shape outShape, all of it) with
// src[base + sum(idx[i]*strides[i])] for every index idx of outShape.
// Strides may be negative (reversal) or zero (broadcast).
func stridedCopy(dst elems, outShape tensor.Shape, src elems, base int, strides []int) {
	n := outShape.NumElements()
	if n == 0 {
		return
	}
	r := len(outShape)
	if r == 0 {
		dst.copyRun(0, src, base, 1)
		return
	}
	inner, innerStride := outShape[r-1], strides[r-1]
	idx := make([]int, r-1)
	off := base
	for di := 0; di < n; di += inner {
		switch innerStride {
		case 0:
			dst.fillRun(di, src, off, inner)
		case 1:
			dst.copyRun(di, src, off, inner)
		default:
			dst.strideRun(di, src, off, inner, innerStride)
		}
		// Advance the odometer over the outer dimensions.
		for i := r - 2; i >= 0; i-- {
			idx[i]++
			off += strides[i]
			if idx[i] < outShape[i] {
				break
			}
			off -= idx[i] * strides[i]
			idx[i] = 0
		}
	}
}

// normAxis maps a possibly negative axis into [0, rank) or reports false.
func normAxis(axis int64, rank int) (int, bool) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, false
	}
	return int(axis), true
}

// intInput reads an int32 or int64 tensor as []int64 for shape-like inputs.
func intInput(n Node, what string, t *tensor.Tensor) ([]int64, error) {
	v, ok := IntValues(t)
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "%s must be int32 or int64, got %v", what, t.DType())
	}
	return v, nil
}

// scalarInput reads a one-element int32 or int64 tensor.
func scalarInput(n Node, what string, t *tensor.Tensor) (int64, error) {
	v, ok := scalarInt(t)
	if !ok {
		return 0, n.Errorf(ErrInvalidArgument, "%s must be an int32 or int64 scalar, got %v", what, t)
	}
	return v, nil
}

// intTensor returns v as a vector of dtype dt (Int32 or Int64).
func intTensor(dt tensor.DType, v []int64) *tensor.Tensor {
	if dt == tensor.Int64 {
		return tensor.MustFromSlice(tensor.Shape{len(v)}, append([]int64(nil), v...))
	}
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return tensor.MustFromSlice(tensor.Shape{len(out)}, out)
}

// outType reads an out_type-style attribute that must be int32 or int64.
func outType(n Node, name string) (tensor.DType, error) {
	dt, ok := attrType(n, name)
	if !ok {
		return tensor.Int32, nil
	}
	if dt != tensor.Int32 && dt != tensor.Int64 {
		return 0, n.Errorf(ErrUnsupported, "%s=%v (want int32 or int64)", name, dt)
	}
	return dt, nil
}

// maxOutputElements bounds the outputs of ops whose size comes from input
// values (Fill, Range, Tile, Pad, BroadcastTo), so a hostile request cannot
// ask for an absurd allocation.
const maxOutputElements = 1 << 31

// shapeFromValues validates dims as a shape.
func shapeFromValues(n Node, what string, dims []int64) (tensor.Shape, error) {
	s := make(tensor.Shape, len(dims))
	total := int64(1)
	for i, d := range dims {
		if d < 0 {
			return nil, n.Errorf(ErrInvalidArgument, "%s has a negative dimension: %v", what, dims)
		}
		if d > 0 && total > maxOutputElements/d {
			return nil, n.Errorf(ErrInvalidArgument, "%s %v is too large", what, dims)
		}
		total *= d
		s[i] = int(d)
	}
	return s, nil
}

// checkSize verifies that a computed output shape is not absurdly large.
func checkSize(n Node, s tensor.Shape) error {
	total := int64(1)
	for _, d := range s {
		if d > 0 && total > maxOutputElements/int64(d) {
			return n.Errorf(ErrInvalidArgument, "output shape %v is too large", s)
		}
		total *= int64(d)
	}
	return nil
}
