package kernels

import (
	"testing"

	"inferd/internal/tensor"
)

// BenchmarkOnnxConv compares the N-D ONNX Conv kernel with Conv2D on the
// same 3×3 convolution of a 64-channel 56×56 image.
func BenchmarkOnnxConv(b *testing.B) {
	r := newRand(1)
	x := randF32(r, 1, 64, 56, 56)
	w := randF32(r, 64, 64, 3, 3)
	xt := run1(b, "Transpose", nil, x, tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 2, 3, 1}))
	wt := run1(b, "Transpose", nil, w, tensor.MustFromSlice(tensor.Shape{4}, []int32{2, 3, 1, 0}))
	b.Run("OnnxConv", func(b *testing.B) {
		k := build(b, "OnnxConv", attrs{"pads": []int64{1, 1, 1, 1}}, 2)
		for b.Loop() {
			if _, err := k.Compute(b.Context(), []*tensor.Tensor{x, w}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Conv2D", func(b *testing.B) {
		k := build(b, "Conv2D", attrs{"strides": []int64{1, 1, 1, 1}, "padding": "SAME"}, 2)
		for b.Loop() {
			if _, err := k.Compute(b.Context(), []*tensor.Tensor{xt, wt}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkOnnxPoolNHWC compares the ONNX average pool's channels-last
// form with TensorFlow's AvgPool on a 3×3 window over 64 channels.
func BenchmarkOnnxPoolNHWC(b *testing.B) {
	x := randF32(newRand(2), 1, 56, 56, 64)
	b.Run("OnnxAveragePool", func(b *testing.B) {
		k := build(b, "OnnxAveragePool", attrs{"_nhwc": 1, "kernel_shape": []int64{3, 3}, "auto_pad": "SAME_UPPER"}, 1)
		for b.Loop() {
			if _, err := k.Compute(b.Context(), []*tensor.Tensor{x}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AvgPool", func(b *testing.B) {
		k := build(b, "AvgPool", attrs{"ksize": []int64{1, 3, 3, 1}, "strides": []int64{1, 1, 1, 1}, "padding": "SAME"}, 1)
		for b.Loop() {
			if _, err := k.Compute(b.Context(), []*tensor.Tensor{x}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
