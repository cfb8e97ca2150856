package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// The ONNX quantisation kernels: linear (de)quantisation with a scale and
// a zero point, per tensor or per axis, and the integer and quantised
// matrix products and convolutions (uint8 and int8 operands).

func init() {
	Register("OnnxQuantizeLinear", nnBuildQuantize)
	Register("OnnxDequantizeLinear", nnBuildDequantize)
	Register("OnnxDynamicQuantizeLinear", nnBuildDynamicQuantize)
	Register("OnnxMatMulInteger", nnBuildMatMulInteger)
	Register("OnnxQLinearMatMul", nnBuildQLinearMatMul)
	Register("OnnxConvInteger", nnBuildConvInteger)
	Register("OnnxQLinearConv", nnBuildQLinearConv)
}

// nnInts32 reads an int8, uint8 or int32 tensor as int32 values.
func nnInts32(t *tensor.Tensor) ([]int32, bool) {
	switch t.DType() {
	case tensor.Int8:
		v := t.Int8s()
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, true
	case tensor.Uint8:
		v := t.Uint8s()
		out := make([]int32, len(v))
		for i, x := range v {
			out[i] = int32(x)
		}
		return out, true
	case tensor.Int32:
		return t.Int32s(), true
	}
	return nil, false
}

// nnSaturate rounds v half to even and clamps it to dt's range, writing
// it at out[i].
func nnSaturate(out *tensor.Tensor, i int, v float64) {
	v = math.RoundToEven(v)
	switch out.DType() {
	case tensor.Uint8:
		out.Uint8s()[i] = uint8(max(0, min(255, v)))
	case tensor.Int8:
		out.Int8s()[i] = int8(max(-128, min(127, v)))
	case tensor.Int32:
		out.Int32s()[i] = int32(max(math.MinInt32, min(math.MaxInt32, v)))
	}
}

// nnAxisParam expands a scalar or per-axis parameter p over a tensor of
// shape xs: it returns, per element, the index into p's values.
type nnAxisParam struct {
	n, inner int // p's length along axis; the product of the dims after axis
}

// nnAxis checks p (a scalar, one-element or 1-D tensor of xs[axis]
// values) and returns how element positions map onto it.
func nnAxis(n Node, p *tensor.Tensor, xs tensor.Shape, what string) (nnAxisParam, error) {
	if p == nil || p.Len() == 1 {
		return nnAxisParam{n: 1, inner: 1}, nil
	}
	axis := int(attrInt(n, "axis", 1))
	if axis < 0 {
		axis += len(xs)
	}
	if p.Rank() != 1 || axis < 0 || axis >= len(xs) || xs[axis] != p.Len() {
		return nnAxisParam{}, n.Errorf(ErrInvalidArgument, "%s %v does not match input %v along axis %d", what, p.Shape(), xs, attrInt(n, "axis", 1))
	}
	return nnAxisParam{n: p.Len(), inner: nnSize([]int(xs[axis+1:]))}, nil
}

func (a nnAxisParam) at(i int) int {
	if a.n == 1 {
		return 0
	}
	return (i / a.inner) % a.n
}

// nnFloats reads a float32 tensor (the scales).
func nnFloats(n Node, t *tensor.Tensor, what string) ([]float32, error) {
	if t.DType() != tensor.Float32 {
		return nil, n.Errorf(ErrInvalidArgument, "%s must be float32, not %v", what, t.DType())
	}
	return t.Float32s(), nil
}

func nnBuildQuantize(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x, zp := in[0], absent.input(in, 2)
		scale, err := nnFloats(n, in[1], "y_scale")
		if err != nil {
			return nil, err
		}
		dt := tensor.Uint8
		var zv []int32
		if zp != nil {
			dt = zp.DType()
			var ok bool
			if zv, ok = nnInts32(zp); !ok || dt == tensor.Int32 {
				return nil, n.Errorf(ErrUnsupported, "y_zero_point dtype %v (want uint8 or int8)", zp.DType())
			}
		}
		sa, err := nnAxis(n, in[1], x.Shape(), "y_scale")
		if err != nil {
			return nil, err
		}
		if zp != nil {
			if za, err := nnAxis(n, zp, x.Shape(), "y_zero_point"); err != nil || za.n != sa.n {
				return nil, n.Errorf(ErrInvalidArgument, "y_zero_point %v does not match y_scale %v", zp.Shape(), in[1].Shape())
			}
		}
		out := Alloc(ctx, dt, x.Shape())
		var xs func(i int) float32
		switch x.DType() {
		case tensor.Float32:
			v := x.Float32s()
			xs = func(i int) float32 { return v[i] }
		case tensor.Int32:
			v := x.Int32s()
			xs = func(i int) float32 { return float32(v[i]) }
		default:
			return nil, n.Errorf(ErrUnsupported, "input dtype %v (want float32 or int32)", x.DType())
		}
		for i := 0; i < x.Len(); i++ {
			j := sa.at(i)
			q := math.RoundToEven(float64(xs(i) / scale[j]))
			if zv != nil {
				q += float64(zv[j])
			}
			nnSaturate(out, i, q)
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

func nnBuildDequantize(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x, zp := in[0], absent.input(in, 2)
		scale, err := nnFloats(n, in[1], "x_scale")
		if err != nil {
			return nil, err
		}
		xv, ok := nnInts32(x)
		if !ok {
			return nil, n.Errorf(ErrUnsupported, "input dtype %v (want uint8, int8 or int32)", x.DType())
		}
		sa, err := nnAxis(n, in[1], x.Shape(), "x_scale")
		if err != nil {
			return nil, err
		}
		var zv []int32
		if zp != nil {
			if zp.DType() != x.DType() {
				return nil, n.Errorf(ErrInvalidArgument, "x_zero_point dtype %v must be the input's %v", zp.DType(), x.DType())
			}
			zv, _ = nnInts32(zp)
			if za, err := nnAxis(n, zp, x.Shape(), "x_zero_point"); err != nil || za.n != sa.n {
				return nil, n.Errorf(ErrInvalidArgument, "x_zero_point %v does not match x_scale %v", zp.Shape(), in[1].Shape())
			}
		}
		out := Alloc(ctx, tensor.Float32, x.Shape())
		ov := out.Float32s()
		for i, v := range xv {
			j := sa.at(i)
			f := float32(v)
			if zv != nil {
				f -= float32(zv[j])
			}
			ov[i] = f * scale[j]
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

func nnBuildDynamicQuantize(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		xv, err := nnFloats(n, x, "input")
		if err != nil {
			return nil, err
		}
		var lo, hi float32
		for _, v := range xv {
			lo, hi = min(lo, v), max(hi, v)
		}
		scale := (hi - lo) / 255
		var zp float32
		if scale != 0 {
			zp = float32(max(0, min(255, math.RoundToEven(float64(0-lo/scale)))))
		}
		y := Alloc(ctx, tensor.Uint8, x.Shape())
		yv := y.Uint8s()
		for i, v := range xv {
			q := 0.0
			if scale != 0 {
				q = math.RoundToEven(float64(v/scale)) + float64(zp)
			}
			yv[i] = uint8(max(0, min(255, q)))
		}
		return []*tensor.Tensor{y, tensor.MustFromSlice(tensor.Shape{}, []float32{scale}), tensor.MustFromSlice(tensor.Shape{}, []uint8{uint8(zp)})}, nil
	}), nil
}

// nnMatMulShapes resolves numpy matmul shapes: 1-D operands are promoted
// (and the added dimension dropped from the result), batch dimensions
// broadcast. It returns the output shape, m, k, n and per batch the
// offsets into a and b.
func nnMatMulShapes(n Node, as, bs tensor.Shape) (tensor.Shape, int, int, int, []int, []int, error) {
	a, b := append(tensor.Shape(nil), as...), append(tensor.Shape(nil), bs...)
	if len(a) == 0 || len(b) == 0 {
		return nil, 0, 0, 0, nil, nil, n.Errorf(ErrInvalidArgument, "matmul of scalars")
	}
	aVec, bVec := len(a) == 1, len(b) == 1
	if aVec {
		a = tensor.Shape{1, a[0]}
	}
	if bVec {
		b = tensor.Shape{b[0], 1}
	}
	m, k, k2, nn := a[len(a)-2], a[len(a)-1], b[len(b)-2], b[len(b)-1]
	if k != k2 {
		return nil, 0, 0, 0, nil, nil, n.Errorf(ErrInvalidArgument, "shapes %v and %v do not multiply", as, bs)
	}
	ab, bb := a[:len(a)-2], b[:len(b)-2]
	r := max(len(ab), len(bb))
	batch := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(ab)); j >= 0 {
			da = ab[j]
		}
		if j := i - (r - len(bb)); j >= 0 {
			db = bb[j]
		}
		switch {
		case da == db || db == 1:
			batch[i] = da
		case da == 1:
			batch[i] = db
		default:
			return nil, 0, 0, 0, nil, nil, n.Errorf(ErrInvalidArgument, "batch dimensions of %v and %v do not broadcast", as, bs)
		}
	}
	nb := nnSize(batch)
	aOff, bOff := make([]int, nb), make([]int, nb)
	idx := make([]int, r)
	for p := 0; p < nb; p++ {
		oa, ob := 0, 0
		for i := 0; i < r; i++ {
			if j := i - (r - len(ab)); j >= 0 {
				oa = oa*ab[j] + min(idx[i], ab[j]-1)
			}
			if j := i - (r - len(bb)); j >= 0 {
				ob = ob*bb[j] + min(idx[i], bb[j]-1)
			}
		}
		aOff[p], bOff[p] = oa*m*k, ob*k*nn
		nnNext(idx, batch)
	}
	out := tensor.Shape(batch)
	if !aVec {
		out = append(out, m)
	}
	if !bVec {
		out = append(out, nn)
	}
	return out, m, k, nn, aOff, bOff, nil
}

// nnZeroPoint reads an optional zero point: nil, a single value, or a
// vector of want values (per row of A, per column of B, per output
// channel).
func nnZeroPoint(n Node, t *tensor.Tensor, want int, what string) ([]int32, error) {
	if t == nil {
		return nil, nil
	}
	v, ok := nnInts32(t)
	if !ok || t.DType() == tensor.Int32 {
		return nil, n.Errorf(ErrUnsupported, "%s dtype %v (want uint8 or int8)", what, t.DType())
	}
	if len(v) != 1 && len(v) != want {
		return nil, n.Errorf(ErrInvalidArgument, "%s %v must hold 1 or %d values", what, t.Shape(), want)
	}
	return v, nil
}

func nnAt(v []int32, i int) int32 {
	if len(v) == 0 {
		return 0
	}
	if len(v) == 1 {
		return v[0]
	}
	return v[i]
}

// nnMatMulInt32 computes (a - azp) · (b - bzp) for every batch; azp is
// per row, bzp per column (or one value, or none). The products run
// through the float64 GEMM, exact for these operands (each sum stays far
// below 2^53), and are then wrapped to int32 as ONNX's int32 sums are.
func nnMatMulInt32(ctx context.Context, av, bv []int32, azp, bzp []int32, m, k, nn int, aOff, bOff []int, out []int32) {
	af, bf := make([]float64, len(av)), make([]float64, len(bv))
	for i, v := range av {
		af[i] = float64(v - nnAt(azp, (i/max(k, 1))%max(m, 1)))
	}
	for i, v := range bv {
		bf[i] = float64(v - nnAt(bzp, i%max(nn, 1)))
	}
	cf := make([]float64, m*nn)
	for p := range aOff {
		gemm(ctx, m, nn, k, mat[float64]{data: af[aOff[p]:], ld: k}, mat[float64]{data: bf[bOff[p]:], ld: nn}, cf, nn)
		nnWrap32(cf, out[p*m*nn:][:m*nn])
	}
}

// nnWrap32 converts exact integer sums to int32, wrapping as int32
// arithmetic would.
func nnWrap32(src []float64, dst []int32) {
	for i, v := range src {
		dst[i] = int32(int64(v))
	}
}

func nnBuildMatMulInteger(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		av, ok1 := nnInts32(in[0])
		bv, ok2 := nnInts32(in[1])
		if !ok1 || !ok2 || in[0].DType() == tensor.Int32 || in[1].DType() == tensor.Int32 {
			return nil, n.Errorf(ErrUnsupported, "operand dtypes %v and %v (want uint8 or int8)", in[0].DType(), in[1].DType())
		}
		shape, m, k, nn, aOff, bOff, err := nnMatMulShapes(n, in[0].Shape(), in[1].Shape())
		if err != nil {
			return nil, err
		}
		azp, err := nnZeroPoint(n, absent.input(in, 2), m, "a_zero_point")
		if err != nil {
			return nil, err
		}
		bzp, err := nnZeroPoint(n, absent.input(in, 3), nn, "b_zero_point")
		if err != nil {
			return nil, err
		}
		out := Alloc(ctx, tensor.Int32, shape)
		nnMatMulInt32(ctx, av, bv, azp, bzp, m, k, nn, aOff, bOff, out.Int32s())
		return []*tensor.Tensor{out}, nil
	}), nil
}

// nnRequantize writes acc[i]·mul(i) + zp rounded and saturated into out,
// of zp's dtype (uint8 when zp is nil).
func nnRequantize(ctx context.Context, acc []int32, shape tensor.Shape, mul func(i int) float64, zp *tensor.Tensor, n Node) (*tensor.Tensor, error) {
	dt := tensor.Uint8
	var z float64
	if zp != nil {
		dt = zp.DType()
		v, ok := nnInts32(zp)
		if !ok || dt == tensor.Int32 || len(v) != 1 {
			return nil, n.Errorf(ErrUnsupported, "y_zero_point %v %v (want one uint8 or int8)", zp.DType(), zp.Shape())
		}
		z = float64(v[0])
	}
	out := Alloc(ctx, dt, shape)
	for i, a := range acc {
		nnSaturate(out, i, math.RoundToEven(float64(a)*mul(i))+z)
	}
	return out, nil
}

func nnBuildQLinearMatMul(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 8); err != nil {
			return nil, err
		}
		a, b := in[0], in[3]
		av, ok1 := nnInts32(a)
		bv, ok2 := nnInts32(b)
		if !ok1 || !ok2 || a.DType() == tensor.Int32 || b.DType() == tensor.Int32 {
			return nil, n.Errorf(ErrUnsupported, "operand dtypes %v and %v (want uint8 or int8)", a.DType(), b.DType())
		}
		shape, m, k, nn, aOff, bOff, err := nnMatMulShapes(n, a.Shape(), b.Shape())
		if err != nil {
			return nil, err
		}
		azp, err := nnZeroPoint(n, in[2], m, "a_zero_point")
		if err != nil {
			return nil, err
		}
		bzp, err := nnZeroPoint(n, in[5], nn, "b_zero_point")
		if err != nil {
			return nil, err
		}
		as, err := nnFloats(n, in[1], "a_scale")
		if err != nil {
			return nil, err
		}
		bs, err := nnFloats(n, in[4], "b_scale")
		if err != nil {
			return nil, err
		}
		ys, err := nnFloats(n, in[6], "y_scale")
		if err != nil {
			return nil, err
		}
		if len(as) != 1 || len(ys) != 1 || (len(bs) != 1 && len(bs) != nn) {
			return nil, n.Errorf(ErrUnsupported, "scales %v, %v, %v (want per-tensor, or b_scale per column)", in[1].Shape(), in[4].Shape(), in[6].Shape())
		}
		acc := make([]int32, nnSize([]int(shape)))
		nnMatMulInt32(ctx, av, bv, azp, bzp, m, k, nn, aOff, bOff, acc)
		mul := func(i int) float64 {
			s := bs[0]
			if len(bs) > 1 {
				s = bs[i%nn]
			}
			return float64(as[0] * s / ys[0])
		}
		out, err := nnRequantize(ctx, acc, shape, mul, in[7], n)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// nnConvInt32 runs an integer convolution of x and w (uint8 or int8)
// after subtracting their zero points (w's per output channel), returning
// the int32 accumulators and the output shape.
func nnConvInt32(ctx context.Context, n Node, x, w, xzpT, wzpT *tensor.Tensor, bias []int32) ([]int32, tensor.Shape, error) {
	group := int(attrInt(n, "group", 1))
	xv, ok1 := nnInts32(x)
	wv, ok2 := nnInts32(w)
	if !ok1 || !ok2 || x.DType() == tensor.Int32 || w.DType() == tensor.Int32 {
		return nil, nil, n.Errorf(ErrUnsupported, "operand dtypes %v and %v (want uint8 or int8)", x.DType(), w.DType())
	}
	xs, ws := x.Shape(), w.Shape()
	g, err := nnConvShapes(n, xs, ws, group, false)
	if err != nil {
		return nil, nil, err
	}
	xzp, err := nnZeroPoint(n, xzpT, 1, "x_zero_point")
	if err != nil {
		return nil, nil, err
	}
	wzp, err := nnZeroPoint(n, wzpT, ws[0], "w_zero_point")
	if err != nil {
		return nil, nil, err
	}
	if z := nnAt(xzp, 0); z != 0 {
		xv = append([]int32(nil), xv...)
		for i := range xv {
			xv[i] -= z
		}
	}
	if len(wzp) > 0 {
		wv = append([]int32(nil), wv...)
		per := len(wv) / max(ws[0], 1)
		for i := range wv {
			wv[i] -= nnAt(wzp, i/max(per, 1))
		}
	}
	if bias != nil && len(bias) != ws[0] {
		return nil, nil, n.Errorf(ErrInvalidArgument, "bias must hold %d values", ws[0])
	}
	shape := append(tensor.Shape{xs[0], ws[0]}, g.out...)
	// The float64 GEMM path is exact here (see nnMatMulInt32).
	xf, wf := make([]float64, len(xv)), make([]float64, len(wv))
	for i, v := range xv {
		xf[i] = float64(v)
	}
	for i, v := range wv {
		wf[i] = float64(v)
	}
	var bf []float64
	if bias != nil {
		bf = make([]float64, len(bias))
		for i, v := range bias {
			bf[i] = float64(v)
		}
	}
	accf := make([]float64, nnSize([]int(shape)))
	if err := nnConv(ctx, xf, xs[0], xs[1], wf, ws[0], group, g, bf, accf, nnColBudget); err != nil {
		return nil, nil, err
	}
	acc := make([]int32, len(accf))
	nnWrap32(accf, acc)
	return acc, shape, nil
}

func nnBuildConvInteger(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		acc, shape, err := nnConvInt32(ctx, n, in[0], in[1], absent.input(in, 2), absent.input(in, 3), nil)
		if err != nil {
			return nil, err
		}
		out := Alloc(ctx, tensor.Int32, shape)
		copy(out.Int32s(), acc)
		return []*tensor.Tensor{out}, nil
	}), nil
}

func nnBuildQLinearConv(n Node) (Kernel, error) {
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 8); err != nil {
			return nil, err
		}
		var bias []int32
		if b := absent.input(in, 8); b != nil {
			if b.DType() != tensor.Int32 {
				return nil, n.Errorf(ErrInvalidArgument, "bias must be int32, not %v", b.DType())
			}
			bias = b.Int32s()
		}
		acc, shape, err := nnConvInt32(ctx, n, in[0], in[3], in[2], in[5], bias)
		if err != nil {
			return nil, err
		}
		xs, err := nnFloats(n, in[1], "x_scale")
		if err != nil {
			return nil, err
		}
		ws, err := nnFloats(n, in[4], "w_scale")
		if err != nil {
			return nil, err
		}
		ys, err := nnFloats(n, in[6], "y_scale")
		if err != nil {
			return nil, err
		}
		m := shape[1]
		if len(xs) != 1 || len(ys) != 1 || (len(ws) != 1 && len(ws) != m) {
			return nil, n.Errorf(ErrInvalidArgument, "scales %v, %v, %v (want per-tensor, or w_scale per output channel)", in[1].Shape(), in[4].Shape(), in[6].Shape())
		}
		per := nnSize([]int(shape[2:]))
		mul := func(i int) float64 {
			s := ws[0]
			if len(ws) > 1 {
				s = ws[(i/max(per, 1))%m]
			}
			return float64(xs[0] * s / ys[0])
		}
		out, err := nnRequantize(ctx, acc, shape, mul, in[7], n)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}
