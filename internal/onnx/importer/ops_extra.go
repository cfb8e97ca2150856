package importer

import (
	"fmt"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/tensor"
)

// The ops below (resizing, recurrent layers, detection, signal and text
// ops) run as kernels written to ONNX semantics, registered as OnnxOp(op).

func init() {
	for _, op := range []string{"Resize", "RNN", "GRU", "LSTM", "NonMaxSuppression", "RoiAlign", "GridSample", "StringNormalizer", "TfIdfVectorizer",
		"HannWindow", "HammingWindow", "BlackmanWindow", "MelWeightMatrix", "DFT", "STFT"} {
		register(op, kernel)
	}
	register("Upsample", xtUpsample)
}

// xtUpsample passes Upsample's scales, an attribute before opset 9 and an
// input from then on, to the OnnxUpsample kernel as its second input.
func xtUpsample(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	var scales graph.Port
	if n.opset < 9 {
		v, ok := n.floats("scales")
		if !ok {
			return fmt.Errorf("%w: Upsample needs the scales attribute", engine.ErrInvalidModel)
		}
		scales = b.constant(tensor.MustFromSlice(tensor.Shape{len(v)}, append([]float32(nil), v...)))
	} else if scales, err = b.need(n, 1); err != nil {
		return err
	}
	attrs := onnxAttrs(n)
	delete(attrs, "scales")
	b.out(n, 0, graph.Port{Node: b.add(n, OnnxOp("Upsample"), attrs, x, scales)})
	return nil
}
