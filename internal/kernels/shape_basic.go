package kernels

import (
	"context"
	"math"
	"slices"

	"inferd/internal/tensor"
)

func init() {
	Register("Reshape", buildReshape)
	Register("Squeeze", buildSqueeze)
	Register("ExpandDims", buildExpandDims)
	Register("Shape", buildShape)
	Register("ShapeN", buildShapeN)
	Register("Size", buildSize)
	Register("Rank", buildRank)
	Register("Fill", buildFill)
	Register("Range", buildRange)
	Register("ZerosLike", buildZerosLike)
	Register("OnesLike", buildOnesLike)
	Register("BroadcastTo", buildBroadcastTo)
	Register("Transpose", buildTranspose)
}

func single(t *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{t} }

// buildReshape: Reshape(tensor, shape); one dimension of shape may be -1
// and is inferred. The output shares the input's storage.
func buildReshape(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		if in[1].Rank() > 1 {
			return nil, n.Errorf(ErrInvalidArgument, "shape must be a vector, got shape %v", in[1].Shape())
		}
		var dimsBuf [MaxDimsRank]int64
		dims, ok := intValuesInto(dimsBuf[:0], in[1])
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "%s must be int32 or int64, got %v", "shape", in[1].DType())
		}
		var outBuf [MaxDimsRank]int
		out := tensor.Shape(outBuf[:0])
		if len(dims) > len(outBuf) {
			out = make(tensor.Shape, len(dims))
		} else {
			out = out[:len(dims)]
		}
		unknown := -1
		known := 1
		for i, d := range dims {
			switch {
			case d == -1:
				if unknown >= 0 {
					return nil, n.Errorf(ErrInvalidArgument, "only one input size may be -1, not both %d and %d", unknown, i)
				}
				unknown = i
			case d < 0:
				return nil, n.Errorf(ErrInvalidArgument, "size %d must be non-negative, not %d", i, d)
			default:
				if d > 0 && int64(known) > maxOutputElements/d {
					return nil, n.Errorf(ErrInvalidArgument, "requested shape %v is too large", slices.Clone(dims))
				}
				out[i] = int(d)
				known *= int(d)
			}
		}
		total := in[0].Len()
		if unknown >= 0 {
			if known == 0 {
				return nil, n.Errorf(ErrInvalidArgument, "Reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero")
			}
			if total%known != 0 {
				return nil, n.Errorf(ErrInvalidArgument, "input to reshape is a tensor with %d values, but the requested shape requires a multiple of %d", total, known)
			}
			out[unknown] = total / known
		} else if known != total {
			return nil, n.Errorf(ErrInvalidArgument, "input to reshape is a tensor with %d values, but the requested shape has %d", total, known)
		}
		r, err := View(ctx, in[0], out)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		return Result(ctx, r), nil
	}), nil
}

// buildSqueeze removes the size-1 dimensions listed in squeeze_dims, or all
// of them when the list is empty.
func buildSqueeze(n Node) (Kernel, error) {
	dims := attrInts(n, "squeeze_dims", nil)
	if dims == nil {
		dims = attrInts(n, "axis", nil)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		drop := make([]bool, len(s))
		for _, d := range dims {
			a, ok := normAxis(d, len(s))
			if !ok {
				return nil, n.Errorf(ErrInvalidArgument, "tried to squeeze dim index %d for tensor with %d dimensions", d, len(s))
			}
			if s[a] != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "can not squeeze dim[%d], expected a dimension of 1, got %d", a, s[a])
			}
			drop[a] = true
		}
		out := tensor.Shape{}
		for i, d := range s {
			if len(dims) == 0 && d == 1 || drop[i] {
				continue
			}
			out = append(out, d)
		}
		r, _ := in[0].Reshaped(out)
		return Result(ctx, r), nil
	}), nil
}

// buildExpandDims inserts a dimension of size 1 at index dim (in
// [-rank-1, rank]).
func buildExpandDims(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		d, err := scalarInput(n, "dim", in[1])
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		r := int64(len(s))
		if d < -r-1 || d > r {
			return nil, n.Errorf(ErrInvalidArgument, "tried to expand dim index %d for tensor with %d dimensions", d, r)
		}
		if d < 0 {
			d += r + 1
		}
		out := make(tensor.Shape, 0, len(s)+1)
		out = append(append(append(out, s[:d]...), 1), s[d:]...)
		t, _ := in[0].Reshaped(out)
		return Result(ctx, t), nil
	}), nil
}

func buildShape(n Node) (Kernel, error) {
	dt, err := outType(n, "out_type")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		return Result(ctx, shapeTensor(dt, in[0].Shape())), nil
	}), nil
}

func shapeTensor(dt tensor.DType, s tensor.Shape) *tensor.Tensor {
	v := make([]int64, len(s))
	for i, d := range s {
		v[i] = int64(d)
	}
	return intTensor(dt, v)
}

func buildShapeN(n Node) (Kernel, error) {
	dt, err := outType(n, "out_type")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, len(in)); err != nil {
			return nil, err
		}
		out := make([]*tensor.Tensor, len(in))
		for i, t := range in {
			out[i] = shapeTensor(dt, t.Shape())
		}
		return out, nil
	}), nil
}

func buildSize(n Node) (Kernel, error) {
	dt, err := outType(n, "out_type")
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		size := int64(in[0].Len())
		if dt == tensor.Int32 && size > math.MaxInt32 {
			return nil, n.Errorf(ErrInvalidArgument, "number of elements was larger than representable by 32-bit output type")
		}
		return Result(ctx, scalarOf(dt, size)), nil
	}), nil
}

// scalarOf returns an int32 or int64 scalar.
func scalarOf(dt tensor.DType, v int64) *tensor.Tensor {
	if dt == tensor.Int64 {
		return tensor.MustFromSlice(tensor.Shape{}, []int64{v})
	}
	return tensor.MustFromSlice(tensor.Shape{}, []int32{int32(v)})
}

func buildRank(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		return Result(ctx, scalarOf(tensor.Int32, int64(in[0].Rank()))), nil
	}), nil
}

// buildFill: Fill(dims, value) broadcasts the scalar value to shape dims.
func buildFill(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		if in[0].Rank() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "dims must be a vector, got shape %v", in[0].Shape())
		}
		if in[1].Rank() != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "value must be a scalar, got shape %v", in[1].Shape())
		}
		dims, err := intInput(n, "dims", in[0])
		if err != nil {
			return nil, err
		}
		s, err := shapeFromValues(n, "dims", dims)
		if err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[1].DType(), s)
		if m := s.NumElements(); m > 0 {
			e.fillRun(0, asElems(in[1]), 0, m)
		}
		return Result(ctx, out), nil
	}), nil
}

// buildRange: Range(start, limit, delta) of dtype Tidx.
func buildRange(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		dt := in[0].DType()
		for i, t := range in[:3] {
			if t.Len() != 1 || t.Rank() > 1 {
				return nil, n.Errorf(ErrInvalidArgument, "input %d must be a scalar, got shape %v", i, t.Shape())
			}
			if t.DType() != dt {
				return nil, n.Errorf(ErrInvalidArgument, "inputs have dtypes %v and %v", dt, t.DType())
			}
		}
		switch dt {
		case tensor.Int32:
			return rangeInt(n, int64(in[0].Int32s()[0]), int64(in[1].Int32s()[0]), int64(in[2].Int32s()[0]), dt)
		case tensor.Int64:
			return rangeInt(n, in[0].Int64s()[0], in[1].Int64s()[0], in[2].Int64s()[0], dt)
		case tensor.Float32:
			return rangeFloat(n, float64(in[0].Float32s()[0]), float64(in[1].Float32s()[0]), float64(in[2].Float32s()[0]), dt)
		case tensor.Float64:
			return rangeFloat(n, in[0].Float64s()[0], in[1].Float64s()[0], in[2].Float64s()[0], dt)
		}
		return nil, n.Errorf(ErrUnsupported, "Range of %v", dt)
	}), nil
}

func checkRange(n Node, startLELimit, startGELimit, deltaPos, deltaZero bool) error {
	switch {
	case deltaZero:
		return n.Errorf(ErrInvalidArgument, "Requires delta != 0")
	case deltaPos && !startLELimit:
		return n.Errorf(ErrInvalidArgument, "Requires start <= limit when delta > 0")
	case !deltaPos && !startGELimit:
		return n.Errorf(ErrInvalidArgument, "Requires start >= limit when delta < 0")
	}
	return nil
}

func rangeInt(n Node, start, limit, delta int64, dt tensor.DType) ([]*tensor.Tensor, error) {
	if err := checkRange(n, start <= limit, start >= limit, delta > 0, delta == 0); err != nil {
		return nil, err
	}
	span, step := limit-start, delta
	if span < 0 {
		span, step = -span, -step
	}
	size := (span + step - 1) / step
	if size > maxOutputElements {
		return nil, n.Errorf(ErrInvalidArgument, "Range of %d elements is too large", size)
	}
	v := make([]int64, size)
	for i := range v {
		v[i] = start + int64(i)*delta
	}
	return single(intTensor(dt, v)), nil
}

func rangeFloat(n Node, start, limit, delta float64, dt tensor.DType) ([]*tensor.Tensor, error) {
	if err := checkRange(n, start <= limit, start >= limit, delta > 0, delta == 0); err != nil {
		return nil, err
	}
	sz := math.Ceil(math.Abs((limit - start) / delta))
	if dt == tensor.Float32 {
		// The size is computed in the op's own type.
		sz = float64(float32(math.Ceil(float64(abs32((float32(limit) - float32(start)) / float32(delta))))))
	}
	if math.IsNaN(sz) || sz > maxOutputElements {
		return nil, n.Errorf(ErrInvalidArgument, "Range of %v elements is invalid", sz)
	}
	size := int(sz)
	if dt == tensor.Float32 {
		// TensorFlow computes start + i*delta in the op's own type.
		v := make([]float32, size)
		s, d := float32(start), float32(delta)
		for i := range v {
			v[i] = s + float32(i)*d
		}
		return single(tensor.MustFromSlice(tensor.Shape{size}, v)), nil
	}
	v := make([]float64, size)
	for i := range v {
		v[i] = start + float64(i)*delta
	}
	return single(tensor.MustFromSlice(tensor.Shape{size}, v)), nil
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

func buildZerosLike(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		if in[0].DType() == tensor.String {
			return nil, n.Errorf(ErrUnsupported, "ZerosLike of strings")
		}
		return Result(ctx, AllocZeroed(ctx, in[0].DType(), in[0].Shape())), nil
	}), nil
}

func buildOnesLike(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		out := Alloc(ctx, in[0].DType(), in[0].Shape())
		switch v := out.Data().(type) {
		case []float32:
			fillAll(v, 1)
		case []float64:
			fillAll(v, 1)
		case []int8:
			fillAll(v, 1)
		case []uint8:
			fillAll(v, 1)
		case []int32:
			fillAll(v, 1)
		case []int64:
			fillAll(v, 1)
		case []bool:
			fillAll(v, true)
		case []int16:
			fillAll(v, 1)
		case []uint16:
			fillAll(v, 1)
		case []uint32:
			fillAll(v, 1)
		case []uint64:
			fillAll(v, 1)
		case []tensor.F16:
			fillAll(v, tensor.F16FromFloat32(1))
		case []tensor.BF16:
			fillAll(v, tensor.BF16FromFloat32(1))
		default:
			return nil, n.Errorf(ErrUnsupported, "OnesLike of %v", in[0].DType())
		}
		return Result(ctx, out), nil
	}), nil
}

func fillAll[T any](v []T, x T) {
	for i := range v {
		v[i] = x
	}
}

// buildBroadcastTo: BroadcastTo(input, shape) under NumPy rules; the
// result has exactly the requested shape.
func buildBroadcastTo(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		dims, err := intInput(n, "shape", in[1])
		if err != nil {
			return nil, err
		}
		target, err := shapeFromValues(n, "shape", dims)
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		ok := len(s) <= len(target)
		for i := 0; ok && i < len(s); i++ {
			d, t := s[len(s)-1-i], target[len(target)-1-i]
			ok = d == t || d == 1
		}
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "unable to broadcast tensor of shape %v to tensor of shape %v", s, target)
		}
		return Result(ctx, broadcastCopy(ctx, in[0], target)), nil
	}), nil
}

// broadcastCopy materializes t broadcast to shape (which t must broadcast to).
func broadcastCopy(ctx context.Context, t *tensor.Tensor, shape tensor.Shape) *tensor.Tensor {
	out, e := newElems(ctx, t.DType(), shape)
	stridedCopy(e, shape, asElems(t), 0, BroadcastStrides(t.Shape(), shape))
	return out
}

// buildTranspose: Transpose(x, perm); output dimension i is input
// dimension perm[i].
func buildTranspose(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		perm, err := intInput(n, "perm", in[1])
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(perm) != len(s) || in[1].Rank() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "transpose expects a vector of size %d. But input(1) is a vector of size %d", len(s), len(perm))
		}
		seen := make([]bool, len(s))
		for _, p := range perm {
			if p < 0 || p >= int64(len(s)) || seen[p] {
				return nil, n.Errorf(ErrInvalidArgument, "%v is not a valid permutation of %d dimensions", perm, len(s))
			}
			seen[p] = true
		}
		inStrides := rowMajorStrides(s)
		outShape := make(tensor.Shape, len(s))
		strides := make([]int, len(s))
		identity := true
		for i, p := range perm {
			outShape[i] = s[p]
			strides[i] = inStrides[p]
			identity = identity && p == int64(i)
		}
		if identity {
			return Result(ctx, in[0]), nil
		}
		out, e := newElems(ctx, in[0].DType(), outShape)
		stridedCopy(e, outShape, asElems(in[0]), 0, strides)
		return Result(ctx, out), nil
	}), nil
}
