package kernels

import (
	"math"
	"testing"

	"inferd/internal/tensor"
)

func TestXtResize(t *testing.T) {
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	empty := f32(tensor.Shape{0})
	x22 := f32(tensor.Shape{1, 1, 2, 2}, 1, 2, 3, 4)
	x24 := f32(tensor.Shape{1, 1, 2, 4}, 1, 2, 3, 4, 5, 6, 7, 8)
	tests := []struct {
		name  string
		op    string
		at    attrs
		in    []*tensor.Tensor
		shape tensor.Shape
		want  []float64
	}{
		{"linear up half_pixel", "OnnxResize", attrs{"mode": "linear"},
			[]*tensor.Tensor{x22, empty, f32(tensor.Shape{4}, 1, 1, 2, 2)}, tensor.Shape{1, 1, 4, 4},
			[]float64{1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}},
		{"nearest down", "OnnxResize", attrs{"mode": "nearest"},
			[]*tensor.Tensor{x24, empty, f32(tensor.Shape{4}, 1, 1, 0.6, 0.6)}, tensor.Shape{1, 1, 1, 2},
			[]float64{1, 3}},
		{"linear align_corners by sizes", "OnnxResize", attrs{"mode": "linear", "coordinate_transformation_mode": "align_corners"},
			[]*tensor.Tensor{x22, empty, empty, tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 1, 3, 3})}, tensor.Shape{1, 1, 3, 3},
			[]float64{1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}},
		{"crop and resize extrapolates", "OnnxResize", attrs{"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize", "extrapolation_value": float32(-1)},
			[]*tensor.Tensor{x22, f32(tensor.Shape{8}, 0, 0, 0, 0, 1, 1, 1, 2), empty, tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 1, 1, 3})}, tensor.Shape{1, 1, 1, 3},
			[]float64{2, 3, -1}},
		{"upsample nearest", "OnnxUpsample", attrs{"mode": "nearest"},
			[]*tensor.Tensor{x22, f32(tensor.Shape{4}, 1, 1, 2, 3)}, tensor.Shape{1, 1, 4, 6},
			[]float64{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assertClose(t, run1(t, tc.op, tc.at, tc.in...), tc.shape, tc.want, 1e-6)
		})
	}
}

func TestXtResizeCubicIsIdentityAtScaleOne(t *testing.T) {
	x := randF32(newRand(1), 1, 2, 3, 5)
	sizes := tensor.MustFromSlice(tensor.Shape{4}, []int64{1, 2, 3, 5})
	empty := tensor.New(tensor.Float32, tensor.Shape{0})
	got := run1(t, "OnnxResize", attrs{"mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"}, x, empty, empty, sizes)
	assertClose(t, got, x.Shape(), asF64(x), 1e-6)
}

// TestXtRecurrent checks one-unit layers against their equations.
func TestXtRecurrent(t *testing.T) {
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	x := f32(tensor.Shape{2, 1, 1}, 1, 2) // seq 2, batch 1, input 1
	t.Run("RNN forward", func(t *testing.T) {
		out := run(t, "OnnxRNN", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 1, 1}, 0.5), f32(tensor.Shape{1, 1, 1}, 0.25))
		h1 := math.Tanh(0.5)
		h2 := math.Tanh(1 + 0.25*h1)
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, []float64{h1, h2}, 1e-6)
		assertClose(t, out[1], tensor.Shape{1, 1, 1}, []float64{h2}, 1e-6)
	})
	t.Run("RNN reverse with sequence_lens", func(t *testing.T) {
		empty := f32(tensor.Shape{0})
		lens := tensor.MustFromSlice(tensor.Shape{1}, []int32{1})
		out := run(t, "OnnxRNN", attrs{"hidden_size": int64(1), "direction": "reverse"}, x, f32(tensor.Shape{1, 1, 1}, 0.5), f32(tensor.Shape{1, 1, 1}, 0.25), empty, lens)
		h := math.Tanh(0.5)
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, []float64{h, 0}, 1e-6)
		assertClose(t, out[1], tensor.Shape{1, 1, 1}, []float64{h}, 1e-6)
	})
	t.Run("GRU", func(t *testing.T) {
		// Gates z, r, h with W = 0.1, 0.2, 0.3 and R = 0.4, 0.5, 0.6.
		out := run(t, "OnnxGRU", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 3, 1}, 0.1, 0.2, 0.3), f32(tensor.Shape{1, 3, 1}, 0.4, 0.5, 0.6))
		h := 0.0
		var want []float64
		for _, xv := range []float64{1, 2} {
			z := sig(0.1*xv + 0.4*h)
			r := sig(0.2*xv + 0.5*h)
			hh := math.Tanh(0.3*xv + 0.6*(r*h))
			h = (1-z)*hh + z*h
			want = append(want, h)
		}
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, want, 1e-6)
	})
	t.Run("LSTM with peepholes", func(t *testing.T) {
		// Gates i, o, f, c with W = 0.1..0.4, R = 0.5..0.8, P (i, o, f) = 0.9, 1.0, 1.1.
		out := run(t, "OnnxLSTM", attrs{"hidden_size": int64(1)}, x, f32(tensor.Shape{1, 4, 1}, 0.1, 0.2, 0.3, 0.4), f32(tensor.Shape{1, 4, 1}, 0.5, 0.6, 0.7, 0.8),
			f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{0}), f32(tensor.Shape{1, 3}, 0.9, 1.0, 1.1))
		h, c := 0.0, 0.0
		var want []float64
		for _, xv := range []float64{1, 2} {
			i := sig(0.1*xv + 0.5*h + 0.9*c)
			f := sig(0.3*xv + 0.7*h + 1.1*c)
			cc := math.Tanh(0.4*xv + 0.8*h)
			c = f*c + i*cc
			o := sig(0.2*xv + 0.6*h + 1.0*c)
			h = o * math.Tanh(c)
			want = append(want, h)
		}
		assertClose(t, out[0], tensor.Shape{2, 1, 1, 1}, want, 1e-6)
		assertClose(t, out[2], tensor.Shape{1, 1, 1}, []float64{c}, 1e-6)
	})
}
