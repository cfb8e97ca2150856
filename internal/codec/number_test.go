package codec

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// numberLiterals are literals at the edges of plainNumber's grammar: the
// 32-bit integer limits, fractions around 2^53 and 17 significant digits,
// leading zeros, exponents and the NaN/Infinity extension.
func numberLiterals(r *rand.Rand) []string {
	lits := []string{"0", "-0", "0.0", "-0.0", "1", "-1", "7.", "0.5e", "1e5", "1E-5", "0.1e+2", "00", "01.5",
		"4294967295", "4294967296", "-2147483648", "-2147483649", "2147483647", "2147483648", "999999999", "1000000000",
		"0.12156862745098039", "0.7265625", "9007199254740991.5", "9007199254740992.25", "12345678901234567890.5",
		"0.000000000000000000001234567890123456789", "123456789.123456789123", "NaN", "-Infinity", "Inf", "-", "-.5", ".5"}
	for range 20000 {
		var b []byte
		if r.IntN(4) == 0 {
			b = append(b, '-')
		}
		ni := r.IntN(12)
		for k := range ni {
			d := byte('0' + r.IntN(10))
			if k == 0 && ni > 1 && r.IntN(8) != 0 && d == '0' {
				d = '1'
			}
			b = append(b, d)
		}
		if r.IntN(3) != 0 {
			b = append(b, '.')
			for range r.IntN(25) {
				b = append(b, byte('0'+r.IntN(10)))
			}
		}
		if r.IntN(10) == 0 {
			b = append(b, 'e')
			b = strconv.AppendInt(b, int64(r.IntN(40)-20), 10)
		}
		lits = append(lits, string(b))
	}
	for range 2000 {
		lits = append(lits, strconv.FormatFloat(float64(r.Float32()), 'g', -1, 64), strconv.Itoa(r.IntN(256)),
			strconv.FormatFloat(float64(r.IntN(256))/255, 'g', -1, 64))
	}
	return lits
}

// TestPlainNumber checks that the fast scanner makes anyNumber's node, at
// anyNumber's end, for every literal it accepts, in a list as in requests.
func TestPlainNumber(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	accepted := 0
	for _, lit := range numberLiterals(r) {
		src := []byte(lit + ", 1]")
		fast := scanner{src: src}
		if !fast.plainNumber() {
			if fast.pos != 0 || len(fast.nodes) != 0 {
				t.Fatalf("%q: plainNumber refused after consuming", lit)
			}
			continue
		}
		accepted++
		slow := scanner{src: src}
		if !slow.anyNumber() {
			t.Fatalf("%q: plainNumber accepted what anyNumber refuses (%s)", lit, slow.msg)
		}
		if fast.pos != slow.pos || fast.nodes[0] != slow.nodes[0] {
			t.Fatalf("%q: plainNumber gives %+v at %d, anyNumber %+v at %d", lit, fast.nodes[0], fast.pos, slow.nodes[0], slow.pos)
		}
	}
	if accepted < 10000 {
		t.Fatalf("plainNumber accepted only %d literals", accepted)
	}
}
