package kernels

import (
	"context"
	"fmt"
	"math"
	"testing"

	"inferd/internal/tensor"
)

// directCases are stride-1 geometries for convDirect: one, two and three
// input channels, odd sizes, output depths around the panel widths (16,
// 32), dilations, even kernels, every padding, and a single full tile.
var directCases = []convCase{
	{1, 13, 14, 1, 3, 3, 16, 1, 1, 1, 1, "VALID", nil},
	{2, 9, 11, 2, 3, 3, 5, 1, 1, 1, 1, "SAME", nil},
	{1, 17, 15, 3, 3, 3, 32, 1, 1, 1, 1, "VALID", nil},
	{1, 8, 9, 3, 3, 3, 33, 1, 1, 1, 1, "SAME", nil},
	{2, 12, 13, 8, 3, 3, 48, 1, 1, 2, 2, "SAME", nil},
	{1, 10, 11, 4, 2, 3, 64, 1, 1, 1, 3, "VALID", nil},
	{1, 7, 6, 5, 3, 3, 17, 1, 1, 1, 1, "EXPLICIT", []int64{1, 2, 0, 3}},
	{1, 6, 6, 64, 3, 3, 70, 1, 1, 1, 1, "VALID", nil},
	{1, 4, 4, 3, 1, 1, 20, 1, 1, 1, 1, "VALID", nil},
	{3, 5, 5, 16, 3, 3, 16, 1, 1, 1, 1, "SAME", nil},
	{1, 3, 14, 2, 3, 3, 7, 1, 1, 1, 1, "VALID", nil}, // exactly one tile
	{2, 30, 29, 7, 3, 3, 40, 1, 1, 1, 1, "SAME", nil},
	{1, 9, 8, 3, 5, 5, 31, 1, 1, 2, 1, "SAME", nil},
	{1, 30, 40, 3, 3, 3, 20, 1, 1, 1, 1, "VALID", nil}, // runs of tiles, a partial panel
	// Wider filters, with and without dilation.
	{2, 20, 19, 40, 3, 3, 48, 1, 1, 1, 1, "SAME", nil},
	{1, 12, 13, 40, 3, 3, 32, 1, 1, 2, 2, "SAME", nil},
	// Shapes computed a row at a time by the sets that can
	// (directRowsBetter): mnist_cnn's small layers (16 input channels for fewer rounding steps), one with no full
	// tile at all, and rows split into two tiles.
	{3, 13, 13, 16, 3, 3, 64, 1, 1, 1, 1, "VALID", nil},
	{3, 5, 5, 16, 3, 3, 64, 1, 1, 1, 1, "VALID", nil},
	{2, 8, 18, 16, 5, 5, 64, 1, 1, 1, 1, "VALID", nil},
	{2, 10, 12, 16, 3, 3, 64, 1, 1, 2, 2, "SAME", nil},
}

// TestDirectRowsBetter checks which convolutions are computed a row at a
// time, never with a depth not a multiple of 32 or a flat set, as
// measured (BenchmarkConvDirectPoolThreadCPU, BenchmarkConvDirectThreadCPU):
// mnist_cnn's pooled layers, whose rows end in padding and tiles that
// cross it; 59 pixels wide of 64 channels a row at a time; 118 pixels
// wide of 1 channel (9 steps a tile) a row at a time with AVX-512, whose
// row tiles cost the least overhead, but across the padded width with
// AVX2, whose kernels compute blocks of 6 rows; with AVX2 10 pixels wide
// a row at a time but not 14 (two tiles of 7, each a block of 6 and one
// of 1).
func TestDirectRowsBetter(t *testing.T) {
	avx512, avx2 := directKernels{isa: directAVX512}, directKernels{isa: directAVX2}
	tests := []struct {
		name                                 string
		k                                    directKernels
		o, kdim, wp, outW, useW, useH, count int
		want                                 bool
	}{
		{"mnist 13x13 pooled", avx512, 64, 576, 13, 11, 10, 10, 9*13 + 11, true},
		{"mnist 13x13", avx512, 64, 576, 13, 11, 11, 11, 10*13 + 11, true},
		{"mnist 5x5 pooled", avx512, 64, 576, 5, 3, 2, 2, 5 + 3, true},
		{"mnist 5x5", directKernelsGo, 64, 576, 5, 3, 3, 3, 2*5 + 3, true},
		{"mnist 5x5 avx2", avx2, 64, 576, 5, 3, 3, 3, 2*5 + 3, true},
		{"mnist 13x13 pooled avx2", avx2, 64, 576, 13, 11, 10, 10, 9*13 + 11, true},
		{"16x16x64 pooled avx2", avx2, 64, 576, 16, 14, 14, 14, 13*16 + 14, false},
		{"16x16x64 pooled", avx512, 64, 576, 16, 14, 14, 14, 13*16 + 14, true},
		{"mnist 28x28x1 pooled", avx512, 64, 9, 28, 26, 26, 8, 7*28 + 26, true},
		{"depth 48", avx512, 48, 576, 5, 3, 3, 3, 2*5 + 3, false},
		{"flat forced", directKernels{isa: directAVX512, flat: true}, 64, 576, 5, 3, 3, 3, 2*5 + 3, false},
		{"59x59x64", avx512, 64, 576, 59, 57, 57, 57, 56*59 + 57, true},
		{"120x120x1", avx512, 64, 9, 120, 118, 118, 118, 117*120 + 118, true},
		{"120x120x1 avx2", avx2, 64, 9, 120, 118, 118, 118, 117*120 + 118, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := directRowsBetter(tc.k, tc.o, tc.kdim, tc.wp, tc.outW, tc.useW, tc.useH, tc.count); got != tc.want {
				t.Errorf("directRowsBetter = %v, want %v", got, tc.want)
			}
		})
	}
}

// directEpilogue is one way a fused kernel finishes its outputs, with the
// float64 reference of it.
type directEpilogue struct {
	name            string
	bias, relu, six bool
	tanh            bool
}

var directEpilogues = []directEpilogue{
	{name: "none"},
	{name: "bias", bias: true},
	{name: "bias_relu", bias: true, relu: true},
	{name: "relu", relu: true},
	{name: "bias_relu6", bias: true, relu: true, six: true},
	{name: "tanh", tanh: true},
}

func (d directEpilogue) make(bias []float32) epilogue[float32] {
	var ep epilogue[float32]
	if d.bias {
		ep.bias = bias
	}
	ep.relu, ep.cap6 = d.relu, d.six
	if d.tanh {
		ep.act = func(x []float32) {
			for i, v := range x {
				x[i] = float32(math.Tanh(float64(v)))
			}
		}
	}
	ep.vec32 = ep.bias != nil && !ep.cap6 && ep.act == nil
	return ep
}

func (d directEpilogue) ref(v, bias float64) float64 {
	if d.bias {
		v += bias
	}
	if d.relu {
		v = math.Max(v, 0)
		if d.six {
			v = math.Min(v, 6)
		}
	}
	if d.tanh {
		v = math.Tanh(v)
	}
	return v
}

// TestConvDirect checks convDirect with the pure-Go micro-kernels and
// every assembly set the CPU has (AVX2, AVX-512), on one and two threads,
// against the float64 convolution, with the output poisoned with NaN
// beforehand so that an element left unwritten fails.
func TestConvDirect(t *testing.T) {
	kernelSets := []struct {
		name string
		k    directKernels
	}{{"go", directKernelsGo}}
	for _, k := range directKernelSets() {
		kernelSets = append(kernelSets, struct {
			name string
			k    directKernels
		}{k.String(), k})
		if k.rowTiles() {
			// The same set with every tile across the padded width.
			k.flat = true
			kernelSets = append(kernelSets, struct {
				name string
				k    directKernels
			}{k.String() + "_flat", k})
		}
	}
	r := newRand(21)
	for _, c := range directCases {
		sp, err := parseSpatial(Node{Name: "n", Op: "Conv2D", Attrs: c.attrs()}, true)
		if err != nil {
			t.Fatal(err)
		}
		g, err := sp.geometry(c.h, c.w, c.kh, c.kw)
		if err != nil {
			t.Fatal(err)
		}
		if !directApplies(1, sp, g) {
			t.Fatalf("%v: directApplies = false", c)
		}
		x := randF32(r, c.n, c.h, c.w, c.c)
		f := randF32(r, c.kh, c.kw, c.c, c.o)
		bias := randF32(r, c.o).Float32s()
		conv, shape := refConv(c, asF64(x), asF64(f))
		k := c.kh * c.kw * c.c
		pf := packDirectPanels(f.Float32s(), k, c.o, make([]float32, directPanelsLen(k, c.o)))
		for _, ks := range kernelSets {
			for _, threads := range []int{1, 2} {
				for _, de := range directEpilogues {
					t.Run(c.String()+"/"+ks.name+"/"+de.name, func(t *testing.T) {
						out := tensor.New(tensor.Float32, shape)
						o32 := out.Float32s()
						for i := range o32 {
							o32[i] = float32(math.NaN())
						}
						ctx := WithThreads(context.Background(), threads)
						convDirect(ctx, ks.k, x.Float32s(), c.n, c.c, pf, sp, g, o32, de.make(bias))
						want := make([]float64, len(conv))
						for i, v := range conv {
							want[i] = de.ref(v, float64(bias[i%c.o]))
						}
						assertClose(t, out, shape, want, 1e-5)
					})
				}
			}
		}
	}
}

// TestConvDirectTileKernels compares each assembly micro-kernel, of each
// set the CPU has, with its Go twin on one tile, with a row stride wider
// than a segment and every flag, bit for bit apart from the fused
// multiply-add's rounding.
func TestConvDirectTileKernels(t *testing.T) {
	sets := directKernelSets()
	if len(sets) == 0 {
		t.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, asm := range sets {
		t.Run(asm.String(), func(t *testing.T) { testDirectTileKernels(t, asm) })
	}
}

func testDirectTileKernels(t *testing.T, asm directKernels) {
	r := newRand(22)
	for _, shape := range [][2]int{{directMR, 16}, {directMR, 32}, {directMR16, 16}} {
		mr, nr := shape[0], shape[1]
		for _, flags := range []int{0, directBias, directRelu, directBias | directRelu} {
			const nseg, kseg, lda, ldb, ldc = 3, 7, 9, 40, 45
			offs := []int{0, 131, 250}
			a := randF32(r, 250+(mr-1)*lda+kseg).Float32s()
			b := randF32(r, nseg*kseg*ldb).Float32s()
			bias := randF32(r, nr).Float32s()
			got := make([]float32, (mr-1)*ldc+nr)
			want := make([]float32, len(got))
			for i := range got {
				got[i], want[i] = float32(i), float32(i) // between the rows
			}
			asm.run(mr, nr, nseg, kseg, a, lda, offs, b, ldb, got, ldc, bias, flags)
			directKernelsGo.run(mr, nr, nseg, kseg, a, lda, offs, b, ldb, want, ldc, bias, flags)
			for i := range got {
				if !closeTo(float64(got[i]), float64(want[i]), 1e-5) {
					t.Fatalf("%dx%d flags %d: element %d = %v, want %v", mr, nr, flags, i, got[i], want[i])
				}
			}
			if asm.rowTiles() && nr == 32 && mr == directMR {
				for rows := 1; rows <= directMR; rows++ {
					for i := range got {
						got[i], want[i] = float32(i), float32(i)
					}
					asm.runRow(rows, nseg, kseg, a, lda, offs, b, ldb, got, ldc, bias, flags)
					directKernelsGo.runRow(rows, nseg, kseg, a, lda, offs, b, ldb, want, ldc, bias, flags)
					for i := range got {
						if !closeTo(float64(got[i]), float64(want[i]), 1e-5) {
							t.Fatalf("row tile %dx32 flags %d: element %d = %v, want %v", rows, flags, i, got[i], want[i])
						}
					}
				}
			}
			// A run of three tiles, A and C moved on between them.
			run := directRun{n: 3, strideA: 5, strideC: mr*ldc + 3}
			a = randF32(r, 250+2*run.strideA+(mr-1)*lda+kseg).Float32s()
			got = make([]float32, 2*run.strideC+(mr-1)*ldc+nr+1)
			want = make([]float32, len(got))
			asm.runN(run, mr, nr, nseg, kseg, a, lda, offs, b, ldb, got, ldc, bias, flags)
			directKernelsGo.runN(run, mr, nr, nseg, kseg, a, lda, offs, b, ldb, want, ldc, bias, flags)
			for i := range got {
				if !closeTo(float64(got[i]), float64(want[i]), 1e-5) {
					t.Fatalf("%dx%d flags %d, run: element %d = %v, want %v", mr, nr, flags, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConv2DConstFilter checks that a fused convolution built with a
// constant filter uses it only when the filter input is that tensor: a
// different filter, of the same or another shape, is convolved as given.
func TestConv2DConstFilter(t *testing.T) {
	r := newRand(23)
	c := convCase{1, 9, 10, 3, 3, 3, 20, 1, 1, 1, 1, "SAME", nil}
	x := randF32(r, c.n, c.h, c.w, c.c)
	f1 := randF32(r, c.kh, c.kw, c.c, c.o)
	f2 := randF32(r, c.kh, c.kw, c.c, c.o)
	c3 := c
	c3.kh, c3.kw = 2, 2
	f3 := randF32(r, c3.kh, c3.kw, c3.c, c3.o)
	at := c.attrs()
	at["T"] = tensor.Float32
	k, err := BuildFused(Node{Name: "n", Op: "Conv2D", Attrs: at, NumInputs: 2}, Fusion{Filter: f1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cc   convCase
		f    *tensor.Tensor
	}{{"const", c, f1}, {"other", c, f2}, {"other_shape", c3, f3}, {"const_again", c, f1}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := k.Compute(context.Background(), []*tensor.Tensor{x, tc.f})
			if err != nil {
				t.Fatal(err)
			}
			want, shape := refConv(tc.cc, asF64(x), asF64(tc.f))
			assertClose(t, out[0], shape, want, 1e-5)
		})
	}
}

// BenchmarkConvDirect times convDirect with bias and Relu on the fixtures'
// convolution shapes (3×3, VALID, one thread), in GFLOP/s.
func BenchmarkConvDirect(b *testing.B) {
	sets := directKernelSets()
	if len(sets) == 0 {
		b.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, k := range sets {
		b.Run(k.String(), func(b *testing.B) { benchConvDirect(b, k) })
	}
}

func benchConvDirect(b *testing.B, k directKernels) {
	for _, s := range []struct{ h, w, c, o int }{
		{128, 128, 3, 16}, {63, 63, 16, 32}, {30, 30, 32, 64},
		{70, 70, 1, 64}, {34, 34, 64, 64}, {16, 16, 64, 64},
		{62, 62, 32, 32},
	} {
		c := convCase{1, s.h, s.w, s.c, 3, 3, s.o, 1, 1, 1, 1, "VALID", nil}
		b.Run(fmt.Sprintf("%dx%dx%d_o%d", s.h, s.w, s.c, s.o), func(b *testing.B) {
			sp, _ := parseSpatial(Node{Name: "n", Op: "Conv2D", Attrs: c.attrs()}, true)
			g, _ := sp.geometry(c.h, c.w, c.kh, c.kw)
			r := newRand(1)
			x := randF32(r, 1, c.h, c.w, c.c).Float32s()
			kk := 9 * c.c
			pf := packDirectPanels(randF32(r, kk, c.o).Float32s(), kk, c.o, make([]float32, directPanelsLen(kk, c.o)))
			out := make([]float32, g.outH*g.outW*c.o)
			ep := epilogue[float32]{bias: randF32(r, c.o).Float32s(), relu: true, vec32: true}
			ctx := WithThreads(context.Background(), 1)
			b.ResetTimer()
			for b.Loop() {
				convDirect(ctx, k, x, 1, c.c, pf, sp, g, out, ep)
			}
			b.ReportMetric(float64(2*g.outH*g.outW*kk*c.o)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
