package tensor

import (
	"math"
	"math/big"
	"testing"
)

func TestFloat16Values(t *testing.T) {
	tests := []struct {
		name string
		bits F16
		want float32
	}{
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"max", 0x7bff, 65504},
		{"min normal", 0x0400, 6.103515625e-05},
		{"min subnormal", 0x0001, 5.9604644775390625e-08},
		{"max subnormal", 0x03ff, 6.097555160522461e-05},
		{"zero", 0x0000, 0},
		{"one third", 0x3555, 0.333251953125},
		{"inf", 0x7c00, float32(math.Inf(1))},
		{"minus inf", 0xfc00, float32(math.Inf(-1))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.bits.Float32(); got != tc.want {
				t.Errorf("%#04x.Float32() = %v, want %v", uint16(tc.bits), got, tc.want)
			}
			if got := F16FromFloat32(tc.want); got != tc.bits {
				t.Errorf("F16FromFloat32(%v) = %#04x, want %#04x", tc.want, uint16(got), uint16(tc.bits))
			}
		})
	}
	if got := F16(0x8000).Float32(); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("0x8000 is %v, want -0", got)
	}
	if got := F16(0x7e00).Float32(); !math.IsNaN(float64(got)) {
		t.Errorf("0x7e00 is %v, want NaN", got)
	}
	if got := F16(0x3c00).String(); got != "1" {
		t.Errorf("String() = %q, want 1", got)
	}
}

func TestFloat16Rounding(t *testing.T) {
	tests := []struct {
		in   float64
		want F16
	}{
		{1 + 1.0/2048, 0x3c00},                // tie between 0x3c00 and 0x3c01: even
		{1 + 3.0/2048, 0x3c02},                // tie between 0x3c01 and 0x3c02: even
		{1 + 1.0/2048 + 1e-12, 0x3c01},        // just past the tie
		{65519.99, 0x7bff},                    // below the tie with infinity
		{65520, 0x7c00},                       // the tie rounds to even: infinity
		{-1e10, 0xfc00},                       // overflow
		{math.Ldexp(1, -25), 0x0000},          // half the smallest subnormal: even (0)
		{math.Ldexp(1.0000001, -25), 0x0001},  // past it
		{math.Ldexp(3, -26), 0x0001},          // 0.75 ulp
		{math.Ldexp(3, -25), 0x0002},          // 1.5 ulp: tie to even (2)
		{math.Ldexp(1, -26), 0x0000},          // a quarter ulp
		{-math.Ldexp(1, -30), 0x8000},         // negative underflow keeps the sign
		{math.Ldexp(2047, -25), 0x0400},       // rounds up out of the subnormals
		{math.SmallestNonzeroFloat64, 0x0000}, // a float64 subnormal
		{math.Inf(1), 0x7c00},
		{0.1, 0x2e66},
	}
	for _, tc := range tests {
		if got := F16FromFloat64(tc.in); got != tc.want {
			t.Errorf("F16FromFloat64(%v) = %#04x, want %#04x", tc.in, uint16(got), uint16(tc.want))
		}
	}
	// Rounding float64 through float32 would first land on the tie and
	// then round it to even; one rounding goes up.
	x := 1 + 1.0/2048 + math.Ldexp(1, -40)
	if float32(x) != float32(1+1.0/2048) {
		t.Fatalf("test value does not round to the tie in float32")
	}
	if got := F16FromFloat64(x); got != 0x3c01 {
		t.Errorf("F16FromFloat64(%v) = %#04x, want 0x3c01", x, uint16(got))
	}
}

// TestFloat16Exhaustive checks every bit pattern: each converts to float32
// and back to itself (NaNs to a NaN), the midpoint between neighbours
// rounds to the even one, and values a float32 ulp either side of it round
// to the nearer one.
func TestFloat16Exhaustive(t *testing.T) {
	for i := range 1 << 16 {
		h := F16(i)
		f := h.Float32()
		if math.IsNaN(float64(f)) {
			back := F16FromFloat32(f)
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 || back&0x8000 != h&0x8000 {
				t.Fatalf("NaN %#04x came back as %#04x", i, uint16(back))
			}
			continue
		}
		if back := F16FromFloat32(f); back != h {
			t.Fatalf("%#04x -> %v -> %#04x", i, f, uint16(back))
		}
		if h&0x7fff >= 0x7bff { // the largest finite value and beyond: no next value
			continue
		}
		next := h + 1
		if h&0x8000 != 0 && h&0x7fff == 0 {
			continue // -0's neighbour is -subnormal downwards; +0 covers the pair
		}
		lo, hi := float64(f), float64(next.Float32())
		mid := (lo + hi) / 2 // exact: 12 significant bits
		even := h
		if h&1 == 1 {
			even = next
		}
		if got := F16FromFloat64(mid); got != even {
			t.Fatalf("midpoint %v of %#04x and %#04x gave %#04x", mid, i, uint16(next), uint16(got))
		}
		m32 := float32(mid)
		below := math.Nextafter32(m32, float32(lo))
		above := math.Nextafter32(m32, float32(hi))
		if got := F16FromFloat32(below); got != h {
			t.Fatalf("%v (below the midpoint of %#04x and %#04x) gave %#04x", below, i, uint16(next), uint16(got))
		}
		if got := F16FromFloat32(above); got != next {
			t.Fatalf("%v (above the midpoint of %#04x and %#04x) gave %#04x", above, i, uint16(next), uint16(got))
		}
	}
}

// TestFloat16AgainstBig compares normal-range rounding with math/big's
// correctly rounded 11-bit conversion over a sweep of float32 values.
func TestFloat16AgainstBig(t *testing.T) {
	for bits := uint32(0x38800000); bits < 0x477ff000; bits += 0x1f3 { // 2^-14 .. 65504
		f := math.Float32frombits(bits)
		bf := new(big.Float).SetPrec(11).SetMode(big.ToNearestEven).SetFloat64(float64(f))
		want, _ := bf.Float32()
		if got := F16FromFloat32(f).Float32(); got != want {
			t.Fatalf("F16FromFloat32(%v) = %v, want %v", f, got, want)
		}
	}
}

func TestBFloat16(t *testing.T) {
	tests := []struct {
		in   float32
		want BF16
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{0.47892547, 0x3ef5}, // 0x3ef53596: the low half is below the tie
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie: even
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie: even (up)
		{math.Float32frombits(0x3f808001), 0x3f81},
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // max float32 rounds to infinity
		{math.Float32frombits(0x00010000), 0x0001}, // a subnormal stays exact
		{float32(math.Inf(-1)), 0xff80},
	}
	for _, tc := range tests {
		if got := BF16FromFloat32(tc.in); got != tc.want {
			t.Errorf("BF16FromFloat32(%v) = %#04x, want %#04x", tc.in, uint16(got), uint16(tc.want))
		}
	}
	if got := BF16FromFloat32(float32(math.NaN())); got&0x7f80 != 0x7f80 || got&0x7f == 0 {
		t.Errorf("NaN gave %#04x", uint16(got))
	}
	// Every pattern reads back to itself and matches the upper half of
	// the float32 it converts to.
	for i := range 1 << 16 {
		b := BF16(i)
		f := b.Float32()
		if math.Float32bits(f) != uint32(i)<<16 {
			t.Fatalf("%#04x.Float32() has bits %#08x", i, math.Float32bits(f))
		}
		back := BF16FromFloat32(f)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(back.Float32())) {
				t.Fatalf("NaN %#04x came back as %#04x", i, uint16(back))
			}
			continue
		}
		if back != b {
			t.Fatalf("%#04x -> %v -> %#04x", i, f, uint16(back))
		}
	}
	if got := BF16FromFloat64(1 + 1.0/256 + 1e-12); got != 0x3f81 {
		t.Errorf("BF16FromFloat64 just past a tie = %#04x, want 0x3f81", uint16(got))
	}
}

func TestNewDTypes(t *testing.T) {
	tests := []struct {
		dt   DType
		name string
		size int
		data any
	}{
		{Int16, "int16", 2, []int16{-3, 4}},
		{Uint16, "uint16", 2, []uint16{3, 65535}},
		{Uint32, "uint32", 4, []uint32{3, 1 << 31}},
		{Uint64, "uint64", 8, []uint64{3, 1 << 63}},
		{Float16, "float16", 2, []F16{0x3c00, 0x4000}},
		{BFloat16, "bfloat16", 2, []BF16{0x3f80, 0x4000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.dt.String() != tc.name || tc.dt.Size() != tc.size {
				t.Errorf("%d: name %q size %d, want %q %d", tc.dt, tc.dt.String(), tc.dt.Size(), tc.name, tc.size)
			}
			x := MustFromSlice(Shape{2}, tc.data)
			if x.DType() != tc.dt {
				t.Errorf("FromSlice dtype %v, want %v", x.DType(), tc.dt)
			}
			z := New(tc.dt, Shape{3})
			if z.DType() != tc.dt || z.Len() != 3 {
				t.Errorf("New gave %v", z)
			}
		})
	}
	x := MustFromSlice(Shape{2}, []F16{0x3c00, 0x4000})
	if got := x.Float16s()[1].Float32(); got != 2 {
		t.Errorf("Float16s()[1] = %v, want 2", got)
	}
	if got := New(BFloat16, Shape{1}).BFloat16s(); len(got) != 1 || got[0] != 0 {
		t.Errorf("BFloat16s() = %v", got)
	}
	if String != 8 || Int16 != 9 || BFloat16 != 14 {
		t.Errorf("dtype values moved: String %d Int16 %d BFloat16 %d", String, Int16, BFloat16)
	}
}
