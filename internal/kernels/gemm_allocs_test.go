package kernels

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestGemmAllocs checks that the packed product allocates nothing per
// call once warm, with every micro-kernel of the build, at one and two
// threads, on shapes that split over row bands, over column panels, and
// over several kc and nc blocks, and that repeated calls, which reuse the
// pooled packing buffers, write the same C bit for bit.
func TestGemmAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	cases := []struct {
		name    string
		m, n, k int
		ta, tb  bool
	}{
		{"row bands", 200, 64, 300, false, false},
		{"column panels", 40, 256, 300, false, false},
		{"kc and nc blocks", 14, 1100, 300, false, false},
		{"transposed", 131, 67, 263, true, true},
	}
	for name, mk := range gemmKernels() {
		for _, c := range cases {
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/%s/threads=%d", name, c.name, threads), func(t *testing.T) {
					r := rand.New(rand.NewPCG(uint64(c.m), uint64(c.n)))
					a := randF32(r, c.m*c.k).Float32s()
					b := randF32(r, c.k*c.n).Float32s()
					lda, ldb := c.k, c.n
					if c.ta {
						lda = c.m
					}
					if c.tb {
						ldb = c.k
					}
					am := mat[float32]{data: a, ld: lda, trans: c.ta}
					bm := mat[float32]{data: b, ld: ldb, trans: c.tb}
					got := make([]float32, c.m*c.n)
					ctx := WithThreads(context.Background(), threads)
					call := func() { gemmWith(ctx, mk, c.m, c.n, c.k, am, bm, got, c.n) }
					if n := steadyAllocs(threads, call); n != 0 {
						t.Errorf("gemm allocates %d per call, want 0", n)
					}
					want := append([]float32(nil), got...)
					clear(got)
					call()
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("C[%d] = %v on a later call, want %v as before", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}

// TestConvIm2colAllocs checks that a float64 convolution, which always
// takes the im2col path through the portable micro-kernel, allocates
// nothing per call once warm at one and two threads, and gives the same
// output on every call.
func TestConvIm2colAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	const batch, h, w, c, kh, kw, o = 2, 17, 19, 16, 3, 3, 24
	sp := spatial{strideH: 1, strideW: 2, dilH: 1, dilW: 1, padding: "SAME"}
	g, err := sp.geometry(h, w, kh, kw)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	x := randF64(r, batch*h*w*c).Float64s()
	f := randF64(r, kh*kw*c*o).Float64s()
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			out := make([]float64, batch*g.outH*g.outW*o)
			ctx := WithThreads(context.Background(), threads)
			call := func() {
				if err := conv2D(ctx, x, batch, c, f, c, o, sp, g, out, epilogue[float64]{}, nil); err != nil {
					t.Fatal(err)
				}
			}
			if n := steadyAllocs(threads, call); n != 0 {
				t.Errorf("conv2D allocates %d per call, want 0", n)
			}
			want := append([]float64(nil), out...)
			clear(out)
			call()
			for i := range out {
				if math.Float64bits(out[i]) != math.Float64bits(want[i]) {
					t.Fatalf("out[%d] = %v on a later call, want %v as before", i, out[i], want[i])
				}
			}
		})
	}
}

// steadyAllocs runs f a few times at GOMAXPROCS threads to warm the pools,
// then returns its allocations per call averaged over many calls, rounded
// down: a waiting caller may now and then allocate in the runtime (see
// the engine's allocsPerRun).
func steadyAllocs(threads int, f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	for range 5 {
		f()
	}
	const runs = 30
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.Mallocs - before.Mallocs) / runs
}
