package kernels

import (
	"context"
	"fmt"
	"unsafe"

	"inferd/internal/tensor"
)

// epilogue is what a fused kernel does to each output element once its
// sum is complete: add a per-column bias, then apply an activation in
// place. The zero value does nothing.
type epilogue[T Float] struct {
	bias []T         // indexed by column; nil for none
	relu bool        // clamp below at 0 (Relu), inline
	cap6 bool        // with relu, clamp above at 6 (Relu6)
	act  func(x []T) // any other activation; nil for none
	// vec32 is set for float32 with a bias and at most Relu, which the
	// vector loop biasRelu32 does.
	vec32 bool
}

func (e epilogue[T]) active() bool { return e.bias != nil || e.relu || e.act != nil }

// apply finishes row, a run of output elements starting at column col.
// Relu and Relu6 are inlined here, since the epilogue runs on every tile.
func (e epilogue[T]) apply(row []T, col int) {
	if e.vec32 && len(row) > 0 {
		// T is float32 here.
		r := unsafe.Slice((*float32)(unsafe.Pointer(&row[0])), len(row))
		b := unsafe.Slice((*float32)(unsafe.Pointer(&e.bias[col])), len(row))
		if biasRelu32(r, b, e.relu) {
			return
		}
	}
	if e.bias != nil {
		b := e.bias[col : col+len(row)]
		if e.relu && !e.cap6 {
			for i, v := range row {
				row[i] = max(v+b[i], 0)
			}
			return
		}
		for i := range row {
			row[i] += b[i]
		}
	}
	if e.relu {
		if e.cap6 {
			for i, v := range row {
				row[i] = min(max(v, 0), 6)
			}
		} else {
			for i, v := range row {
				row[i] = max(v, 0)
			}
		}
	}
	if e.act != nil {
		e.act(row)
	}
}

// shift returns the epilogue of the columns from col on.
func (e epilogue[T]) shift(col int) epilogue[T] {
	if e.bias != nil {
		e.bias = e.bias[col:]
	}
	return e
}

// Fusion is the work a fused kernel does after its convolution or matrix
// product: add Bias (a vector over the output channels, or nil), then
// apply the activation op of Activation (none when its Op is empty).
// Filter, when set, is the load-time constant that the product's second
// input (a convolution's filter) will be, which the kernel may lay out
// once at build; the kernel still works on any other filter it is given.
//
// Pool, when its Op is set, is a MaxPool (FusablePool) that reads only
// the finished output of a Conv2D; the fused kernel returns the pooled
// output instead.
type Fusion struct {
	Bias       *tensor.Tensor
	Activation Node
	Filter     *tensor.Tensor
	Pool       Node
}

// FusableActivation reports whether op can end a fused kernel.
func FusableActivation(op string) bool {
	switch op {
	case "Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "Softsign", "Softplus", "LeakyRelu":
		return true
	}
	return false
}

// FusableProduct reports whether op can start a fused kernel.
func FusableProduct(op string) bool {
	switch op {
	case "Conv2D", "DepthwiseConv2dNative", "MatMul":
		return true
	}
	return false
}

// BuildFused makes the kernel of n (a float Conv2D, DepthwiseConv2dNative
// or MatMul) that also adds f.Bias to every output channel and applies
// f.Activation, with the results of running those ops one after another:
// the bias is added to the finished sum and the activation computed as
// its own kernel does. It refuses what it cannot fuse.
func BuildFused(n Node, f Fusion) (Kernel, error) {
	if !FusableProduct(n.Op) {
		return nil, n.Errorf(ErrUnsupported, "cannot fuse into op %s", n.Op)
	}
	dt, ok := attrType(n, "T")
	if !ok || (dt != tensor.Float32 && dt != tensor.Float64) {
		return nil, n.Errorf(ErrUnsupported, "fusion needs a float T, got %v", dt)
	}
	if f.Bias != nil && (f.Bias.DType() != dt || f.Bias.Rank() != 1) {
		return nil, n.Errorf(ErrUnsupported, "bias %v %v does not fit a %v kernel", f.Bias.DType(), f.Bias.Shape(), dt)
	}
	if f.Activation.Op != "" && !FusableActivation(f.Activation.Op) {
		return nil, n.Errorf(ErrUnsupported, "cannot fuse activation %s", f.Activation.Op)
	}
	if f.Pool.Op != "" && n.Op != "Conv2D" {
		return nil, n.Errorf(ErrUnsupported, "cannot fuse a pool into op %s", n.Op)
	}
	if dt == tensor.Float32 {
		return buildFusedTyped[float32](n, f)
	}
	return buildFusedTyped[float64](n, f)
}

func buildFusedTyped[T Float](n Node, f Fusion) (Kernel, error) {
	var ep epilogue[T]
	if f.Bias != nil {
		ep.bias = Slice[T](f.Bias)
	}
	switch f.Activation.Op {
	case "":
	case "Relu":
		ep.relu = true
	case "Relu6":
		ep.relu, ep.cap6 = true, true
	default:
		act, err := activationFunc[T](f.Activation)
		if err != nil {
			return nil, err
		}
		ep.act = act
	}
	if _, is32 := any(*new(T)).(float32); is32 && ep.bias != nil && !ep.cap6 && ep.act == nil {
		ep.vec32 = true
	}
	checkBias := func(channels int) error {
		if ep.bias != nil && len(ep.bias) != channels {
			return n.Errorf(ErrInvalidArgument, "bias of %d elements does not match the %d output channels", len(ep.bias), channels)
		}
		return nil
	}
	dt := tensor.Float32
	if _, is64 := any(*new(T)).(float64); is64 {
		dt = tensor.Float64
	}
	// The convolutions take either float type; the fused one insists on
	// its T, since its epilogue is typed.
	ep32, _ := any(ep).(epilogue[float32])
	ep64, _ := any(ep).(epilogue[float64])
	var k Kernel
	var err error
	switch n.Op {
	case "Conv2D":
		var pool *convPool
		if f.Pool.Op != "" {
			if pool, err = parseConvPool(f.Pool); err != nil {
				return nil, err
			}
		}
		k, err = buildConv2DWith(n, ep32, ep64, checkBias, f.Filter, pool)
	case "DepthwiseConv2dNative":
		k, err = buildDepthwiseWith(n, ep32, ep64, checkBias)
	}
	if err != nil {
		return nil, err
	}
	if k != nil {
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if len(in) > 0 && in[0] != nil && in[0].DType() != dt {
				return nil, n.Errorf(ErrInvalidArgument, "input is %v, but the fused kernel was built for %v", in[0].DType(), dt)
			}
			return k.Compute(ctx, in)
		}), nil
	}
	ta, tb := attrBool(n, "transpose_a", false), attrBool(n, "transpose_b", false)
	mk := kernelFor[T]()
	// A constant float32 B is laid out once for the direct micro-kernels.
	dk, direct := directKernelsFor()
	var pre *convPanels
	if w := f.Filter; direct && w != nil && w.DType() == tensor.Float32 && w.Rank() == 2 {
		ws := w.Shape()
		kk, nn := ws[0], ws[1]
		if tb {
			kk, nn = nn, kk
		}
		pf := packDirectPanelsMat(mat[float32]{data: w.Float32s(), ld: ws[1], trans: tb}, kk, nn, make([]float32, directPanelsLen(kk, nn)))
		pre = &pf
	}
	dts := []tensor.DType{dt}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, dts); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		m, k, nn, err := matmulDims(n, a, b, ta, tb)
		if err != nil {
			return nil, err
		}
		if err := checkBias(nn); err != nil {
			return nil, err
		}
		out := Alloc(ctx, dt, tensor.Shape{m, nn})
		if a32, ok := any(Slice[T](a)).([]float32); ok && direct && !ta && m >= 4 && k > 0 {
			// Four rows or more of a float32 product go through the
			// direct micro-kernels, reading A in place.
			pf := pre
			if b != f.Filter || pf == nil || pf.k != k || pf.o != nn {
				p := packDirectPanelsMat(mat[float32]{data: Slice[float32](b), ld: b.Shape()[1], trans: tb}, k, nn, scratch[float32](ctx, directPanelsLen(k, nn)))
				pf = &p
			}
			gemmDirect32(ctx, dk, m, a32, k, *pf, Slice[float32](out), nn, any(ep).(epilogue[float32]))
			return Result(ctx, out), nil
		}
		gemmEp(ctx, mk, m, nn, k, mat[T]{data: Slice[T](a), ld: a.Shape()[1], trans: ta}, mat[T]{data: Slice[T](b), ld: b.Shape()[1], trans: tb}, Slice[T](out), nn, ep)
		return Result(ctx, out), nil
	}), nil
}

// activationFunc returns the in-place form of activation node n, computing
// what its own kernel computes for each element.
func activationFunc[T Float](n Node) (func([]T), error) {
	mkDef, ok := unaryDefs[n.Op]
	if !ok {
		return nil, fmt.Errorf("kernels: no activation %s: %w", n.Op, ErrUnsupported)
	}
	def, err := mkDef(n)
	if err != nil {
		return nil, err
	}
	g := def.float
	if def.floatFor != nil {
		dt := tensor.Float32
		if _, is64 := any(*new(T)).(float64); is64 {
			dt = tensor.Float64
		}
		g = def.floatFor(dt)
	}
	return func(x []T) {
		for i, v := range x {
			x[i] = T(g(float64(v)))
		}
	}, nil
}
