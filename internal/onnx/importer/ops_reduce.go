package importer

import (
	"inferd/internal/graph"
	"inferd/internal/kernels"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

func init() {
	for _, op := range []string{
		"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"Hardmax", "LayerNormalization", "InstanceNormalization", "LRN",
		"MeanVarianceNormalization", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
		"MatMul", "Det", "Einsum",
	} {
		register(op, kernel)
	}
	register("Softmax", rdSoftmax("Softmax"))
	register("LogSoftmax", rdSoftmax("LogSoftmax"))
	register("Dropout", rdDropout)
	register("Gemm", rdGemm)
	register("BatchNormalization", rdBatchNorm)
}

// rdBatchNorm converts BatchNormalization. In inference, when its input is
// a transpose from NHWC to NCHW (what the Conv converter ends with), it is
// TensorFlow's FusedBatchNormV3 on the NHWC tensor, transposed back
// after, so that the engine folds it into the convolution and the layout
// pass keeps the chain NHWC; otherwise the ONNX kernel runs it.
func rdBatchNorm(b *builder, n *node) error {
	src, ok := b.rdFromNHWC(n)
	if !ok || n.int("training_mode", 0) != 0 || n.int("spatial", 1) != 1 || len(n.GetInput()) != 5 {
		return kernel(b, n)
	}
	for i, o := range n.GetOutput() {
		if i > 0 && o != "" {
			return kernel(b, n)
		}
	}
	ports := []graph.Port{src}
	for i := 1; i < 5; i++ {
		p, err := b.need(n, i)
		if err != nil {
			return err
		}
		if t, ok := b.constIn(n, i); ok && t.Rank() != 1 {
			return kernel(b, n)
		}
		ports = append(ports, p)
	}
	attrs := map[string]*tfpb.AttrValue{
		"epsilon":     aFloat(n.float("epsilon", 1e-5)),
		"is_training": aBool(false),
		"data_format": aStr("NHWC"),
	}
	if t, ok := b.constIn(n, 1); ok {
		attrs["T"], attrs["U"] = aType(t.DType()), aType(t.DType())
	}
	y := graph.Port{Node: b.add(n, "FusedBatchNormV3", attrs, ports...)}
	perm := b.constant(tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 3, 1, 2}))
	b.out(n, 0, graph.Port{Node: b.add(n, "Transpose", map[string]*tfpb.AttrValue{"Tperm": aType(tensor.Int32)}, y, perm)})
	return nil
}

// rdFromNHWC reports whether input 0 of n is a Transpose by [0 3 1 2]
// with a constant permutation, and returns the port it transposes.
func (b *builder) rdFromNHWC(n *node) (graph.Port, bool) {
	p, ok := b.in(n, 0)
	if !ok || p.Index != 0 {
		return p, false
	}
	t := b.g.Node(p.Node)
	if t == nil || t.Op != "Transpose" || len(t.Inputs) != 2 {
		return p, false
	}
	pc := b.g.Node(t.Inputs[1].Node)
	if pc == nil || pc.Op != "Const" || b.consts[pc.Name] == nil {
		return p, false
	}
	perm, ok := kernels.IntValues(b.consts[pc.Name])
	if !ok || len(perm) != 4 || perm[0] != 0 || perm[1] != 3 || perm[2] != 1 || perm[3] != 2 {
		return p, false
	}
	return t.Inputs[0], true
}

// rdGemm converts Gemm. With alpha 1 it is TensorFlow's MatMul (which the
// engine fuses with a following BiasAdd) plus C: a constant C, scaled by
// beta at import, that is a row of the product's width becomes a BiasAdd,
// any other C (when beta is 1 or C is constant) an AddV2, which broadcasts
// as Gemm does for the shapes Gemm accepts. Anything else goes to the ONNX
// kernel.
func rdGemm(b *builder, n *node) error {
	alpha, beta := n.float("alpha", 1), n.float("beta", 1)
	c, constC := b.constIn(n, 2)
	if constC && beta != 1 {
		if c = rdScale(c, beta); c == nil {
			constC = false
		}
	}
	if alpha != 1 || n.has(2) && !constC && beta != 1 || !b.rdMaybeFloat(n, 0) || !b.rdMaybeFloat(n, 1) {
		return kernel(b, n)
	}
	a, err := b.need(n, 0)
	if err != nil {
		return err
	}
	bm, err := b.need(n, 1)
	if err != nil {
		return err
	}
	mm := graph.Port{Node: b.add(n, "MatMul", map[string]*tfpb.AttrValue{
		"transpose_a": aBool(n.int("transA", 0) != 0),
		"transpose_b": aBool(n.int("transB", 0) != 0),
	}, a, bm)}
	if !n.has(2) || beta == 0 {
		b.out(n, 0, mm)
		return nil
	}
	if constC {
		s := c.Shape()
		if c.Len() > 1 && (len(s) == 1 || len(s) == 2 && s[0] == 1) {
			row, err := c.Reshaped(tensor.Shape{c.Len()})
			if err != nil {
				return err
			}
			b.out(n, 0, graph.Port{Node: b.add(n, "BiasAdd", nil, mm, b.constant(row))})
			return nil
		}
		b.out(n, 0, graph.Port{Node: b.add(n, "AddV2", nil, mm, b.constant(c))})
		return nil
	}
	cp, _ := b.in(n, 2)
	b.out(n, 0, graph.Port{Node: b.add(n, "AddV2", nil, mm, cp)})
	return nil
}

// rdMaybeFloat reports whether input i of n may be float32 or float64,
// the dtypes of the TensorFlow kernels the converters choose: false only
// when its dtype is known (a constant, or a typed graph input) and is
// another.
func (b *builder) rdMaybeFloat(n *node, i int) bool {
	if t, ok := b.constIn(n, i); ok {
		return t.DType() == tensor.Float32 || t.DType() == tensor.Float64
	}
	p, ok := b.in(n, i)
	if !ok {
		return true
	}
	src := b.g.Node(p.Node)
	if src == nil || src.Op != "Placeholder" {
		return true
	}
	a, ok := src.Attrs["dtype"]
	if !ok {
		return true
	}
	return a.GetType() == tfDType(tensor.Float32) || a.GetType() == tfDType(tensor.Float64)
}

// rdScale returns a float tensor times f, or nil for another dtype.
func rdScale(t *tensor.Tensor, f float32) *tensor.Tensor {
	switch t.DType() {
	case tensor.Float32:
		v := make([]float32, t.Len())
		for i, x := range t.Float32s() {
			v[i] = x * f
		}
		return tensor.MustFromSlice(t.Shape(), v)
	case tensor.Float64:
		v := make([]float64, t.Len())
		for i, x := range t.Float64s() {
			v[i] = x * float64(f)
		}
		return tensor.MustFromSlice(t.Shape(), v)
	}
	return nil
}

// rdDropout converts Dropout: outside training, when no mask is asked
// for, its output is its input; otherwise the ONNX kernel runs it.
func rdDropout(b *builder, n *node) error {
	p, err := b.need(n, 0)
	if err != nil {
		return err
	}
	training := n.opset >= 12 && n.has(2)
	if t, ok := b.constIn(n, 2); ok && t.DType() == tensor.Bool && t.Len() == 1 && !t.Bools()[0] {
		training = false
	}
	if training || len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" {
		return kernel(b, n)
	}
	if t, ok := b.constIn(n, 0); ok {
		b.outConst(n, 0, t)
		return nil
	}
	b.out(n, 0, p)
	return nil
}

// rdSoftmax converts Softmax and LogSoftmax: along the last axis (axis -1,
// which before opset 13 coerces the input to rows of its last dimension as
// well) it is the TensorFlow op; any other axis goes to the ONNX kernel.
func rdSoftmax(op string) converter {
	return func(b *builder, n *node) error {
		def := int64(-1)
		if n.opset < 13 {
			def = 1
		}
		if n.int("axis", def) == -1 && b.rdMaybeFloat(n, 0) {
			return direct(op, nil)(b, n)
		}
		return kernel(b, n)
	}
}
