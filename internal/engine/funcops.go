package engine

import (
	"context"
	"fmt"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// cfBuilder builds the kernel of a function op: an op whose node names
// sub-graphs (GraphSpec.Functions) in func-valued attributes and runs them
// at serve time, as ONNX's If, Loop and Scan do. fn returns the compiled
// function that the node's attribute attr names.
type cfBuilder func(n *graph.Node, fn func(attr string) (*cfFunc, error)) (kernels.Kernel, error)

// cfOps holds the function ops by op name. The planner builds their
// kernels with cfKernel instead of the kernels registry.
var cfOps = map[string]cfBuilder{}

// cfFunc is a function compiled at load into a plan of its own. Its inputs
// and outputs are positional, in the order of its Signature's lists; it
// is safe for concurrent calls, each with an arena of its own.
type cfFunc struct {
	name   string
	pl     *plan
	inKeys []string // the feed key of each input
	outs   []int    // the slot of each output
}

// numIn and numOut are the function's input and output counts.
func (f *cfFunc) numIn() int  { return len(f.inKeys) }
func (f *cfFunc) numOut() int { return len(f.outs) }

// call runs the function on in and returns its outputs. Within the call
// kernels allocate through the function's own arena; the outputs are
// pinned there, so they outlive the call and may be handed to the caller's
// plan like any kernel output.
func (f *cfFunc) call(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) != len(f.inKeys) {
		return nil, fmt.Errorf("function %q takes %d inputs, given %d", f.name, len(f.inKeys), len(in))
	}
	inputs := make(map[string]*tensor.Tensor, len(in))
	for i, t := range in {
		inputs[f.inKeys[i]] = t
	}
	if err := f.pl.checkInputs(inputs); err != nil {
		// Not wrapped: a function fed badly is the model's failure, not
		// the caller's.
		return nil, fmt.Errorf("function %q: %v", f.name, err)
	}
	a := f.pl.getArena(false)
	slots, err := f.pl.run(ctx, a, kernels.Threads(ctx), false, inputs)
	if err != nil {
		return nil, fmt.Errorf("function %q: %w", f.name, err)
	}
	out := make([]*tensor.Tensor, len(f.outs))
	for i, s := range f.outs {
		out[i] = slots[s]
		if b := a.owner(out[i]); b != nil {
			b.pinned = true
		}
	}
	a.endRun()
	f.pl.arenas.put(a)
	return out, nil
}

// cfState holds the functions of one model, each compiled once at load
// however many nodes name it.
type cfState struct {
	specs    map[string]*GraphSpec
	compiled map[string]*cfFunc
	busy     map[string]bool // being compiled: a function may not call itself
}

func newCFState(specs map[string]*GraphSpec) *cfState {
	return &cfState{specs: specs, compiled: map[string]*cfFunc{}, busy: map[string]bool{}}
}

// cfKernel builds the kernel of function op node n with build, compiling
// the functions its attributes name.
func (p *planner) cfKernel(ctx context.Context, n *graph.Node, build cfBuilder) (kernels.Kernel, error) {
	fn := func(attr string) (*cfFunc, error) {
		av, ok := n.Attrs[attr]
		if !ok || av.GetFunc() == nil {
			return nil, fmt.Errorf("%w: no function attribute %q", ErrInvalidModel, attr)
		}
		return p.cfCompile(ctx, av.GetFunc().GetName())
	}
	return build(n, fn)
}

// cfCompile returns the function name compiled, compiling it on first use
// with the planner's settings.
func (p *planner) cfCompile(ctx context.Context, name string) (*cfFunc, error) {
	if p.cf == nil {
		return nil, fmt.Errorf("%w: function %q: the model defines no functions", ErrInvalidModel, name)
	}
	if f := p.cf.compiled[name]; f != nil {
		return f, nil
	}
	spec := p.cf.specs[name]
	if spec == nil || spec.Graph == nil {
		return nil, fmt.Errorf("%w: function %q is not defined", ErrInvalidModel, name)
	}
	if p.cf.busy[name] {
		return nil, fmt.Errorf("%w: function %q calls itself", ErrUnsupported, name)
	}
	p.cf.busy[name] = true
	defer delete(p.cf.busy, name)
	sub := &planner{g: spec.Graph, varVals: map[string]*tensor.Tensor{}, mutable: map[string]*varState{},
		fusion: p.fusion, consts: spec.Consts, cf: p.cf}
	sig := spec.Signature
	if sig.Name == "" {
		sig.Name = name
	}
	pl, err := sub.compile(ctx, sig, spec.Inputs, spec.Outputs)
	if err != nil {
		return nil, fmt.Errorf("function %q: %w", name, err)
	}
	f := &cfFunc{name: name, pl: pl}
	for _, in := range spec.Signature.Inputs {
		if _, ok := pl.feeds[in.Name]; !ok {
			return nil, fmt.Errorf("%w: function %q: input %q is not in its Inputs", ErrInvalidModel, name, in.Name)
		}
		f.inKeys = append(f.inKeys, in.Name)
	}
	if len(f.inKeys) != len(pl.feeds) {
		return nil, fmt.Errorf("%w: function %q has %d inputs but lists %d in its signature", ErrInvalidModel, name, len(pl.feeds), len(f.inKeys))
	}
	for _, o := range spec.Signature.Outputs {
		slot := -1
		for _, b := range pl.fetches {
			if b.spec.Name == o.Name {
				slot = b.slot
			}
		}
		if slot < 0 {
			return nil, fmt.Errorf("%w: function %q: output %q is not in its Outputs", ErrInvalidModel, name, o.Name)
		}
		f.outs = append(f.outs, slot)
	}
	p.cf.compiled[name] = f
	return f, nil
}
