package kernels

import (
	"context"
	"math"
	"slices"

	"inferd/internal/tensor"
)

func init() {
	for _, op := range []string{"Sum", "Mean", "Max", "Min", "Prod"} {
		Register(op, buildReduce)
	}
	Register("All", buildReduceBool)
	Register("Any", buildReduceBool)
	Register("ArgMax", buildArgReduce)
	Register("ArgMin", buildArgReduce)
}

// reductionAxes reads the reduction_indices input against a tensor of
// rank r: a scalar or vector of int32/int64, negative values counting from
// the end, duplicates allowed. It returns a mask of reduced dimensions.
func reductionAxes(axes *tensor.Tensor, r int) ([]bool, error) {
	return reductionAxesInto(nil, axes, r)
}

// reductionAxesInto is reductionAxes building the mask in buf's storage
// when it has room, so that a caller's array can hold it.
func reductionAxesInto(buf []bool, axes *tensor.Tensor, r int) ([]bool, error) {
	var n int
	switch axes.DType() {
	case tensor.Int32, tensor.Int64:
		n = axes.Len()
	default:
		return nil, errorf("reduction_indices must be an int32 or int64 scalar or vector, got %v", axes)
	}
	if axes.Rank() > 1 {
		return nil, errorf("reduction_indices must be an int32 or int64 scalar or vector, got %v", axes)
	}
	mask := buf[:0]
	if cap(mask) < r {
		mask = make([]bool, 0, r)
	}
	mask = mask[:r]
	clear(mask)
	for i := range n {
		var a int64
		if axes.DType() == tensor.Int32 {
			a = int64(axes.Int32s()[i])
		} else {
			a = axes.Int64s()[i]
		}
		if a < -int64(r) || a >= int64(r) {
			return nil, errorf("invalid reduction dimension %d for input of rank %d", a, r)
		}
		if a < 0 {
			a += int64(r)
		}
		mask[a] = true
	}
	return mask, nil
}

// reducedShapes returns the kept shape (reduced dimensions set to 1, which
// broadcasts back to the input) and the output shape per keepDims.
func reducedShapes(in tensor.Shape, mask []bool, keepDims bool) (keep, out tensor.Shape) {
	return reducedShapesInto(in, mask, keepDims, nil, tensor.Shape{})
}

// reducedShapesInto is reducedShapes building keep and out in the storage
// of keepBuf and outBuf when they have room.
func reducedShapesInto(in tensor.Shape, mask []bool, keepDims bool, keepBuf, outBuf tensor.Shape) (keep, out tensor.Shape) {
	keep = append(keepBuf[:0], in...)
	out = outBuf[:0]
	for d, red := range mask {
		if red {
			keep[d] = 1
			if keepDims {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, in[d])
	}
	return keep, out
}

// reduceInto folds x into acc (laid out in the kept shape) with add.
func reduceInto[T any, A any](x []T, in, keep tensor.Shape, acc []A, add func(A, T) A) {
	forEachRun(in, []tensor.Shape{keep}, func(xo int, offs []int, n int, steps []int) {
		o := offs[0]
		src := x[xo : xo+n]
		if steps[0] == 0 {
			a := acc[o]
			for _, v := range src {
				a = add(a, v)
			}
			acc[o] = a
			return
		}
		dst := acc[o : o+n]
		for j, v := range src {
			dst[j] = add(dst[j], v)
		}
	})
}

// dtReduceTypes are the dtypes Sum, Mean, Prod, Max and Min take (uint64
// is left out: its accumulation in int64 would compare and divide wrongly;
// float16 and bfloat16 come through dtHalfAdapter).
var dtReduceTypes = append(slices.Clone(numericTypes), tensor.Int16, tensor.Uint16, tensor.Uint32)

func buildReduce(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", dtReduceTypes...); err != nil {
		return nil, err
	}
	keepDims := attrBool(n, "keep_dims", false)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, dtReduceTypes...); err != nil {
			return nil, err
		}
		var maskBuf [MaxDimsRank]bool
		mask, err := reductionAxesInto(maskBuf[:], in[1], x.Rank())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		var keepBuf, outBuf [MaxDimsRank]int
		keep, outShape := reducedShapesInto(x.Shape(), mask, keepDims, keepBuf[:], outBuf[:])
		count := 1
		for d, red := range mask {
			if red {
				count *= x.Shape()[d]
			}
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = reduceFloat[float32](ctx, n.Op, x, keep, outShape, count)
		case tensor.Float64:
			res = reduceFloat[float64](ctx, n.Op, x, keep, outShape, count)
		case tensor.Int8:
			res = reduceInt[int8](ctx, n.Op, x, keep, outShape, count, math.MinInt8, math.MaxInt8)
		case tensor.Uint8:
			res = reduceInt[uint8](ctx, n.Op, x, keep, outShape, count, 0, math.MaxUint8)
		case tensor.Int32:
			res = reduceInt[int32](ctx, n.Op, x, keep, outShape, count, math.MinInt32, math.MaxInt32)
		case tensor.Int64:
			res = reduceInt[int64](ctx, n.Op, x, keep, outShape, count, math.MinInt64, math.MaxInt64)
		case tensor.Int16:
			res = reduceInt[int16](ctx, n.Op, x, keep, outShape, count, math.MinInt16, math.MaxInt16)
		case tensor.Uint16:
			res = reduceInt[uint16](ctx, n.Op, x, keep, outShape, count, 0, math.MaxUint16)
		case tensor.Uint32:
			res = reduceInt[uint32](ctx, n.Op, x, keep, outShape, count, 0, math.MaxUint32)
		}
		return Result(ctx, res), nil
	}), nil
}

// reduceFloat reduces in float64 (so Sum and Mean are at least as accurate
// as TensorFlow's float32 accumulation). An empty Mean is NaN, an empty
// Max is -Inf and an empty Min +Inf, as in TensorFlow.
func reduceFloat[T Float](ctx context.Context, op string, x *tensor.Tensor, keep, outShape tensor.Shape, count int) *tensor.Tensor {
	if xf, ok := any(Slice[T](x)).([]float32); ok && op == "Max" {
		if res := reduceMaxF32(ctx, xf, x.Shape(), keep, outShape); res != nil {
			return res
		}
	}
	acc := scratch[float64](ctx, keep.NumElements())
	var add func(a float64, v T) float64
	init := 0.0
	switch op {
	case "Sum", "Mean":
		add = func(a float64, v T) float64 { return a + float64(v) }
	case "Prod":
		init = 1
		add = func(a float64, v T) float64 { return a * float64(v) }
	case "Max":
		init = math.Inf(-1)
		add = func(a float64, v T) float64 {
			if f := float64(v); f > a || math.IsNaN(f) {
				return f
			}
			return a
		}
	case "Min":
		init = math.Inf(1)
		add = func(a float64, v T) float64 {
			if f := float64(v); f < a || math.IsNaN(f) {
				return f
			}
			return a
		}
	}
	for i := range acc {
		acc[i] = init
	}
	reduceInto(Slice[T](x), x.Shape(), keep, acc, add)
	res, o := NewLikeCtx[T](ctx, x.DType(), outShape)
	for i, a := range acc {
		if op == "Mean" {
			a /= float64(count)
		}
		o[i] = T(a)
	}
	return res
}

// reduceInt reduces integers in int64, wrapping back to T like
// TensorFlow's accumulation in T; Mean divides the wrapped sum by the
// count, truncating toward zero.
func reduceInt[T Integer](ctx context.Context, op string, x *tensor.Tensor, keep, outShape tensor.Shape, count int, lowest, highest int64) *tensor.Tensor {
	acc := scratch[int64](ctx, keep.NumElements())
	var add func(a int64, v T) int64
	init := int64(0)
	switch op {
	case "Sum", "Mean":
		add = func(a int64, v T) int64 { return a + int64(v) }
	case "Prod":
		init = 1
		add = func(a int64, v T) int64 { return a * int64(v) }
	case "Max":
		init = lowest
		add = func(a int64, v T) int64 { return max(a, int64(v)) }
	case "Min":
		init = highest
		add = func(a int64, v T) int64 { return min(a, int64(v)) }
	}
	for i := range acc {
		acc[i] = init
	}
	reduceInto(Slice[T](x), x.Shape(), keep, acc, add)
	res, o := NewLikeCtx[T](ctx, x.DType(), outShape)
	for i, a := range acc {
		v := T(a)
		if op == "Mean" && count > 0 {
			v = T(int64(v) / int64(count))
		}
		o[i] = v
	}
	return res
}

func buildReduceBool(n Node) (Kernel, error) {
	keepDims := attrBool(n, "keep_dims", false)
	all := n.Op == "All"
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, tensor.Bool); err != nil {
			return nil, err
		}
		var maskBuf [MaxDimsRank]bool
		mask, err := reductionAxesInto(maskBuf[:], in[1], x.Rank())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		var keepBuf, outBuf [MaxDimsRank]int
		keep, outShape := reducedShapesInto(x.Shape(), mask, keepDims, keepBuf[:], outBuf[:])
		res, o := NewLikeCtx[bool](ctx, tensor.Bool, outShape)
		for i := range o {
			o[i] = all
		}
		add := func(a, v bool) bool { return a || v }
		if all {
			add = func(a, v bool) bool { return a && v }
		}
		reduceInto(x.Bools(), x.Shape(), keep, o, add)
		return Result(ctx, res), nil
	}), nil
}

// dtArgTypes are the dtypes ArgMax and ArgMin take (float16 and
// bfloat16 through dtHalfAdapter).
var dtArgTypes = append(slices.Clone(numericTypes), dtWideInts...)

// buildArgReduce makes ArgMax and ArgMin over the axis given by input 1,
// returning the first index of the extreme value along it.
func buildArgReduce(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", dtArgTypes...); err != nil {
		return nil, err
	}
	outType := tensor.Int64
	if dt, ok := attrType(n, "output_type"); ok {
		if dt != tensor.Int32 && dt != tensor.Int64 {
			return nil, n.Errorf(ErrUnsupported, "output_type %v", dt)
		}
		outType = dt
	}
	isMax := n.Op == "ArgMax"
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, dtArgTypes...); err != nil {
			return nil, err
		}
		a, ok := scalarInt(in[1])
		r := int64(x.Rank())
		if !ok || in[1].Rank() > 1 {
			return nil, n.Errorf(ErrInvalidArgument, "dimension must be an int32 or int64 scalar")
		}
		if a < -r || a >= r {
			return nil, n.Errorf(ErrInvalidArgument, "expected dimension in the range [%d, %d), but got %d", -r, r, a)
		}
		if a < 0 {
			a += r
		}
		xs := x.Shape()
		axisLen := xs[a]
		if axisLen == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "reduction axis %d is empty in shape %v", a, xs)
		}
		outer, inner := 1, 1
		outShape := tensor.Shape{}
		for d, e := range xs {
			switch {
			case d < int(a):
				outer *= e
			case d > int(a):
				inner *= e
			}
			if d != int(a) {
				outShape = append(outShape, e)
			}
		}
		idx := make([]int, outer*inner)
		switch x.DType() {
		case tensor.Float32:
			argReduce(Slice[float32](x), outer, axisLen, inner, isMax, idx)
		case tensor.Float64:
			argReduce(Slice[float64](x), outer, axisLen, inner, isMax, idx)
		case tensor.Int8:
			argReduce(Slice[int8](x), outer, axisLen, inner, isMax, idx)
		case tensor.Uint8:
			argReduce(Slice[uint8](x), outer, axisLen, inner, isMax, idx)
		case tensor.Int32:
			argReduce(Slice[int32](x), outer, axisLen, inner, isMax, idx)
		case tensor.Int64:
			argReduce(Slice[int64](x), outer, axisLen, inner, isMax, idx)
		case tensor.Int16:
			argReduce(Slice[int16](x), outer, axisLen, inner, isMax, idx)
		case tensor.Uint16:
			argReduce(Slice[uint16](x), outer, axisLen, inner, isMax, idx)
		case tensor.Uint32:
			argReduce(Slice[uint32](x), outer, axisLen, inner, isMax, idx)
		case tensor.Uint64:
			argReduce(Slice[uint64](x), outer, axisLen, inner, isMax, idx)
		}
		out := Alloc(ctx, outType, outShape)
		for i, v := range idx {
			if outType == tensor.Int32 {
				out.Int32s()[i] = int32(v)
			} else {
				out.Int64s()[i] = int64(v)
			}
		}
		return Result(ctx, out), nil
	}), nil
}

func argReduce[T Real](x []T, outer, axisLen, inner int, isMax bool, idx []int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*axisLen*inner + i
			best, bi := x[base], 0
			for k := 1; k < axisLen; k++ {
				v := x[base+k*inner]
				if (isMax && v > best) || (!isMax && v < best) {
					best, bi = v, k
				}
			}
			idx[o*inner+i] = bi
		}
	}
}
