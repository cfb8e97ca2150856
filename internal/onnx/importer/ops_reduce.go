package importer

import (
	"inferd/internal/graph"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

func init() {
	for _, op := range []string{
		"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"Hardmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization", "LRN",
		"MeanVarianceNormalization", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
		"MatMul", "Det", "Einsum",
	} {
		register(op, kernel)
	}
	register("Softmax", rdSoftmax("Softmax"))
	register("LogSoftmax", rdSoftmax("LogSoftmax"))
	register("Dropout", rdDropout)
	register("Gemm", rdGemm)
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
	if alpha != 1 || n.has(2) && !constC && beta != 1 {
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
		if n.int("axis", def) == -1 {
			return direct(op, nil)(b, n)
		}
		return kernel(b, n)
	}
}
