package kernels

import (
	"context"
	"slices"

	"inferd/internal/tensor"
)

// dtHalf is the set of 16-bit floating point element types, held as bit
// patterns; kernels compute on their float32 values and round each result
// once.
type dtHalf interface{ tensor.F16 | tensor.BF16 }

// dtWideInts are the integer dtypes added after the original ones.
var dtWideInts = []tensor.DType{tensor.Int16, tensor.Uint16, tensor.Uint32, tensor.Uint64}

// dtHalfTypes are the 16-bit floating point dtypes.
var dtHalfTypes = []tensor.DType{tensor.Float16, tensor.BFloat16}

// dtWiden returns types with the later dtypes of the same kind added: the
// 16-bit floats when it has float32, the 16-bit and unsigned 32/64-bit
// integers when it has int32.
func dtWiden(types []tensor.DType) []tensor.DType {
	out := slices.Clone(types)
	if slices.Contains(types, tensor.Float32) {
		out = append(out, dtHalfTypes...)
	}
	if slices.Contains(types, tensor.Int32) {
		out = append(out, dtWideInts...)
	}
	return out
}

// dtIsHalf reports whether dt is Float16 or BFloat16.
func dtIsHalf(dt tensor.DType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16 }

// dtHalfCodec returns the conversions of element type T: to its float32
// value, and from a float64 rounded once to T.
func dtHalfCodec[T dtHalf]() (to func(T) float32, from func(float64) T) {
	var z T
	if _, ok := any(z).(tensor.BF16); ok {
		return func(v T) float32 { return tensor.BF16(v).Float32() },
			func(f float64) T { return T(tensor.BF16FromFloat64(f)) }
	}
	return func(v T) float32 { return tensor.F16(v).Float32() },
		func(f float64) T { return T(tensor.F16FromFloat64(f)) }
}

// binaryHalf is binaryFloat for the 16-bit floats: f on the float64 values
// (exact for them), rounded once to T. For +, -, * and / that is the
// correctly rounded result, as computing in float32 and rounding would be.
func binaryHalf[T dtHalf](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, f func(x, y float64) float64) *tensor.Tensor {
	to, from := dtHalfCodec[T]()
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T {
		return from(f(float64(to(x)), float64(to(y))))
	})
	return res
}

// binaryUint64 is binaryInt for uint64, whose values int64 cannot hold:
// with unsigned set, f computes in uint64; otherwise integer computes on
// the int64 bit patterns, which for wrapping +, - and * is the same.
func binaryUint64(ctx context.Context, a, b *tensor.Tensor, out tensor.Shape, integer func(x, y int64) (int64, bool), unsigned func(x, y uint64) (uint64, bool)) (*tensor.Tensor, bool) {
	if unsigned == nil {
		return binaryInt[uint64](ctx, a, b, out, integer)
	}
	res, o := NewLikeCtx[uint64](ctx, a.DType(), out)
	ok := true
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[uint64](a), Slice[uint64](b), o, func(x, y uint64) uint64 {
		r, good := unsigned(x, y)
		if !good {
			ok = false
		}
		return r
	})
	return res, ok
}

// dtUnsigned holds the uint64 forms of the binary ops whose result on
// unsigned values differs from the int64 one (division, remainders and
// comparisons; floor and truncation agree for unsigned values).
var dtUnsigned = map[string]func(x, y uint64) (uint64, bool){
	"RealDiv":     dtUdiv,
	"Div":         dtUdiv,
	"FloorDiv":    dtUdiv,
	"TruncateDiv": dtUdiv,
	"FloorMod":    dtUmod,
	"TruncateMod": dtUmod,
	"Maximum":     func(x, y uint64) (uint64, bool) { return max(x, y), true },
	"Minimum":     func(x, y uint64) (uint64, bool) { return min(x, y), true },
}

func dtUdiv(x, y uint64) (uint64, bool) {
	if y == 0 {
		return 0, false
	}
	return x / y, true
}

func dtUmod(x, y uint64) (uint64, bool) {
	if y == 0 {
		return 0, false
	}
	return x % y, true
}

// dtViaFloat32 lists the ops whose kernels take float32 but not float16 or
// bfloat16, and whose floating point outputs have their floating point
// input's type: Lookup wraps them with dtHalfAdapter, so that they compute
// on the float32 values of 16-bit float inputs and round each output
// element once (as ONNX Runtime computes most float16 ops). Ops whose
// float outputs keep float32 for 16-bit inputs (FusedBatchNorm's
// statistics, ResizeBilinear) are left out.
var dtViaFloat32 = map[string]bool{
	"Softmax": true, "LogSoftmax": true,
	"MatMul": true, "BatchMatMul": true, "BatchMatMulV2": true, "BatchMatMulV3": true, "Einsum": true,
	"Conv2D": true, "Conv2DBackpropInput": true, "DepthwiseConv2dNative": true, "BiasAdd": true, "BiasAddV1": true,
	"MaxPool": true, "MaxPoolV2": true, "AvgPool": true,
	"Sum": true, "Mean": true, "Max": true, "Min": true, "Prod": true, "ArgMax": true, "ArgMin": true,
	"AddN": true, "IsFinite": true, "IsNan": true, "IsInf": true, "TopKV2": true,
	"ResizeNearestNeighbor": true, "ClipByValue": true, "DivNoNan": true,
	"OnnxConv": true, "OnnxConvTranspose": true,
	"OnnxMaxPool": true, "OnnxAveragePool": true, "OnnxLpPool": true,
	"OnnxGlobalAveragePool": true, "OnnxGlobalMaxPool": true, "OnnxGlobalLpPool": true,
	"OnnxResize": true, "OnnxUpsample": true, "OnnxCumSum": true, "OnnxGridSample": true, "OnnxRoiAlign": true,
	"OnnxRNN": true, "OnnxGRU": true, "OnnxLSTM": true,
}

// dtFloatAttrs is a node's attributes with float16 and bfloat16 type
// attributes read as float32, for building the float32 kernel.
type dtFloatAttrs struct{ Attrs }

func (a dtFloatAttrs) Type(name string) (tensor.DType, bool) {
	dt, ok := a.Attrs.Type(name)
	if dtIsHalf(dt) {
		dt = tensor.Float32
	}
	return dt, ok
}

func (a dtFloatAttrs) Types(name string) ([]tensor.DType, bool) {
	dts, ok := a.Attrs.Types(name)
	if ok && slices.ContainsFunc(dts, dtIsHalf) {
		dts = slices.Clone(dts)
		for i, dt := range dts {
			if dtIsHalf(dt) {
				dts[i] = tensor.Float32
			}
		}
	}
	return dts, ok
}

// dtHalfAdapter wraps b's kernels: inputs of float16 or bfloat16 go to the
// kernel as float32, and then its float32 outputs come back in that type,
// rounded once. Calls without such inputs go straight to the kernel.
func dtHalfAdapter(b Builder) Builder {
	return func(n Node) (Kernel, error) {
		if n.Attrs != nil {
			n.Attrs = dtFloatAttrs{n.Attrs}
		}
		k, err := b(n)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			half := tensor.Invalid
			for _, t := range in {
				if t != nil && dtIsHalf(t.DType()) {
					half = t.DType()
					break
				}
			}
			if half == tensor.Invalid {
				return k.Compute(ctx, in)
			}
			conv := make([]*tensor.Tensor, len(in))
			for i, t := range in {
				conv[i] = t
				if t != nil && dtIsHalf(t.DType()) {
					conv[i] = Alloc(ctx, tensor.Float32, t.Shape())
					castInto(conv[i], t)
				}
			}
			outs, err := k.Compute(ctx, conv)
			if err != nil {
				return nil, err
			}
			res := make([]*tensor.Tensor, len(outs))
			for i, t := range outs {
				res[i] = t
				if t != nil && t.DType() == tensor.Float32 {
					res[i] = Alloc(ctx, half, t.Shape())
					castInto(res[i], t)
				}
			}
			return res, nil
		}), nil
	}
}
