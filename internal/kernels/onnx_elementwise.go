package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// The element-wise kernels below follow ONNX semantics (the ONNX importer
// emits them as "Onnx<Op>" nodes, with the ONNX attributes and "_opset");
// the element-wise ONNX ops whose semantics a TensorFlow kernel already
// has are mapped onto that kernel instead and do not appear here.

func init() {
	Register("OnnxEwAlign", ewBuildAlign)
	for op, mk := range ewActivations {
		Register("Onnx"+op, ewBuildActivation(mk))
	}
	Register("OnnxIsNaN", ewBuildIsNaN)
	Register("OnnxIsInf", ewBuildIsInf)
	Register("OnnxPow", ewBuildPow)
	Register("OnnxBitShift", ewBuildBitShift)
	for _, op := range []string{"Max", "Min", "Sum", "Mean"} {
		Register("Onnx"+op, ewBuildVariadic(op))
	}
	Register("OnnxClip", ewBuildClip)
	Register("OnnxPRelu", ewBuildPRelu)
}

// ewBuildAlign makes OnnxEwAlign(a, b), the legacy (opset < 7) broadcast of
// a binary op with an explicit axis: b's dimensions line up with a's from
// dimension axis on, so b gains trailing dimensions of 1 until it ends
// where a does. Its output is b so reshaped (sharing b's data).
func ewBuildAlign(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", 0)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		ax := axis
		if ax < 0 {
			ax += int64(a.Rank())
		}
		pad := int64(a.Rank()) - ax - int64(b.Rank())
		if ax < 0 || pad < 0 {
			return nil, n.Errorf(ErrInvalidArgument, "axis %d does not place shape %v inside %v", axis, b.Shape(), a.Shape())
		}
		shape := append(b.Shape().Clone(), make(tensor.Shape, pad)...)
		for i := b.Rank(); i < len(shape); i++ {
			shape[i] = 1
		}
		r, err := b.Reshaped(shape)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		return single(r), nil
	}), nil
}

// ewActivation is an element-wise function of one input configured by its
// node's attributes. Integer inputs are accepted only when integers is
// set; they are computed in float64 and truncated back.
type ewActivation struct {
	f        func(x float64) float64
	integers bool
}

// ewActivations are the ONNX activations without a TensorFlow twin (or
// whose attributes the twin does not take), with ONNX's defaults.
var ewActivations = map[string]func(n Node) ewActivation{
	"Elu": func(n Node) ewActivation {
		alpha := float64(attrFloat(n, "alpha", 1))
		return ewActivation{f: func(x float64) float64 {
			if x < 0 {
				return alpha * math.Expm1(x)
			}
			return x
		}}
	},
	"Selu": func(n Node) ewActivation {
		alpha := float64(attrFloat(n, "alpha", 1.67326319217681884765625))
		gamma := float64(attrFloat(n, "gamma", 1.05070102214813232421875))
		return ewActivation{f: func(x float64) float64 {
			if x <= 0 {
				return gamma * alpha * math.Expm1(x)
			}
			return gamma * x
		}}
	},
	"Celu": func(n Node) ewActivation {
		alpha := float64(attrFloat(n, "alpha", 1))
		return ewActivation{f: func(x float64) float64 {
			return max(0, x) + min(0, alpha*math.Expm1(x/alpha))
		}}
	},
	"HardSigmoid": func(n Node) ewActivation {
		alpha := float64(attrFloat(n, "alpha", 0.2))
		beta := float64(attrFloat(n, "beta", 0.5))
		return ewActivation{f: func(x float64) float64 { return max(0, min(1, alpha*x+beta)) }}
	},
	"HardSwish": func(n Node) ewActivation {
		return ewActivation{f: func(x float64) float64 { return x * max(0, min(1, x/6+0.5)) }}
	},
	"ThresholdedRelu": func(n Node) ewActivation {
		alpha := float64(attrFloat(n, "alpha", 1))
		return ewActivation{f: func(x float64) float64 {
			if x > alpha {
				return x
			}
			return 0
		}}
	},
	"Shrink": func(n Node) ewActivation {
		lambd := float64(attrFloat(n, "lambd", 0.5))
		bias := float64(attrFloat(n, "bias", 0))
		return ewActivation{integers: true, f: func(x float64) float64 {
			switch {
			case x < -lambd:
				return x + bias
			case x > lambd:
				return x - bias
			}
			return 0
		}}
	},
}

func ewBuildActivation(mk func(n Node) ewActivation) Builder {
	return func(n Node) (Kernel, error) {
		act := mk(n)
		allowed := dtWiden(floatTypes)
		if act.integers {
			allowed = dtWiden(numericTypes)
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "input", x, allowed...); err != nil {
				return nil, err
			}
			var res *tensor.Tensor
			switch x.DType() {
			case tensor.Float32:
				res = unaryFloat[float32](ctx, x, act.f)
			case tensor.Float64:
				res = unaryFloat[float64](ctx, x, act.f)
			case tensor.Int8:
				res = ewUnaryTrunc[int8](ctx, x, act.f)
			case tensor.Uint8:
				res = ewUnaryTrunc[uint8](ctx, x, act.f)
			case tensor.Int32:
				res = ewUnaryTrunc[int32](ctx, x, act.f)
			case tensor.Int64:
				res = ewUnaryTrunc[int64](ctx, x, act.f)
			case tensor.Int16:
				res = ewUnaryTrunc[int16](ctx, x, act.f)
			case tensor.Uint16:
				res = ewUnaryTrunc[uint16](ctx, x, act.f)
			case tensor.Uint32:
				res = ewUnaryTrunc[uint32](ctx, x, act.f)
			case tensor.Uint64:
				res = ewUnaryTrunc[uint64](ctx, x, act.f)
			case tensor.Float16:
				res = dtUnaryHalf[tensor.F16](ctx, x, act.f)
			case tensor.BFloat16:
				res = dtUnaryHalf[tensor.BF16](ctx, x, act.f)
			}
			return single(res), nil
		}), nil
	}
}

// ewUnaryTrunc applies f to integers in float64 and truncates the results
// back, as NumPy's astype does.
func ewUnaryTrunc[T Integer](ctx context.Context, x *tensor.Tensor, f func(float64) float64) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	for i, v := range Slice[T](x) {
		o[i] = T(floatToInt64(f(float64(v))))
	}
	return res
}

// ewPredicate maps a float tensor to bools through f.
func ewPredicate(ctx context.Context, n Node, in []*tensor.Tensor, f func(x float64) bool) ([]*tensor.Tensor, error) {
	if err := checkInputs(n, in, 1); err != nil {
		return nil, err
	}
	x := in[0]
	if err := checkDType(n, "input", x, dtWiden(floatTypes)...); err != nil {
		return nil, err
	}
	res, o := NewLikeCtx[bool](ctx, tensor.Bool, x.Shape())
	if v, ok := x.Data().([]float32); ok {
		for i, e := range v {
			o[i] = f(float64(e))
		}
	} else { // float64, read in place, or a 16-bit float, widened
		v, _ := rdF64(x)
		for i, e := range v {
			o[i] = f(e)
		}
	}
	return single(res), nil
}

func ewBuildIsNaN(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return ewPredicate(ctx, n, in, math.IsNaN)
	}), nil
}

// ewBuildIsInf makes IsInf, which by its attributes detects +Inf, -Inf or
// both (the default).
func ewBuildIsInf(n Node) (Kernel, error) {
	pos := attrInt(n, "detect_positive", 1) != 0
	neg := attrInt(n, "detect_negative", 1) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return ewPredicate(ctx, n, in, func(x float64) bool {
			return (pos && math.IsInf(x, 1)) || (neg && math.IsInf(x, -1))
		})
	}), nil
}

// ewBuildPow makes Pow(x, y): y may have another numeric dtype than x (from
// opset 12) and the result has x's. Float bases are raised in float64;
// integer bases to integer powers by repeated squaring (wrapping, with a
// negative power giving the truncated 1/x^-y), and to float powers in
// float64 truncated back, as NumPy's power followed by astype.
func ewBuildPow(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x, y := in[0], in[1]
		if err := checkDType(n, "base", x, ewPowTypes...); err != nil {
			return nil, err
		}
		if err := checkDType(n, "exponent", y, ewPowTypes...); err != nil {
			return nil, err
		}
		out, err := BroadcastShape(x.Shape(), y.Shape())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		yf, _ := rdF64(y)
		var yi []int64
		if !isFloat(y.DType()) && !dtIsHalf(y.DType()) {
			yi, _ = ewInt64s(y)
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = ewPowFloat[float32](ctx, x, y.Shape(), yf, out)
		case tensor.Float64:
			res = ewPowFloat[float64](ctx, x, y.Shape(), yf, out)
		case tensor.Int8:
			res = ewPowInt[int8](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Uint8:
			res = ewPowInt[uint8](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Int32:
			res = ewPowInt[int32](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Int64:
			res = ewPowInt[int64](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Int16:
			res = ewPowInt[int16](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Uint16:
			res = ewPowInt[uint16](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Uint32:
			res = ewPowInt[uint32](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Uint64:
			res = ewPowInt[uint64](ctx, x, y.Shape(), yf, yi, out)
		case tensor.Float16:
			res = dtPowHalf[tensor.F16](ctx, x, y.Shape(), yf, out)
		case tensor.BFloat16:
			res = dtPowHalf[tensor.BF16](ctx, x, y.Shape(), yf, out)
		}
		return single(res), nil
	}), nil
}

// ewPowTypes are the base and exponent dtypes Pow takes.
var ewPowTypes = dtWiden(numericTypes)

// dtPowHalf raises 16-bit float bases in float64, rounding once.
func dtPowHalf[T dtHalf](ctx context.Context, x *tensor.Tensor, ys tensor.Shape, y []float64, out tensor.Shape) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, x.DType(), out)
	broadcastBinary(out, x.Shape(), ys, Slice[T](x), y, o, func(a T, b float64) T {
		return from(math.Pow(float64(to(a)), b))
	})
	return res
}

func ewPowFloat[T Float](ctx context.Context, x *tensor.Tensor, ys tensor.Shape, y []float64, out tensor.Shape) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), out)
	broadcastBinary(out, x.Shape(), ys, Slice[T](x), y, o, func(a T, b float64) T {
		return T(math.Pow(float64(a), b))
	})
	return res
}

func ewPowInt[T Integer](ctx context.Context, x *tensor.Tensor, ys tensor.Shape, yf []float64, yi []int64, out tensor.Shape) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), out)
	if yi == nil {
		broadcastBinary(out, x.Shape(), ys, Slice[T](x), yf, o, func(a T, b float64) T {
			return T(floatToInt64(math.Pow(float64(a), b)))
		})
		return res
	}
	broadcastBinary(out, x.Shape(), ys, Slice[T](x), yi, o, func(a T, b int64) T {
		return T(ewIntPow(int64(a), b))
	})
	return res
}

// ewIntPow is x**y in wrapping int64 arithmetic; a negative y gives the
// truncation of 1/x**-y (0 unless x is 1 or -1; 0 for x == 0 too).
func ewIntPow(x, y int64) int64 {
	if y < 0 {
		switch x {
		case 1:
			return 1
		case -1:
			if y%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r, _ := intPow(x, y)
	return r
}

// ewInt64s returns t's integer elements as int64s; false for another dtype.
func ewInt64s(t *tensor.Tensor) ([]int64, bool) {
	switch v := t.Data().(type) {
	case []int64:
		return v, true
	case []int8:
		return rdConv[int8, int64](v), true
	case []uint8:
		return rdConv[uint8, int64](v), true
	case []int32:
		return rdConv[int32, int64](v), true
	case []int16:
		return rdConv[int16, int64](v), true
	case []uint16:
		return rdConv[uint16, int64](v), true
	case []uint32:
		return rdConv[uint32, int64](v), true
	case []uint64: // as their bit patterns
		return rdConv[uint64, int64](v), true
	}
	return nil, false
}

// ewBuildBitShift makes BitShift(x, y) with direction "LEFT" or "RIGHT":
// each element of x shifted by the matching element of y, both of one
// unsigned dtype (uint8, uint16, uint32 or uint64; signed integers shift
// their bit patterns as unsigned); a shift by the width or more gives 0.
func ewBuildBitShift(n Node) (Kernel, error) {
	dir := attrString(n, "direction", "")
	if dir != "LEFT" && dir != "RIGHT" {
		return nil, n.Errorf(ErrInvalidArgument, "direction %q (want LEFT or RIGHT)", dir)
	}
	left := dir == "LEFT"
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, ewShiftTypes); err != nil {
			return nil, err
		}
		out, err := BroadcastShape(in[0].Shape(), in[1].Shape())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		var res *tensor.Tensor
		switch in[0].DType() {
		case tensor.Uint8:
			res = ewShift[uint8, uint8](ctx, in[0], in[1], out, left)
		case tensor.Int8:
			res = ewShift[int8, uint8](ctx, in[0], in[1], out, left)
		case tensor.Int32:
			res = ewShift[int32, uint32](ctx, in[0], in[1], out, left)
		case tensor.Int64:
			res = ewShift[int64, uint64](ctx, in[0], in[1], out, left)
		case tensor.Uint16:
			res = ewShift[uint16, uint16](ctx, in[0], in[1], out, left)
		case tensor.Uint32:
			res = ewShift[uint32, uint32](ctx, in[0], in[1], out, left)
		case tensor.Uint64:
			res = ewShift[uint64, uint64](ctx, in[0], in[1], out, left)
		case tensor.Int16:
			res = ewShift[int16, uint16](ctx, in[0], in[1], out, left)
		}
		return single(res), nil
	}), nil
}

// ewShiftTypes are the dtypes BitShift takes.
var ewShiftTypes = dtWiden(intTypes)

func ewShift[T Integer, U uint8 | uint16 | uint32 | uint64](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, left bool) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T {
		s := uint64(U(y))
		if left {
			return T(U(x) << s)
		}
		return T(U(x) >> s)
	})
	return res
}

// ewBuildVariadic makes Max, Min, Sum and Mean over any number of inputs
// of one dtype, broadcast together (from opset 8; earlier opsets require
// equal shapes, which broadcast trivially). Max and Min propagate NaN.
// Mean takes floating point inputs only.
func ewBuildVariadic(op string) Builder {
	return func(n Node) (Kernel, error) {
		allowed := dtWiden(numericTypes)
		if op == "Mean" {
			allowed = dtWiden(floatTypes)
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if len(in) == 0 {
				return nil, n.Errorf(ErrInvalidArgument, "needs at least one input")
			}
			if err := checkInputs(n, in, len(in)); err != nil {
				return nil, err
			}
			shapes := make([]tensor.Shape, len(in))
			for i, t := range in {
				if err := checkDType(n, "input", t, allowed...); err != nil {
					return nil, err
				}
				if t.DType() != in[0].DType() {
					return nil, n.Errorf(ErrInvalidArgument, "input dtypes differ: %v and %v", in[0].DType(), t.DType())
				}
				shapes[i] = t.Shape()
			}
			out, err := BroadcastShapes(shapes...)
			if err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "%v", err)
			}
			var res *tensor.Tensor
			switch in[0].DType() {
			case tensor.Float32:
				res = ewFold[float32](ctx, op, in, out)
			case tensor.Float64:
				res = ewFold[float64](ctx, op, in, out)
			case tensor.Int8:
				res = ewFold[int8](ctx, op, in, out)
			case tensor.Uint8:
				res = ewFold[uint8](ctx, op, in, out)
			case tensor.Int32:
				res = ewFold[int32](ctx, op, in, out)
			case tensor.Int64:
				res = ewFold[int64](ctx, op, in, out)
			case tensor.Int16:
				res = ewFold[int16](ctx, op, in, out)
			case tensor.Uint16:
				res = ewFold[uint16](ctx, op, in, out)
			case tensor.Uint32:
				res = ewFold[uint32](ctx, op, in, out)
			case tensor.Uint64:
				res = ewFold[uint64](ctx, op, in, out)
			case tensor.Float16:
				res = dtFoldHalf[tensor.F16](ctx, op, in, out)
			case tensor.BFloat16:
				res = dtFoldHalf[tensor.BF16](ctx, op, in, out)
			}
			return single(res), nil
		}), nil
	}
}

// ewFold combines the inputs pairwise into a tensor of shape out.
func ewFold[T Real](ctx context.Context, op string, in []*tensor.Tensor, out tensor.Shape) *tensor.Tensor {
	var f func(a, b T) T
	switch op {
	case "Max":
		f = func(a, b T) T { return max(a, b) }
	case "Min":
		f = func(a, b T) T { return min(a, b) }
	default:
		f = func(a, b T) T { return a + b }
	}
	res, o := NewLikeCtx[T](ctx, in[0].DType(), out)
	BroadcastTo(o, out, Slice[T](in[0]), in[0].Shape())
	for _, t := range in[1:] {
		broadcastBinary(out, out, t.Shape(), o, Slice[T](t), o, f)
	}
	if op == "Mean" {
		k := T(len(in))
		for i := range o {
			o[i] /= k
		}
	}
	return res
}

// dtFoldHalf is ewFold for the 16-bit floats: each pairwise step (and
// Mean's division) computes in float32 and rounds to T, as NumPy's
// float16 arithmetic does.
func dtFoldHalf[T dtHalf](ctx context.Context, op string, in []*tensor.Tensor, out tensor.Shape) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	var f func(a, b float32) float32
	switch op {
	case "Max":
		f = func(a, b float32) float32 { return max(a, b) }
	case "Min":
		f = func(a, b float32) float32 { return min(a, b) }
	default:
		f = func(a, b float32) float32 { return a + b }
	}
	res, o := NewLikeCtx[T](ctx, in[0].DType(), out)
	BroadcastTo(o, out, Slice[T](in[0]), in[0].Shape())
	for _, t := range in[1:] {
		broadcastBinary(out, out, t.Shape(), o, Slice[T](t), o, func(a, b T) T {
			return from(float64(f(to(a), to(b))))
		})
	}
	if op == "Mean" {
		k := float32(len(in))
		for i, v := range o {
			o[i] = from(float64(to(v) / k))
		}
	}
	return res
}

// ewBuildClip makes Clip. Before opset 11 the bounds are the min and max
// attributes; from 11 they are the optional scalar inputs 1 and 2 (listed
// in "_absent" or left off when absent). A missing bound does not clip;
// the result is min(max(x, lo), hi), so lo > hi gives hi everywhere.
func ewBuildClip(n Node) (Kernel, error) {
	opset := attrInt(n, "_opset", 11)
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, ewClipTypes...); err != nil {
			return nil, err
		}
		var bounds [2]*tensor.Tensor // nil when absent
		if opset < 11 {
			for i, name := range []string{"min", "max"} {
				if n.Attrs == nil {
					break
				}
				if v, ok := n.Attrs.Float(name); ok {
					b := tensor.New(x.DType(), tensor.Shape{})
					castInto(b, tensor.MustFromSlice(tensor.Shape{}, []float64{float64(v)}))
					bounds[i] = b
				}
			}
		} else {
			for i := range bounds {
				b := absent.input(in, i+1)
				if b == nil {
					continue
				}
				if b.Len() != 1 {
					return nil, n.Errorf(ErrInvalidArgument, "bound %d has shape %v, want a scalar", i+1, b.Shape())
				}
				if b.DType() != x.DType() {
					return nil, n.Errorf(ErrInvalidArgument, "bound %d has dtype %v, want %v", i+1, b.DType(), x.DType())
				}
				bounds[i] = b
			}
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = ewClip[float32](ctx, x, bounds)
		case tensor.Float64:
			res = ewClip[float64](ctx, x, bounds)
		case tensor.Int8:
			res = ewClip[int8](ctx, x, bounds)
		case tensor.Uint8:
			res = ewClip[uint8](ctx, x, bounds)
		case tensor.Int32:
			res = ewClip[int32](ctx, x, bounds)
		case tensor.Int64:
			res = ewClip[int64](ctx, x, bounds)
		case tensor.Int16:
			res = ewClip[int16](ctx, x, bounds)
		case tensor.Uint16:
			res = ewClip[uint16](ctx, x, bounds)
		case tensor.Uint32:
			res = ewClip[uint32](ctx, x, bounds)
		case tensor.Uint64:
			res = ewClip[uint64](ctx, x, bounds)
		case tensor.Float16:
			res = dtClipHalf[tensor.F16](ctx, x, bounds)
		case tensor.BFloat16:
			res = dtClipHalf[tensor.BF16](ctx, x, bounds)
		}
		return single(res), nil
	}), nil
}

// ewClipTypes are the dtypes Clip and PRelu take.
var ewClipTypes = dtWiden(numericTypes)

// dtClipHalf is ewClip on float16 or bfloat16 values, compared by value
// (a NaN stays NaN, as Go's max and min keep it).
func dtClipHalf[T dtHalf](ctx context.Context, x *tensor.Tensor, bounds [2]*tensor.Tensor) *tensor.Tensor {
	to, _ := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	copy(o, Slice[T](x))
	if b := bounds[0]; b != nil {
		lo := Slice[T](b)[0]
		for i, v := range o {
			if to(v) < to(lo) {
				o[i] = lo
			}
		}
	}
	if b := bounds[1]; b != nil {
		hi := Slice[T](b)[0]
		for i, v := range o {
			if to(v) > to(hi) {
				o[i] = hi
			}
		}
	}
	return res
}

func ewClip[T Real](ctx context.Context, x *tensor.Tensor, bounds [2]*tensor.Tensor) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	copy(o, Slice[T](x))
	if b := bounds[0]; b != nil {
		lo := Slice[T](b)[0]
		for i, v := range o {
			o[i] = max(v, lo)
		}
	}
	if b := bounds[1]; b != nil {
		hi := Slice[T](b)[0]
		for i, v := range o {
			o[i] = min(v, hi)
		}
	}
	return res
}

// ewBuildPRelu makes PRelu(x, slope): x where x >= 0, else x*slope, the
// slope broadcast to x. Before opset 7 a 1-D slope as long as x's second
// dimension is per channel (dimension 1), as PyTorch's exports expect.
func ewBuildPRelu(n Node) (Kernel, error) {
	opset := attrInt(n, "_opset", 7)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, ewClipTypes); err != nil {
			return nil, err
		}
		x, slope := in[0], in[1]
		ss := slope.Shape()
		if opset < 7 && slope.Rank() == 1 && x.Rank() >= 2 && ss[0] == x.Shape()[1] {
			ss = make(tensor.Shape, x.Rank()-1)
			for i := range ss {
				ss[i] = 1
			}
			ss[0] = slope.Shape()[0]
		}
		out, err := BroadcastShape(x.Shape(), ss)
		if err != nil || !out.Equal(x.Shape()) {
			return nil, n.Errorf(ErrInvalidArgument, "slope shape %v does not broadcast to %v", slope.Shape(), x.Shape())
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = ewPRelu[float32](ctx, x, slope, ss)
		case tensor.Float64:
			res = ewPRelu[float64](ctx, x, slope, ss)
		case tensor.Int8:
			res = ewPRelu[int8](ctx, x, slope, ss)
		case tensor.Uint8:
			res = ewPRelu[uint8](ctx, x, slope, ss)
		case tensor.Int32:
			res = ewPRelu[int32](ctx, x, slope, ss)
		case tensor.Int64:
			res = ewPRelu[int64](ctx, x, slope, ss)
		case tensor.Int16:
			res = ewPRelu[int16](ctx, x, slope, ss)
		case tensor.Uint16:
			res = ewPRelu[uint16](ctx, x, slope, ss)
		case tensor.Uint32:
			res = ewPRelu[uint32](ctx, x, slope, ss)
		case tensor.Uint64:
			res = ewPRelu[uint64](ctx, x, slope, ss)
		case tensor.Float16:
			res = dtPReluHalf[tensor.F16](ctx, x, slope, ss)
		case tensor.BFloat16:
			res = dtPReluHalf[tensor.BF16](ctx, x, slope, ss)
		}
		return single(res), nil
	}), nil
}

func ewPRelu[T Real](ctx context.Context, x, slope *tensor.Tensor, ss tensor.Shape) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	broadcastBinary(x.Shape(), x.Shape(), ss, Slice[T](x), Slice[T](slope), o, func(v, s T) T {
		if v < 0 {
			return v * s
		}
		return v
	})
	return res
}

// dtPReluHalf is ewPRelu on float16 or bfloat16 values: x*slope computed
// in float64 and rounded once where x < 0.
func dtPReluHalf[T dtHalf](ctx context.Context, x, slope *tensor.Tensor, ss tensor.Shape) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	broadcastBinary(x.Shape(), x.Shape(), ss, Slice[T](x), Slice[T](slope), o, func(v, s T) T {
		if to(v) < 0 {
			return from(float64(to(v)) * float64(to(s)))
		}
		return v
	})
	return res
}
