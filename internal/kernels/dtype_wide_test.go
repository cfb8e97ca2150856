package kernels

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"inferd/internal/tensor"
)

func dtT(shape tensor.Shape, data any) *tensor.Tensor { return tensor.MustFromSlice(shape, data) }

// TestWideTypes checks the kernels that take the dtypes added after String
// on hand-worked values: casts round once to nearest even, uint64 divides,
// compares and takes remainders unsigned, float16 arithmetic rounds each
// result, and shifts use the full width.
func TestWideTypes(t *testing.T) {
	s := tensor.Shape{}
	v1 := tensor.Shape{1}
	v2 := tensor.Shape{2}
	tests := []struct {
		name  string
		op    string
		attrs attrs
		in    []*tensor.Tensor
		want  any
	}{
		// Casts.
		{"float32 to float16", "OnnxCast", attrs{"to": tensor.Float16},
			[]*tensor.Tensor{dtT(tensor.Shape{4}, []float32{1, 0.1, 65520, -1e-8})},
			[]tensor.F16{0x3c00, 0x2e66, 0x7c00, 0x8000}},
		{"float64 to bfloat16 rounds once", "OnnxCast", attrs{"to": tensor.BFloat16},
			[]*tensor.Tensor{dtT(v1, []float64{1 + 1.0/256 + 1e-12})}, []tensor.BF16{0x3f81}},
		{"float16 to float32", "OnnxCast", attrs{"to": tensor.Float32},
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x3555})}, []float32{0.333251953125}},
		{"float16 to int32 truncates", "OnnxCast", attrs{"to": tensor.Int32},
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0xc100, 0x3e00})}, []int32{-2, 1}},
		{"bfloat16 to float16", "OnnxCast", attrs{"to": tensor.Float16},
			[]*tensor.Tensor{dtT(v1, []tensor.BF16{0x3f81})}, []tensor.F16{0x3c08}},
		{"uint64 to float32", "OnnxCast", attrs{"to": tensor.Float32},
			[]*tensor.Tensor{dtT(v1, []uint64{1<<63 + 1})}, []float32{9.223372e18}},
		{"float64 to uint64", "OnnxCast", attrs{"to": tensor.Uint64},
			[]*tensor.Tensor{dtT(v2, []float64{1e19, -1})}, []uint64{10000000000000000000, 1<<64 - 1}},
		{"float32 to uint32", "Cast", attrs{"DstT": tensor.Uint32},
			[]*tensor.Tensor{dtT(v2, []float32{4e9, 3.7})}, []uint32{4000000000, 3}},
		{"int64 to bfloat16 rounds once", "Cast", attrs{"DstT": tensor.BFloat16}, // float64 would land on the tie
			[]*tensor.Tensor{dtT(v2, []int64{1<<60 + 1<<52 + 1, -(1<<60 + 1<<52 + 1)})}, []tensor.BF16{0x5d81, 0xdd81}},
		{"uint64 to bfloat16 rounds once", "Cast", attrs{"DstT": tensor.BFloat16},
			[]*tensor.Tensor{dtT(v2, []uint64{1<<63 + 1<<55 + 1, 1<<63 + 1<<55})}, []tensor.BF16{0x5f01, 0x5f00}},
		{"int16 to uint8 wraps", "Cast", attrs{"DstT": tensor.Uint8},
			[]*tensor.Tensor{dtT(v2, []int16{-1, 300})}, []uint8{255, 44}},
		{"uint16 to int16 wraps", "Cast", attrs{"DstT": tensor.Int16},
			[]*tensor.Tensor{dtT(v1, []uint16{65535})}, []int16{-1}},
		{"float16 to strings", "OnnxCast", attrs{"to": tensor.String},
			[]*tensor.Tensor{dtT(tensor.Shape{4}, []tensor.F16{0x2e66, 0x3c00, 0x7c00, 0x0001})},
			[][]byte{[]byte("0.1"), []byte("1.0"), []byte("inf"), []byte("6e-08")}},
		{"strings to float16", "OnnxCast", attrs{"to": tensor.Float16},
			[]*tensor.Tensor{dtT(v2, [][]byte{[]byte("0.1"), []byte("-2.5")})}, []tensor.F16{0x2e66, 0xc100}},
		{"strings to uint64", "OnnxCast", attrs{"to": tensor.Uint64},
			[]*tensor.Tensor{dtT(v1, [][]byte{[]byte("18446744073709551615")})}, []uint64{1<<64 - 1}},
		{"uint64 to strings", "OnnxCast", attrs{"to": tensor.String},
			[]*tensor.Tensor{dtT(v1, []uint64{1<<64 - 1})}, [][]byte{[]byte("18446744073709551615")}},
		{"castlike bfloat16", "OnnxCastLike", nil,
			[]*tensor.Tensor{dtT(v1, []float32{-2}), dtT(s, []tensor.BF16{0})}, []tensor.BF16{0xc000}},

		// Binary arithmetic.
		{"maximum uint64 unsigned", "Maximum", nil,
			[]*tensor.Tensor{dtT(v2, []uint64{1 << 63, 5}), dtT(v2, []uint64{1, 1<<63 + 1})}, []uint64{1 << 63, 1<<63 + 1}},
		{"minimum uint64 unsigned", "Minimum", nil,
			[]*tensor.Tensor{dtT(v2, []uint64{1 << 63, 5}), dtT(v2, []uint64{1, 1<<63 + 1})}, []uint64{1, 5}},
		{"floormod uint64", "FloorMod", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1<<63 + 5}), dtT(s, []uint64{10})}, []uint64{3}},
		{"truncatediv uint64", "TruncateDiv", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1<<64 - 1}), dtT(v1, []uint64{2})}, []uint64{1<<63 - 1}},
		{"floormod int16 takes the divisor's sign", "FloorMod", nil,
			[]*tensor.Tensor{dtT(v2, []int16{-7, 7}), dtT(v2, []int16{3, -3})}, []int16{2, -2}},
		{"truncatemod uint16", "TruncateMod", nil,
			[]*tensor.Tensor{dtT(v1, []uint16{65535}), dtT(v1, []uint16{256})}, []uint16{255}},
		{"sub uint32 wraps", "Sub", nil,
			[]*tensor.Tensor{dtT(v1, []uint32{0}), dtT(v1, []uint32{1})}, []uint32{4294967295}},
		{"maximum float16 propagates NaN", "Maximum", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0x3c00, 0x7e00}), dtT(v2, []tensor.F16{0x4000, 0})}, []tensor.F16{0x4000, 0x7e00}},
		{"add float16 rounds to even", "AddV2", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0x6800, 0x6800}), dtT(v2, []tensor.F16{0x3c00, 0x4200})}, // 2048+1, 2048+3
			[]tensor.F16{0x6800, 0x6802}},
		{"truncatemod float16", "TruncateMod", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0xc480}), dtT(v1, []tensor.F16{0x4000})}, []tensor.F16{0xb800}}, // -4.5 fmod 2
		{"mul bfloat16", "Mul", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.BF16{0x3fc0}), dtT(v1, []tensor.BF16{0x3fc0})}, []tensor.BF16{0x4010}}, // 1.5*1.5

		// Shifts.
		{"shift uint16 left", "OnnxBitShift", attrs{"direction": "LEFT"},
			[]*tensor.Tensor{dtT(v2, []uint16{1, 0x8000}), dtT(v2, []uint16{15, 1})}, []uint16{0x8000, 0}},
		{"shift uint32 by its width", "OnnxBitShift", attrs{"direction": "LEFT"},
			[]*tensor.Tensor{dtT(v2, []uint32{1, 3}), dtT(v2, []uint32{32, 30})}, []uint32{0, 0xc0000000}},
		{"shift uint64 right", "OnnxBitShift", attrs{"direction": "RIGHT"},
			[]*tensor.Tensor{dtT(v1, []uint64{1 << 63}), dtT(v1, []uint64{63})}, []uint64{1}},

		// Pow.
		{"pow float32 by uint64", "OnnxPow", nil,
			[]*tensor.Tensor{dtT(v2, []float32{2, -3}), dtT(v1, []uint64{3})}, []float32{8, -27}},
		{"pow uint32 by uint32", "OnnxPow", nil,
			[]*tensor.Tensor{dtT(v1, []uint32{3}), dtT(v1, []uint32{4})}, []uint32{81}},
		{"pow float16 rounds once", "OnnxPow", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x4000}), dtT(v1, []float32{0.5})}, []tensor.F16{0x3da8}},

		// Variadic.
		{"max of three uint64", "OnnxMax", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1}), dtT(v2, []uint64{1 << 63, 2}), dtT(v1, []uint64{3})}, []uint64{1 << 63, 3}},
		{"sum of three float16 rounds each step", "OnnxSum", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x3c00}), dtT(v1, []tensor.F16{0x6800}), dtT(v1, []tensor.F16{0x3c00})},
			[]tensor.F16{0x6800}},
		{"mean of float16", "OnnxMean", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x3c00}), dtT(v1, []tensor.F16{0x4200}), dtT(v1, []tensor.F16{0x4400})},
			[]tensor.F16{0x4155}}, // (1+3+4)/3 = 2.667 rounds to 2.666015625
		{"min of three int16", "OnnxMin", nil,
			[]*tensor.Tensor{dtT(v2, []int16{5, -5}), dtT(v1, []int16{0}), dtT(v2, []int16{-300, 7})}, []int16{-300, -5}},

		{"as string uint64", "AsString", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1<<64 - 1})}, [][]byte{[]byte("18446744073709551615")}},
		{"as string float16", "AsString", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x3555})}, [][]byte{[]byte("0.333252")}},

		// TensorFlow reductions.
		{"sum int16 wraps", "Sum", nil,
			[]*tensor.Tensor{dtT(v2, []int16{30000, 30000}), dtT(v1, []int32{0})}, []int16{-5536}},
		{"max uint32", "Max", nil,
			[]*tensor.Tensor{dtT(v2, []uint32{4000000000, 1}), dtT(v1, []int32{0})}, []uint32{4000000000}},
		{"mean uint16 sums in uint16", "Mean", nil, // as TensorFlow's: the sum wraps before the division
			[]*tensor.Tensor{dtT(v2, []uint16{65535, 65533}), dtT(v1, []int32{0})}, []uint16{32766}},
		{"argmax uint64 unsigned", "ArgMax", nil,
			[]*tensor.Tensor{dtT(tensor.Shape{3}, []uint64{1, 1 << 63, 7}), dtT(s, []int32{0})}, []int64{1}},
		{"argmin int16", "ArgMin", nil,
			[]*tensor.Tensor{dtT(tensor.Shape{3}, []int16{1, -300, 7}), dtT(s, []int32{0})}, []int64{1}},

		// Comparisons and selection.
		{"greater uint64 unsigned", "Greater", nil,
			[]*tensor.Tensor{dtT(v2, []uint64{1 << 63, 1}), dtT(s, []uint64{2})}, []bool{true, false}},
		{"less float16 with NaN", "Less", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0xbc00, 0x7e00}), dtT(v2, []tensor.F16{0, 0})}, []bool{true, false}},
		{"equal int16", "Equal", nil,
			[]*tensor.Tensor{dtT(v2, []int16{-1, 2}), dtT(v2, []int16{-1, 3})}, []bool{true, false}},
		{"select uint32", "SelectV2", nil,
			[]*tensor.Tensor{dtT(v2, []bool{true, false}), dtT(v2, []uint32{1, 2}), dtT(s, []uint32{4000000000})}, []uint32{1, 4000000000}},

		// Unary ops.
		{"abs uint64 is the identity", "Abs", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1<<63 + 1})}, []uint64{1<<63 + 1}},
		{"relu uint64 keeps large values", "Relu", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{1 << 63})}, []uint64{1 << 63}},
		{"sign uint64", "Sign", nil,
			[]*tensor.Tensor{dtT(v2, []uint64{0, 1 << 63})}, []uint64{0, 1}},
		{"neg int16 wraps", "Neg", nil,
			[]*tensor.Tensor{dtT(v2, []int16{-32768, 5})}, []int16{-32768, -5}},
		{"sqrt float16 rounds once", "Sqrt", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.F16{0x4000})}, []tensor.F16{0x3da8}},
		{"clip float16 by value, NaN kept", "OnnxClip", nil,
			[]*tensor.Tensor{dtT(tensor.Shape{4}, []tensor.F16{0xc400, 0x3800, 0x4400, 0x7e00}), dtT(s, []tensor.F16{0xbc00}), dtT(s, []tensor.F16{0x3c00})},
			[]tensor.F16{0xbc00, 0x3800, 0x3c00, 0x7e00}}, // -4, 0.5, 4, NaN clipped to [-1, 1]
		{"clip uint64 above 2^63", "OnnxClip", nil,
			[]*tensor.Tensor{dtT(v2, []uint64{1 << 63, 1}), dtT(s, []uint64{2}), dtT(s, []uint64{1<<63 - 1})}, []uint64{1<<63 - 1, 2}},
		{"clip opset 6 attributes on float16", "OnnxClip", attrs{"_opset": 6, "min": -0.5, "max": 0.5},
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0xc000, 0x3400})}, []tensor.F16{0xb800, 0x3400}},
		{"prelu float16", "OnnxPRelu", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0xc000, 0x4000}), dtT(s, []tensor.F16{0x3555})}, []tensor.F16{0xb955, 0x4000}}, // -2/3 rounds to 0xb955
		{"hard sigmoid bfloat16", "OnnxHardSigmoid", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.BF16{0x3f80, 0xc120})}, []tensor.BF16{0x3f33, 0}}, // 0.7 -> 0.69921875
		{"shrink int16", "OnnxShrink", attrs{"lambd": 1.5, "bias": 1.5},
			[]*tensor.Tensor{dtT(tensor.Shape{3}, []int16{-3, 1, 3})}, []int16{-1, 0, 1}},
		{"isnan float16", "OnnxIsNaN", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0x7e00, 0x7c00})}, []bool{true, false}},
		{"isinf bfloat16", "OnnxIsInf", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.BF16{0xff80, 0x7fc0})}, []bool{true, false}},
		{"oneslike float16", "OnesLike", nil,
			[]*tensor.Tensor{dtT(v2, []tensor.F16{0x7e00, 0})}, []tensor.F16{0x3c00, 0x3c00}},
		{"oneslike uint64", "OnesLike", nil,
			[]*tensor.Tensor{dtT(v1, []uint64{7})}, []uint64{1}},
		{"exp bfloat16", "Exp", nil,
			[]*tensor.Tensor{dtT(v1, []tensor.BF16{0x3f80})}, []tensor.BF16{0x402e}}, // e = 2.71875 in bfloat16
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run1(t, tc.op, tc.attrs, tc.in...)
			if g, w := fmt.Sprintf("%T %#v", got.Data(), got.Data()), fmt.Sprintf("%T %#v", tc.want, tc.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func TestWideTypesErrors(t *testing.T) {
	if err := runErr("FloorMod", nil, dtT(tensor.Shape{1}, []uint64{1}), dtT(tensor.Shape{1}, []uint64{0})); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("uint64 modulo zero: err = %v, want ErrInvalidArgument", err)
	}
	if err := runErr("Atan2", nil, dtT(tensor.Shape{1}, []uint32{1}), dtT(tensor.Shape{1}, []uint32{1})); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Atan2 of uint32: err = %v, want ErrUnsupported", err)
	}
	got := run1(t, "Atan2", nil, dtT(tensor.Shape{1}, []tensor.F16{0x3c00}), dtT(tensor.Shape{1}, []tensor.F16{0x3c00}))
	if v := got.Float16s()[0].Float32(); math.Abs(float64(v)-math.Pi/4) > 1e-3 {
		t.Errorf("Atan2 of float16 ones = %v, want pi/4", v)
	}
}

// TestWideTypesLayout moves elements of the new dtypes through the layout
// kernels, which are written once for every element type.
func TestWideTypesLayout(t *testing.T) {
	i32 := func(v ...int32) *tensor.Tensor { return dtT(tensor.Shape{len(v)}, v) }
	h := dtT(tensor.Shape{2, 3}, []tensor.F16{1, 2, 3, 4, 5, 6})
	tests := []struct {
		name string
		op   string
		in   []*tensor.Tensor
		want any
	}{
		{"transpose float16", "Transpose", []*tensor.Tensor{h, i32(1, 0)}, []tensor.F16{1, 4, 2, 5, 3, 6}},
		{"concat uint16", "ConcatV2", []*tensor.Tensor{dtT(tensor.Shape{1}, []uint16{7}), dtT(tensor.Shape{2}, []uint16{8, 65535}), dtT(tensor.Shape{}, []int32{0})},
			[]uint16{7, 8, 65535}},
		{"gather bfloat16", "GatherV2", []*tensor.Tensor{dtT(tensor.Shape{3}, []tensor.BF16{10, 20, 30}), i32(2, 0), dtT(tensor.Shape{}, []int32{0})},
			[]tensor.BF16{30, 10}},
		{"slice uint64", "Slice", []*tensor.Tensor{dtT(tensor.Shape{4}, []uint64{1, 2, 3, 1 << 63}), i32(2), i32(2)},
			[]uint64{3, 1 << 63}},
		{"tile int16", "Tile", []*tensor.Tensor{dtT(tensor.Shape{2}, []int16{-1, 2}), i32(2)}, []int16{-1, 2, -1, 2}},
		{"reshape uint32", "Reshape", []*tensor.Tensor{dtT(tensor.Shape{2}, []uint32{1, 2}), i32(2, 1)}, []uint32{1, 2}},
		{"identity float16", "Identity", []*tensor.Tensor{h}, []tensor.F16{1, 2, 3, 4, 5, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run1(t, tc.op, nil, tc.in...)
			if g, w := fmt.Sprintf("%T %#v", got.Data(), got.Data()), fmt.Sprintf("%T %#v", tc.want, tc.want); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

// TestHalfViaFloat32 runs float32-only kernels on float16 and bfloat16
// inputs through Lookup's adapter: the result is the float32 kernel's,
// rounded once to the input's type, and integer outputs pass unchanged.
func TestHalfViaFloat32(t *testing.T) {
	r := newRand(7)
	toHalf := func(x *tensor.Tensor, dt tensor.DType) *tensor.Tensor {
		out := tensor.New(dt, x.Shape())
		castInto(out, x)
		return out
	}
	tests := []struct {
		name  string
		op    string
		attrs attrs
		in    []*tensor.Tensor // float32; the first ones (half) also go in as 16-bit floats
		half  int
	}{
		{"softmax", "Softmax", attrs{"T": tensor.Float16}, []*tensor.Tensor{randF32(r, 3, 5)}, 1},
		{"matmul", "MatMul", nil, []*tensor.Tensor{randF32(r, 4, 3), randF32(r, 3, 2)}, 2},
		{"conv2d", "Conv2D", attrs{"strides": []int64{1, 1, 1, 1}, "padding": "SAME"}, []*tensor.Tensor{randF32(r, 1, 4, 4, 2), randF32(r, 3, 3, 2, 3)}, 2},
		{"sum over an axis", "Sum", attrs{"T": tensor.BFloat16}, []*tensor.Tensor{randF32(r, 3, 4), dtT(tensor.Shape{1}, []int32{1})}, 1},
		{"argmax", "ArgMax", nil, []*tensor.Tensor{randF32(r, 3, 4), dtT(tensor.Shape{}, []int32{0})}, 1},
		{"topk values and indices", "TopKV2", nil, []*tensor.Tensor{randF32(r, 2, 6), dtT(tensor.Shape{}, []int32{3})}, 1},
		{"onnx global average pool", "OnnxGlobalAveragePool", nil, []*tensor.Tensor{randF32(r, 1, 2, 3, 3)}, 1},
	}
	for _, dt := range []tensor.DType{tensor.Float16, tensor.BFloat16} {
		for _, tc := range tests {
			t.Run(dt.String()+" "+tc.name, func(t *testing.T) {
				// The reference: the float32 kernel on the 16-bit values.
				in32 := make([]*tensor.Tensor, len(tc.in))
				inH := make([]*tensor.Tensor, len(tc.in))
				for i, x := range tc.in {
					in32[i], inH[i] = x, x
					if i < tc.half {
						inH[i] = toHalf(x, dt)
						in32[i] = tensor.New(tensor.Float32, x.Shape())
						castInto(in32[i], inH[i])
					}
				}
				at := attrs{}
				for k, v := range tc.attrs {
					at[k] = v
					if v == tensor.Float16 || v == tensor.BFloat16 {
						at[k] = tensor.Float32
					}
				}
				want := run(t, tc.op, at, in32...)
				got := run(t, tc.op, tc.attrs, inH...)
				for i := range want {
					w := want[i]
					if w.DType() == tensor.Float32 {
						w = toHalf(w, dt)
					}
					if !sameBits(got[i], w) {
						t.Errorf("output %d: got %v %v, want %v %v", i, got[i], got[i].Data(), w, w.Data())
					}
				}
			})
		}
	}
	// Float32 inputs take the kernel unchanged.
	x := randF32(r, 2, 3)
	if got := run1(t, "Softmax", nil, x); got.DType() != tensor.Float32 {
		t.Errorf("Softmax of float32 gave %v", got)
	}
}
