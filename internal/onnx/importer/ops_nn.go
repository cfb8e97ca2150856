package importer

import (
	"context"
	"fmt"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/kernels"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// The convolution, pooling and quantisation ops. A 2-D Conv with constant
// weights becomes TensorFlow's NHWC Conv2D (or DepthwiseConv2dNative)
// between two transposes, so that it runs on the engine's fast
// convolution and its bias and activation fuse; nnOptimize then cancels
// the transposes between consecutive layers. Everything else runs
// kernels written to ONNX semantics (internal/kernels/onnx_nn*.go).

func init() {
	register("Conv", nnConv)
	register("MaxPool", nnMaxPool)
	for _, op := range []string{
		"ConvTranspose", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool",
		"MaxUnpool", "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
		"MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv",
	} {
		register(op, kernel)
	}
	passes = append(passes, nnOptimize)
}

// The layout permutations between ONNX's NCHW and TensorFlow's NHWC.
var (
	nnToNHWC = []int64{0, 2, 3, 1}
	nnToNCHW = []int64{0, 3, 1, 2}
)

// nnTranspose adds a Transpose of p by perm and returns its output.
func nnTranspose(b *builder, n *node, p graph.Port, perm []int64) graph.Port {
	pc := b.constant(tensor.MustFromSlice(tensor.Shape{len(perm)}, nnInt32s(perm)))
	return graph.Port{Node: b.add(n, "Transpose", map[string]*tfpb.AttrValue{"Tperm": aType(tensor.Int32)}, p, pc)}
}

func nnInt32s(v []int64) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

// nnWindow reads the 2-D window attributes of n as TensorFlow's strides,
// dilations, padding and explicit_paddings; ok is false when TensorFlow's
// windows cannot express them (SAME_LOWER, or a rank other than 2).
func nnWindow(n *node, rank int, extra [4]int64) (attrs map[string]*tfpb.AttrValue, ok bool) {
	if rank != 2 {
		return nil, false
	}
	const maxPad = 1 << 24
	get := func(name string, def int64) ([]int64, bool) {
		v, has := n.ints(name)
		if !has {
			return []int64{def, def}, true
		}
		return v, len(v) == 2
	}
	s, ok1 := get("strides", 1)
	d, ok2 := get("dilations", 1)
	if !ok1 || !ok2 {
		return nil, false
	}
	attrs = map[string]*tfpb.AttrValue{
		"strides":     aInts(1, s[0], s[1], 1),
		"dilations":   aInts(1, d[0], d[1], 1),
		"data_format": aStr("NHWC"),
	}
	switch n.str("auto_pad", "NOTSET") {
	case "NOTSET", "":
		p, has := n.ints("pads")
		if !has {
			p = []int64{0, 0, 0, 0}
		}
		if len(p) != 4 {
			return nil, false
		}
		p = []int64{p[0] + extra[0], p[1] + extra[1], p[2] + extra[2], p[3] + extra[3]}
		for _, v := range p {
			// Negative or absurd pads stay with the ONNX kernel, which
			// rejects them.
			if v < 0 || v > maxPad {
				return nil, false
			}
		}
		attrs["padding"] = aStr("EXPLICIT")
		attrs["explicit_paddings"] = aInts(0, 0, p[0], p[2], p[1], p[3], 0, 0)
	case "VALID", "SAME_UPPER":
		if extra != [4]int64{} {
			return nil, false
		}
		attrs["padding"] = aStr("VALID")
		if n.str("auto_pad", "") == "SAME_UPPER" {
			attrs["padding"] = aStr("SAME")
		}
	default:
		return nil, false
	}
	return attrs, true
}

// nnZeroPad reports whether port x is an ONNX Pad adding zeros around
// the spatial dimensions of a 4-D tensor only, and returns its input and
// its pads (top, left, bottom, right), which a following convolution
// can take over.
func nnZeroPad(b *builder, x graph.Port) (graph.Port, [4]int64, bool) {
	var none [4]int64
	pn := b.g.Node(x.Node)
	if pn == nil || pn.Op != OnnxOp("Pad") || x.Index != 0 || len(pn.Inputs) == 0 {
		return x, none, false
	}
	a := graph.Attrs(pn.Attrs)
	if mode, ok := a.String("mode"); ok && mode != "constant" {
		return x, none, false
	}
	if v, ok := a.Float("value"); ok && v != 0 {
		return x, none, false
	}
	absent := map[int]bool{}
	if ab, ok := a.Ints("_absent"); ok {
		for _, i := range ab {
			absent[int(i)] = true
		}
	}
	pads, ok := a.Ints("pads")
	if !ok {
		pads, ok = a.Ints("paddings")
	}
	p := &nnPass{b: b, folded: map[graph.Port]*tensor.Tensor{}, dead: map[string]bool{}}
	if !ok {
		if len(pn.Inputs) < 2 || absent[1] {
			return x, none, false
		}
		t, ok := p.constOf(pn.Inputs[1], 0)
		if !ok {
			return x, none, false
		}
		if pads, ok = kernels.IntValues(t); !ok {
			return x, none, false
		}
	}
	if len(pn.Inputs) > 3 && !absent[3] {
		return x, none, false // axes
	}
	if len(pn.Inputs) > 2 && !absent[2] {
		v, ok := p.constOf(pn.Inputs[2], 0)
		if !ok || v.Len() != 1 || v.DType() != tensor.Float32 || v.Float32s()[0] != 0 {
			return x, none, false
		}
	}
	if len(pads) != 8 || pads[0] != 0 || pads[1] != 0 || pads[4] != 0 || pads[5] != 0 {
		return x, none, false
	}
	for _, v := range pads {
		if v < 0 {
			return x, none, false
		}
	}
	return pn.Inputs[0], [4]int64{pads[2], pads[3], pads[6], pads[7]}, true
}

// nnConv lowers Conv. With constant 2-D float weights it becomes
// Transpose(NCHW->NHWC) -> Conv2D or DepthwiseConv2dNative (weights
// transposed to HWIO or HWCM here) -> BiasAdd -> Transpose(NHWC->NCHW);
// otherwise the OnnxConv kernel.
func nnConv(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	w, ok := b.constIn(n, 1)
	if !ok {
		// Weights computed from constants only (DequantizeLinear of
		// quantised weights, a Cast, an Identity) are folded here.
		if wp, has := b.in(n, 1); has {
			p := &nnPass{b: b, folded: map[graph.Port]*tensor.Tensor{}, dead: map[string]bool{}}
			w, ok = p.constOf(wp, 0)
		}
	}
	if !ok || w.Rank() != 4 || (w.DType() != tensor.Float32 && w.DType() != tensor.Float64) {
		return kernel(b, n)
	}
	// A zero Pad before the convolution becomes part of its padding.
	var extra [4]int64
	if px, pads, ok := nnZeroPad(b, x); ok && w.DType() == tensor.Float32 {
		if _, ok := nnWindow(n, 2, pads); ok {
			x, extra = px, pads
		}
	}
	win, ok := nnWindow(n, 2, extra)
	if !ok {
		return kernel(b, n)
	}
	ws := w.Shape()
	if ks, has := n.ints("kernel_shape"); has && (len(ks) != 2 || int(ks[0]) != ws[2] || int(ks[1]) != ws[3]) {
		return fmt.Errorf("%w: kernel_shape %v does not match the weights %v", engine.ErrInvalidModel, ks, ws)
	}
	group := int(n.int("group", 1))
	if group < 1 || ws[0]%group != 0 {
		return fmt.Errorf("%w: %d output channels do not split into %d groups", engine.ErrInvalidModel, ws[0], group)
	}
	op := "Conv2D"
	var f *tensor.Tensor
	if group > 1 && ws[1] == 1 {
		// Depthwise: output channel c·mult+m reads input channel c, the
		// order of TensorFlow's [kh, kw, c, mult] filter.
		op = "DepthwiseConv2dNative"
		f = nnPermute(w, []int{2, 3, 0, 1}) // [kh, kw, C·mult, 1]
		f, _ = f.Reshaped(tensor.Shape{ws[2], ws[3], group, ws[0] / group})
	} else {
		f = nnPermute(w, []int{2, 3, 1, 0}) // OIHW -> HWIO
	}
	win["T"] = aType(w.DType())
	t := nnTranspose(b, n, x, nnToNHWC)
	y := graph.Port{Node: b.add(n, op, win, t, b.constant(f))}
	if bias, ok := b.in(n, 2); ok {
		y = graph.Port{Node: b.add(n, "BiasAdd", map[string]*tfpb.AttrValue{"T": aType(w.DType()), "data_format": aStr("NHWC")}, y, bias)}
	}
	b.out(n, 0, nnTranspose(b, n, y, nnToNCHW))
	return nil
}

// nnPermute transposes a constant tensor by perm (a permutation of its
// dimensions) through the engine's Transpose kernel.
func nnPermute(t *tensor.Tensor, perm []int) *tensor.Tensor {
	p := make([]int64, len(perm))
	for i, d := range perm {
		p[i] = int64(d)
	}
	build, _ := kernels.Lookup("Transpose")
	k, err := build(kernels.Node{Name: "nnPermute", Op: "Transpose", NumInputs: 2})
	if err != nil {
		panic(err)
	}
	out, err := k.Compute(context.Background(), []*tensor.Tensor{t, tensor.MustFromSlice(tensor.Shape{len(p)}, p)})
	if err != nil {
		panic(err) // perm is not a permutation of t's dimensions: a caller's bug
	}
	return out[0]
}

// nnCopyElem sets dst's element i to src's element j.
func nnCopyElem(dst *tensor.Tensor, i int, src *tensor.Tensor, j int) {
	switch d := dst.Data().(type) {
	case []float32:
		d[i] = src.Float32s()[j]
	case []float64:
		d[i] = src.Float64s()[j]
	case []int8:
		d[i] = src.Int8s()[j]
	case []uint8:
		d[i] = src.Uint8s()[j]
	case []int32:
		d[i] = src.Int32s()[j]
	case []int64:
		d[i] = src.Int64s()[j]
	case []bool:
		d[i] = src.Bools()[j]
	case [][]byte:
		d[i] = src.Strings()[j]
	}
}

// nnMaxPool emits the OnnxMaxPool kernel, telling it whether the Indices
// output is wanted.
func nnMaxPool(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	attrs := onnxAttrs(n)
	if len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" {
		attrs["_indices"] = aInt(1)
	}
	name := b.add(n, OnnxOp("MaxPool"), attrs, x)
	b.out(n, 0, graph.Port{Node: name})
	b.out(n, 1, graph.Port{Node: name, Index: 1})
	return nil
}
