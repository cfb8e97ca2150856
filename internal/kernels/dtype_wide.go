package kernels

import (
	"context"
	"slices"

	"inferd/internal/tensor"
)

// dtHalf is the set of 16-bit floating point element types, held as bit
// patterns; kernels compute on their float32 values and round each result
// once.
type dtHalf interface{ tensor.F16 | tensor.BF16 }

// dtWideInts are the integer dtypes added after the original ones.
var dtWideInts = []tensor.DType{tensor.Int16, tensor.Uint16, tensor.Uint32, tensor.Uint64}

// dtHalfTypes are the 16-bit floating point dtypes.
var dtHalfTypes = []tensor.DType{tensor.Float16, tensor.BFloat16}

// dtWiden returns types with the later dtypes of the same kind added: the
// 16-bit floats when it has float32, the 16-bit and unsigned 32/64-bit
// integers when it has int32.
func dtWiden(types []tensor.DType) []tensor.DType {
	out := slices.Clone(types)
	if slices.Contains(types, tensor.Float32) {
		out = append(out, dtHalfTypes...)
	}
	if slices.Contains(types, tensor.Int32) {
		out = append(out, dtWideInts...)
	}
	return out
}

// dtIsHalf reports whether dt is Float16 or BFloat16.
func dtIsHalf(dt tensor.DType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16 }

// dtHalfCodec returns the conversions of element type T: to its float32
// value, and from a float64 rounded once to T.
func dtHalfCodec[T dtHalf]() (to func(T) float32, from func(float64) T) {
	var z T
	if _, ok := any(z).(tensor.BF16); ok {
		return func(v T) float32 { return tensor.BF16(v).Float32() },
			func(f float64) T { return T(tensor.BF16FromFloat64(f)) }
	}
	return func(v T) float32 { return tensor.F16(v).Float32() },
		func(f float64) T { return T(tensor.F16FromFloat64(f)) }
}

// dtHalfFloat64s returns a Float16 or BFloat16 tensor's values as float64s.
func dtHalfFloat64s(t *tensor.Tensor) []float64 {
	switch v := t.Data().(type) {
	case []tensor.F16:
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = float64(e.Float32())
		}
		return out
	case []tensor.BF16:
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = float64(e.Float32())
		}
		return out
	}
	return nil
}

// binaryHalf is binaryFloat for the 16-bit floats: f on the float64 values
// (exact for them), rounded once to T. For +, -, * and / that is the
// correctly rounded result, as computing in float32 and rounding would be.
func binaryHalf[T dtHalf](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, f func(x, y float64) float64) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T {
		return from(f(float64(to(x)), float64(to(y))))
	})
	return res
}

// binaryUint64 is binaryInt for uint64, whose values int64 cannot hold:
// with unsigned set, f computes in uint64; otherwise integer computes on
// the int64 bit patterns, which for wrapping +, - and * is the same.
func binaryUint64(ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, integer func(x, y int64) (int64, bool), unsigned func(x, y uint64) (uint64, bool)) (*tensor.Tensor, bool) {
	if unsigned == nil {
		return binaryInt[uint64](ctx, a, b, out, integer)
	}
	res, o := NewLikeCtx[uint64](ctx, a.DType(), out)
	ok := true
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[uint64](a), Slice[uint64](b), o, func(x, y uint64) uint64 {
		r, good := unsigned(x, y)
		if !good {
			ok = false
		}
		return r
	})
	return res, ok
}

// dtUnsigned holds the uint64 forms of the binary ops whose result on
// unsigned values differs from the int64 one (division, remainders and
// comparisons; floor and truncation agree for unsigned values).
var dtUnsigned = map[string]func(x, y uint64) (uint64, bool){
	"RealDiv":     dtUdiv,
	"Div":         dtUdiv,
	"FloorDiv":    dtUdiv,
	"TruncateDiv": dtUdiv,
	"FloorMod":    dtUmod,
	"TruncateMod": dtUmod,
	"Maximum":     func(x, y uint64) (uint64, bool) { return max(x, y), true },
	"Minimum":     func(x, y uint64) (uint64, bool) { return min(x, y), true },
}

func dtUdiv(x, y uint64) (uint64, bool) {
	if y == 0 {
		return 0, false
	}
	return x / y, true
}

func dtUmod(x, y uint64) (uint64, bool) {
	if y == 0 {
		return 0, false
	}
	return x % y, true
}
