package kernels

import (
	"context"
	"fmt"
	"strconv"

	"inferd/internal/tensor"
)

func init() {
	Register("AsString", buildAsString)
}

// buildAsString formats numbers and bools as strings the way TensorFlow's
// AsString does with C's printf: integers as %d, floats as %f (or %e with
// scientific, %g with shortest, C's %g keeping 6 significant digits unless
// precision says otherwise), with optional width and fill character; bools
// as "true" and "false".
func buildAsString(n Node) (Kernel, error) {
	precision := attrInt(n, "precision", -1)
	scientific := attrBool(n, "scientific", false)
	shortest := attrBool(n, "shortest", false)
	width := attrInt(n, "width", -1)
	fill := attrString(n, "fill", "")
	if scientific && shortest {
		return nil, n.Errorf(ErrInvalidArgument, "cannot select both scientific and shortest notation")
	}
	if len(fill) > 1 {
		return nil, n.Errorf(ErrInvalidArgument, "fill %q must be a single character", fill)
	}
	prefix := "%" + fill
	if width > -1 {
		prefix += strconv.FormatInt(width, 10)
	}
	intFmt := prefix + "d"
	floatFmt := prefix
	if precision > -1 {
		floatFmt += "." + strconv.FormatInt(precision, 10)
	}
	switch {
	case shortest:
		if precision < 0 {
			floatFmt += ".6"
		}
		floatFmt += "g"
	case scientific:
		floatFmt += "e"
	default:
		floatFmt += "f"
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		out := tensor.New(tensor.String, x.Shape())
		o := out.Strings()
		switch v := x.Data().(type) {
		case []float32:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, floatFmt, float64(e))
			}
		case []float64:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, floatFmt, e)
			}
		case []int8:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []uint8:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []int32:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []int64:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []bool:
			for i, e := range v {
				o[i] = []byte(strconv.FormatBool(e))
			}
		case []int16:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []uint16:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []uint32:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []uint64:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, intFmt, e)
			}
		case []tensor.F16:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, floatFmt, float64(e.Float32()))
			}
		case []tensor.BF16:
			for i, e := range v {
				o[i] = fmt.Appendf(nil, floatFmt, float64(e.Float32()))
			}
		default:
			return nil, n.Errorf(ErrUnsupported, "input dtype %v", x.DType())
		}
		return Result(ctx, out), nil
	}), nil
}
