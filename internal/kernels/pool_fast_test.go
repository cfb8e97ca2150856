package kernels

import (
	"context"
	"math"
	"testing"

	"inferd/internal/tensor"
)

// specialF32 are the values a max must treat with care.
var specialF32 = []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1, -1}

// randSpecialF32 is n normal values with every fifth one special.
func randSpecialF32(seed uint64, n int) []float32 {
	r := newRand(seed)
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
		if r.IntN(5) == 0 {
			v[i] = specialF32[r.IntN(len(specialF32))]
		}
	}
	return v
}

// TestMaxPoolF32 checks the float32 max pool (the vector loop where the
// CPU has it) bit for bit against the generic pool, on odd sizes, one to
// twenty channels, strides, every padding, windows wider than the stride
// and wholly in the padding, with NaNs and signed zeros in the input.
func TestMaxPoolF32(t *testing.T) {
	cases := []struct {
		h, w, c, kh, kw, sh, sw int
		padding                 string
		explicit                [4]int
	}{
		{7, 9, 1, 2, 2, 2, 2, "VALID", [4]int{}},
		{7, 9, 3, 2, 2, 2, 2, "SAME", [4]int{}},
		{8, 8, 16, 2, 2, 2, 2, "VALID", [4]int{}},
		{9, 11, 9, 3, 3, 2, 2, "SAME", [4]int{}},
		{6, 5, 17, 3, 2, 1, 1, "SAME", [4]int{}},
		{5, 6, 20, 1, 1, 3, 2, "VALID", [4]int{}},
		{4, 4, 8, 2, 2, 3, 3, "EXPLICIT", [4]int{2, 2, 3, 1}},
		{5, 7, 12, 5, 5, 1, 1, "EXPLICIT", [4]int{4, 4, 4, 4}},
	}
	for ci, tc := range cases {
		for _, batch := range []int{1, 2} {
			for _, threads := range []int{1, 2} {
				sp := spatial{strideH: tc.sh, strideW: tc.sw, dilH: 1, dilW: 1, padding: tc.padding, explicit: tc.explicit}
				g, err := sp.geometry(tc.h, tc.w, tc.kh, tc.kw)
				if err != nil {
					t.Fatal(err)
				}
				x := randSpecialF32(uint64(100+ci), batch*tc.h*tc.w*tc.c)
				n := batch * g.outH * g.outW * tc.c
				want := make([]float32, n)
				got := make([]float32, n)
				for i := range got {
					got[i] = float32(math.NaN())
				}
				ctx := WithThreads(context.Background(), threads)
				pool(ctx, poolMax, x, batch, tc.c, sp, g, want, float32(math.Inf(-1)))
				maxPoolF32(ctx, x, batch, tc.c, sp, g, got)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("case %d batch %d: element %d = %v, want %v", ci, batch, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestMaxPool32Kernels checks the pooling loops against their Go twin on
// every channel count up to 40 and on wider multiples of 16 (the AVX-512
// loop's 64- and 16-channel steps).
func TestMaxPool32Kernels(t *testing.T) {
	offs := []int{0, 3, 41, 80}
	widths := []int{48, 64, 80, 128, 144}
	for c := 1; c <= 40; c++ {
		widths = append(widths, c)
	}
	for _, c := range widths {
		src := randSpecialF32(uint64(c), 80+2*(c+50)+c)
		want := make([]float32, 2*(c+60))
		got := make([]float32, 2*(c+60))
		maxPool32Go(want, src, c, 2, c+60, c+50, offs)
		maxPool32(got, src, c, 2, c+60, c+50, offs)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("c=%d: element %d = %v, want %v", c, i, got[i], want[i])
			}
		}
	}
}

// TestReduceMaxF32 checks the float32 Max fast path against the generic
// float64 reduction, bit for bit apart from NaN payloads, on global pools
// and other contiguous blocks, and that it declines what it does not do.
func TestReduceMaxF32(t *testing.T) {
	cases := []struct {
		shape tensor.Shape
		axes  []bool
		ok    bool
	}{
		{tensor.Shape{2, 5, 7, 16}, []bool{false, true, true, false}, true},
		{tensor.Shape{1, 28, 28, 64}, []bool{false, true, true, false}, true},
		{tensor.Shape{3, 4, 9}, []bool{false, true, false}, true},
		{tensor.Shape{4, 1, 3, 11}, []bool{false, false, true, false}, true},
		{tensor.Shape{2, 5, 7, 3}, []bool{false, true, true, false}, false},  // inner too short
		{tensor.Shape{2, 5, 3, 16}, []bool{false, true, false, true}, false}, // not contiguous
		{tensor.Shape{2, 5, 16}, []bool{true, false, false}, true},
	}
	for ci, tc := range cases {
		x := tensor.MustFromSlice(tc.shape, randSpecialF32(uint64(200+ci), tc.shape.NumElements()))
		keep, out := reducedShapes(tc.shape, tc.axes, false)
		got := reduceMaxF32(context.Background(), x.Float32s(), tc.shape, keep, out)
		if (got != nil) != tc.ok {
			t.Fatalf("case %d: fast path taken = %v, want %v", ci, got != nil, tc.ok)
		}
		if got == nil {
			continue
		}
		acc := make([]float64, keep.NumElements())
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
		reduceInto(x.Float32s(), tc.shape, keep, acc, func(a float64, v float32) float64 {
			if f := float64(v); f > a || math.IsNaN(f) {
				return f
			}
			return a
		})
		for i, g := range got.Float32s() {
			w := float32(acc[i])
			if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || (!math.IsNaN(float64(w)) && math.Float32bits(g) != math.Float32bits(w)) {
				t.Fatalf("case %d: element %d = %v, want %v", ci, i, g, w)
			}
		}
	}
}
