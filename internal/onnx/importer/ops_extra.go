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

// xtUpsample passes Upsample's scales (height_scale and width_scale
// attributes before opset 7, a scales attribute before opset 9, an input
// from then on) to the OnnxUpsample kernel as its second input.
func xtUpsample(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	var scales graph.Port
	switch {
	case n.opset < 7:
		// Upsample-1 scales the last two axes of an NCHW tensor.
		hs, ws := n.float("height_scale", 0), n.float("width_scale", 0)
		if hs <= 0 || ws <= 0 {
			return fmt.Errorf("%w: Upsample needs positive height_scale and width_scale attributes", engine.ErrInvalidModel)
		}
		scales = b.constant(tensor.MustFromSlice(tensor.Shape{4}, []float32{1, 1, hs, ws}))
	case n.opset < 9:
		v, ok := n.floats("scales")
		if !ok {
			return fmt.Errorf("%w: Upsample needs the scales attribute", engine.ErrInvalidModel)
		}
		scales = b.constant(tensor.MustFromSlice(tensor.Shape{len(v)}, append([]float32(nil), v...)))
	default:
		if scales, err = b.need(n, 1); err != nil {
			return err
		}
	}
	attrs := onnxAttrs(n)
	for _, a := range []string{"scales", "height_scale", "width_scale"} {
		delete(attrs, a)
	}
	b.out(n, 0, graph.Port{Node: b.add(n, OnnxOp("Upsample"), attrs, x, scales)})
	return nil
}
