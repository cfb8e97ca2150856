package codec

import (
	"math"
	"math/bits"
	"slices"
)

// appendFloat32 appends v as appendDecimal(dst, float64(v), 32) does, byte
// for byte, without strconv for the values predictions are made of: every
// normal float32 from 1e-19 to 1e6 in magnitude, and zero. It scales v's
// exact value by the power of ten that gives it nine integer digits, in
// 128-bit integer arithmetic; finds whether v's shortest round-trip form
// has at most six digits by testing the two six-digit decimals around v
// against v's rounding interval; and rounds to six or nine digits (ties
// to even, as strconv does). Other values go to appendDecimal.
func appendFloat32(dst []byte, v float32) []byte {
	b := math.Float32bits(v)
	be := int(b>>23) & 0xff
	frac := uint64(b & (1<<23 - 1))
	neg := b>>31 != 0
	if be == 0 {
		if frac == 0 {
			if neg {
				return append(dst, "-0.0"...)
			}
			return append(dst, "0.0"...)
		}
		return appendDecimal(dst, float64(v), 32) // subnormal
	}
	m := frac | 1<<23 // |v| = m × 2^e
	e := be - 150
	// e10 is floor(log10|v|): |v| is in [2^(be-127), 2^(be-126)), which
	// holds at most one power of ten, from mantissa e10Up[be] on.
	e10 := ((be - 127) * 78913) >> 18
	if m >= e10Up[be] {
		e10++
	}
	if e10 < -19 || e10 > 5 || be == 0xff {
		return appendDecimal(dst, float64(v), 32) // NaN, ±Inf, or out of range
	}
	s9 := 8 - e10
	n, r, t := scaled(m, e, s9) // n has nine digits, t > 0
	// The six-digit decimals around v are n rounded down and up to a
	// multiple of 1000. In units of 2^-(t+2) at this scale, v lies
	// below·4 above the lower one, and half an ulp of v is 2·5^s9.
	q := n / 1000
	below := u128{0, n - q*1000}.shl(t).add(r)
	below4 := below.shl(2)
	up := u128{0, 2 * pow5u[s9]}
	down := up
	if frac == 0 && be > 1 {
		down = u128{0, pow5u[s9]} // the gap below a power of two is half
	}
	even := m&1 == 0
	prec := 9
	if below4.less(down) || even && below4 == down {
		prec = 6
	} else if above := (u128{0, 1000}).shl(t + 2).sub(below4); above.less(up) || even && above == up {
		prec = 6
	}
	if prec == 6 {
		// Round v to six digits: q plus whether below passes half of
		// 1000·2^t.
		half := u128{0, 500}.shl(t)
		if half.less(below) || below == half && q&1 == 1 {
			q++
		}
		n = q
	} else {
		n = roundHalfEven(n, r, t)
	}
	if n == pow10u[prec] {
		n /= 10
		e10++
	}
	if neg {
		dst = append(dst, '-')
	}
	return appendG(dst, n, prec, e10)
}

// e10Up holds, by biased exponent, the least mantissa (with its leading
// bit) at which the binade reaches the next power of ten, or 2^24 where it
// does not, for the binades of appendFloat32's fast path.
var e10Up = func() (t [256]uint64) {
	for be := range t {
		t[be] = 1 << 24
		est := ((be - 127) * 78913) >> 18
		if be == 0 || be == 0xff || est < -20 || est > 5 {
			continue
		}
		// |v| ≥ 10^(est+1) exactly when v·10^(7-est) has nine digits.
		lo, hi := uint64(1<<23), uint64(1<<24)
		for lo < hi {
			mid := (lo + hi) / 2
			if n, _, _ := scaled(mid, be-150, 7-est); n >= 1e8 {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		t[be] = lo
	}
	return t
}()

// pow5u are the powers of five that fit in a uint64.
var pow5u = func() (t [28]uint64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 5
	}
	return t
}()

var pow10u = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// u128 is an unsigned 128-bit integer.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func (a u128) shl(k uint) u128 {
	switch {
	case k == 0:
		return a
	case k >= 64:
		return u128{a.lo << (k - 64), 0}
	}
	return u128{a.hi<<k | a.lo>>(64-k), a.lo << k}
}

func (a u128) sub(b u128) u128 {
	lo, borrow := bits.Sub64(a.lo, b.lo, 0)
	hi, _ := bits.Sub64(a.hi, b.hi, borrow)
	return u128{hi, lo}
}

// scaled returns m × 2^e × 10^s (0 ≤ s < 28) as n + r/2^t: n its integer
// part and r < 2^t its fraction (t = 0 when the product is an integer).
func scaled(m uint64, e, s int) (n uint64, r u128, t uint) {
	hi, lo := bits.Mul64(m, pow5u[s])
	f := e + s // the product is (hi:lo) × 2^f
	if f >= 0 {
		return lo << uint(f), u128{}, 0 // small: n has at most ten digits
	}
	t = uint(-f)
	if t >= 64 {
		return hi >> (t - 64), u128{hi & (1<<(t-64) - 1), lo}, t
	}
	return hi<<(64-t) | lo>>t, u128{0, lo & (1<<t - 1)}, t
}

// roundHalfEven rounds n + r/2^t to an integer, ties to even.
func roundHalfEven(n uint64, r u128, t uint) uint64 {
	if t == 0 {
		return n
	}
	half := u128{}.add1().shl(t - 1)
	switch {
	case half.less(r):
		return n + 1
	case r == half && n&1 == 1:
		return n + 1
	}
	return n
}

func (a u128) add(b u128) u128 {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	return u128{a.hi + b.hi + c, lo}
}

func (a u128) add1() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

// digits2 holds the two-digit decimals 00 to 99.
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// appendG writes the prec-digit decimal n × 10^(e10-prec+1) as strconv's
// 'g' format with precision prec does, then ".0" when that has neither a
// point nor an exponent (appendDecimal's rule). It writes the digits in
// place in dst's spare capacity.
func appendG(dst []byte, n uint64, prec, e10 int) []byte {
	nd := prec
	for n%10 == 0 {
		n /= 10
		nd--
	}
	dp := e10 + 1
	eprec := prec
	if eprec > nd && nd >= dp {
		eprec = nd
	}
	l := len(dst)
	if cap(dst)-l < 32 {
		dst = slices.Grow(dst, 32)
	}
	b := dst[l : l+32]
	k := 0
	switch {
	case e10 < -4 || e10 >= eprec:
		if nd > 1 {
			p := pow10u[nd-1]
			b[0], b[1] = byte('0'+n/p), '.'
			putDigits(b[2:nd+1], n%p)
			k = nd + 1
		} else {
			b[0] = byte('0' + n)
			k = 1
		}
		x := e10
		sign := byte('+')
		if x < 0 {
			sign, x = '-', -x
		}
		b[k], b[k+1], b[k+2], b[k+3] = 'e', sign, digits2[2*x], digits2[2*x+1]
		k += 4
	case dp <= 0:
		b[0], b[1] = '0', '.'
		z := 2 - dp
		for j := 2; j < z; j++ {
			b[j] = '0'
		}
		putDigits(b[z:z+nd], n)
		k = z + nd
	case dp >= nd:
		putDigits(b[:nd], n)
		for j := nd; j < dp; j++ {
			b[j] = '0'
		}
		b[dp], b[dp+1] = '.', '0'
		k = dp + 2
	default:
		p := pow10u[nd-dp]
		putDigits(b[:dp], n/p)
		b[dp] = '.'
		putDigits(b[dp+1:nd+1], n%p)
		k = nd + 1
	}
	return dst[:l+k]
}

// putDigits writes n in decimal right-aligned in b, zero-padded on the
// left; n has at most len(b) digits.
func putDigits(b []byte, n uint64) {
	i := len(b)
	for i >= 2 {
		q := n / 100
		r := n - q*100
		b[i-2], b[i-1] = digits2[2*r], digits2[2*r+1]
		n = q
		i -= 2
	}
	if i == 1 {
		b[0] = byte('0' + n)
	}
}
