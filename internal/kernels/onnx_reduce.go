package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// The kernels in the onnx_reduce files implement ONNX ops to ONNX's own
// semantics, registered as "Onnx" + the ONNX op name. The importer passes
// the ONNX attributes through, "_opset" (the model's opset) and "_absent"
// (the indices of optional inputs left out, fed an empty tensor) included.

func init() {
	for _, op := range []string{"Sum", "Mean", "Max", "Min", "Prod", "L1", "L2", "LogSum", "LogSumExp", "SumSquare"} {
		Register("OnnxReduce"+op, rdBuildReduce(op))
	}
	Register("OnnxArgMax", rdBuildArg(true))
	Register("OnnxArgMin", rdBuildArg(false))
}

// rdNum is every Go element type of a numeric tensor but the half
// precision floats.
type rdNum interface {
	~float32 | ~float64 | ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64
}

// rdNumeric and rdFloats are the dtypes the kernels in the onnx_reduce
// files accept: every number, and every floating point number.
var (
	rdNumeric = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16,
		tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16, tensor.Int32, tensor.Uint32, tensor.Int64, tensor.Uint64}
	rdFloats = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16}
)

// rdIsFloat reports whether dt is a floating point dtype.
func rdIsFloat(dt tensor.DType) bool {
	return dt == tensor.Float32 || dt == tensor.Float64 || dt == tensor.Float16 || dt == tensor.BFloat16
}

// rdF64 returns t's elements as float64s: a copy for every dtype but
// float64, whose backing slice it returns (callers must not write it).
// It reports false for a dtype that is not a number.
func rdF64(t *tensor.Tensor) ([]float64, bool) {
	switch v := t.Data().(type) {
	case []float64:
		return v, true
	case []float32:
		return rdConv[float32, float64](v), true
	case []int8:
		return rdConv[int8, float64](v), true
	case []uint8:
		return rdConv[uint8, float64](v), true
	case []int16:
		return rdConv[int16, float64](v), true
	case []uint16:
		return rdConv[uint16, float64](v), true
	case []int32:
		return rdConv[int32, float64](v), true
	case []uint32:
		return rdConv[uint32, float64](v), true
	case []int64:
		return rdConv[int64, float64](v), true
	case []uint64:
		return rdConv[uint64, float64](v), true
	case []tensor.F16:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x.Float64()
		}
		return out, true
	case []tensor.BF16:
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = x.Float64()
		}
		return out, true
	}
	return nil, false
}

func rdConv[S rdNum, D rdNum](v []S) []D {
	out := make([]D, len(v))
	for i, x := range v {
		out[i] = D(x)
	}
	return out
}

// rdStore returns a tensor of dtype dt and shape holding v, converted
// (integers truncate toward zero, as a C cast does; half precision rounds
// to nearest even; a bool is whether the value is not zero).
func rdStore(ctx context.Context, dt tensor.DType, shape tensor.Shape, v []float64) *tensor.Tensor {
	t := Alloc(ctx, dt, shape)
	switch d := t.Data().(type) {
	case []float64:
		copy(d, v)
	case []float32:
		rdConvInto(d, v)
	case []int8:
		rdConvInto(d, v)
	case []uint8:
		rdConvInto(d, v)
	case []int16:
		rdConvInto(d, v)
	case []uint16:
		rdConvInto(d, v)
	case []int32:
		rdConvInto(d, v)
	case []uint32:
		rdConvInto(d, v)
	case []int64:
		rdConvInto(d, v)
	case []uint64:
		rdConvInto(d, v)
	case []tensor.F16:
		for i, x := range v {
			d[i] = tensor.F16FromFloat64(x)
		}
	case []tensor.BF16:
		for i, x := range v {
			d[i] = tensor.BF16FromFloat64(x)
		}
	case []bool:
		for i, x := range v {
			d[i] = x != 0
		}
	}
	return t
}

func rdConvInto[D rdNum](dst []D, v []float64) {
	for i, x := range v {
		dst[i] = D(x)
	}
}

// rdSplit returns the product of the dimensions before axis, the axis's
// extent and the product of those after it.
func rdSplit(s tensor.Shape, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for d := 0; d < axis; d++ {
		outer *= s[d]
	}
	for d := axis + 1; d < len(s); d++ {
		inner *= s[d]
	}
	return outer, s[axis], inner
}

// rdBuildReduce makes the ONNX Reduce<op> kernel. The axes come from the
// "axes" attribute, or from input 1 when given (ReduceSum from opset 13,
// the others from 18); none means every axis, unless noop_with_empty_axes
// makes the op the identity.
func rdBuildReduce(op string) Builder {
	return func(n Node) (Kernel, error) {
		keep := attrInt(n, "keepdims", 1) != 0
		noop := attrInt(n, "noop_with_empty_axes", 0) != 0
		attrAxes := attrInts(n, "axes", nil)
		absent := onnxAbsentOf(n)
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "data", x, rdNumeric...); err != nil {
				return nil, err
			}
			axes := attrAxes
			if absent.input(in, 1) != nil {
				v, ok := IntValues(in[1])
				if !ok {
					return nil, n.Errorf(ErrInvalidArgument, "axes must be int64, got %v", in[1].DType())
				}
				axes = v
			}
			if len(axes) == 0 && noop {
				return []*tensor.Tensor{shCopy(ctx, x)}, nil
			}
			mask := make([]bool, x.Rank())
			if len(axes) == 0 {
				for d := range mask {
					mask[d] = true
				}
			}
			for _, a := range axes {
				d, err := onnxAxis(n, a, x.Rank())
				if err != nil {
					return nil, err
				}
				mask[d] = true
			}
			res, err := rdReduce(ctx, op, x, mask, keep)
			if err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "%v", err)
			}
			return []*tensor.Tensor{res}, nil
		}), nil
	}
}

// rdFold calls f for every element of x (of shape in) with the index of
// its slot in acc, laid out in the kept shape keep, and stores the result
// there.
func rdFold[A any](x []A, in, keep tensor.Shape, acc []A, f func(a, v A, i int) A) {
	forEachRun(in, []tensor.Shape{keep}, func(xo int, offs []int, cnt int, steps []int) {
		o, st := offs[0], steps[0]
		for j := 0; j < cnt; j++ {
			acc[o+j*st] = f(acc[o+j*st], x[xo+j], o+j*st)
		}
	})
}

// rdReduce reduces x over the dimensions set in mask, computing in
// float64. An empty reduction gives the op's identity: 0 for the sums,
// 1 for Prod, -Inf (or the dtype's least value) for Max and +Inf (or the
// greatest) for Min, log(0) for the logarithms and NaN for Mean.
func rdReduce(ctx context.Context, op string, x *tensor.Tensor, mask []bool, keepDims bool) (*tensor.Tensor, error) {
	keep, outShape := reducedShapes(x.Shape(), mask, keepDims)
	count := 1
	for d, red := range mask {
		if red {
			count *= x.Shape()[d]
		}
	}
	if !rdIsFloat(x.DType()) {
		if res, ok := rdReduceInt(ctx, op, x, keep, outShape, count); ok {
			return res, nil
		}
	}
	acc := make([]float64, keep.NumElements())
	init, kind := 0.0, rdKSum
	switch op {
	case "Sum", "Mean", "LogSum":
	case "SumSquare", "L2":
		kind = rdKSq
	case "L1":
		kind = rdKAbs
	case "Prod":
		init, kind = 1, rdKProd
	case "Max", "LogSumExp":
		init, kind = math.Inf(-1), rdKMax
	case "Min":
		init, kind = math.Inf(1), rdKMin
	default:
		return nil, errorf("unknown reduction %s", op)
	}
	for i := range acc {
		acc[i] = init
	}
	switch d := x.Data().(type) {
	case []float32:
		rdAccum(d, x.Shape(), keep, acc, kind)
	case []float64:
		rdAccum(d, x.Shape(), keep, acc, kind)
	default:
		v, _ := rdF64(x)
		rdAccum(v, x.Shape(), keep, acc, kind)
	}
	switch op {
	case "Mean":
		for i := range acc {
			acc[i] /= float64(count)
		}
	case "L2":
		for i := range acc {
			acc[i] = math.Sqrt(acc[i])
		}
	case "LogSum":
		for i := range acc {
			acc[i] = math.Log(acc[i])
		}
	case "LogSumExp":
		v, _ := rdF64(x)
		m := acc
		sum := make([]float64, len(m))
		rdFold(v, x.Shape(), keep, sum, func(a, v float64, i int) float64 {
			if math.IsInf(m[i], 0) {
				return a + math.Exp(v)
			}
			return a + math.Exp(v-m[i])
		})
		for i := range sum {
			if math.IsInf(m[i], 0) {
				sum[i] = math.Log(sum[i])
				continue
			}
			sum[i] = math.Log(sum[i]) + m[i]
		}
		acc = sum
	case "Max", "Min":
		if !rdIsFloat(x.DType()) && count == 0 {
			lo, hi := rdIntRange(x.DType())
			for i := range acc {
				if op == "Max" {
					acc[i] = lo
				} else {
					acc[i] = hi
				}
			}
		}
	}
	return rdStore(ctx, x.DType(), outShape, acc), nil
}

// The accumulations of rdAccum.
const (
	rdKSum = iota
	rdKSq
	rdKAbs
	rdKProd
	rdKMax // NaN wins
	rdKMin // NaN wins
)

// rdAccum folds x (of shape in) into acc, laid out in the kept shape keep,
// in float64. A run that reduces into one slot is a tight loop.
func rdAccum[T rdNum](x []T, in, keep tensor.Shape, acc []float64, kind int) {
	forEachRun(in, []tensor.Shape{keep}, func(xo int, offs []int, cnt int, steps []int) {
		o, st := offs[0], steps[0]
		src := x[xo : xo+cnt]
		if st == 0 {
			acc[o] = rdRun(src, acc[o], kind)
			return
		}
		for j, v := range src {
			i := o + j*st
			acc[i] = rdStep(acc[i], float64(v), kind)
		}
	})
}

// rdRun folds src into a.
func rdRun[T rdNum](src []T, a float64, kind int) float64 {
	switch kind {
	case rdKSum:
		for _, v := range src {
			a += float64(v)
		}
	case rdKSq:
		for _, v := range src {
			a += float64(v) * float64(v)
		}
	case rdKAbs:
		for _, v := range src {
			a += math.Abs(float64(v))
		}
	case rdKProd:
		for _, v := range src {
			a *= float64(v)
		}
	default:
		for _, v := range src {
			a = rdStep(a, float64(v), kind)
		}
	}
	return a
}

// rdStep folds one value into a.
func rdStep(a, v float64, kind int) float64 {
	switch kind {
	case rdKSum:
		return a + v
	case rdKSq:
		return a + v*v
	case rdKAbs:
		return a + math.Abs(v)
	case rdKProd:
		return a * v
	case rdKMax:
		if v > a || v != v {
			return v
		}
	case rdKMin:
		if v < a || v != v {
			return v
		}
	}
	return a
}

// rdReduceInt computes the reductions that stay in the integers exactly,
// in int64 (wrapping as NumPy's integer sums do); Mean divides the sum,
// truncating. It reports false for the others, which go through float64.
func rdReduceInt(ctx context.Context, op string, x *tensor.Tensor, keep, outShape tensor.Shape, count int) (*tensor.Tensor, bool) {
	var f func(a, v int64, _ int) int64
	var init int64
	switch op {
	case "Sum", "Mean":
		f = func(a, v int64, _ int) int64 { return a + v }
	case "SumSquare":
		f = func(a, v int64, _ int) int64 { return a + v*v }
	case "L1":
		f = func(a, v int64, _ int) int64 {
			if v < 0 {
				return a - v
			}
			return a + v
		}
	case "Prod":
		init = 1
		f = func(a, v int64, _ int) int64 { return a * v }
	case "Max":
		lo, _ := rdIntRange(x.DType())
		init = int64(lo)
		f = func(a, v int64, _ int) int64 { return max(a, v) }
	case "Min":
		_, hi := rdIntRange(x.DType())
		init = int64(hi)
		if x.DType() == tensor.Int64 {
			init = math.MaxInt64
		}
		f = func(a, v int64, _ int) int64 { return min(a, v) }
	default:
		return nil, false
	}
	if op == "Mean" && count == 0 {
		return nil, false
	}
	if x.DType() == tensor.Uint64 && (op == "Mean" || op == "Max" || op == "Min") {
		return nil, false // unsigned order and division
	}
	var v []int64
	switch d := x.Data().(type) {
	case []int8:
		v = rdConv[int8, int64](d)
	case []uint8:
		v = rdConv[uint8, int64](d)
	case []int16:
		v = rdConv[int16, int64](d)
	case []uint16:
		v = rdConv[uint16, int64](d)
	case []int32:
		v = rdConv[int32, int64](d)
	case []uint32:
		v = rdConv[uint32, int64](d)
	case []int64:
		v = d
	case []uint64:
		v = rdConv[uint64, int64](d)
	default:
		return nil, false
	}
	acc := make([]int64, keep.NumElements())
	for i := range acc {
		acc[i] = init
	}
	rdFold(v, x.Shape(), keep, acc, f)
	if op == "Mean" {
		for i := range acc {
			acc[i] /= int64(count)
		}
	}
	t := Alloc(ctx, x.DType(), outShape)
	switch d := t.Data().(type) {
	case []int8:
		rdIntInto(d, acc)
	case []uint8:
		rdIntInto(d, acc)
	case []int16:
		rdIntInto(d, acc)
	case []uint16:
		rdIntInto(d, acc)
	case []int32:
		rdIntInto(d, acc)
	case []uint32:
		rdIntInto(d, acc)
	case []int64:
		copy(d, acc)
	case []uint64:
		rdIntInto(d, acc)
	}
	return t, true
}

func rdIntInto[D rdNum](dst []D, v []int64) {
	for i, x := range v {
		dst[i] = D(x)
	}
}

// rdIntRange is the least and greatest value of an integer dtype.
func rdIntRange(dt tensor.DType) (lo, hi float64) {
	switch dt {
	case tensor.Int8:
		return math.MinInt8, math.MaxInt8
	case tensor.Uint8:
		return 0, math.MaxUint8
	case tensor.Int16:
		return math.MinInt16, math.MaxInt16
	case tensor.Uint16:
		return 0, math.MaxUint16
	case tensor.Int32:
		return math.MinInt32, math.MaxInt32
	case tensor.Uint32:
		return 0, math.MaxUint32
	case tensor.Uint64:
		return 0, math.MaxUint64
	}
	return math.MinInt64, math.MaxInt64
}

// rdBuildArg makes ONNX ArgMax (isMax) and ArgMin: the int64 index of the
// first (or with select_last_index the last) extreme along axis (default
// 0), the axis kept as size 1 unless keepdims is 0. A NaN counts as the
// extreme, as in NumPy.
func rdBuildArg(isMax bool) Builder {
	return func(n Node) (Kernel, error) {
		axisAttr := attrInt(n, "axis", 0)
		keep := attrInt(n, "keepdims", 1) != 0
		last := attrInt(n, "select_last_index", 0) != 0
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "data", x, rdNumeric...); err != nil {
				return nil, err
			}
			axis, err := onnxAxis(n, axisAttr, x.Rank())
			if err != nil {
				return nil, err
			}
			outer, cnt, inner := rdSplit(x.Shape(), axis)
			if cnt == 0 {
				return nil, n.Errorf(ErrInvalidArgument, "cannot take the arg extreme of an empty axis (shape %v)", x.Shape())
			}
			var outShape tensor.Shape
			for d, e := range x.Shape() {
				if d != axis {
					outShape = append(outShape, e)
				} else if keep {
					outShape = append(outShape, 1)
				}
			}
			res, o := NewLikeCtx[int64](ctx, tensor.Int64, outShape)
			switch d := x.Data().(type) {
			case []float32:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []float64:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []int8:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []uint8:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []int32:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []int64:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []int16:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []uint16:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []uint32:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			case []uint64:
				rdArg(d, o, outer, cnt, inner, isMax, last)
			default:
				v, _ := rdF64(x)
				rdArg(v, o, outer, cnt, inner, isMax, last)
			}
			return []*tensor.Tensor{res}, nil
		}), nil
	}
}

// rdArg writes to o the index along the middle dimension of v (outer ×
// cnt × inner) of each extreme. A NaN (x != x) beats every number.
func rdArg[T rdNum](v []T, o []int64, outer, cnt, inner int, isMax, last bool) {
	better := func(c, b T) bool {
		if b != b {
			return false
		}
		if c != c {
			return true
		}
		if isMax {
			return c > b || last && c == b
		}
		return c < b || last && c == b
	}
	for i := 0; i < outer; i++ {
		for k := 0; k < inner; k++ {
			base := i*cnt*inner + k
			best, bi := v[base], 0
			for j := 1; j < cnt; j++ {
				if c := v[base+j*inner]; better(c, best) {
					best, bi = c, j
				}
			}
			o[i*inner+k] = int64(bi)
		}
	}
}
