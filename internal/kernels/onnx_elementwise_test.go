package kernels

import (
	"math"
	"slices"
	"testing"

	"inferd/internal/tensor"
)

// TestOnnxElementwise checks the ONNX element-wise kernels on hand-worked
// values, including the edge cases that set ONNX apart from TensorFlow.
func TestOnnxElementwise(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	f32 := func(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	f64 := func(shape tensor.Shape, v ...float64) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	i32 := func(shape tensor.Shape, v ...int32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	i64 := func(shape tensor.Shape, v ...int64) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	u8 := func(shape tensor.Shape, v ...uint8) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }
	empty := tensor.New(tensor.Float32, tensor.Shape{0})
	tests := []struct {
		name  string
		op    string
		attrs attrs
		in    []*tensor.Tensor
		dtype tensor.DType
		shape tensor.Shape
		want  []float64
	}{
		{"align at axis 1", "OnnxEwAlign", attrs{"axis": 1},
			[]*tensor.Tensor{f32(tensor.Shape{2, 3, 4, 5}, make([]float32, 120)...), f32(tensor.Shape{3, 4}, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)},
			tensor.Float32, tensor.Shape{3, 4, 1}, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{"align negative axis", "OnnxEwAlign", attrs{"axis": -2},
			[]*tensor.Tensor{f32(tensor.Shape{2, 3, 4}, make([]float32, 24)...), f32(tensor.Shape{3}, 1, 2, 3)},
			tensor.Float32, tensor.Shape{3, 1}, []float64{1, 2, 3}},
		{"elu alpha", "OnnxElu", attrs{"alpha": 2.0},
			[]*tensor.Tensor{f32(tensor.Shape{3}, -1, 0, 1)},
			tensor.Float32, tensor.Shape{3}, []float64{2 * math.Expm1(-1), 0, 1}},
		{"celu", "OnnxCelu", attrs{"alpha": 2.0},
			[]*tensor.Tensor{f64(tensor.Shape{3}, -1, 0, 3)},
			tensor.Float64, tensor.Shape{3}, []float64{2 * math.Expm1(-0.5), 0, 3}},
		{"hard sigmoid defaults", "OnnxHardSigmoid", nil,
			[]*tensor.Tensor{f32(tensor.Shape{4}, -5, 0, 1, 5)},
			tensor.Float32, tensor.Shape{4}, []float64{0, 0.5, 0.7, 1}},
		{"hard swish", "OnnxHardSwish", nil,
			[]*tensor.Tensor{f32(tensor.Shape{4}, -4, -1, 1, 4)},
			tensor.Float32, tensor.Shape{4}, []float64{0, -1.0 / 3, 2.0 / 3, 4}},
		{"thresholded relu at the threshold", "OnnxThresholdedRelu", attrs{"alpha": 1},
			[]*tensor.Tensor{f32(tensor.Shape{3}, 0.5, 1, 1.5)},
			tensor.Float32, tensor.Shape{3}, []float64{0, 0, 1.5}},
		{"shrink int with bias", "OnnxShrink", attrs{"lambd": 1.5, "bias": 1.5},
			[]*tensor.Tensor{i32(tensor.Shape{5}, -3, -1, 0, 2, 3)},
			tensor.Int32, tensor.Shape{5}, []float64{-1, 0, 0, 0, 1}},
		{"isnan", "OnnxIsNaN", nil,
			[]*tensor.Tensor{f64(tensor.Shape{3}, nan, inf, 1)},
			tensor.Bool, tensor.Shape{3}, []float64{1, 0, 0}},
		{"isinf both", "OnnxIsInf", nil,
			[]*tensor.Tensor{f32(tensor.Shape{4}, float32(inf), float32(-inf), float32(nan), 1)},
			tensor.Bool, tensor.Shape{4}, []float64{1, 1, 0, 0}},
		{"isinf negative only", "OnnxIsInf", attrs{"detect_positive": 0},
			[]*tensor.Tensor{f32(tensor.Shape{2}, float32(inf), float32(-inf))},
			tensor.Bool, tensor.Shape{2}, []float64{0, 1}},
		{"pow float base int exponent", "OnnxPow", nil,
			[]*tensor.Tensor{f32(tensor.Shape{3}, 2, -2, 4), i64(tensor.Shape{1}, 3)},
			tensor.Float32, tensor.Shape{3}, []float64{8, -8, 64}},
		{"pow int base float exponent truncates", "OnnxPow", nil,
			[]*tensor.Tensor{i32(tensor.Shape{3}, 2, 9, 10), f32(tensor.Shape{}, 0.5)},
			tensor.Int32, tensor.Shape{3}, []float64{1, 3, 3}},
		{"pow int negative exponent", "OnnxPow", nil,
			[]*tensor.Tensor{i64(tensor.Shape{4}, 2, 1, -1, -1), i64(tensor.Shape{4}, -1, -5, -3, -2)},
			tensor.Int64, tensor.Shape{4}, []float64{0, 1, -1, 1}},
		{"bitshift left uint8 wraps", "OnnxBitShift", attrs{"direction": "LEFT"},
			[]*tensor.Tensor{u8(tensor.Shape{3}, 16, 4, 1), u8(tensor.Shape{3}, 4, 2, 8)},
			tensor.Uint8, tensor.Shape{3}, []float64{0, 16, 0}},
		{"bitshift right broadcast", "OnnxBitShift", attrs{"direction": "RIGHT"},
			[]*tensor.Tensor{u8(tensor.Shape{3}, 16, 4, 255), u8(tensor.Shape{}, 2)},
			tensor.Uint8, tensor.Shape{3}, []float64{4, 1, 63}},
		{"max three inputs broadcast, NaN wins", "OnnxMax", nil,
			[]*tensor.Tensor{f32(tensor.Shape{2, 1}, 1, float32(nan)), f32(tensor.Shape{3}, 0, 2, 4), f32(tensor.Shape{}, 3)},
			tensor.Float32, tensor.Shape{2, 3}, []float64{3, 3, 4, nan, nan, nan}},
		{"min int", "OnnxMin", nil,
			[]*tensor.Tensor{i32(tensor.Shape{3}, 1, -5, 9), i32(tensor.Shape{3}, 2, -6, 8)},
			tensor.Int32, tensor.Shape{3}, []float64{1, -6, 8}},
		{"sum one input", "OnnxSum", nil,
			[]*tensor.Tensor{u8(tensor.Shape{2}, 7, 250)},
			tensor.Uint8, tensor.Shape{2}, []float64{7, 250}},
		{"sum wraps", "OnnxSum", nil,
			[]*tensor.Tensor{u8(tensor.Shape{2}, 7, 250), u8(tensor.Shape{2}, 1, 10)},
			tensor.Uint8, tensor.Shape{2}, []float64{8, 4}},
		{"mean broadcast", "OnnxMean", nil,
			[]*tensor.Tensor{f64(tensor.Shape{2}, 1, 2), f64(tensor.Shape{2, 1}, 3, 4), f64(tensor.Shape{}, 5)},
			tensor.Float64, tensor.Shape{2, 2}, []float64{3, 10.0 / 3, 10.0 / 3, 11.0 / 3}},
		{"sum of empty", "OnnxSum", nil,
			[]*tensor.Tensor{empty, f32(tensor.Shape{1}, 1)},
			tensor.Float32, tensor.Shape{0}, nil},
		{"clip by attributes before opset 11", "OnnxClip", attrs{"_opset": 6, "min": -0.5, "max": 0.5},
			[]*tensor.Tensor{f32(tensor.Shape{4}, -1, 0.25, 1, float32(nan))},
			tensor.Float32, tensor.Shape{4}, []float64{-0.5, 0.25, 0.5, nan}},
		{"clip max only before opset 11", "OnnxClip", attrs{"_opset": 6, "max": 0.0},
			[]*tensor.Tensor{f64(tensor.Shape{2}, -7, 3)},
			tensor.Float64, tensor.Shape{2}, []float64{-7, 0}},
		{"clip no bounds", "OnnxClip", attrs{"_opset": 13},
			[]*tensor.Tensor{i64(tensor.Shape{2}, -7, 3)},
			tensor.Int64, tensor.Shape{2}, []float64{-7, 3}},
		{"clip absent min", "OnnxClip", attrs{"_opset": 13, "_absent": []int64{1}},
			[]*tensor.Tensor{u8(tensor.Shape{3}, 1, 5, 200), tensor.New(tensor.Float32, tensor.Shape{0}), u8(tensor.Shape{}, 6)},
			tensor.Uint8, tensor.Shape{3}, []float64{1, 5, 6}},
		{"clip min above max gives max", "OnnxClip", attrs{"_opset": 12},
			[]*tensor.Tensor{f32(tensor.Shape{3}, -1, 0, 1), f32(tensor.Shape{}, 2), f32(tensor.Shape{}, 1)},
			tensor.Float32, tensor.Shape{3}, []float64{1, 1, 1}},
		{"prelu slope broadcast", "OnnxPRelu", attrs{"_opset": 16},
			[]*tensor.Tensor{f32(tensor.Shape{2, 3}, -1, -1, -1, 1, -2, 0), f32(tensor.Shape{3}, 1, 2, 3)},
			tensor.Float32, tensor.Shape{2, 3}, []float64{-1, -2, -3, 1, -4, 0}},
		{"prelu per channel before opset 7", "OnnxPRelu", attrs{"_opset": 6},
			[]*tensor.Tensor{f32(tensor.Shape{1, 2, 2}, -1, -1, -1, -1), f32(tensor.Shape{2}, 2, 3)},
			tensor.Float32, tensor.Shape{1, 2, 2}, []float64{-2, -2, -3, -3}},
		{"prelu last axis from opset 7", "OnnxPRelu", attrs{"_opset": 9},
			[]*tensor.Tensor{f32(tensor.Shape{1, 2, 2}, -1, -1, -1, -1), f32(tensor.Shape{2}, 2, 3)},
			tensor.Float32, tensor.Shape{1, 2, 2}, []float64{-2, -3, -2, -3}},
		{"cast float to int8 truncates", "OnnxCast", attrs{"to": tensor.Int8},
			[]*tensor.Tensor{f32(tensor.Shape{3}, -1.7, 2.9, 127.5)},
			tensor.Int8, tensor.Shape{3}, []float64{-1, 2, 127}},
		{"cast bool to float", "OnnxCast", attrs{"to": tensor.Float64},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []bool{true, false})},
			tensor.Float64, tensor.Shape{2}, []float64{1, 0}},
		{"cast strings to float", "OnnxCast", attrs{"to": tensor.Float32},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{5}, [][]byte{[]byte("0.5"), []byte("NaN"), []byte("INF"), []byte("+INF"), []byte("-INF")})},
			tensor.Float32, tensor.Shape{5}, []float64{0.5, nan, inf, inf, -inf}},
		{"cast strings to int64", "OnnxCast", attrs{"to": tensor.Int64},
			[]*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{3}, [][]byte{[]byte("9007199254740993"), []byte("-3"), []byte("2.75")})},
			tensor.Int64, tensor.Shape{3}, []float64{9007199254740993, -3, 2}},
		{"castlike takes the dtype of its second input", "OnnxCastLike", nil,
			[]*tensor.Tensor{f64(tensor.Shape{2}, 1.5, -2.5), i32(tensor.Shape{0})},
			tensor.Int32, tensor.Shape{2}, []float64{1, -2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run1(t, tc.op, tc.attrs, tc.in...)
			if got.DType() != tc.dtype {
				t.Fatalf("dtype = %v, want %v", got.DType(), tc.dtype)
			}
			if tc.dtype == tensor.Int64 {
				// Compare exactly: float64 cannot hold every int64.
				if !got.Shape().Equal(tc.shape) {
					t.Fatalf("shape = %v, want %v", got.Shape(), tc.shape)
				}
				for i, v := range got.Int64s() {
					if float64(v) != tc.want[i] {
						t.Errorf("element %d = %d, want %v", i, v, tc.want[i])
					}
				}
				return
			}
			assertClose(t, got, tc.shape, tc.want, 1e-6)
		})
	}
}

// TestOnnxElementwiseErrors checks that invalid inputs fail rather than
// compute something.
func TestOnnxElementwiseErrors(t *testing.T) {
	f32 := func(shape tensor.Shape) *tensor.Tensor { return tensor.New(tensor.Float32, shape) }
	tests := []struct {
		name  string
		op    string
		attrs attrs
		in    []*tensor.Tensor
	}{
		{"align axis past the end", "OnnxEwAlign", attrs{"axis": 2}, []*tensor.Tensor{f32(tensor.Shape{2, 3}), f32(tensor.Shape{3})}},
		{"bitshift without direction", "OnnxBitShift", nil, []*tensor.Tensor{tensor.New(tensor.Uint8, tensor.Shape{1}), tensor.New(tensor.Uint8, tensor.Shape{1})}},
		{"bitshift of floats", "OnnxBitShift", attrs{"direction": "LEFT"}, []*tensor.Tensor{f32(tensor.Shape{1}), f32(tensor.Shape{1})}},
		{"max of mixed dtypes", "OnnxMax", nil, []*tensor.Tensor{f32(tensor.Shape{1}), tensor.New(tensor.Float64, tensor.Shape{1})}},
		{"sum of incompatible shapes", "OnnxSum", nil, []*tensor.Tensor{f32(tensor.Shape{2}), f32(tensor.Shape{3})}},
		{"mean of ints", "OnnxMean", nil, []*tensor.Tensor{tensor.New(tensor.Int32, tensor.Shape{1})}},
		{"clip with a vector bound", "OnnxClip", attrs{"_opset": 13}, []*tensor.Tensor{f32(tensor.Shape{2}), f32(tensor.Shape{2})}},
		{"clip with a bound of another dtype", "OnnxClip", attrs{"_opset": 13}, []*tensor.Tensor{f32(tensor.Shape{2}), tensor.New(tensor.Float64, tensor.Shape{})}},
		{"prelu slope larger than x", "OnnxPRelu", attrs{"_opset": 9}, []*tensor.Tensor{f32(tensor.Shape{3}), f32(tensor.Shape{2, 3})}},
		{"elu of ints", "OnnxElu", nil, []*tensor.Tensor{tensor.New(tensor.Int32, tensor.Shape{1})}},
		{"cast of a non-number string", "OnnxCast", attrs{"to": tensor.Float32}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{1}, [][]byte{[]byte("x")})}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := runErr(tc.op, tc.attrs, tc.in...); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestOnnxCastToString checks the formatting of numbers as strings against
// what Python prints for NumPy scalars.
func TestOnnxCastToString(t *testing.T) {
	tests := []struct {
		name string
		in   *tensor.Tensor
		want []string
	}{
		{"float32 shortest", tensor.MustFromSlice(tensor.Shape{4}, []float32{0.9767611, 0.039187793, 1, -2.5}),
			[]string{"0.9767611", "0.039187793", "1.0", "-2.5"}},
		{"float32 exponent form (float32(1e-4) is below 1e-4)", tensor.MustFromSlice(tensor.Shape{3}, []float32{1e-5, 1.5e16, 1e-4}),
			[]string{"1e-05", "1.5e+16", "1e-04"}},
		{"float64 specials", tensor.MustFromSlice(tensor.Shape{4}, []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.1}),
			[]string{"nan", "inf", "-inf", "0.1"}},
		{"ints", tensor.MustFromSlice(tensor.Shape{2}, []int64{-12, 1 << 62}), []string{"-12", "4611686018427387904"}},
		{"bools", tensor.MustFromSlice(tensor.Shape{2}, []bool{true, false}), []string{"True", "False"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run1(t, "OnnxCast", attrs{"to": tensor.String}, tc.in)
			var s []string
			for _, b := range got.Strings() {
				s = append(s, string(b))
			}
			if !slices.Equal(s, tc.want) {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}
