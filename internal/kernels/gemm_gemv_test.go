package kernels

import (
	"math"
	"testing"
)

// TestSgemv32 checks the vector row-times-matrix loop (assembly where the
// CPU has it) against a float64 sum on every width across the 64-, 8- and
// 1-column paths, with B's rows wider than the product's, and that it
// writes exactly the columns asked for.
func TestSgemv32(t *testing.T) {
	r := newRand(31)
	for _, k := range []int{0, 1, 5, 130} {
		for n := 0; n <= 140; n++ {
			ldb := n + 3
			a := randF32(r, k).Float32s()
			b := randF32(r, max(k*ldb, 1)).Float32s()
			c := make([]float32, n+1)
			for i := range c {
				c[i] = float32(math.NaN())
			}
			sgemv32(a, b, ldb, c[:n])
			for j := 0; j < n; j++ {
				want := 0.0
				for p := 0; p < k; p++ {
					want += float64(a[p]) * float64(b[p*ldb+j])
				}
				if !closeTo(float64(c[j]), want, 1e-5) {
					t.Fatalf("k=%d n=%d: c[%d] = %v, want %v", k, n, j, c[j], want)
				}
			}
			if !math.IsNaN(float64(c[n])) {
				t.Fatalf("k=%d n=%d: wrote past the end", k, n)
			}
		}
	}
}
