package kernels

import (
	"context"
	"math"
	"math/bits"

	"inferd/internal/tensor"
)

func init() {
	Register("Cast", buildCast)
}

// castTypes are the dtypes Cast converts between (all pairs).
var castTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int64, tensor.Bool,
	tensor.Int16, tensor.Uint16, tensor.Uint32, tensor.Uint64, tensor.Float16, tensor.BFloat16}

// buildCast: Cast(x) from SrcT to DstT. Conversions follow C++
// static_cast as TensorFlow's CPU kernels compile it on x86-64: floats
// truncate toward zero; a NaN or out-of-range float becomes the integer
// "indefinite" value (the minimum of int32 or int64), and narrower integers
// take the low bits of the int32 conversion (uint32 of the int64 one);
// integers wrap; anything to bool is x != 0. Float16 and bfloat16 convert
// through their exact float32 values, and to them with one rounding to
// nearest, ties to even.
func buildCast(n Node) (Kernel, error) {
	dst, ok := attrType(n, "DstT")
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "missing or unsupported DstT attribute")
	}
	if err := checkTypeAttr(n, "DstT", castTypes...); err != nil {
		return nil, err
	}
	if err := checkTypeAttr(n, "SrcT", castTypes...); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if x.DType() == dst {
			return Result(ctx, x), nil
		}
		out := Alloc(ctx, dst, x.Shape())
		if !castInto(out, x) {
			return nil, n.Errorf(ErrUnsupported, "Cast from %v to %v", x.DType(), dst)
		}
		return Result(ctx, out), nil
	}), nil
}

// castInto converts src's elements into dst; it reports false for an
// unsupported pair.
func castInto(dst, src *tensor.Tensor) bool {
	switch s := src.Data().(type) {
	case []float32:
		return castFromFloat(dst, s)
	case []float64:
		return castFromFloat(dst, s)
	case []int8:
		return castFromInt(dst, s)
	case []uint8:
		return castFromInt(dst, s)
	case []int32:
		return castFromInt(dst, s)
	case []int64:
		return castFromInt(dst, s)
	case []int16:
		return castFromInt(dst, s)
	case []uint16:
		return castFromInt(dst, s)
	case []uint32:
		return castFromInt(dst, s)
	case []uint64:
		return castFromInt(dst, s)
	case []tensor.F16:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = v.Float32()
		}
		return castFromFloat(dst, f)
	case []tensor.BF16:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = v.Float32()
		}
		return castFromFloat(dst, f)
	case []bool:
		b := make([]uint8, len(s))
		for i, v := range s {
			if v {
				b[i] = 1
			}
		}
		return castFromInt(dst, b)
	}
	return false
}

func castFromInt[S Integer](dst *tensor.Tensor, s []S) bool {
	switch d := dst.Data().(type) {
	case []float32:
		for i, v := range s {
			d[i] = float32(v)
		}
	case []float64:
		for i, v := range s {
			d[i] = float64(v)
		}
	case []int8:
		for i, v := range s {
			d[i] = int8(v)
		}
	case []uint8:
		for i, v := range s {
			d[i] = uint8(v)
		}
	case []int32:
		for i, v := range s {
			d[i] = int32(v)
		}
	case []int64:
		for i, v := range s {
			d[i] = int64(v)
		}
	case []bool:
		for i, v := range s {
			d[i] = v != 0
		}
	case []int16:
		for i, v := range s {
			d[i] = int16(v)
		}
	case []uint16:
		for i, v := range s {
			d[i] = uint16(v)
		}
	case []uint32:
		for i, v := range s {
			d[i] = uint32(v)
		}
	case []uint64:
		for i, v := range s {
			d[i] = uint64(v)
		}
	case []tensor.F16:
		for i, v := range s {
			d[i] = tensor.F16FromFloat64(dtIntFloat64(v))
		}
	case []tensor.BF16:
		for i, v := range s {
			d[i] = tensor.BF16FromFloat64(dtIntFloat64(v))
		}
	default:
		return false
	}
	return true
}

// dtIntFloat64 is v as a float64 from which one more rounding to a
// format of at most 51 significant bits (float16, bfloat16) is correct:
// exact below 2^53, and above rounded to odd (the dropped bits kept as a
// sticky low bit), so that no tie appears that v does not have.
func dtIntFloat64[S Integer](v S) float64 {
	f := float64(v)
	if math.Abs(f) < 1<<53 {
		return f
	}
	var mag uint64
	neg := false
	switch x := any(v).(type) {
	case int64:
		neg = x < 0
		mag = uint64(x)
		if neg {
			mag = -mag
		}
	case uint64:
		mag = x
	default:
		return f // narrower integers are exact
	}
	n := bits.Len64(mag) - 53
	m := mag >> n
	if mag&(1<<n-1) != 0 {
		m |= 1
	}
	f = math.Ldexp(float64(m), n)
	if neg {
		f = -f
	}
	return f
}

// floatToInt32 is x86-64's cvttss2si/cvttsd2si: truncation, with NaN and
// out-of-range values giving math.MinInt32.
func floatToInt32(x float64) int32 {
	if x != x || x <= math.MinInt32-1 || x >= math.MaxInt32+1 {
		return math.MinInt32
	}
	return int32(x)
}

// floatToInt64 is the 64-bit form of floatToInt32.
func floatToInt64(x float64) int64 {
	if x != x || x < -(1<<63) || x >= 1<<63 {
		return math.MinInt64
	}
	return int64(x)
}

// floatToUint64 is C++'s static_cast<uint64_t> of a double on x86-64:
// values from 2^63 convert exactly, smaller ones through int64 (so
// negative ones wrap), and NaN or values out of range give 2^63.
func floatToUint64(x float64) uint64 {
	if x >= 1<<63 && x < 1<<64 {
		return uint64(x)
	}
	return uint64(floatToInt64(x))
}

func castFromFloat[S Float](dst *tensor.Tensor, s []S) bool {
	switch d := dst.Data().(type) {
	case []float32:
		for i, v := range s {
			d[i] = float32(v)
		}
	case []float64:
		for i, v := range s {
			d[i] = float64(v)
		}
	case []int8:
		for i, v := range s {
			d[i] = int8(floatToInt32(float64(v)))
		}
	case []uint8:
		for i, v := range s {
			d[i] = uint8(floatToInt32(float64(v)))
		}
	case []int32:
		for i, v := range s {
			d[i] = floatToInt32(float64(v))
		}
	case []int64:
		for i, v := range s {
			d[i] = floatToInt64(float64(v))
		}
	case []bool:
		for i, v := range s {
			d[i] = v != 0
		}
	case []int16:
		for i, v := range s {
			d[i] = int16(floatToInt32(float64(v)))
		}
	case []uint16:
		for i, v := range s {
			d[i] = uint16(floatToInt32(float64(v)))
		}
	case []uint32:
		for i, v := range s {
			d[i] = uint32(floatToInt64(float64(v)))
		}
	case []uint64:
		for i, v := range s {
			d[i] = floatToUint64(float64(v))
		}
	case []tensor.F16:
		for i, v := range s {
			d[i] = tensor.F16FromFloat64(float64(v))
		}
	case []tensor.BF16:
		for i, v := range s {
			d[i] = tensor.BF16FromFloat64(float64(v))
		}
	default:
		return false
	}
	return true
}
