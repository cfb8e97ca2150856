package kernels

import (
	"testing"

	"inferd/internal/tensor"
)

// TestOnnxPoolGeometry checks output shapes and values for the window
// settings ONNX's pools take, on a 1×1×4×4 input holding 1..16.
func TestOnnxPoolGeometry(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 1, 4, 4}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	for _, tt := range []struct {
		name  string
		op    string
		at    attrs
		shape tensor.Shape
		want  []float64
	}{
		{"max 3x3 s2 ceil", "OnnxMaxPool", attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": 1},
			tensor.Shape{1, 1, 2, 2}, []float64{11, 12, 15, 16}},
		{"max 3x3 s2 floor", "OnnxMaxPool", attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}},
			tensor.Shape{1, 1, 1, 1}, []float64{11}},
		{"max 2x2 dilated", "OnnxMaxPool", attrs{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 2}},
			tensor.Shape{1, 1, 2, 2}, []float64{11, 12, 15, 16}},
		{"avg SAME_UPPER", "OnnxAveragePool", attrs{"kernel_shape": []int64{2, 2}, "auto_pad": "SAME_UPPER"},
			tensor.Shape{1, 1, 4, 4}, []float64{3.5, 4.5, 5.5, 6, 7.5, 8.5, 9.5, 10, 11.5, 12.5, 13.5, 14, 13.5, 14.5, 15.5, 16}},
		{"avg SAME_LOWER", "OnnxAveragePool", attrs{"kernel_shape": []int64{2, 2}, "auto_pad": "SAME_LOWER"},
			tensor.Shape{1, 1, 4, 4}, []float64{1, 1.5, 2.5, 3.5, 3, 3.5, 4.5, 5.5, 7, 7.5, 8.5, 9.5, 11, 11.5, 12.5, 13.5}},
		{"avg pads include", "OnnxAveragePool", attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "strides": []int64{3, 3}, "count_include_pad": 1},
			tensor.Shape{1, 1, 2, 2}, []float64{14.0 / 9, 22.0 / 9, 46.0 / 9, 54.0 / 9}},
		{"avg pads exclude", "OnnxAveragePool", attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "strides": []int64{3, 3}},
			tensor.Shape{1, 1, 2, 2}, []float64{3.5, 5.5, 11.5, 13.5}},
		{"lp p1", "OnnxLpPool", attrs{"kernel_shape": []int64{4, 4}, "p": 1},
			tensor.Shape{1, 1, 1, 1}, []float64{136}},
		{"global max", "OnnxGlobalMaxPool", attrs{}, tensor.Shape{1, 1, 1, 1}, []float64{16}},
		{"global avg", "OnnxGlobalAveragePool", attrs{}, tensor.Shape{1, 1, 1, 1}, []float64{8.5}},
		{"global lp", "OnnxGlobalLpPool", attrs{"p": 2}, tensor.Shape{1, 1, 1, 1}, []float64{38.67815921162743}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assertClose(t, run1(t, tt.op, tt.at, x), tt.shape, tt.want, 1e-6)
		})
	}
}

// TestOnnxPoolNHWC checks that the channels-last form computes the NCHW
// form's values, transposed.
func TestOnnxPoolNHWC(t *testing.T) {
	r := newRand(3)
	x := randF32(r, 2, 3, 7, 6)
	xt := run1(t, "Transpose", nil, x, tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 2, 3, 1}))
	for _, tt := range []struct {
		op string
		at attrs
	}{
		{"OnnxMaxPool", attrs{"kernel_shape": []int64{3, 2}, "strides": []int64{2, 1}, "pads": []int64{1, 0, 1, 1}, "ceil_mode": 1}},
		{"OnnxAveragePool", attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "count_include_pad": 1}},
		{"OnnxAveragePool", attrs{"kernel_shape": []int64{2, 3}, "auto_pad": "SAME_LOWER", "strides": []int64{2, 2}}},
		{"OnnxLpPool", attrs{"kernel_shape": []int64{2, 2}, "p": 3}},
		{"OnnxGlobalAveragePool", attrs{}},
	} {
		t.Run(tt.op, func(t *testing.T) {
			want := run1(t, tt.op, tt.at, x)
			nhwc := attrs{"_nhwc": 1}
			for k, v := range tt.at {
				nhwc[k] = v
			}
			got := run1(t, "Transpose", nil, run1(t, tt.op, nhwc, xt), tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 3, 1, 2}))
			assertClose(t, got, want.Shape(), asF64(want), 1e-6)
		})
	}
}

// TestOnnxMaxPoolIndices checks the Indices output in both storage orders.
func TestOnnxMaxPoolIndices(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 2, 2, 3}, []float32{1, 9, 2, 3, 4, 5, 6, 0, 7, 8, 1, 2})
	for _, tt := range []struct {
		order int
		want  []float64
	}{
		{0, []float64{1, 1, 9, 8}},
		{1, []float64{2, 2, 7, 10}},
	} {
		out := run(t, "OnnxMaxPool", attrs{"kernel_shape": []int64{2, 2}, "_indices": 1, "storage_order": tt.order}, x)
		assertClose(t, out[0], tensor.Shape{1, 2, 1, 2}, []float64{9, 9, 8, 7}, 0)
		assertClose(t, out[1], tensor.Shape{1, 2, 1, 2}, tt.want, 0)
	}
}

// TestOnnxConvAgainstConv2D checks the N-D convolution kernel against
// TensorFlow's Conv2D on the same data (transposed), for strides,
// dilations, asymmetric pads and groups.
func TestOnnxConvAgainstConv2D(t *testing.T) {
	r := newRand(5)
	x := randF32(r, 2, 4, 9, 8)
	w := randF32(r, 6, 2, 3, 2) // group 2
	b := randF32(r, 6)
	got := run1(t, "OnnxConv", attrs{"group": 2, "strides": []int64{2, 1}, "dilations": []int64{1, 2}, "pads": []int64{1, 0, 2, 1}}, x, w, b)
	xt := run1(t, "Transpose", nil, x, tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 2, 3, 1}))
	wt := run1(t, "Transpose", nil, w, tensor.MustFromSlice(tensor.Shape{4}, []int32{2, 3, 1, 0}))
	y := run1(t, "Conv2D", attrs{"strides": []int64{1, 2, 1, 1}, "dilations": []int64{1, 1, 2, 1}, "padding": "EXPLICIT",
		"explicit_paddings": []int64{0, 0, 1, 2, 0, 1, 0, 0}}, xt, wt)
	y = run1(t, "BiasAdd", nil, y, b)
	want := run1(t, "Transpose", nil, y, tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 3, 1, 2}))
	assertClose(t, got, want.Shape(), asF64(want), 1e-5)
}

// TestOnnxConvTranspose checks a 1-D transposed convolution by hand, and
// the output shapes of its padding settings.
func TestOnnxConvTranspose(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 1, 3}, []float32{1, 2, 3})
	w := tensor.MustFromSlice(tensor.Shape{1, 1, 2}, []float32{1, 10})
	for _, tt := range []struct {
		name  string
		at    attrs
		shape tensor.Shape
		want  []float64
	}{
		{"plain", attrs{}, tensor.Shape{1, 1, 4}, []float64{1, 12, 23, 30}},
		{"stride 2", attrs{"strides": []int64{2}}, tensor.Shape{1, 1, 6}, []float64{1, 10, 2, 20, 3, 30}},
		{"pads", attrs{"strides": []int64{2}, "pads": []int64{1, 1}}, tensor.Shape{1, 1, 4}, []float64{10, 2, 20, 3}},
		{"output_padding", attrs{"strides": []int64{2}, "output_padding": []int64{1}}, tensor.Shape{1, 1, 7}, []float64{1, 10, 2, 20, 3, 30, 0}},
		{"output_shape", attrs{"strides": []int64{2}, "output_shape": []int64{8}}, tensor.Shape{1, 1, 8}, []float64{0, 1, 10, 2, 20, 3, 30, 0}},
		{"same upper", attrs{"strides": []int64{2}, "auto_pad": "SAME_UPPER"}, tensor.Shape{1, 1, 6}, []float64{1, 10, 2, 20, 3, 30}},
		{"dilated", attrs{"dilations": []int64{2}}, tensor.Shape{1, 1, 5}, []float64{1, 2, 13, 20, 30}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assertClose(t, run1(t, "OnnxConvTranspose", tt.at, x, w), tt.shape, tt.want, 1e-6)
		})
	}
}

// TestOnnxQuantize checks rounding half to even, saturation, per-axis
// parameters and the int8 form.
func TestOnnxQuantize(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{2, 3}, []float32{0.5, 1.5, 2.5, -300, 300, -1})
	got := run1(t, "OnnxQuantizeLinear", nil, x, tensor.MustFromSlice(tensor.Shape{}, []float32{1}), tensor.MustFromSlice(tensor.Shape{}, []uint8{10}))
	assertClose(t, got, tensor.Shape{2, 3}, []float64{10, 12, 12, 0, 255, 9}, 0)
	got = run1(t, "OnnxQuantizeLinear", attrs{"axis": 0}, x, tensor.MustFromSlice(tensor.Shape{2}, []float32{0.5, 2}), tensor.MustFromSlice(tensor.Shape{2}, []int8{0, -1}))
	if got.DType() != tensor.Int8 {
		t.Fatalf("dtype %v, want int8", got.DType())
	}
	assertClose(t, got, tensor.Shape{2, 3}, []float64{1, 3, 5, -128, 127, -1}, 0)
	deq := run1(t, "OnnxDequantizeLinear", attrs{"axis": 1}, tensor.MustFromSlice(tensor.Shape{1, 2}, []uint8{0, 255}),
		tensor.MustFromSlice(tensor.Shape{2}, []float32{2, 0.5}), tensor.MustFromSlice(tensor.Shape{2}, []uint8{128, 1}))
	assertClose(t, deq, tensor.Shape{1, 2}, []float64{-256, 127}, 0)
}

// TestOnnxDynamicQuantize checks ONNX's worked example.
func TestOnnxDynamicQuantize(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{6}, []float32{0, 2, -3, -2.5, 1.34, 0.5})
	out := run(t, "OnnxDynamicQuantizeLinear", nil, x)
	assertClose(t, out[0], tensor.Shape{6}, []float64{153, 255, 0, 26, 221, 179}, 0)
	assertClose(t, out[1], tensor.Shape{}, []float64{0.019607844}, 1e-7)
	assertClose(t, out[2], tensor.Shape{}, []float64{153}, 0)
}

// TestOnnxMatMulInteger checks zero points per row and per column and
// batch broadcasting.
func TestOnnxMatMulInteger(t *testing.T) {
	a := tensor.MustFromSlice(tensor.Shape{2, 2, 2}, []uint8{1, 2, 3, 4, 5, 6, 7, 8})
	b := tensor.MustFromSlice(tensor.Shape{2, 1}, []int8{1, -1})
	got := run1(t, "OnnxMatMulInteger", nil, a, b, tensor.MustFromSlice(tensor.Shape{2}, []uint8{1, 0}), tensor.MustFromSlice(tensor.Shape{}, []int8{1}))
	// (a - [1; 0]) · (b - 1) = (a - zp)·[0; -2].
	assertClose(t, got, tensor.Shape{2, 2, 1}, []float64{-2, -8, -10, -16}, 0)
}

// TestOnnxMaxUnpool checks the default output shape and a larger one.
func TestOnnxMaxUnpool(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 1, 1, 2}, []float32{5, 6})
	idx := tensor.MustFromSlice(tensor.Shape{1, 1, 1, 2}, []int64{1, 6})
	at := attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}
	assertClose(t, run1(t, "OnnxMaxUnpool", at, x, idx), tensor.Shape{1, 1, 2, 4}, []float64{0, 5, 0, 0, 0, 0, 6, 0}, 0)
	at["_absent"] = []int64{}
	got := run1(t, "OnnxMaxUnpool", at, x, idx, tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 1, 3, 5}))
	assertClose(t, got, tensor.Shape{1, 1, 3, 5}, []float64{0, 5, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0}, 0)
}

// TestOnnxConvTransposeGrouped checks a grouped, strided, dilated, padded
// 2-D transposed convolution against the definition: every input element
// scattered through every tap.
func TestOnnxConvTransposeGrouped(t *testing.T) {
	r := newRand(9)
	const batch, c, h, w, group, mg, kh, kw = 2, 4, 3, 4, 2, 3, 2, 3
	x := randF32(r, batch, c, h, w)
	wt := randF32(r, c, mg, kh, kw)
	s, d, pads := [2]int{2, 1}, [2]int{1, 2}, [4]int{1, 0, 0, 2}
	oh := s[0]*(h-1) + (kh-1)*d[0] + 1 - pads[0] - pads[2]
	ow := s[1]*(w-1) + (kw-1)*d[1] + 1 - pads[1] - pads[3]
	m := mg * group
	want := make([]float64, batch*m*oh*ow)
	xv, wv := x.Float32s(), wt.Float32s()
	for b := 0; b < batch; b++ {
		for ci := 0; ci < c; ci++ {
			gi := ci / (c / group)
			for i := 0; i < h; i++ {
				for j := 0; j < w; j++ {
					for mi := 0; mi < mg; mi++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								y, z := i*s[0]-pads[0]+ki*d[0], j*s[1]-pads[1]+kj*d[1]
								if y < 0 || y >= oh || z < 0 || z >= ow {
									continue
								}
								mo := gi*mg + mi
								want[((b*m+mo)*oh+y)*ow+z] += float64(xv[((b*c+ci)*h+i)*w+j]) * float64(wv[((ci*mg+mi)*kh+ki)*kw+kj])
							}
						}
					}
				}
			}
		}
	}
	got := run1(t, "OnnxConvTranspose", attrs{"group": group, "strides": []int64{2, 1}, "dilations": []int64{1, 2}, "pads": []int64{1, 0, 0, 2}}, x, wt)
	assertClose(t, got, tensor.Shape{batch, m, oh, ow}, want, 1e-5)
}

// TestOnnxConvBands checks that lowering a band of positions at a time
// (a tiny budget) gives what lowering everything at once does, for 1-D,
// 2-D and 3-D convolutions and transposed convolutions, and that the
// integer path (no GEMM) agrees with the float one.
func TestOnnxConvBands(t *testing.T) {
	r := newRand(11)
	for _, tt := range []struct {
		name   string
		in, k  []int
		s, d   []int
		group  int
		c, m   int
		padded bool
	}{
		{"1d", []int{13}, []int{3}, []int{2}, []int{1}, 1, 3, 4, true},
		{"2d grouped", []int{7, 6}, []int{3, 2}, []int{1, 2}, []int{2, 1}, 2, 4, 6, true},
		{"3d", []int{4, 5, 3}, []int{2, 3, 2}, []int{1, 1, 2}, []int{1, 1, 1}, 1, 2, 3, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rank := len(tt.in)
			g := nnGeom{in: tt.in, k: tt.k, s: tt.s, d: tt.d, pb: make([]int, rank), pe: make([]int, rank), out: make([]int, rank)}
			for i := range tt.in {
				if tt.padded {
					g.pb[i], g.pe[i] = 1, i%2
				}
				g.out[i] = (tt.in[i]+g.pb[i]+g.pe[i]-(tt.k[i]-1)*tt.d[i]-1)/tt.s[i] + 1
			}
			const batch = 2
			xs := append([]int{batch, tt.c}, tt.in...)
			ws := append([]int{tt.m, tt.c / tt.group}, tt.k...)
			x, w := nnRandInts(r, nnSize(xs)), nnRandInts(r, nnSize(ws))
			xf, wf := nnFloat32s(x), nnFloat32s(w)
			n := batch * tt.m * nnSize(g.out)
			whole, banded, ints := make([]float32, n), make([]float32, n), make([]int32, n)
			ctx := t.Context()
			if err := nnConv(ctx, xf, batch, tt.c, wf, tt.m, tt.group, g, nil, whole, 1<<20); err != nil {
				t.Fatal(err)
			}
			if err := nnConv(ctx, xf, batch, tt.c, wf, tt.m, tt.group, g, nil, banded, 7); err != nil {
				t.Fatal(err)
			}
			if err := nnConv(ctx, x, batch, tt.c, w, tt.m, tt.group, g, nil, ints, 7); err != nil {
				t.Fatal(err)
			}
			for i := range whole {
				if whole[i] != banded[i] || whole[i] != float32(ints[i]) {
					t.Fatalf("conv element %d: whole %v, banded %v, integer %v", i, whole[i], banded[i], ints[i])
				}
			}
			// The transposed convolution maps the output extents back.
			tg := nnGeom{in: g.out, k: g.k, s: g.s, d: g.d, pb: g.pb, pe: g.pe, out: g.in}
			tw := nnFloat32s(nnRandInts(r, tt.m*(tt.c/tt.group)*nnSize(tt.k)))
			y := nnFloat32s(nnRandInts(r, n))
			tn := batch * tt.c * nnSize(tt.in)
			tWhole, tBanded := make([]float32, tn), make([]float32, tn)
			if err := nnConvTranspose(ctx, y, batch, tt.m, tw, tt.c, tt.group, tg, nil, tWhole, 1<<20); err != nil {
				t.Fatal(err)
			}
			if err := nnConvTranspose(ctx, y, batch, tt.m, tw, tt.c, tt.group, tg, nil, tBanded, 5); err != nil {
				t.Fatal(err)
			}
			for i := range tWhole {
				if tWhole[i] != tBanded[i] {
					t.Fatalf("transposed element %d: whole %v, banded %v", i, tWhole[i], tBanded[i])
				}
			}
		})
	}
}

// nnRandInts returns n small random integers, exact in float32 sums.
func nnRandInts(r interface{ IntN(int) int }, n int) []int32 {
	out := make([]int32, n)
	for i := range out {
		out[i] = int32(r.IntN(9) - 4)
	}
	return out
}

func nnFloat32s(v []int32) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
