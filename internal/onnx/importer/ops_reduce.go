package importer

import "inferd/internal/tensor"

func init() {
	for _, op := range []string{
		"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"Hardmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization", "LRN",
		"MeanVarianceNormalization", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
	} {
		register(op, kernel)
	}
	register("Softmax", rdSoftmax("Softmax"))
	register("LogSoftmax", rdSoftmax("LogSoftmax"))
	register("Dropout", rdDropout)
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
