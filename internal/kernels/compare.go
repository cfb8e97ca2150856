package kernels

import (
	"bytes"
	"context"

	"inferd/internal/tensor"
)

// compareDef describes an element-wise comparison producing bools.
type compareDef struct {
	types   []tensor.DType
	float   func(x, y float64) bool
	integer func(x, y int64) bool
	// equality is set for Equal and NotEqual, which also compare bools and
	// strings: it maps "the operands are equal" to the result.
	equality func(eq bool) bool
}

var compareDefs = map[string]compareDef{
	"Equal": {types: append(append([]tensor.DType{}, numericTypes...), tensor.Bool, tensor.String),
		float: func(x, y float64) bool { return x == y }, integer: func(x, y int64) bool { return x == y },
		equality: func(eq bool) bool { return eq }},
	"NotEqual": {types: append(append([]tensor.DType{}, numericTypes...), tensor.Bool, tensor.String),
		float: func(x, y float64) bool { return x != y }, integer: func(x, y int64) bool { return x != y },
		equality: func(eq bool) bool { return !eq }},
	"Greater":      {types: numericTypes, float: func(x, y float64) bool { return x > y }, integer: func(x, y int64) bool { return x > y }},
	"GreaterEqual": {types: numericTypes, float: func(x, y float64) bool { return x >= y }, integer: func(x, y int64) bool { return x >= y }},
	"Less":         {types: numericTypes, float: func(x, y float64) bool { return x < y }, integer: func(x, y int64) bool { return x < y }},
	"LessEqual":    {types: numericTypes, float: func(x, y float64) bool { return x <= y }, integer: func(x, y int64) bool { return x <= y }},
}

func init() {
	for op, def := range compareDefs {
		def.types = dtWiden(def.types)
		unsigned := dtCompareUnsigned[op]
		Register(op, func(n Node) (Kernel, error) {
			if err := checkTypeAttr(n, "T", def.types...); err != nil {
				return nil, err
			}
			if op == "Equal" || op == "NotEqual" {
				if !attrBool(n, "incompatible_shape_error", true) {
					return nil, n.Errorf(ErrUnsupported, "incompatible_shape_error=false")
				}
			}
			return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				if err := checkBinary(n, in, def.types); err != nil {
					return nil, err
				}
				out, err := BroadcastShape(in[0].Shape(), in[1].Shape())
				if err != nil {
					return nil, n.Errorf(ErrInvalidArgument, "%v", err)
				}
				var res *tensor.Tensor
				switch in[0].DType() {
				case tensor.Float32:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y float32) bool { return def.float(float64(x), float64(y)) })
				case tensor.Float64:
					res = compareTyped(ctx, in[0], in[1], out, def.float)
				case tensor.Int8:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y int8) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Uint8:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y uint8) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Int32:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y int32) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Int64:
					res = compareTyped(ctx, in[0], in[1], out, def.integer)
				case tensor.Bool:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y bool) bool { return def.equality(x == y) })
				case tensor.String:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y []byte) bool { return def.equality(bytes.Equal(x, y)) })
				case tensor.Int16:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y int16) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Uint16:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y uint16) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Uint32:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y uint32) bool { return def.integer(int64(x), int64(y)) })
				case tensor.Uint64:
					res = compareTyped(ctx, in[0], in[1], out, unsigned)
				case tensor.Float16:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y tensor.F16) bool { return def.float(float64(x.Float32()), float64(y.Float32())) })
				case tensor.BFloat16:
					res = compareTyped(ctx, in[0], in[1], out, func(x, y tensor.BF16) bool { return def.float(float64(x.Float32()), float64(y.Float32())) })
				}
				return Result(ctx, res), nil
			}), nil
		})
	}

	logical := map[string]func(x, y bool) bool{
		"LogicalAnd": func(x, y bool) bool { return x && y },
		"LogicalOr":  func(x, y bool) bool { return x || y },
	}
	for op, f := range logical {
		Register(op, func(n Node) (Kernel, error) {
			return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				if err := checkBinary(n, in, []tensor.DType{tensor.Bool}); err != nil {
					return nil, err
				}
				out, err := BroadcastShape(in[0].Shape(), in[1].Shape())
				if err != nil {
					return nil, n.Errorf(ErrInvalidArgument, "%v", err)
				}
				return Result(ctx, compareTyped(ctx, in[0], in[1], out, f)), nil
			}), nil
		})
	}
	Register("LogicalNot", func(n Node) (Kernel, error) {
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			if err := checkDType(n, "input", in[0], tensor.Bool); err != nil {
				return nil, err
			}
			res, o := NewLikeCtx[bool](ctx, tensor.Bool, in[0].Shape())
			for i, x := range in[0].Bools() {
				o[i] = !x
			}
			return Result(ctx, res), nil
		}), nil
	})
}

// dtCompareUnsigned are the comparisons of uint64 values, which int64
// cannot hold.
var dtCompareUnsigned = map[string]func(x, y uint64) bool{
	"Equal":        func(x, y uint64) bool { return x == y },
	"NotEqual":     func(x, y uint64) bool { return x != y },
	"Greater":      func(x, y uint64) bool { return x > y },
	"GreaterEqual": func(x, y uint64) bool { return x >= y },
	"Less":         func(x, y uint64) bool { return x < y },
	"LessEqual":    func(x, y uint64) bool { return x <= y },
}

func compareTyped[T any](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, f func(x, y T) bool) *tensor.Tensor {
	res, o := NewLikeCtx[bool](ctx, tensor.Bool, out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, f)
	return res
}
