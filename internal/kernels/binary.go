package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// binaryDef describes an element-wise arithmetic op. Floating point inputs
// are computed in float64 and rounded back, which for the basic operations
// gives exactly the correctly rounded float32 result. Integer inputs are
// computed in int64 and truncated back, which wraps like TensorFlow's C++.
type binaryDef struct {
	types []tensor.DType
	float func(x, y float64) float64
	// integer returns false when the inputs are invalid (division by zero,
	// a negative power).
	integer func(x, y int64) (int64, bool)
	// intErr describes the failure integer reports.
	intErr string
}

var (
	intTypes   = []tensor.DType{tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int64}
	divByZero  = "integer division by zero"
	negIntPow  = "integers to negative integer powers are not allowed"
	binaryDefs = map[string]binaryDef{
		"Add":      {types: numericTypes, float: func(x, y float64) float64 { return x + y }, integer: func(x, y int64) (int64, bool) { return x + y, true }},
		"AddV2":    {types: numericTypes, float: func(x, y float64) float64 { return x + y }, integer: func(x, y int64) (int64, bool) { return x + y, true }},
		"Sub":      {types: numericTypes, float: func(x, y float64) float64 { return x - y }, integer: func(x, y int64) (int64, bool) { return x - y, true }},
		"Mul":      {types: numericTypes, float: func(x, y float64) float64 { return x * y }, integer: func(x, y int64) (int64, bool) { return x * y, true }},
		"RealDiv":  {types: numericTypes, float: func(x, y float64) float64 { return x / y }, integer: truncDiv, intErr: divByZero},
		"Div":      {types: numericTypes, float: func(x, y float64) float64 { return x / y }, integer: truncDiv, intErr: divByZero},
		"FloorDiv": {types: numericTypes, float: func(x, y float64) float64 { return math.Floor(x / y) }, integer: floorDiv, intErr: divByZero},
		"FloorMod": {types: numericTypes, float: floorModFloat, integer: floorModInt, intErr: divByZero},
		"Maximum":  {types: numericTypes, float: maxNaN, integer: func(x, y int64) (int64, bool) { return max(x, y), true }},
		"Minimum":  {types: numericTypes, float: minNaN, integer: func(x, y int64) (int64, bool) { return min(x, y), true }},
		"Pow":      {types: numericTypes, float: math.Pow, integer: intPow, intErr: negIntPow},
		// TruncateDiv and TruncateMod round toward zero, like C's / and %
		// (fmod for floats).
		"TruncateDiv": {types: numericTypes, float: func(x, y float64) float64 { return math.Trunc(x / y) }, integer: truncDiv, intErr: divByZero},
		"TruncateMod": {types: numericTypes, float: math.Mod, integer: truncMod, intErr: divByZero},
		"Atan2":       {types: floatTypes, float: math.Atan2},
		"SquaredDifference": {types: numericTypes,
			float:   func(x, y float64) float64 { d := x - y; return d * d },
			integer: func(x, y int64) (int64, bool) { d := x - y; return d * d, true }},
	}
)

func truncDiv(x, y int64) (int64, bool) {
	if y == 0 {
		return 0, false
	}
	return x / y, true
}

func truncMod(x, y int64) (int64, bool) {
	if y == 0 {
		return 0, false
	}
	return x % y, true
}

// floorDiv rounds the quotient toward negative infinity, as Python and
// TensorFlow's FloorDiv do.
func floorDiv(x, y int64) (int64, bool) {
	if y == 0 {
		return 0, false
	}
	q := x / y
	if (x%y != 0) && ((x < 0) != (y < 0)) {
		q--
	}
	return q, true
}

// floorModInt gives the remainder with the sign of the divisor.
func floorModInt(x, y int64) (int64, bool) {
	if y == 0 {
		return 0, false
	}
	r := x % y
	if r != 0 && ((r < 0) != (y < 0)) {
		r += y
	}
	return r, true
}

// floorModFloat is TensorFlow's float FloorMod: fmod, then shifted by y
// when the signs of the remainder and the divisor differ.
func floorModFloat(x, y float64) float64 {
	r := math.Mod(x, y)
	if r != 0 && ((y < 0) != (r < 0)) {
		r += y
	}
	return r
}

func maxNaN(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.NaN()
	}
	if x > y {
		return x
	}
	return y
}

func minNaN(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.NaN()
	}
	if x < y {
		return x
	}
	return y
}

// intPow raises x to a non-negative integer power by squaring, wrapping on
// overflow.
func intPow(x, y int64) (int64, bool) {
	if y < 0 {
		return 0, false
	}
	r := int64(1)
	for y > 0 {
		if y&1 == 1 {
			r *= x
		}
		x *= x
		y >>= 1
	}
	return r, true
}

func init() {
	for op, def := range binaryDefs {
		def.types = dtWiden(def.types)
		unsigned := dtUnsigned[op]
		Register(op, func(n Node) (Kernel, error) {
			if err := checkTypeAttr(n, "T", def.types...); err != nil {
				return nil, err
			}
			return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				if err := checkBinary(n, in, def.types); err != nil {
					return nil, err
				}
				out, err := BroadcastShape(in[0].Shape(), in[1].Shape())
				if err != nil {
					return nil, n.Errorf(ErrInvalidArgument, "%v", err)
				}
				if op, fast := vecOps[n.Op]; fast {
					if res, ok := binaryVec(ctx, op, in[0], in[1], out); ok {
						return Result(ctx, res), nil
					}
				}
				var res *tensor.Tensor
				ok := true
				switch in[0].DType() {
				case tensor.Float32:
					res = binaryFloat[float32](ctx, in[0], in[1], out, def.float)
				case tensor.Float64:
					res = binaryFloat[float64](ctx, in[0], in[1], out, def.float)
				case tensor.Int8:
					res, ok = binaryInt[int8](ctx, in[0], in[1], out, def.integer)
				case tensor.Uint8:
					res, ok = binaryInt[uint8](ctx, in[0], in[1], out, def.integer)
				case tensor.Int32:
					res, ok = binaryInt[int32](ctx, in[0], in[1], out, def.integer)
				case tensor.Int64:
					res, ok = binaryInt[int64](ctx, in[0], in[1], out, def.integer)
				case tensor.Int16:
					res, ok = binaryInt[int16](ctx, in[0], in[1], out, def.integer)
				case tensor.Uint16:
					res, ok = binaryInt[uint16](ctx, in[0], in[1], out, def.integer)
				case tensor.Uint32:
					res, ok = binaryInt[uint32](ctx, in[0], in[1], out, def.integer)
				case tensor.Uint64:
					res, ok = binaryUint64(ctx, in[0], in[1], out, def.integer, unsigned)
				case tensor.Float16:
					res = binaryHalf[tensor.F16](ctx, in[0], in[1], out, def.float)
				case tensor.BFloat16:
					res = binaryHalf[tensor.BF16](ctx, in[0], in[1], out, def.float)
				}
				if !ok {
					return nil, n.Errorf(ErrInvalidArgument, "%s", def.intErr)
				}
				return Result(ctx, res), nil
			}), nil
		})
	}
}

// checkBinary verifies two inputs of one dtype from allowed.
func checkBinary(n Node, in []*tensor.Tensor, allowed []tensor.DType) error {
	if err := checkInputs(n, in, 2); err != nil {
		return err
	}
	if in[0].DType() != in[1].DType() {
		return n.Errorf(ErrInvalidArgument, "input dtypes differ: %v and %v", in[0].DType(), in[1].DType())
	}
	return checkDType(n, "input", in[0], allowed...)
}

func binaryFloat[T Float](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, f func(x, y float64) float64) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T {
		return T(f(float64(x), float64(y)))
	})
	return res
}

func binaryInt[T Integer](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, f func(x, y int64) (int64, bool)) (*tensor.Tensor, bool) {
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	ok := true
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T {
		r, good := f(int64(x), int64(y))
		if !good {
			ok = false
		}
		return T(r)
	})
	return res, ok
}
