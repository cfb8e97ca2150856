package importer

import (
	"fmt"

	"inferd/internal/engine"
)

// trDomain is ONNX's domain of training operators.
const trDomain = "ai.onnx.preview.training"

// The optimizers of the training domain, each with how many state tensors
// (Adagrad: H; Adam: V and H; Momentum: V) an optimized tensor has. Their
// kernels (registered as OnnxOp(op)) follow ONNX's pseudo code.
func init() {
	for op, states := range map[string]int{"Adagrad": 1, "Adam": 2, "Momentum": 1} {
		registerDomain(trDomain, op, trOptimizer(states))
	}
}

// trOptimizer returns the converter for an optimizer with states state
// tensors per optimized tensor: it checks the domain version and the
// input and output counts (R, T and then 2+states tensors per optimized
// tensor in; the new tensors and new states out) and emits the kernel.
func trOptimizer(states int) converter {
	return func(b *builder, n *node) error {
		if n.opset != 1 {
			return fmt.Errorf("%w: opset %d of domain %s (inferd reads version 1)", engine.ErrUnsupported, n.opset, trDomain)
		}
		per := 2 + states
		ins := len(n.GetInput())
		if ins < 2+per || (ins-2)%per != 0 {
			return fmt.Errorf("%w: %d inputs: want R, T and then %d tensors per optimized tensor", engine.ErrInvalidModel, ins, per)
		}
		for i := range ins {
			if !n.has(i) {
				return fmt.Errorf("%w: input %d is required", engine.ErrInvalidModel, i)
			}
		}
		count := (ins - 2) / per
		if outs := len(n.GetOutput()); outs > count*(1+states) {
			return fmt.Errorf("%w: %d outputs for %d optimized tensors: want at most %d", engine.ErrInvalidModel, outs, count, count*(1+states))
		}
		return kernel(b, n)
	}
}
