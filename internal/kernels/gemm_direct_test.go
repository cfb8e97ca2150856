package kernels

import (
	"context"
	"fmt"
	"math"
	"testing"

	"inferd/internal/tensor"
)

// TestGemmDirect32 checks the direct-kernel matrix product with the Go
// and (where the CPU has them) assembly micro-kernels, on one and two
// threads, against a float64 product, for row counts below, at and above
// a tile, widths around the panels, transposed B, and every epilogue,
// with C poisoned so that an unwritten element fails.
func TestGemmDirect32(t *testing.T) {
	kernelSets := map[string]directKernels{"go": directKernelsGo}
	for _, k := range directKernelSets() {
		kernelSets[k.String()] = k
	}
	r := newRand(41)
	for _, m := range []int{1, 4, 5, 11, 12, 13, 25, 30} {
		for _, k := range []int{1, 7, 130} {
			for _, n := range []int{1, 5, 16, 17, 33, 64, 70} {
				for _, trans := range []bool{false, true} {
					a := randF32(r, m, k).Float32s()
					bm := randF32(r, k*n).Float32s()
					bias := randF32(r, n).Float32s()
					b := mat[float32]{data: bm, ld: n}
					if trans {
						b = mat[float32]{data: bm, ld: k, trans: true}
					}
					pf := packDirectPanelsMat(b, k, n, make([]float32, directPanelsLen(k, n)))
					for name, ks := range kernelSets {
						for _, de := range directEpilogues {
							threads := 1 + (m+n)%2
							t.Run(fmt.Sprintf("m%d_k%d_n%d_t%v/%s/%s", m, k, n, trans, name, de.name), func(t *testing.T) {
								ldc := n + 2
								c := make([]float32, m*ldc)
								for i := range c {
									c[i] = float32(math.NaN())
								}
								ctx := WithThreads(context.Background(), threads)
								gemmDirect32(ctx, ks, m, a, k, pf, c, ldc, de.make(bias))
								for i := 0; i < m; i++ {
									for j := 0; j < ldc; j++ {
										got := float64(c[i*ldc+j])
										if j >= n {
											if !math.IsNaN(got) {
												t.Fatalf("C[%d, %d] beyond the product was written", i, j)
											}
											continue
										}
										s := 0.0
										for p := 0; p < k; p++ {
											s += float64(a[i*k+p]) * float64(b.at(p, j))
										}
										if want := de.ref(s, float64(bias[j])); !closeTo(got, want, 1e-5) {
											t.Fatalf("C[%d, %d] = %v, want %v", i, j, got, want)
										}
									}
								}
							})
						}
					}
				}
			}
		}
	}
}

// TestFusedMatMulConstFilter checks the fused MatMul built with a
// constant B: that B and any other B (also transposed, also of another
// width) give the product of what is passed.
func TestFusedMatMulConstFilter(t *testing.T) {
	r := newRand(42)
	for _, tb := range []bool{false, true} {
		const m, k, n = 9, 20, 40
		bshape := func(k, n int) tensor.Shape {
			if tb {
				return tensor.Shape{n, k}
			}
			return tensor.Shape{k, n}
		}
		b1 := randF32(r, bshape(k, n)...)
		b2 := randF32(r, bshape(k, n)...)
		b3 := randF32(r, bshape(k, 7)...)
		bias := randF32(r, n)
		at := attrs{"T": tensor.Float32, "transpose_a": false, "transpose_b": tb}
		kern, err := BuildFused(Node{Name: "n", Op: "MatMul", Attrs: at, NumInputs: 2}, Fusion{Filter: b1})
		if err != nil {
			t.Fatal(err)
		}
		kb, err := BuildFused(Node{Name: "n", Op: "MatMul", Attrs: at, NumInputs: 2}, Fusion{Filter: b1, Bias: bias})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			b    *tensor.Tensor
			bias bool
		}{{"const", b1, false}, {"other", b2, false}, {"narrow", b3, false}, {"const_bias", b1, true}, {"other_bias", b2, true}} {
			t.Run(fmt.Sprintf("tb%v/%s", tb, tc.name), func(t *testing.T) {
				a := randF32(r, m, k)
				use := kern
				if tc.bias {
					use = kb
				}
				out, err := use.Compute(context.Background(), []*tensor.Tensor{a, tc.b})
				if err != nil {
					t.Fatal(err)
				}
				bs := tc.b.Shape()
				nn := bs[1]
				if tb {
					nn = bs[0]
				}
				want := make([]float64, m*nn)
				bv, av := asF64(tc.b), asF64(a)
				for i := 0; i < m; i++ {
					for j := 0; j < nn; j++ {
						s := 0.0
						for p := 0; p < k; p++ {
							if tb {
								s += av[i*k+p] * bv[j*k+p]
							} else {
								s += av[i*k+p] * bv[p*nn+j]
							}
						}
						if tc.bias {
							s += float64(bias.Float32s()[j])
						}
						want[i*nn+j] = s
					}
				}
				assertClose(t, out[0], tensor.Shape{m, nn}, want, 1e-5)
			})
		}
	}
}

// BenchmarkGemmDirect32 measures the float32 product through each set of
// direct micro-kernels the CPU has (AVX2, AVX-512) with B laid out
// beforehand (as a constant weight is at load), over the sizes of
// BenchmarkGEMM, in GFLOP/s. Peak for comparison: cores × lanes (8 for
// AVX2, 16 for AVX-512) × 2 flops (FMA) × 2 FMA units × clock.
func BenchmarkGemmDirect32(b *testing.B) {
	sets := directKernelSets()
	if len(sets) == 0 {
		b.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, dk := range sets {
		b.Run(dk.String(), func(b *testing.B) { benchGemmDirect32(b, dk) })
	}
}

func benchGemmDirect32(b *testing.B, dk directKernels) {
	sizes := [][3]int{{64, 64, 64}, {128, 128, 128}, {256, 256, 256}, {512, 512, 512}, {1024, 1024, 1024},
		{16384, 32, 27}, {4096, 64, 288}, {1024, 128, 576}, {8, 1024, 1024}}
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		r := newRand(1)
		a, bm := randF32(r, m, k).Float32s(), randF32(r, k, n).Float32s()
		pf := packDirectPanels(bm, k, n, make([]float32, directPanelsLen(k, n)))
		c := make([]float32, m*n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/threads=%d", m, n, k, threads), func(b *testing.B) {
				ctx := WithThreads(context.Background(), threads)
				b.ReportAllocs()
				for b.Loop() {
					gemmDirect32(ctx, dk, m, a, k, pf, c, n, epilogue[float32]{})
				}
				b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
