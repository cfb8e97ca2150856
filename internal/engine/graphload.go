package engine

import (
	"context"
	"fmt"
	"log/slog"

	"inferd/internal/graph"
	"inferd/internal/tensor"
)

// GraphSpec is a model that another front end (the ONNX importer) has
// already turned into the engine's graph: TensorFlow-style nodes whose ops
// name registered kernels, one servable signature, and the constant values
// the importer read from its own format.
type GraphSpec struct {
	// Graph holds the nodes. Feeds are Placeholder nodes; constants are
	// Const nodes whose value is in Consts rather than in a "value"
	// attribute.
	Graph *graph.Graph
	// Consts holds the value of each Const node that has no "value"
	// attribute, by node name.
	Consts map[string]*tensor.Tensor
	// Signature describes the one servable signature.
	Signature Signature
	// Inputs and Outputs give the tensor name ("node" or "node:1") behind
	// each signature key.
	Inputs, Outputs map[string]string
	// Functions holds the sub-graphs that function ops (ONNX's If, Loop
	// and Scan) name in func-valued attributes, nested ones included, by
	// name. A function's inputs and outputs are positional: the order of
	// its Signature's Inputs and Outputs lists (not sorted), whose names
	// are its keys in Inputs and Outputs.
	Functions map[string]*GraphSpec
	// Dir is reported by Model.Dir; Version by Model.Version.
	// StrictShapes makes Run refuse an input whose shape contradicts the
	// dimensions its signature declares, as ONNX Runtime does; without it
	// Run checks only the dimensions a load-time fold relied on, as
	// TensorFlow does.
	StrictShapes bool
	Dir          string
	Version      int64
}

// LoadGraph compiles spec into a Model, exactly as Load compiles a
// SavedModel signature: the same planner, folding, fusion and kernels.
func LoadGraph(ctx context.Context, spec GraphSpec, opts Options) (*Model, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if spec.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", ErrInvalidModel)
	}
	m := &Model{dir: spec.Dir, version: spec.Version, plans: map[string]*plan{}, refused: map[string]error{}, threads: opts.Threads}
	p := &planner{g: spec.Graph, varVals: map[string]*tensor.Tensor{}, mutable: map[string]*varState{}, fusion: !opts.NoFusion, consts: spec.Consts,
		cf: newCFState(spec.Functions)}
	sig := spec.Signature
	if sig.Name == "" {
		sig.Name = "serving_default"
	}
	pl, err := p.compile(ctx, sig, spec.Inputs, spec.Outputs)
	if err != nil {
		return nil, inSignature(sig.Name, err)
	}
	if spec.StrictShapes {
		for key, b := range pl.feeds {
			if b.spec.Shape != nil && b.relied == nil {
				b.relied = b.spec.Shape
				pl.feeds[key] = b
			}
		}
	}
	m.plans[sig.Name] = pl
	m.sigs = append(m.sigs, sig)
	log.Info("engine: model loaded", "dir", spec.Dir, "signatures", 1)
	return m, nil
}
