package kernels

import (
	"errors"
	"testing"

	"inferd/internal/tensor"
)

// TestTrOptimizers checks Adagrad, Adam and Momentum against ONNX's pseudo
// code, evaluated by hand in float64 (float32 attributes rounded first).
func TestTrOptimizers(t *testing.T) {
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	f64 := func(shape tensor.Shape, v ...float64) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	r := func(v float32) *tensor.Tensor { return f32(tensor.Shape{}, v) }
	step := func(v int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []int64{v}) }
	v2 := tensor.Shape{2}
	type want struct {
		shape tensor.Shape
		vals  []float64
	}
	tests := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
		want []want
		dt   tensor.DType
	}{
		{"adagrad as ONNX's test_adagrad", "OnnxAdagrad",
			attrs{"norm_coefficient": float32(0.001), "epsilon": float32(1e-5), "decay_factor": float32(0.1)},
			[]*tensor.Tensor{r(0.1), step(0), f32(tensor.Shape{1}, 1), f32(tensor.Shape{1}, -1), f32(tensor.Shape{1}, 2)},
			[]want{{tensor.Shape{1}, []float64{1.0576961852895388}}, {tensor.Shape{1}, []float64{2.9980009999051003}}}, tensor.Float32},
		{"adagrad decays the rate by T", "OnnxAdagrad",
			attrs{"norm_coefficient": float32(0.25), "epsilon": float32(0), "decay_factor": float32(0.5)},
			[]*tensor.Tensor{r(0.5), step(3), f32(v2, 1, 2), f32(v2, -1, 4), f32(v2, 2, 0)},
			[]want{{v2, []float64{1.0937042571331637, 1.8}}, {v2, []float64{2.5625, 20.25}}}, tensor.Float32},
		{"adagrad broadcasts a one-element gradient", "OnnxAdagrad",
			attrs{"epsilon": float32(0)},
			[]*tensor.Tensor{r(0.5), step(0), f32(v2, 1, 2), f32(tensor.Shape{1}, 4), f32(v2, 0, 1)},
			[]want{{v2, []float64{0.5, 1.514928749927334}}, {v2, []float64{16, 17}}}, tensor.Float32},
		{"adam at T=0 as ONNX's test_adam", "OnnxAdam",
			attrs{"norm_coefficient": float32(0.001), "alpha": float32(0.95), "beta": float32(0.1), "epsilon": float32(1e-7)},
			[]*tensor.Tensor{r(0.1), step(0), f32(v2, 1.2, 2.8), f32(v2, -0.94, -2.5), f32(v2, 1.7, 3.6), f32(v2, 0.1, 0.1)},
			[]want{{v2, []float64{1.025036349881917, 2.661032671852723}}, {v2, []float64{1.5680599685459025, 3.295139927322362}},
				{v2, []float64{0.8032108947393888, 5.622407046258838}}}, tensor.Float32},
		{"adam corrects the bias when T>0 and applies norm_coefficient_post", "OnnxAdam",
			attrs{"norm_coefficient": float32(0.5), "norm_coefficient_post": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "epsilon": float32(0.125)},
			[]*tensor.Tensor{r(0.5), step(2), f32(v2, 1, -1), f32(v2, 2, 0.5), f32(v2, 3, 0), f32(v2, 4, 1)},
			[]want{{v2, []float64{0.34775469414225824, -0.75}}, {v2, []float64{2.75, 0}}, {v2, []float64{4.5625, 0.75}}}, tensor.Float32},
		{"adam defaults alpha 0.9, beta 0.999, epsilon 1e-6", "OnnxAdam", attrs{},
			[]*tensor.Tensor{r(0.5), step(1), f32(tensor.Shape{1}, 1), f32(tensor.Shape{1}, 2), f32(tensor.Shape{1}, 3), f32(tensor.Shape{1}, 4)},
			[]want{{tensor.Shape{1}, []float64{0.7707365166686364}}, {tensor.Shape{1}, []float64{2.9}}, {tensor.Shape{1}, []float64{4}}}, tensor.Float32},
		{"momentum ignores beta at T=0", "OnnxMomentum",
			attrs{"norm_coefficient": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "mode": "standard"},
			[]*tensor.Tensor{r(0.5), step(0), f32(v2, 1, 4), f32(v2, 2, -1), f32(v2, 3, 0)},
			[]want{{v2, []float64{-0.875, 4}}, {v2, []float64{3.75, 0}}}, tensor.Float32},
		{"momentum standard", "OnnxMomentum",
			attrs{"norm_coefficient": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "mode": "standard"},
			[]*tensor.Tensor{r(0.5), step(1), f32(v2, 1, 4), f32(v2, 2, -1), f32(v2, 3, 0)},
			[]want{{v2, []float64{-0.59375, 4}}, {v2, []float64{3.1875, 0}}}, tensor.Float32},
		{"momentum nesterov", "OnnxMomentum",
			attrs{"norm_coefficient": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "mode": "nesterov"},
			[]*tensor.Tensor{r(0.5), step(1), f32(v2, 1, 4), f32(v2, 2, -1), f32(v2, 3, 0)},
			[]want{{v2, []float64{-0.921875, 4}}, {v2, []float64{3.1875, 0}}}, tensor.Float32},
		{"momentum of two tensors: X1 X2 G1 G2 V1 V2 in, X1 X2 V1 V2 out", "OnnxMomentum",
			attrs{"norm_coefficient": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "mode": "standard"},
			[]*tensor.Tensor{r(0.5), step(1), f32(tensor.Shape{1}, 1), f32(v2, 2, 3), f32(tensor.Shape{1}, 2), f32(v2, 1, -1),
				f32(tensor.Shape{1}, 3), f32(v2, 1, 2)},
			[]want{{tensor.Shape{1}, []float64{-0.59375}}, {v2, []float64{1.1875, 2.59375}}, {tensor.Shape{1}, []float64{3.1875}}, {v2, []float64{1.625, 0.8125}}},
			tensor.Float32},
		{"momentum in double with a double rate", "OnnxMomentum",
			attrs{"norm_coefficient": float32(0.25), "alpha": float32(0.5), "beta": float32(0.75), "mode": "standard"},
			[]*tensor.Tensor{f64(tensor.Shape{}, 0.5), step(1), f64(v2, 1, 4), f64(v2, 2, -1), f64(v2, 3, 0)},
			[]want{{v2, []float64{-0.59375, 4}}, {v2, []float64{3.1875, 0}}}, tensor.Float64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, tc.op, tc.at, tc.in...)
			if len(out) != len(tc.want) {
				t.Fatalf("%d outputs, want %d", len(out), len(tc.want))
			}
			for i, w := range tc.want {
				if out[i].DType() != tc.dt {
					t.Errorf("output %d is %v, want %v", i, out[i].DType(), tc.dt)
				}
				assertClose(t, out[i], w.shape, w.vals, 1e-6)
			}
		})
	}
}

// TestTrOptimizerErrors checks what the optimizers refuse at build and at
// compute time.
func TestTrOptimizerErrors(t *testing.T) {
	f32 := func(v ...float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
	step := tensor.MustFromSlice(tensor.Shape{}, []int64{0})
	rate := tensor.MustFromSlice(tensor.Shape{}, []float32{0.1})
	mom := attrs{"norm_coefficient": float32(0), "alpha": float32(0.5), "beta": float32(0.5), "mode": "standard"}
	without := func(name string) attrs {
		a := attrs{}
		for k, v := range mom {
			if k != name {
				a[k] = v
			}
		}
		return a
	}
	tests := []struct {
		name string
		op   string
		at   attrs
		in   []*tensor.Tensor
	}{
		{"adagrad with a missing state", "OnnxAdagrad", attrs{}, []*tensor.Tensor{rate, step, f32(1), f32(1)}},
		{"adam with 5 tensors after R and T", "OnnxAdam", attrs{}, []*tensor.Tensor{rate, step, f32(1), f32(1), f32(1), f32(1), f32(1), f32(1), f32(1)}},
		{"momentum without alpha", "OnnxMomentum", without("alpha"), []*tensor.Tensor{rate, step, f32(1), f32(1), f32(1)}},
		{"momentum without norm_coefficient", "OnnxMomentum", without("norm_coefficient"), []*tensor.Tensor{rate, step, f32(1), f32(1), f32(1)}},
		{"momentum without mode", "OnnxMomentum", without("mode"), []*tensor.Tensor{rate, step, f32(1), f32(1), f32(1)}},
		{"momentum of an unknown mode", "OnnxMomentum", attrs{"norm_coefficient": float32(0), "alpha": float32(0.5), "beta": float32(0.5), "mode": "heavy"},
			[]*tensor.Tensor{rate, step, f32(1), f32(1), f32(1)}},
		{"T of int32", "OnnxMomentum", mom, []*tensor.Tensor{rate, tensor.MustFromSlice(tensor.Shape{}, []int32{0}), f32(1), f32(1), f32(1)}},
		{"R of two elements", "OnnxMomentum", mom, []*tensor.Tensor{f32(1, 2), step, f32(1), f32(1), f32(1)}},
		{"X of int64", "OnnxMomentum", mom, []*tensor.Tensor{rate, step, tensor.MustFromSlice(tensor.Shape{1}, []int64{1}), f32(1), f32(1)}},
		{"shapes that do not broadcast", "OnnxAdagrad", attrs{}, []*tensor.Tensor{rate, step, f32(1, 2), f32(1, 2, 3), f32(1, 2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runErr(tc.op, tc.at, tc.in...)
			if !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("error %v, want ErrInvalidArgument", err)
			}
		})
	}
}
