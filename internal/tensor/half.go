package tensor

import (
	"math"
	"strconv"
)

// F16 is an element of a Float16 tensor: an IEEE 754 binary16 number held
// as its bit pattern, a sign bit, 5 exponent bits (bias 15) and 10
// fraction bits. It is a distinct type, not a uint16, so that a tensor's
// Data tells the two apart.
type F16 uint16

// BF16 is an element of a BFloat16 tensor: a bfloat16 number held as its
// bit pattern, the upper 16 bits of the float32 of the same value (a sign
// bit, 8 exponent bits, 7 fraction bits).
type BF16 uint16

// F16FromFloat32 rounds f to the nearest float16, ties to even;
// magnitudes past the largest finite float16 (65504) round to infinity, and
// tiny ones to subnormals or zero. A NaN stays a NaN with its sign and the
// upper fraction bits of its payload, made quiet.
func F16FromFloat32(f float32) F16 { return F16(dtRound(float64(f), 5, 10)) }

// F16FromFloat64 rounds f to float16 as F16FromFloat32 does, in one
// step (not through float32, whose rounding could make a tie).
func F16FromFloat64(f float64) F16 { return F16(dtRound(f, 5, 10)) }

// Float32 is h's value; every float16 is exactly a float32.
func (h F16) Float32() float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: frac * 2^-24
		v := float32(frac) * (1.0 / (1 << 24))
		return math.Float32frombits(math.Float32bits(v) | sign)
	case 0x1f: // infinity or NaN, payload kept
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// Float64 is h's value.
func (h F16) Float64() float64 { return float64(h.Float32()) }

// String formats h's value as the shortest decimal that reads back to it
// as a float32.
func (h F16) String() string { return dtFormat(h.Float32()) }

// BF16FromFloat32 rounds f to the nearest bfloat16, ties to even (not
// by truncating its low half); values past the largest finite bfloat16
// round to infinity. A NaN stays a NaN with its sign and payload's upper
// bits, made quiet.
func BF16FromFloat32(f float32) BF16 { return BF16(dtRound(float64(f), 8, 7)) }

// BF16FromFloat64 rounds f to bfloat16 in one step.
func BF16FromFloat64(f float64) BF16 { return BF16(dtRound(f, 8, 7)) }

// Float32 is b's value: b's bits as the upper half of a float32.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// Float64 is b's value.
func (b BF16) Float64() float64 { return float64(b.Float32()) }

// String formats b's value as the shortest decimal that reads back to it
// as a float32.
func (b BF16) String() string { return dtFormat(b.Float32()) }

func dtFormat(f float32) string { return strconv.FormatFloat(float64(f), 'g', -1, 32) }

// dtRound rounds x to the binary floating point format with ebits exponent
// bits and mbits fraction bits (at most 15 bits in all besides the sign)
// and returns its bit pattern: round to nearest, ties to even, with IEEE
// 754's gradual underflow and overflow to infinity.
func dtRound(x float64, ebits, mbits uint) uint16 {
	b := math.Float64bits(x)
	sign := uint16(b>>63) << (ebits + mbits)
	e := int(b>>52) & 0x7ff
	frac := b & (1<<52 - 1)
	expMax := uint64(1)<<ebits - 1
	inf := expMax << mbits
	switch {
	case e == 0x7ff && frac != 0: // NaN: the payload's top bits, quiet bit set
		return sign | uint16(inf|frac>>(52-mbits)|1<<(mbits-1))
	case e == 0x7ff:
		return sign | uint16(inf)
	case e == 0:
		// Zero, or a float64 subnormal: far below half the smallest
		// subnormal of any format dtRound serves.
		return sign
	}
	bias := 1<<(ebits-1) - 1
	te := e - 1023 + bias // the biased exponent in the target format
	sig := 1<<52 | frac   // 53-bit significand
	shift := 52 - int(mbits)
	if te < 1 {
		// Subnormal: the significand moves right by the missing exponent
		// and the exponent field is 0.
		shift += 1 - te
		te = 1
		if shift > 53 {
			return sign // below half the smallest subnormal
		}
	}
	r := sig >> shift
	rem := sig & (1<<shift - 1)
	half := uint64(1) << (shift - 1)
	if rem > half || (rem == half && r&1 == 1) {
		r++ // a carry out of the fraction moves into the exponent, as it should
	}
	// r holds the leading 1 at bit mbits when normal: adding it to the
	// exponent field te-1 gives te.
	if te-1 >= int(expMax) {
		return sign | uint16(inf)
	}
	bits := uint64(te-1)<<mbits + r
	if bits >= inf {
		return sign | uint16(inf)
	}
	return sign | uint16(bits)
}
