package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// unaryDef describes an element-wise op of one input. float (applied in
// float64 and rounded to the input's type) handles floating point inputs;
// integer, when set, handles integer inputs, which are otherwise refused.
// floatFor, when set, replaces float with a version specialised for the
// input dtype (Softplus's threshold depends on the type's epsilon).
type unaryDef struct {
	float    func(x float64) float64
	integer  func(x int64) int64
	floatFor func(dt tensor.DType) func(x float64) float64
}

// The SELU constants, as TensorFlow defines them.
const (
	seluAlpha = 1.6732632423543772848170429916717
	seluScale = 1.0507009873554804934193349852946
)

var unaryDefs = map[string]func(n Node) (unaryDef, error){
	"Neg":        fixed(unaryDef{float: func(x float64) float64 { return -x }, integer: func(x int64) int64 { return -x }}),
	"Abs":        fixed(unaryDef{float: math.Abs, integer: func(x int64) int64 { return max(x, -x) }}),
	"Square":     fixed(unaryDef{float: func(x float64) float64 { return x * x }, integer: func(x int64) int64 { return x * x }}),
	"Sign":       fixed(unaryDef{float: signFloat, integer: signInt}),
	"Exp":        fixed(unaryDef{float: math.Exp}),
	"Log":        fixed(unaryDef{float: math.Log}),
	"Log1p":      fixed(unaryDef{float: math.Log1p}),
	"Expm1":      fixed(unaryDef{float: math.Expm1}),
	"Sqrt":       fixed(unaryDef{float: math.Sqrt}),
	"Rsqrt":      fixed(unaryDef{float: func(x float64) float64 { return 1 / math.Sqrt(x) }}),
	"Reciprocal": fixed(unaryDef{float: func(x float64) float64 { return 1 / x }}),
	"Inv":        fixed(unaryDef{float: func(x float64) float64 { return 1 / x }}),
	"Erf":        fixed(unaryDef{float: math.Erf}),
	"Tanh":       fixed(unaryDef{float: math.Tanh}),
	"Sigmoid":    fixed(unaryDef{float: func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }}),
	// Round rounds half to even, as TensorFlow (and NumPy) do.
	"Round": fixed(unaryDef{float: math.RoundToEven, integer: func(x int64) int64 { return x }}),
	"Rint":  fixed(unaryDef{float: math.RoundToEven}),
	"Floor": fixed(unaryDef{float: math.Floor}),
	"Sin":   fixed(unaryDef{float: math.Sin}),
	"Cos":   fixed(unaryDef{float: math.Cos}),
	"Tan":   fixed(unaryDef{float: math.Tan}),
	"Asin":  fixed(unaryDef{float: math.Asin}),
	"Acos":  fixed(unaryDef{float: math.Acos}),
	"Atan":  fixed(unaryDef{float: math.Atan}),
	"Sinh":  fixed(unaryDef{float: math.Sinh}),
	"Cosh":  fixed(unaryDef{float: math.Cosh}),
	"Asinh": fixed(unaryDef{float: math.Asinh}),
	"Acosh": fixed(unaryDef{float: math.Acosh}),
	"Atanh": fixed(unaryDef{float: math.Atanh}),
	"Ceil":  fixed(unaryDef{float: math.Ceil}),
	// Relu and Relu6 propagate NaN (Go's max and min do).
	"Relu":  fixed(unaryDef{float: func(x float64) float64 { return max(x, 0) }, integer: func(x int64) int64 { return max(x, 0) }}),
	"Relu6": fixed(unaryDef{float: func(x float64) float64 { return min(max(x, 0), 6) }, integer: func(x int64) int64 { return min(max(x, 0), 6) }}),
	"Elu": fixed(unaryDef{float: func(x float64) float64 {
		if x < 0 {
			return math.Expm1(x)
		}
		return x
	}}),
	"Selu": fixed(unaryDef{float: func(x float64) float64 {
		if x < 0 {
			return seluScale * seluAlpha * math.Expm1(x)
		}
		return seluScale * x
	}}),
	"Softsign": fixed(unaryDef{float: func(x float64) float64 { return x / (1 + math.Abs(x)) }}),
	"Softplus": fixed(unaryDef{floatFor: softplusFor}),
	"LeakyRelu": func(n Node) (unaryDef, error) {
		alpha := float64(attrFloat(n, "alpha", 0.2))
		return unaryDef{float: func(x float64) float64 {
			if x > 0 {
				return x
			}
			return x * alpha
		}}, nil
	},
}

func fixed(d unaryDef) func(Node) (unaryDef, error) {
	return func(Node) (unaryDef, error) { return d, nil }
}

func signFloat(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return x // 0, -0 or NaN
}

func signInt(x int64) int64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// softplusFor returns TensorFlow's numerically stable softplus for dt: x
// itself above -threshold, exp(x) below threshold, log1p(exp(x)) between,
// where threshold is log(epsilon of dt) + 2.
func softplusFor(dt tensor.DType) func(float64) float64 {
	eps := 0x1p-23 // float32 machine epsilon
	switch dt {
	case tensor.Float64:
		eps = 0x1p-52
	case tensor.Float16:
		eps = 0x1p-10
	case tensor.BFloat16:
		eps = 0x1p-7
	}
	threshold := math.Log(eps) + 2
	return func(x float64) float64 {
		switch {
		case x > -threshold:
			return x
		case x < threshold:
			return math.Exp(x)
		}
		return math.Log1p(math.Exp(x))
	}
}

func init() {
	for op, mk := range unaryDefs {
		Register(op, func(n Node) (Kernel, error) {
			def, err := mk(n)
			if err != nil {
				return nil, err
			}
			allowed := dtWiden(floatTypes)
			if def.integer != nil {
				allowed = dtWiden(numericTypes)
			}
			if err := checkTypeAttr(n, "T", allowed...); err != nil {
				return nil, err
			}
			return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				if err := checkInputs(n, in, 1); err != nil {
					return nil, err
				}
				x := in[0]
				if err := checkDType(n, "input", x, allowed...); err != nil {
					return nil, err
				}
				if res, ok := unaryVec(ctx, n.Op, x); ok {
					return Result(ctx, res), nil
				}
				f := def.float
				if def.floatFor != nil {
					f = def.floatFor(x.DType())
				}
				var res *tensor.Tensor
				switch x.DType() {
				case tensor.Float32:
					res = unaryFloat[float32](ctx, x, f)
				case tensor.Float64:
					res = unaryFloat[float64](ctx, x, f)
				case tensor.Int8:
					res = unaryInt[int8](ctx, x, def.integer)
				case tensor.Uint8:
					res = unaryInt[uint8](ctx, x, def.integer)
				case tensor.Int32:
					res = unaryInt[int32](ctx, x, def.integer)
				case tensor.Int64:
					res = unaryInt[int64](ctx, x, def.integer)
				case tensor.Int16:
					res = unaryInt[int16](ctx, x, def.integer)
				case tensor.Uint16:
					res = unaryInt[uint16](ctx, x, def.integer)
				case tensor.Uint32:
					res = unaryInt[uint32](ctx, x, def.integer)
				case tensor.Uint64:
					g := def.integer
					if u, ok := dtUnaryUnsigned[n.Op]; ok {
						g = u
					}
					res = unaryInt[uint64](ctx, x, g)
				case tensor.Float16:
					res = dtUnaryHalf[tensor.F16](ctx, x, f)
				case tensor.BFloat16:
					res = dtUnaryHalf[tensor.BF16](ctx, x, f)
				}
				return Result(ctx, res), nil
			}), nil
		})
	}
}

// dtUnaryUnsigned are the integer ops whose uint64 result differs from
// the one on the int64 bit pattern; they take and return uint64 bits.
var dtUnaryUnsigned = map[string]func(x int64) int64{
	"Abs":  func(x int64) int64 { return x },
	"Relu": func(x int64) int64 { return x },
	"Sign": func(x int64) int64 {
		if x != 0 {
			return 1
		}
		return 0
	},
	"Relu6": func(x int64) int64 { return int64(min(uint64(x), 6)) },
}

// dtUnaryHalf applies f to float16 or bfloat16 values, rounding once.
func dtUnaryHalf[T dtHalf](ctx context.Context, x *tensor.Tensor, f func(float64) float64) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	for i, v := range Slice[T](x) {
		o[i] = from(f(float64(to(v))))
	}
	return res
}

func unaryFloat[T Float](ctx context.Context, x *tensor.Tensor, f func(float64) float64) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	for i, v := range Slice[T](x) {
		o[i] = T(f(float64(v)))
	}
	return res
}

func unaryInt[T Integer](ctx context.Context, x *tensor.Tensor, f func(int64) int64) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	for i, v := range Slice[T](x) {
		o[i] = T(f(int64(v)))
	}
	return res
}
