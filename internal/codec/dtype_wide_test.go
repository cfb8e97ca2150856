package codec

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"inferd/internal/tensor"
)

// TestDecodeWideTypes decodes the 16-bit, unsigned 32/64-bit and
// half-precision input types: integers as TF Serving takes them (int_val
// for int16, IsUint for uint32, IsUint64 for uint64) and half floats as
// numbers rounded to the nearest value.
func TestDecodeWideTypes(t *testing.T) {
	tests := []struct {
		name string
		body string
		dt   tensor.DType
		want any
	}{
		{"int16", `{"instances": [-3, 32767, 40000]}`, tensor.Int16, []int16{-3, 32767, -25536}},
		{"uint16", `{"instances": [1, 65535, 65536]}`, tensor.Uint16, []uint16{1, 65535, 0}},
		{"uint32", `{"instances": [0, 4294967295]}`, tensor.Uint32, []uint32{0, 4294967295}},
		{"uint64", `{"instances": [1, 18446744073709551615]}`, tensor.Uint64, []uint64{1, 18446744073709551615}},
		{"float16", `{"instances": [1, 0.1, -2.5, 1e6]}`, tensor.Float16, []tensor.F16{0x3c00, 0x2e66, 0xc100, 0x7c00}},
		{"bfloat16", `{"instances": [1, 0.1, -2]}`, tensor.BFloat16, []tensor.BF16{0x3f80, 0x3dcd, 0xc000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodePredict([]byte(tc.body), inputs(Input{"x", tc.dt}))
			if err != nil {
				t.Fatal(err)
			}
			got := req.Inputs["x"]
			if got.DType() != tc.dt || fmt.Sprintf("%#v", got.Data()) != fmt.Sprintf("%#v", tc.want) {
				t.Errorf("got %v %#v, want %#v", got.DType(), got.Data(), tc.want)
			}
		})
	}
}

func TestDecodeWideTypesErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		dt   tensor.DType
		want string
	}{
		{"negative uint32", `{"instances": [-1]}`, tensor.Uint32, "Type: Number is not of expected type: uint32"},
		{"uint32 too large", `{"instances": [4294967296]}`, tensor.Uint32, "is not of expected type: uint32"},
		{"negative uint64", `{"instances": [-1]}`, tensor.Uint64, "is not of expected type: uint64"},
		{"int16 from a float", `{"instances": [1.5]}`, tensor.Int16, "is not of expected type: int16"},
		{"half from a string", `{"instances": ["1"]}`, tensor.Float16, "is not of expected type: half"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodePredict([]byte(tc.body), inputs(Input{"x", tc.dt}))
			var e *Error
			if !errors.As(err, &e) || e.Code != InvalidArgument || !strings.Contains(e.Message, tc.want) {
				t.Errorf("err = %v, want INVALID_ARGUMENT containing %q", err, tc.want)
			}
		})
	}
}

func TestEncodeWideTypes(t *testing.T) {
	tests := []struct {
		name string
		t    *tensor.Tensor
		want string
	}{
		{"int16", tensor.MustFromSlice(tensor.Shape{2}, []int16{-3, 32767}), `[-3,32767]`},
		{"uint16", tensor.MustFromSlice(tensor.Shape{1}, []uint16{65535}), `[65535]`},
		{"uint32", tensor.MustFromSlice(tensor.Shape{1}, []uint32{4294967295}), `[4294967295]`},
		{"uint64", tensor.MustFromSlice(tensor.Shape{1}, []uint64{18446744073709551615}), `[18446744073709551615]`},
		{"float16", tensor.MustFromSlice(tensor.Shape{3}, []tensor.F16{0x3c00, 0x2e66, 0xc100}), `[1.0,0.0999755859,-2.5]`},
		{"bfloat16", tensor.MustFromSlice(tensor.Shape{2}, []tensor.BF16{0x3f80, 0x3dcd}), `[1.0,0.100097656]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := EncodePredict(FormatColumnar, map[string]*tensor.Tensor{"y": tc.t}, EncodeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Float16 and bfloat16 print as the float32 of their value does.
			want := `{"outputs":` + tc.want + `}`
			if got := strings.Join(strings.Fields(string(out)), ""); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}
