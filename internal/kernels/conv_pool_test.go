package kernels

import (
	"context"
	"fmt"
	"math"
	"testing"

	"inferd/internal/tensor"
)

// TestConvPoolFused checks a Conv2D fused with bias, Relu and a MaxPool
// against the fused convolution and the MaxPool kernel run one after the
// other, bit for bit: on the direct path (bands of rows, one and two
// threads, batch 2, odd sizes whose last conv row and column no window
// covers, 1 to 16 channels, output depths around the panel widths, SAME
// and VALID convolutions, 2×2 and 3×3 pools) and on the fallbacks (a
// strided convolution, float64, a band too large for the buffer).
func TestConvPoolFused(t *testing.T) {
	cases := []struct {
		conv    convCase
		pk      int
		dt      tensor.DType
		threads int
	}{
		{convCase{1, 13, 14, 1, 3, 3, 16, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float32, 1},
		{convCase{2, 17, 15, 3, 3, 3, 20, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float32, 2},
		{convCase{2, 30, 31, 8, 3, 3, 64, 1, 1, 1, 1, "SAME", nil}, 2, tensor.Float32, 2},
		{convCase{1, 19, 20, 16, 3, 3, 33, 1, 1, 1, 1, "VALID", nil}, 3, tensor.Float32, 1},
		{convCase{1, 12, 12, 2, 3, 3, 7, 1, 1, 2, 2, "SAME", nil}, 2, tensor.Float32, 1},
		{convCase{1, 70, 70, 1, 3, 3, 64, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float32, 2},
		{convCase{2, 5, 5, 16, 3, 3, 64, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float32, 1},   // no full tile: a row at a time
		{convCase{1, 30, 40, 3, 3, 3, 240, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float32, 1}, // band too large
		{convCase{1, 15, 16, 3, 3, 3, 8, 2, 2, 1, 1, "SAME", nil}, 2, tensor.Float32, 1},    // strided
		{convCase{1, 11, 12, 3, 3, 3, 8, 1, 1, 1, 1, "VALID", nil}, 2, tensor.Float64, 1},
	}
	r := newRand(51)
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%v/pool%d/%v", tc.conv, tc.pk, tc.dt), func(t *testing.T) {
			c := tc.conv
			x := randTensor(r, tc.dt, tensor.Shape{c.n, c.h, c.w, c.c}, false)
			f := randTensor(r, tc.dt, tensor.Shape{c.kh, c.kw, c.c, c.o}, false)
			bias := randTensor(r, tc.dt, tensor.Shape{c.o}, false)
			at := c.attrs()
			at["T"] = tc.dt
			node := Node{Name: "conv", Op: "Conv2D", Attrs: at, NumInputs: 2}
			relu := Node{Name: "relu", Op: "Relu", Attrs: attrs{"T": tc.dt}, NumInputs: 1}
			pat := attrs{"T": tc.dt, "ksize": []int64{1, int64(tc.pk), int64(tc.pk), 1}, "strides": []int64{1, int64(tc.pk), int64(tc.pk), 1}, "padding": "VALID"}
			poolNode := Node{Name: "pool", Op: "MaxPool", Attrs: pat, NumInputs: 1}
			if !FusablePool(poolNode) {
				t.Fatal("FusablePool = false")
			}
			fused, err := BuildFused(node, Fusion{Bias: bias, Activation: relu, Filter: f, Pool: poolNode})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := BuildFused(node, Fusion{Bias: bias, Activation: relu, Filter: f})
			if err != nil {
				t.Fatal(err)
			}
			ctx := WithThreads(context.Background(), tc.threads)
			mid, err := plain.Compute(ctx, []*tensor.Tensor{x, f})
			if err != nil {
				t.Fatal(err)
			}
			want := run1(t, "MaxPool", pat, mid[0])
			got, err := fused.Compute(ctx, []*tensor.Tensor{x, f})
			if err != nil {
				t.Fatal(err)
			}
			if !got[0].Shape().Equal(want.Shape()) {
				t.Fatalf("shape = %v, want %v", got[0].Shape(), want.Shape())
			}
			g, w := asF64(got[0]), asF64(want)
			for i := range w {
				if math.Float64bits(g[i]) != math.Float64bits(w[i]) {
					t.Fatalf("element %d = %v, want %v", i, g[i], w[i])
				}
			}
			computePoisoned(t, "fused conv+pool", fused, []*tensor.Tensor{x, f}, got)
		})
	}
}

// TestFusablePool checks which pools the fused kernel takes.
func TestFusablePool(t *testing.T) {
	tests := []struct {
		name string
		at   attrs
		want bool
	}{
		{"2x2 valid", attrs{"T": tensor.Float32, "ksize": []int64{1, 2, 2, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "VALID"}, true},
		{"3x2 valid", attrs{"T": tensor.Float32, "ksize": []int64{1, 3, 2, 1}, "strides": []int64{1, 3, 2, 1}, "padding": "VALID"}, true},
		{"same", attrs{"T": tensor.Float32, "ksize": []int64{1, 2, 2, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "SAME"}, false},
		{"overlapping", attrs{"T": tensor.Float32, "ksize": []int64{1, 3, 3, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "VALID"}, false},
		{"nchw", attrs{"T": tensor.Float32, "ksize": []int64{1, 2, 2, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "VALID", "data_format": "NCHW"}, false},
		{"int", attrs{"T": tensor.Int32, "ksize": []int64{1, 2, 2, 1}, "strides": []int64{1, 2, 2, 1}, "padding": "VALID"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FusablePool(Node{Name: "p", Op: "MaxPool", Attrs: tc.at, NumInputs: 1}); got != tc.want {
				t.Errorf("FusablePool = %v, want %v", got, tc.want)
			}
		})
	}
	if FusablePool(Node{Name: "p", Op: "AvgPool", Attrs: tests[0].at, NumInputs: 1}) {
		t.Error("FusablePool(AvgPool) = true")
	}
}

// TestConvDirectPoolKernels checks convDirectPool with the pure-Go
// micro-kernels and every assembly set the CPU has (AVX2, AVX-512), on
// one and two threads, against the float64 convolution with bias and Relu
// followed by the max pool, with the output poisoned with NaN beforehand.
func TestConvDirectPoolKernels(t *testing.T) {
	sets := append([]directKernels{directKernelsGo}, directKernelSets()...)
	for _, k := range sets {
		if k.rowTiles() {
			// The same set with every tile across the padded width.
			k.flat = true
			sets = append(sets, k)
		}
	}
	cases := []struct {
		conv convCase
		pk   int
	}{
		{convCase{1, 13, 14, 1, 3, 3, 16, 1, 1, 1, 1, "VALID", nil}, 2},
		{convCase{2, 17, 15, 3, 3, 3, 20, 1, 1, 1, 1, "SAME", nil}, 2},
		{convCase{1, 19, 20, 40, 3, 3, 33, 1, 1, 1, 1, "VALID", nil}, 3},
		{convCase{2, 16, 17, 64, 3, 3, 64, 1, 1, 1, 1, "SAME", nil}, 2},
		{convCase{1, 14, 13, 2, 3, 3, 7, 1, 1, 2, 2, "SAME", nil}, 2},
		// Layers shaped as mnist_cnn's, whose wanted pixels are computed a row at
		// a time where the set can; the last holds no full tile.
		{convCase{3, 13, 13, 16, 3, 3, 64, 1, 1, 1, 1, "VALID", nil}, 2},
		{convCase{3, 5, 5, 16, 3, 3, 64, 1, 1, 1, 1, "VALID", nil}, 2},
		{convCase{2, 12, 22, 16, 5, 5, 96, 1, 1, 1, 1, "VALID", nil}, 2},
	}
	r := newRand(52)
	for _, tc := range cases {
		c := tc.conv
		sp, err := parseSpatial(Node{Name: "n", Op: "Conv2D", Attrs: c.attrs()}, true)
		if err != nil {
			t.Fatal(err)
		}
		g, err := sp.geometry(c.h, c.w, c.kh, c.kw)
		if err != nil {
			t.Fatal(err)
		}
		p := convPool{kh: tc.pk, kw: tc.pk}
		x := randF32(r, c.n, c.h, c.w, c.c)
		f := randF32(r, c.kh, c.kw, c.c, c.o)
		bias := randF32(r, c.o).Float32s()
		conv, _ := refConv(c, asF64(x), asF64(f))
		ph, pw := g.outH/tc.pk, g.outW/tc.pk
		want := make([]float64, c.n*ph*pw*c.o)
		for b := 0; b < c.n; b++ {
			for y := 0; y < ph; y++ {
				for xx := 0; xx < pw; xx++ {
					for oc := 0; oc < c.o; oc++ {
						m := math.Inf(-1)
						for dy := 0; dy < tc.pk; dy++ {
							for dx := 0; dx < tc.pk; dx++ {
								v := conv[((b*g.outH+y*tc.pk+dy)*g.outW+xx*tc.pk+dx)*c.o+oc]
								m = math.Max(m, math.Max(v+float64(bias[oc]), 0))
							}
						}
						want[((b*ph+y)*pw+xx)*c.o+oc] = m
					}
				}
			}
		}
		shape := tensor.Shape{c.n, ph, pw, c.o}
		k := c.kh * c.kw * c.c
		pf := packDirectPanels(f.Float32s(), k, c.o, make([]float32, directPanelsLen(k, c.o)))
		for _, ks := range sets {
			// A band without a full tile needs the row micro-kernels.
			wp := g.outW + g.kW - 1
			if want := (tc.pk-1)*wp+g.outW >= directMR || ks.rowTiles(); directPoolApplies(ks, 1, sp, g, c.o, p) != want {
				t.Fatalf("%v/%v: directPoolApplies = %v, want %v", c, ks, !want, want)
			}
			if !directPoolApplies(ks, 1, sp, g, c.o, p) {
				continue
			}
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%v/pool%d/%v/flat=%v/threads=%d", c, tc.pk, ks, ks.flat, threads), func(t *testing.T) {
					out := tensor.New(tensor.Float32, shape)
					o32 := out.Float32s()
					for i := range o32 {
						o32[i] = float32(math.NaN())
					}
					ep := epilogue[float32]{bias: bias, relu: true, vec32: true}
					convDirectPool(WithThreads(context.Background(), threads), ks, x.Float32s(), c.n, c.c, pf, sp, g, p, o32, ep)
					assertClose(t, out, shape, want, 1e-5)
				})
			}
		}
	}
}
