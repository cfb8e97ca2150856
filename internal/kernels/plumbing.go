package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("Const", buildConst)
	for _, op := range []string{"Identity", "Snapshot", "StopGradient", "PreventGradient"} {
		Register(op, buildPassThrough)
	}
	Register("IdentityN", func(n Node) (Kernel, error) {
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return append([]*tensor.Tensor(nil), in...), nil
		}), nil
	})
	Register("NoOp", func(n Node) (Kernel, error) {
		return KernelFunc(func(context.Context, []*tensor.Tensor) ([]*tensor.Tensor, error) {
			return nil, nil
		}), nil
	})
	Register("EnsureShape", buildEnsureShape)
	Register("CheckNumerics", buildCheckNumerics)
}

// buildConst reads the node's value attribute once; every Compute returns
// that same tensor, which consumers must not modify.
func buildConst(n Node) (Kernel, error) {
	var v *tensor.Tensor
	ok := false
	if n.Attrs != nil {
		v, ok = n.Attrs.Tensor("value")
	}
	if !ok || v == nil {
		return nil, n.Errorf(ErrInvalidArgument, "missing or unreadable tensor attribute value")
	}
	if dt, ok := attrType(n, "dtype"); ok && dt != v.DType() {
		return nil, n.Errorf(ErrInvalidArgument, "dtype attribute %v does not match value of dtype %v", dt, v.DType())
	}
	return KernelFunc(func(ctx context.Context, _ []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return Result(ctx, v), nil
	}), nil
}

// buildPassThrough returns its one input unchanged (the tensor is shared,
// not copied).
func buildPassThrough(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		return Result(ctx, in[0]), nil
	}), nil
}

// buildEnsureShape passes its input through after checking it against the
// shape attribute, in which -1 matches any extent and an unknown rank
// (absent attribute) matches any shape.
func buildEnsureShape(n Node) (Kernel, error) {
	var want []int64
	known := false
	if n.Attrs != nil {
		want, known = n.Attrs.Shape("shape")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		if known {
			s := in[0].Shape()
			ok := len(s) == len(want)
			for i := 0; ok && i < len(s); i++ {
				ok = want[i] < 0 || int64(s[i]) == want[i]
			}
			if !ok {
				return nil, n.Errorf(ErrInvalidArgument, "shape of tensor %v is not compatible with expected shape %v", s, want)
			}
		}
		return Result(ctx, in[0]), nil
	}), nil
}

// buildCheckNumerics passes its input through, failing on any NaN or
// infinity with the node's message.
func buildCheckNumerics(n Node) (Kernel, error) {
	msg := attrString(n, "message", "")
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		bad := false
		switch v := in[0].Data().(type) {
		case []float32:
			for _, x := range v {
				if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
					bad = true
					break
				}
			}
		case []float64:
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					bad = true
					break
				}
			}
		}
		if bad {
			return nil, n.Errorf(ErrInvalidArgument, "%s : Tensor had NaN or Inf values", msg)
		}
		return Result(ctx, in[0]), nil
	}), nil
}
