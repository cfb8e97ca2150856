package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// The ONNX convolution and pooling kernels below work on NCHW tensors of
// any number of spatial dimensions, with ONNX's window attributes
// (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode). The
// importer sends 2-D convolutions with constant filters to Conv2D instead;
// these cover the rest.

func init() {
	Register("OnnxConv", nnBuildConv)
	Register("OnnxConvTranspose", nnBuildConvTranspose)
	Register("OnnxMaxPool", nnBuildPool(nnMax))
	Register("OnnxAveragePool", nnBuildPool(nnAvg))
	Register("OnnxLpPool", nnBuildPool(nnLp))
	Register("OnnxGlobalMaxPool", nnBuildGlobalPool(nnMax))
	Register("OnnxGlobalAveragePool", nnBuildGlobalPool(nnAvg))
	Register("OnnxGlobalLpPool", nnBuildGlobalPool(nnLp))
	Register("OnnxMaxUnpool", nnBuildMaxUnpool)
}

// nnGeom is an ONNX window resolved over one input's spatial dimensions:
// input extent, kernel, stride, dilation, padding before and after, and
// output extent, per dimension.
type nnGeom struct {
	in, k, s, d, pb, pe, out []int
}

// nnIntsAttr reads an ints attribute of r entries, each def when absent.
func nnIntsAttr(n Node, name string, r int, def int) ([]int, error) {
	v := attrInts(n, name, nil)
	out := make([]int, r)
	if v == nil {
		for i := range out {
			out[i] = def
		}
		return out, nil
	}
	if len(v) != r {
		return nil, n.Errorf(ErrInvalidArgument, "%s %v must have %d entries", name, v, r)
	}
	for i, x := range v {
		out[i] = int(x)
	}
	return out, nil
}

// nnGeometry resolves n's window attributes over the spatial extents in
// with kernel k, the way ONNX computes output shapes: explicit pads (or
// none) floor or, with ceil, ceil the window count, dropping a last window
// that would start in the end padding; VALID pads nothing; SAME_UPPER and
// SAME_LOWER pad so that the output is ceil(in/stride), the odd element
// after or before.
func nnGeometry(n Node, in, k []int, ceil bool) (nnGeom, error) {
	r := len(in)
	g := nnGeom{in: in, k: k, pb: make([]int, r), pe: make([]int, r), out: make([]int, r)}
	var err error
	if g.s, err = nnIntsAttr(n, "strides", r, 1); err != nil {
		return g, err
	}
	if g.d, err = nnIntsAttr(n, "dilations", r, 1); err != nil {
		return g, err
	}
	pads := attrInts(n, "pads", nil)
	if pads != nil && len(pads) != 2*r {
		return g, n.Errorf(ErrInvalidArgument, "pads %v must have %d entries", pads, 2*r)
	}
	autoPad := attrString(n, "auto_pad", "NOTSET")
	window := 1
	for i := 0; i < r; i++ {
		s, d := g.s[i], g.d[i]
		if s < 1 || d < 1 || k[i] < 1 {
			return g, n.Errorf(ErrInvalidArgument, "kernel %v, strides %v and dilations %v must be positive", k, g.s, g.d)
		}
		ek := (k[i]-1)*d + 1
		// A window is visited whole for each output, so a huge one would
		// hang the request: bound the product of the window's extents.
		if k[i] > nnMaxWindow || d > nnMaxWindow || ek > nnMaxWindow/window {
			return g, n.Errorf(ErrInvalidArgument, "kernel %v with dilations %v spans more than %d elements", k, g.d, nnMaxWindow)
		}
		window *= ek
		switch autoPad {
		case "NOTSET", "":
			if pads != nil {
				if pads[i] < 0 || pads[i+r] < 0 || pads[i] > onnxMaxElements || pads[i+r] > onnxMaxElements {
					return g, n.Errorf(ErrInvalidArgument, "pads %v must be non-negative and small", pads)
				}
				g.pb[i], g.pe[i] = int(pads[i]), int(pads[i+r])
			}
			span := in[i] + g.pb[i] + g.pe[i] - ek
			if span < 0 {
				return g, n.Errorf(ErrInvalidArgument, "window %d is larger than the padded input %d", ek, in[i]+g.pb[i]+g.pe[i])
			}
			if ceil {
				g.out[i] = (span+s-1)/s + 1
				if (g.out[i]-1)*s >= in[i]+g.pb[i] {
					g.out[i]--
				}
			} else {
				g.out[i] = span/s + 1
			}
		case "VALID":
			if in[i] < ek {
				return g, n.Errorf(ErrInvalidArgument, "window %d is larger than the input %d", ek, in[i])
			}
			g.out[i] = (in[i]-ek)/s + 1
		case "SAME_UPPER", "SAME_LOWER":
			g.out[i] = (in[i] + s - 1) / s
			total := max((g.out[i]-1)*s+ek-in[i], 0)
			g.pb[i] = total / 2
			if autoPad == "SAME_LOWER" {
				g.pb[i] = total - total/2
			}
			g.pe[i] = total - g.pb[i]
		default:
			return g, n.Errorf(ErrUnsupported, "auto_pad %q", autoPad)
		}
	}
	return g, onnxCheckShape(n, g.out)
}

// nnMaxWindow bounds the elements of one convolution or pooling window.
const nnMaxWindow = 1 << 24

// nnSize is the product of dims.
func nnSize(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// nnNext steps the multi-index idx over extents dims, last dimension
// fastest; it reports false once every index has been visited.
func nnNext(idx, dims []int) bool {
	for i := len(idx) - 1; i >= 0; i-- {
		idx[i]++
		if idx[i] < dims[i] {
			return true
		}
		idx[i] = 0
	}
	return false
}

// nnTaps lists, for kernel offset kk (a multi-index over g.k), the input
// position (flat over the spatial dims) each output position reads, or -1
// where it falls in the padding.
func nnTaps(g nnGeom, kk []int, dst []int) {
	r := len(g.in)
	idx := make([]int, r)
	if nnSize(g.out) == 0 {
		return
	}
	for p := 0; ; p++ {
		flat := 0
		for i := 0; i < r; i++ {
			c := idx[i]*g.s[i] - g.pb[i] + kk[i]*g.d[i]
			if c < 0 || c >= g.in[i] {
				flat = -1
				break
			}
			flat = flat*g.in[i] + c
		}
		dst[p] = flat
		if !nnNext(idx, g.out) {
			return
		}
	}
}

// nnConvF is the arithmetic a convolution is carried out in.
type nnConvF interface{ ~float32 | ~float64 | ~int32 }

// nnConv computes an NCHW convolution: x is [batch, c, g.in...], w is
// [m, c/group, g.k...] and out, which it overwrites, is [batch, m,
// g.out...]; bias, when not nil, holds m values.
func nnConv[T nnConvF](ctx context.Context, x []T, batch, c int, w []T, m, group int, g nnGeom, bias []T, out []T, budget int) error {
	cg, mg := c/group, m/group
	inN, outN, kN := nnSize(g.in), nnSize(g.out), nnSize(g.k)
	for i := range out {
		out[i] = 0
	}
	if outN == 0 || m == 0 || batch == 0 {
		return nil
	}
	taps := make([][]int, kN)
	kk := make([]int, len(g.k))
	for t := 0; t < kN; t++ {
		taps[t] = make([]int, outN)
		nnTaps(g, kk, taps[t])
		nnNext(kk, g.k)
	}
	switch xf := any(x).(type) {
	case []float32:
		return nnConvGemm(ctx, xf, batch, c, any(w).([]float32), m, group, inN, outN, taps, nnAnyBias[float32](bias), any(out).([]float32), budget)
	case []float64:
		return nnConvGemm(ctx, xf, batch, c, any(w).([]float64), m, group, inN, outN, taps, nnAnyBias[float64](bias), any(out).([]float64), budget)
	}
	col := make([]T, outN)
	for b := 0; b < batch; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for gi := 0; gi < group; gi++ {
			for ci := 0; ci < cg; ci++ {
				xc := x[(b*c+gi*cg+ci)*inN:][:inN]
				for t := 0; t < kN; t++ {
					for p, src := range taps[t] {
						if src < 0 {
							col[p] = 0
						} else {
							col[p] = xc[src]
						}
					}
					for mi := 0; mi < mg; mi++ {
						mo := gi*mg + mi
						wv := w[(mo*cg+ci)*kN+t]
						if wv == 0 {
							continue
						}
						dst := out[(b*m+mo)*outN:][:outN]
						for p, v := range col {
							dst[p] += wv * v
						}
					}
				}
			}
		}
		nnAddBias(out, bias, b, m, outN)
	}
	return nil
}

// nnConvInputs checks the inputs of a Conv or ConvTranspose: x of a float
// dtype, and the weights w and the optional bias (input 2, nil when
// absent) of x's dtype.
func nnConvInputs(n Node, in []*tensor.Tensor, absent onnxAbsent) (x, w, bias *tensor.Tensor, err error) {
	if err := checkInputs(n, in, 2); err != nil {
		return nil, nil, nil, err
	}
	x, w, bias = in[0], in[1], absent.input(in, 2)
	if err := checkDType(n, "input", x, floatTypes...); err != nil {
		return nil, nil, nil, err
	}
	if w.DType() != x.DType() || (bias != nil && bias.DType() != x.DType()) {
		return nil, nil, nil, n.Errorf(ErrInvalidArgument, "weights %v and bias must have the input's dtype %v", w.DType(), x.DType())
	}
	return x, w, bias, nil
}

// nnBiasOf is bias's values, or nil when bias is absent.
func nnBiasOf[T any](bias *tensor.Tensor) []T {
	if bias == nil {
		return nil
	}
	return Slice[T](bias)
}

// nnAddBias adds bias[mo] to every element of channel mo of image b of
// out, which holds m channels of outN elements per image; a nil bias adds
// nothing.
func nnAddBias[T Real](out, bias []T, b, m, outN int) {
	if bias == nil {
		return
	}
	for mo := 0; mo < m; mo++ {
		dst := out[(b*m+mo)*outN:][:outN]
		for p := range dst {
			dst[p] += bias[mo]
		}
	}
}

// nnAnyBias converts a bias of a type parameter known to be []E.
func nnAnyBias[E any, T any](bias []T) []E {
	if bias == nil {
		return nil
	}
	return any(bias).([]E)
}

// nnConvGemm is nnConv for floats: per image and group, the receptive
// fields are lowered into a (channels·taps)×positions matrix, which the
// group's weights, an m/group×(channels·taps) matrix, multiply through
// the engine's GEMM.
func nnConvGemm[T Float](ctx context.Context, x []T, batch, c int, w []T, m, group, inN, outN int, taps [][]int, bias []T, out []T, budget int) error {
	cg, mg, kN := c/group, m/group, len(taps)
	kdim := cg * kN
	// The lowered matrix is built a band of output positions at a time.
	chunk := max(1, min(outN, budget/max(kdim, 1)))
	col := scratch[T](ctx, kdim*chunk)
	for b := 0; b < batch; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for gi := 0; gi < group; gi++ {
			for p0 := 0; p0 < outN; p0 += chunk {
				nc := min(chunk, outN-p0)
				for ci := 0; ci < cg; ci++ {
					xc := x[(b*c+gi*cg+ci)*inN:][:inN]
					for t, tp := range taps {
						row := col[(ci*kN+t)*nc:][:nc]
						for p, src := range tp[p0 : p0+nc] {
							if src < 0 {
								row[p] = 0
							} else {
								row[p] = xc[src]
							}
						}
					}
				}
				dst := out[(b*m+gi*mg)*outN+p0:]
				gemm(ctx, mg, nc, kdim, mat[T]{data: w[gi*mg*kdim:], ld: kdim}, mat[T]{data: col, ld: nc}, dst, outN)
			}
		}
		nnAddBias(out, bias, b, m, outN)
	}
	return nil
}

// nnColBudget bounds the elements of the lowered matrices the ONNX
// convolutions build at once.
const nnColBudget = 1 << 20

// nnConvShapes checks a convolution's input and weights (ranks, channel
// counts against group) and resolves its window.
func nnConvShapes(n Node, xs, ws tensor.Shape, group int, ceil bool) (nnGeom, error) {
	if len(xs) < 3 || len(ws) != len(xs) {
		return nnGeom{}, n.Errorf(ErrInvalidArgument, "input %v and weights %v must have the same rank, at least 3", xs, ws)
	}
	if group < 1 || xs[1] != ws[1]*group || ws[0]%group != 0 {
		return nnGeom{}, n.Errorf(ErrInvalidArgument, "input %v and weights %v do not match group %d", xs, ws, group)
	}
	k := []int(ws[2:])
	if ks := attrInts(n, "kernel_shape", nil); ks != nil {
		if len(ks) != len(k) {
			return nnGeom{}, n.Errorf(ErrInvalidArgument, "kernel_shape %v does not match weights %v", ks, ws)
		}
		for i, v := range ks {
			if int(v) != k[i] {
				return nnGeom{}, n.Errorf(ErrInvalidArgument, "kernel_shape %v does not match weights %v", ks, ws)
			}
		}
	}
	return nnGeometry(n, []int(xs[2:]), k, ceil)
}

func nnBuildConv(n Node) (Kernel, error) {
	group := int(attrInt(n, "group", 1))
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w, bias, err := nnConvInputs(n, in, absent)
		if err != nil {
			return nil, err
		}
		xs, ws := x.Shape(), w.Shape()
		g, err := nnConvShapes(n, xs, ws, group, false)
		if err != nil {
			return nil, err
		}
		if bias != nil && bias.Len() != ws[0] {
			return nil, n.Errorf(ErrInvalidArgument, "bias %v must hold %d values", bias.Shape(), ws[0])
		}
		out := Alloc(ctx, x.DType(), append(tensor.Shape{xs[0], ws[0]}, g.out...))
		if x.DType() == tensor.Float32 {
			err = nnConv(ctx, x.Float32s(), xs[0], xs[1], w.Float32s(), ws[0], group, g, nnBiasOf[float32](bias), out.Float32s(), nnColBudget)
		} else {
			err = nnConv(ctx, x.Float64s(), xs[0], xs[1], w.Float64s(), ws[0], group, g, nnBiasOf[float64](bias), out.Float64s(), nnColBudget)
		}
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// nnFloorDiv divides rounding toward negative infinity, as Python's //.
func nnFloorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// nnTransposeGeometry resolves a ConvTranspose's output extent and
// padding: from output_shape when given (the padding split as ONNX's
// reference does, possibly negative), from auto_pad SAME_* (output
// in·stride), or from the pads.
func nnTransposeGeometry(n Node, in, k []int) (nnGeom, error) {
	r := len(in)
	g := nnGeom{in: in, k: k, pb: make([]int, r), pe: make([]int, r), out: make([]int, r)}
	var err error
	if g.s, err = nnIntsAttr(n, "strides", r, 1); err != nil {
		return g, err
	}
	if g.d, err = nnIntsAttr(n, "dilations", r, 1); err != nil {
		return g, err
	}
	op, err := nnIntsAttr(n, "output_padding", r, 0)
	if err != nil {
		return g, err
	}
	pads := attrInts(n, "pads", nil)
	if pads != nil && len(pads) != 2*r {
		return g, n.Errorf(ErrInvalidArgument, "pads %v must have %d entries", pads, 2*r)
	}
	autoPad := attrString(n, "auto_pad", "NOTSET")
	outShape := attrInts(n, "output_shape", nil)
	if len(outShape) == r+2 {
		outShape = outShape[2:]
	}
	if outShape != nil && len(outShape) != r {
		return g, n.Errorf(ErrInvalidArgument, "output_shape %v must have %d entries", outShape, r)
	}
	for i := 0; i < r; i++ {
		if g.s[i] < 1 || g.d[i] < 1 || k[i] < 1 {
			return g, n.Errorf(ErrInvalidArgument, "kernel %v, strides %v and dilations %v must be positive", k, g.s, g.d)
		}
		ek := (k[i]-1)*g.d[i] + 1
		full := g.s[i]*(in[i]-1) + op[i] + ek
		want := -1
		switch {
		case outShape != nil:
			want = int(outShape[i])
		case autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER":
			want = in[i] * g.s[i]
		}
		if want >= 0 {
			total := full - want
			if autoPad == "SAME_UPPER" {
				g.pb[i], g.pe[i] = nnFloorDiv(total, 2), total-nnFloorDiv(total, 2)
			} else {
				g.pb[i], g.pe[i] = total-nnFloorDiv(total, 2), nnFloorDiv(total, 2)
			}
		} else if pads != nil && autoPad != "VALID" {
			g.pb[i], g.pe[i] = int(pads[i]), int(pads[i+r])
		}
		g.out[i] = full - g.pb[i] - g.pe[i]
		if g.out[i] < 0 {
			return g, n.Errorf(ErrInvalidArgument, "output extent %d is negative", g.out[i])
		}
	}
	return g, nil
}

// nnConvTranspose scatters each input element of x [batch, c, g.in...]
// through the weights w [c, m/group, g.k...] into out [batch, m,
// g.out...], which it overwrites; bias, when not nil, holds m values.
func nnConvTranspose[T Float](ctx context.Context, x []T, batch, c int, w []T, m, group int, g nnGeom, bias []T, out []T, budget int) error {
	cg, mg := c/group, m/group
	inN, outN, kN := nnSize(g.in), nnSize(g.out), nnSize(g.k)
	for i := range out {
		out[i] = 0
	}
	if inN == 0 || outN == 0 || batch == 0 {
		return nil
	}
	r := len(g.in)
	// taps[t][p] is the output position input position p reaches through
	// kernel offset t, or -1.
	taps := make([][]int, kN)
	kk := make([]int, r)
	idx := make([]int, r)
	for t := 0; t < kN; t++ {
		taps[t] = make([]int, inN)
		for i := range idx {
			idx[i] = 0
		}
		for p := 0; p < inN; p++ {
			flat := 0
			for i := 0; i < r; i++ {
				o := idx[i]*g.s[i] - g.pb[i] + kk[i]*g.d[i]
				if o < 0 || o >= g.out[i] {
					flat = -1
					break
				}
				flat = flat*g.out[i] + o
			}
			taps[t][p] = flat
			nnNext(idx, g.in)
		}
		nnNext(kk, g.k)
	}
	mgK := mg * kN
	chunk := max(1, min(inN, budget/max(mgK, 1)))
	col := scratch[T](ctx, mgK*chunk)
	for b := 0; b < batch; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		for gi := 0; gi < group; gi++ {
			for p0 := 0; p0 < inN; p0 += chunk {
				nc := min(chunk, inN-p0)
				// col = W_gᵀ·x_g: row mi·kN+t holds what each input
				// position of the band sends to output channel mi
				// through tap t.
				gemm(ctx, mgK, nc, cg, mat[T]{data: w[gi*cg*mgK:], ld: mgK, trans: true}, mat[T]{data: x[(b*c+gi*cg)*inN+p0:], ld: inN}, col, nc)
				for mi := 0; mi < mg; mi++ {
					dst := out[(b*m+gi*mg+mi)*outN:][:outN]
					for t, tp := range taps {
						row := col[(mi*kN+t)*nc:][:nc]
						for p, o := range tp[p0 : p0+nc] {
							if o >= 0 {
								dst[o] += row[p]
							}
						}
					}
				}
			}
		}
		nnAddBias(out, bias, b, m, outN)
	}
	return nil
}

func nnBuildConvTranspose(n Node) (Kernel, error) {
	group := int(attrInt(n, "group", 1))
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, w, bias, err := nnConvInputs(n, in, absent)
		if err != nil {
			return nil, err
		}
		xs, ws := x.Shape(), w.Shape()
		if len(xs) < 3 || len(ws) != len(xs) || group < 1 || xs[1] != ws[0] || ws[0]%group != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "input %v and weights %v do not match group %d", xs, ws, group)
		}
		m := ws[1] * group
		g, err := nnTransposeGeometry(n, []int(xs[2:]), []int(ws[2:]))
		if err != nil {
			return nil, err
		}
		if bias != nil && bias.Len() != m {
			return nil, n.Errorf(ErrInvalidArgument, "bias %v must hold %d values", bias.Shape(), m)
		}
		if err := onnxCheckShape(n, append([]int{xs[0], m}, g.out...)); err != nil {
			return nil, err
		}
		out := Alloc(ctx, x.DType(), append(tensor.Shape{xs[0], m}, g.out...))
		if x.DType() == tensor.Float32 {
			err = nnConvTranspose(ctx, x.Float32s(), xs[0], xs[1], w.Float32s(), m, group, g, nnBiasOf[float32](bias), out.Float32s(), nnColBudget)
		} else {
			err = nnConvTranspose(ctx, x.Float64s(), xs[0], xs[1], w.Float64s(), m, group, g, nnBiasOf[float64](bias), out.Float64s(), nnColBudget)
		}
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// nnPoolKind is what a pooling window computes.
type nnPoolKind int

const (
	nnMax nnPoolKind = iota
	nnAvg
	nnLp
)

// nnLayout splits a pooling input's shape into the outer extent (batch
// times channels for NCHW, batch for NHWC), the spatial extents and the
// inner extent (1 for NCHW, channels for NHWC).
func nnLayout(n Node, xs tensor.Shape, nhwc bool) (outer int, spatial []int, inner int, err error) {
	if len(xs) < 3 {
		return 0, nil, 0, n.Errorf(ErrInvalidArgument, "input %v must have rank 3 or more", xs)
	}
	if nhwc {
		return xs[0], []int(xs[1 : len(xs)-1]), xs[len(xs)-1], nil
	}
	return xs[0] * xs[1], []int(xs[2:]), 1, nil
}

// nnPoolOutShape puts the spatial output extents into the input's layout.
func nnPoolOutShape(xs tensor.Shape, out []int, nhwc bool) tensor.Shape {
	if nhwc {
		s := tensor.Shape{xs[0]}
		s = append(s, out...)
		return append(s, xs[len(xs)-1])
	}
	return append(tensor.Shape{xs[0], xs[1]}, out...)
}

// nnPoolParams are a pooling kernel's settings.
type nnPoolParams struct {
	kind         nnPoolKind
	p            float64 // LpPool's p
	includePad   bool    // AveragePool's count_include_pad
	colMajor     bool    // MaxPool's storage_order 1 for the indices
	wantIndices  bool
	outer, inner int
}

// nnPool pools x (laid out outer × spatial × inner) over g into out, and
// for max pooling with indices writes each maximum's flat NCHW position
// into idx.
func nnPool[T Real](ctx context.Context, x []T, g nnGeom, pp nnPoolParams, out []T, idx []int64) {
	r := len(g.in)
	inN, outN := nnSize(g.in), nnSize(g.out)
	inner := pp.inner
	// Per dimension and output coordinate, the input coordinates the
	// window covers, and the count including padding.
	cover := make([][][]int, r)
	padCount := make([][]int, r)
	for i := 0; i < r; i++ {
		cover[i] = make([][]int, g.out[i])
		padCount[i] = make([]int, g.out[i])
		for o := 0; o < g.out[i]; o++ {
			for kk := 0; kk < g.k[i]; kk++ {
				c := o*g.s[i] - g.pb[i] + kk*g.d[i]
				if c >= 0 && c < g.in[i] {
					cover[i][o] = append(cover[i][o], c)
				}
				if c < g.in[i]+g.pe[i] {
					padCount[i][o]++
				}
			}
		}
	}
	// colStride are the column-major strides of the spatial dimensions.
	colStride := make([]int, r)
	st := 1
	for i := 0; i < r; i++ {
		colStride[i] = st
		st *= g.in[i]
	}
	work := pp.outer * outN * inner * max(1, nnSize(g.k))
	parallelFor(ctx, pp.outer, work, func(lo, hi int) {
		acc := make([]float64, inner)
		arg := make([]int, inner)
		oi := make([]int, r)
		wi := make([]int, r)
		wdims := make([]int, r)
		for o := lo; o < hi; o++ {
			xo := x[o*inN*inner:][:inN*inner]
			for i := range oi {
				oi[i] = 0
			}
			for p := 0; p < outN; p++ {
				empty := false
				cnt := 1
				for i := 0; i < r; i++ {
					wdims[i] = len(cover[i][oi[i]])
					wi[i] = 0
					if wdims[i] == 0 {
						empty = true
					}
					if pp.includePad {
						cnt *= padCount[i][oi[i]]
					} else {
						cnt *= wdims[i]
					}
				}
				for c := range acc {
					acc[c] = 0
					arg[c] = -1
					if pp.kind == nnMax {
						acc[c] = math.Inf(-1)
					}
				}
				if !empty {
					for {
						flat := 0
						for i := 0; i < r; i++ {
							flat = flat*g.in[i] + cover[i][oi[i]][wi[i]]
						}
						src := xo[flat*inner:][:inner]
						switch pp.kind {
						case nnMax:
							for c, v := range src {
								if f := float64(v); arg[c] < 0 || f > acc[c] || (math.IsNaN(f) && !math.IsNaN(acc[c])) {
									acc[c], arg[c] = f, flat
								}
							}
						case nnAvg:
							for c, v := range src {
								acc[c] += float64(v)
							}
						case nnLp:
							for c, v := range src {
								acc[c] += math.Pow(math.Abs(float64(v)), pp.p)
							}
						}
						if !nnNext(wi, wdims) {
							break
						}
					}
				}
				dst := out[(o*outN+p)*inner:][:inner]
				for c := range dst {
					var v float64
					switch pp.kind {
					case nnMax:
						v = acc[c]
					case nnAvg:
						v = acc[c] / float64(max(cnt, 1))
					case nnLp:
						v = math.Pow(acc[c], 1/pp.p)
					}
					dst[c] = nnFromFloat[T](v)
				}
				if pp.wantIndices {
					pos := arg[0]
					if pp.colMajor && pos >= 0 {
						// Re-express the row-major position column-major.
						rem, cm := pos, 0
						for i := r - 1; i >= 0; i-- {
							cm += (rem % g.in[i]) * colStride[i]
							rem /= g.in[i]
						}
						pos = cm
					}
					idx[o*outN+p] = int64(o*inN + pos)
				}
				nnNext(oi, g.out)
			}
		}
	})
}

// nnFromFloat converts v to T, saturating integers.
func nnFromFloat[T Real](v float64) T {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return T(v)
	case int8:
		return T(max(math.MinInt8, min(math.MaxInt8, math.Round(v))))
	case uint8:
		return T(max(0, min(math.MaxUint8, math.Round(v))))
	case int32:
		return T(max(math.MinInt32, min(math.MaxInt32, math.Round(v))))
	}
	lo := int64(math.MinInt64)
	if math.IsInf(v, -1) || v < -(1<<63) {
		return T(lo)
	}
	return T(int64(math.Round(v)))
}

// nnPoolDispatch runs nnPool for x's dtype.
func nnPoolDispatch(ctx context.Context, n Node, x *tensor.Tensor, g nnGeom, pp nnPoolParams, out *tensor.Tensor, idx []int64) error {
	switch x.DType() {
	case tensor.Float32:
		nnPool(ctx, x.Float32s(), g, pp, out.Float32s(), idx)
	case tensor.Float64:
		nnPool(ctx, x.Float64s(), g, pp, out.Float64s(), idx)
	case tensor.Int8:
		nnPool(ctx, x.Int8s(), g, pp, out.Int8s(), idx)
	case tensor.Uint8:
		nnPool(ctx, x.Uint8s(), g, pp, out.Uint8s(), idx)
	case tensor.Int32:
		nnPool(ctx, x.Int32s(), g, pp, out.Int32s(), idx)
	case tensor.Int64:
		nnPool(ctx, x.Int64s(), g, pp, out.Int64s(), idx)
	default:
		return n.Errorf(ErrUnsupported, "input dtype %v", x.DType())
	}
	return nil
}

// nnLpP reads LpPool's p: an int from opset 2, a float before.
func nnLpP(n Node) float64 {
	if n.Attrs != nil {
		if v, ok := n.Attrs.Int("p"); ok {
			return float64(v)
		}
		if v, ok := n.Attrs.Float("p"); ok {
			return float64(v)
		}
	}
	return 2
}

// nnBuildPool makes MaxPool, AveragePool and LpPool; "_nhwc" set by the
// importer makes the kernel read and write channels-last tensors.
func nnBuildPool(kind nnPoolKind) Builder {
	return func(n Node) (Kernel, error) {
		ks := attrInts(n, "kernel_shape", nil)
		if len(ks) == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "kernel_shape is required")
		}
		k := make([]int, len(ks))
		for i, v := range ks {
			k[i] = int(v)
		}
		nhwc := attrInt(n, "_nhwc", 0) != 0
		ceil := attrInt(n, "ceil_mode", 0) != 0
		pp := nnPoolParams{kind: kind, p: nnLpP(n), includePad: attrInt(n, "count_include_pad", 0) != 0, colMajor: attrInt(n, "storage_order", 0) == 1}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, outer, sp, inner, err := nnPoolInput(n, in, kind, nhwc)
			if err != nil {
				return nil, err
			}
			if len(sp) != len(k) {
				return nil, n.Errorf(ErrInvalidArgument, "kernel_shape %v does not match input %v", ks, x.Shape())
			}
			g, err := nnGeometry(n, sp, k, ceil)
			if err != nil {
				return nil, err
			}
			pp := pp
			pp.outer, pp.inner = outer, inner
			pp.wantIndices = kind == nnMax && attrInt(n, "_indices", 0) != 0 && !nhwc
			shape := nnPoolOutShape(x.Shape(), g.out, nhwc)
			out := Alloc(ctx, x.DType(), shape)
			var idxT *tensor.Tensor
			var idx []int64
			if pp.wantIndices {
				idxT = Alloc(ctx, tensor.Int64, shape)
				idx = idxT.Int64s()
			}
			if err := nnPoolDispatch(ctx, n, x, g, pp, out, idx); err != nil {
				return nil, err
			}
			if idxT != nil {
				return []*tensor.Tensor{out, idxT}, nil
			}
			return []*tensor.Tensor{out}, nil
		}), nil
	}
}

// nnPoolInput checks a pooling node's one input (of a float dtype unless
// the pool takes the maximum) and splits its shape as nnLayout does.
func nnPoolInput(n Node, in []*tensor.Tensor, kind nnPoolKind, nhwc bool) (x *tensor.Tensor, outer int, sp []int, inner int, err error) {
	if err := checkInputs(n, in, 1); err != nil {
		return nil, 0, nil, 0, err
	}
	x = in[0]
	if kind != nnMax {
		if err := checkDType(n, "input", x, floatTypes...); err != nil {
			return nil, 0, nil, 0, err
		}
	}
	outer, sp, inner, err = nnLayout(n, x.Shape(), nhwc)
	return x, outer, sp, inner, err
}

// nnBuildGlobalPool makes GlobalMaxPool, GlobalAveragePool and
// GlobalLpPool: one window covering every spatial position.
func nnBuildGlobalPool(kind nnPoolKind) Builder {
	return func(n Node) (Kernel, error) {
		nhwc := attrInt(n, "_nhwc", 0) != 0
		pp := nnPoolParams{kind: kind, p: nnLpP(n)}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x, outer, sp, inner, err := nnPoolInput(n, in, kind, nhwc)
			if err != nil {
				return nil, err
			}
			r := len(sp)
			g := nnGeom{in: sp, k: sp, s: make([]int, r), d: make([]int, r), pb: make([]int, r), pe: make([]int, r), out: make([]int, r)}
			for i := range sp {
				g.s[i], g.d[i], g.out[i] = 1, 1, 1
				if sp[i] == 0 {
					g.k[i] = 1 // an empty window; the output is then the kind's identity
				}
			}
			pp := pp
			pp.outer, pp.inner = outer, inner
			out := Alloc(ctx, x.DType(), nnPoolOutShape(x.Shape(), g.out, nhwc))
			if err := nnPoolDispatch(ctx, n, x, g, pp, out, nil); err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}), nil
	}
}

func nnBuildMaxUnpool(n Node) (Kernel, error) {
	ks := attrInts(n, "kernel_shape", nil)
	if len(ks) == 0 {
		return nil, n.Errorf(ErrInvalidArgument, "kernel_shape is required")
	}
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x, ind := in[0], in[1]
		xs := x.Shape()
		r := len(xs) - 2
		if r != len(ks) || !ind.Shape().Equal(xs) {
			return nil, n.Errorf(ErrInvalidArgument, "input %v, indices %v and kernel_shape %v do not match", xs, ind.Shape(), ks)
		}
		iv, ok := IntValues(ind)
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "indices must be int64")
		}
		s, err := nnIntsAttr(n, "strides", r, 1)
		if err != nil {
			return nil, err
		}
		pads := attrInts(n, "pads", make([]int64, 2*r))
		if len(pads) != 2*r {
			return nil, n.Errorf(ErrInvalidArgument, "pads %v must have %d entries", pads, 2*r)
		}
		// The indices count positions in the shape MaxPool's input had,
		// def; an output_shape places each at the same coordinates of a
		// possibly larger output.
		def := tensor.Shape{xs[0], xs[1]}
		for i := 0; i < r; i++ {
			def = append(def, (xs[i+2]-1)*s[i]+int(ks[i])-int(pads[i])-int(pads[i+r]))
		}
		shape := def
		if os := absent.input(in, 2); os != nil {
			v, ok := IntValues(os)
			if !ok || len(v) != len(xs) {
				return nil, n.Errorf(ErrInvalidArgument, "output_shape must hold %d integers", len(xs))
			}
			shape = nil
			for i, d := range v {
				if d < int64(def[i]) {
					return nil, n.Errorf(ErrInvalidArgument, "output_shape %v is smaller than %v", v, def)
				}
				shape = append(shape, int(d))
			}
		}
		if err := onnxCheckShape(n, shape); err != nil {
			return nil, err
		}
		if err := onnxCheckShape(n, def); err != nil {
			return nil, err
		}
		out := AllocZeroed(ctx, x.DType(), shape)
		total := int64(nnSize([]int(def)))
		pos := make([]int64, len(iv))
		for i, p := range iv {
			if p < 0 || p >= total {
				return nil, n.Errorf(ErrInvalidArgument, "index %d is outside %v", p, def)
			}
			rem, flat, mul := p, int64(0), int64(1)
			for d := len(def) - 1; d >= 0; d-- {
				flat += (rem % int64(def[d])) * mul
				rem /= int64(def[d])
				mul *= int64(shape[d])
			}
			pos[i] = flat
		}
		iv = pos
		if err := nnScatter(x, out, iv); err != nil {
			return nil, n.Errorf(ErrUnsupported, "%v", err)
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// nnScatter writes x's elements to out at the flat positions pos.
func nnScatter(x, out *tensor.Tensor, pos []int64) error {
	switch x.DType() {
	case tensor.Float32:
		nnScatterT(x.Float32s(), out.Float32s(), pos)
	case tensor.Float64:
		nnScatterT(x.Float64s(), out.Float64s(), pos)
	case tensor.Int8:
		nnScatterT(x.Int8s(), out.Int8s(), pos)
	case tensor.Uint8:
		nnScatterT(x.Uint8s(), out.Uint8s(), pos)
	case tensor.Int32:
		nnScatterT(x.Int32s(), out.Int32s(), pos)
	case tensor.Int64:
		nnScatterT(x.Int64s(), out.Int64s(), pos)
	default:
		return errorf("dtype %v", x.DType())
	}
	return nil
}

func nnScatterT[T any](x, out []T, pos []int64) {
	for i, p := range pos {
		out[p] = x[i]
	}
}
