package importer

func init() {
	for _, op := range []string{
		"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"Hardmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization", "LRN",
		"MeanVarianceNormalization",
	} {
		register(op, kernel)
	}
	register("Softmax", rdSoftmax("Softmax"))
	register("LogSoftmax", rdSoftmax("LogSoftmax"))
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
