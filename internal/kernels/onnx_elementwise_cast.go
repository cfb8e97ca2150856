package kernels

import (
	"context"
	"math"
	"strconv"
	"strings"

	"inferd/internal/tensor"
)

func init() {
	Register("OnnxCast", ewBuildCast)
	Register("OnnxCastLike", ewBuildCastLike)
}

// ewBuildCast makes ONNX Cast to the dtype in the "to" type attribute.
// Between numeric and bool dtypes it converts as TensorFlow's Cast does
// (castInto); to and from strings it formats and parses numbers as NumPy's
// astype does.
func ewBuildCast(n Node) (Kernel, error) {
	dst, ok := attrType(n, "to")
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "missing or unsupported \"to\" attribute")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		return ewCast(ctx, n, in[0], dst)
	}), nil
}

// ewBuildCastLike makes CastLike(x, like): x cast to like's dtype.
func ewBuildCastLike(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		return ewCast(ctx, n, in[0], in[1].DType())
	}), nil
}

func ewCast(ctx context.Context, n Node, x *tensor.Tensor, dst tensor.DType) ([]*tensor.Tensor, error) {
	if x.DType() == dst {
		return single(x), nil
	}
	out := Alloc(ctx, dst, x.Shape())
	var err error
	switch {
	case dst == tensor.String:
		err = ewToStrings(out.Strings(), x)
	case x.DType() == tensor.String:
		err = ewFromStrings(out, x.Strings())
	default:
		if !castInto(out, x) {
			err = errorf("unsupported")
		}
	}
	if err != nil {
		return nil, n.Errorf(ErrUnsupported, "Cast from %v to %v: %v", x.DType(), dst, err)
	}
	return single(out), nil
}

// ewToStrings formats x's elements into dst.
func ewToStrings(dst [][]byte, x *tensor.Tensor) error {
	switch v := x.Data().(type) {
	case []float32:
		for i, e := range v {
			dst[i] = []byte(ewFormatFloat(float64(e), 32))
		}
	case []float64:
		for i, e := range v {
			dst[i] = []byte(ewFormatFloat(e, 64))
		}
	case []bool:
		for i, e := range v {
			dst[i] = []byte("False")
			if e {
				dst[i] = []byte("True")
			}
		}
	case []uint64:
		for i, e := range v {
			dst[i] = strconv.AppendUint(nil, e, 10)
		}
	case []tensor.F16:
		for i, e := range v {
			dst[i] = []byte(dtFormatHalf(float64(e.Float32()), func(f float64) bool {
				return tensor.F16FromFloat64(f) == e
			}))
		}
	case []tensor.BF16:
		for i, e := range v {
			dst[i] = []byte(dtFormatHalf(float64(e.Float32()), func(f float64) bool {
				return tensor.BF16FromFloat64(f) == e
			}))
		}
	default:
		iv, ok := ewInt64s(x)
		if !ok {
			return errorf("dtype %v", x.DType())
		}
		for i, e := range iv {
			dst[i] = []byte(strconv.FormatInt(e, 10))
		}
	}
	return nil
}

// ewFormatFloat formats x as Python's str does for a NumPy float of the
// given bit size: the shortest digits that read back to x, positional
// from 1e-4 up to 1e16 (with ".0" when integral) and in exponent form
// outside, and nan, inf and -inf.
func ewFormatFloat(x float64, bits int) string {
	switch {
	case math.IsNaN(x):
		return "nan"
	case math.IsInf(x, 1):
		return "inf"
	case math.IsInf(x, -1):
		return "-inf"
	}
	if a := math.Abs(x); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(x, 'e', -1, bits)
	}
	s := strconv.FormatFloat(x, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// dtFormatHalf formats x, a float16 or bfloat16 value, as ewFormatFloat
// does but with the fewest digits that same reports read back to x (as
// NumPy prints a float16: "0.1", not float32's "0.099975586").
func dtFormatHalf(x float64, same func(float64) bool) string {
	if math.IsNaN(x) || math.IsInf(x, 0) || x == 0 {
		return ewFormatFloat(x, 64)
	}
	for prec := 1; prec < 17; prec++ {
		short, err := strconv.ParseFloat(strconv.FormatFloat(x, 'e', prec-1, 64), 64)
		if err == nil && same(short) {
			// short's own shortest form is those prec digits.
			return ewFormatFloat(short, 64)
		}
	}
	return ewFormatFloat(x, 64)
}

// ewFromStrings parses s into out's numeric or bool elements; numbers
// read as Go's ParseFloat does (so "NaN", "INF", "+INF" and "-inf" too),
// integers also in float form, truncated.
func ewFromStrings(out *tensor.Tensor, s [][]byte) error {
	f := make([]float64, len(s))
	var ints []int64
	if !isFloat(out.DType()) && !dtIsHalf(out.DType()) && out.DType() != tensor.Bool {
		ints = make([]int64, len(s))
	}
	for i, b := range s {
		str := strings.TrimSpace(string(b))
		if ints != nil {
			if v, err := strconv.ParseInt(str, 10, 64); err == nil {
				ints[i] = v
				continue
			}
			if out.DType() == tensor.Uint64 {
				// Past int64: the bit pattern, which the cast keeps.
				if v, err := strconv.ParseUint(str, 10, 64); err == nil {
					ints[i] = int64(v)
					continue
				}
			}
		}
		if out.DType() == tensor.Bool {
			if v, err := strconv.ParseBool(str); err == nil {
				if v {
					f[i] = 1
				}
				continue
			}
		}
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			return errorf("element %d (%q) is not a number", i, str)
		}
		f[i] = v
		if ints != nil {
			ints[i] = floatToInt64(v)
		}
	}
	var src *tensor.Tensor
	if ints != nil {
		src = tensor.MustFromSlice(tensor.Shape{len(s)}, ints)
	} else {
		src = tensor.MustFromSlice(tensor.Shape{len(s)}, f)
	}
	flat, err := out.Reshaped(tensor.Shape{len(s)})
	if err != nil {
		return err
	}
	if !castInto(flat, src) {
		return errorf("dtype %v", out.DType())
	}
	return nil
}
