package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	"inferd/internal/savedmodel"
	"inferd/internal/tensor"
)

// step runs one kernel: it reads its inputs from slots, writes the outputs
// it has consumers for to slots, then clears the slots whose last reader it
// was so their buffers can be collected while the rest of the plan runs.
type step struct {
	node   string
	op     string
	kernel kernels.Kernel
	in     []int
	out    []int // slot of each output index; -1 when the output is unused
	free   []int
	consts map[int]value // constant inputs, given slots once planning ends
	checks []shapeCheck  // static shapes the plan relied on
	effect bool          // updates a variable, so it runs even with no readers
	// fetched is set when an output is one the signature returns: the
	// step allocates without the arena, since its output leaves the Run.
	fetched bool
}

// binding ties a signature key to the slot holding its tensor.
type binding struct {
	spec TensorSpec
	slot int
	// relied is the static shape a fold at load took from the signature
	// for this input; Run checks it. Nil when no fold depends on it, and
	// then, as in TensorFlow, the fed shape is not checked at all.
	relied []int64
}

// plan is a signature compiled at load: constant slots prefilled, the
// remaining kernels in topological order, and each value's last use known.
type plan struct {
	sig     Signature
	nslots  int
	init    []*tensor.Tensor // the constant slots; nil elsewhere
	feeds   map[string]binding
	fetches []binding
	steps   []step
	arenas  arenaPool // idle arenas, each sized for this plan's slots
}

type vkind uint8

const (
	vDyn      vkind = iota + 1 // computed per request, in a slot
	vConst                     // known at load
	vDead                      // on the untaken side of a constant-predicate Switch
	vResource                  // a resource variable handle
)

type value struct {
	kind  vkind
	slot  int
	t     *tensor.Tensor
	node  string   // the variable node, for vResource
	shape []int64  // the static shape of a vDyn value; see shapes.go
	part  *partial // what is known of a vDyn integer vector
}

// isMutating reports whether op updates variables. A signature that runs
// one (through data or control edges) is served only when every such op is
// one of stateOps (a counter); an optimizer step is refused.
func isMutating(op string) bool {
	switch op {
	case "Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp",
		"ScatterUpdate", "ScatterAdd", "ScatterSub", "CountUpTo":
		return true
	}
	return strings.HasPrefix(op, "Apply") || strings.HasPrefix(op, "ResourceApply") ||
		strings.HasPrefix(op, "ResourceScatter") || strings.HasPrefix(op, "ResourceSparseApply") ||
		strings.HasPrefix(op, "SparseApply")
}

// noFold lists ops whose result must not be computed once at load even when
// every input is constant.
var noFold = map[string]bool{
	"RandomUniform": true, "RandomUniformInt": true, "RandomStandardNormal": true,
	"TruncatedNormal": true, "Multinomial": true, "RandomShuffle": true,
	"OnnxDropout": true, // in training mode without a seed it draws a fresh mask per run
}

// planner compiles signatures of one model, sharing the variables it reads
// from the checkpoint.
type planner struct {
	g       *graph.Graph
	mutable map[string]*varState // by variableID
	varKeys map[string]string
	vars    varSource
	varVals map[string]*tensor.Tensor
	fusion  bool // fuse products with what follows them; see fuse
	// consts holds Const values a front end supplied directly, by node
	// name; see LoadGraph.
	consts map[string]*tensor.Tensor
	// cf holds the functions that function ops run; see funcops.go.
	cf *cfState
}

// varSource reads checkpoint tensors; *savedmodel.Bundle implements it.
type varSource interface {
	Tensor(key string) (*tensor.Tensor, error)
}

// variable returns the checkpoint value of variable node n, read once per
// model and checked against the node's dtype and shape attributes.
func (p *planner) variable(n *graph.Node) (*tensor.Tensor, error) {
	name := n.Name
	id := variableID(n)
	if t, ok := p.varVals[id]; ok {
		return t, nil
	}
	key, ok := p.varKeys[id]
	if !ok {
		return nil, fmt.Errorf("%w: variable %q is not restored by the model's saver", ErrInvalidModel, name)
	}
	if p.vars == nil {
		return nil, fmt.Errorf("%w: variable %q needs checkpoint key %q, but the model has no variables", ErrInvalidModel, name, key)
	}
	t, err := p.vars.Tensor(key)
	if err != nil {
		return nil, fmt.Errorf("%w: variable %q (checkpoint key %q): %v", ErrInvalidModel, name, key, err)
	}
	a := graph.Attrs(n.Attrs)
	if dt, ok := a.Type("dtype"); ok && dt != t.DType() {
		return nil, fmt.Errorf("%w: variable %q is %v, but its checkpoint value %q is %v", ErrInvalidModel, name, dt, key, t.DType())
	}
	if dims, ok := a.Shape("shape"); ok && fullyKnown(dims) && !fitsDims(t.Shape(), dims) {
		return nil, fmt.Errorf("%w: variable %q has shape %s, but its checkpoint value %q has %v", ErrInvalidModel, name, formatDims(dims), key, t.Shape())
	}
	p.varVals[id] = t
	return t, nil
}

// compile builds the plan of one signature.
func (p *planner) compile(ctx context.Context, sig Signature, inputs, outputs map[string]string) (*plan, error) {
	pl := &plan{sig: sig, feeds: map[string]binding{}}
	feedPorts := map[graph.Port]int{}
	feedShapes := map[graph.Port][]int64{}
	relied := map[int][]int64{} // slot -> static shape a fold relied on
	stops := map[graph.Port]bool{}
	specOf := func(specs []TensorSpec, key string) TensorSpec {
		for _, s := range specs {
			if s.Name == key {
				return s
			}
		}
		return TensorSpec{Name: key}
	}
	for _, key := range sortedKeys(inputs) {
		port, err := graph.ParsePort(inputs[key])
		if err != nil || p.g.Node(port.Node) == nil {
			return nil, fmt.Errorf("%w: input %q names tensor %q, which is not in the graph", ErrInvalidModel, key, inputs[key])
		}
		slot, ok := feedPorts[port]
		if !ok {
			slot = pl.nslots
			pl.nslots++
			feedPorts[port] = slot
		}
		stops[port] = true
		spec := specOf(sig.Inputs, key)
		// TensorFlow checks a fed tensor against the placeholder, not the
		// SignatureDef; some exports (TF Serving's half_plus_three regress
		// signature) declare DT_FLOAT for a string placeholder.
		if n := p.g.Node(port.Node); port.Index == 0 && (n.Op == "Placeholder" || n.Op == "PlaceholderWithDefault") {
			if dt, ok := graph.Attrs(n.Attrs).Type("dtype"); ok {
				spec.DType = dt
			}
		}
		pl.feeds[key] = binding{spec: spec, slot: slot}
		if len(spec.Shape) > 0 {
			// Folds may take this input's static dimensions; Run checks
			// the ones they did rely on (binding.relied).
			feedShapes[port] = spec.Shape
		}
	}
	var outPorts []graph.Port
	outKeys := sortedKeys(outputs)
	for _, key := range outKeys {
		port, err := graph.ParsePort(outputs[key])
		if err != nil || p.g.Node(port.Node) == nil {
			return nil, fmt.Errorf("%w: output %q names tensor %q, which is not in the graph", ErrInvalidModel, key, outputs[key])
		}
		outPorts = append(outPorts, port)
	}

	withCtl, err := p.g.Reachable(outPorts, stops, true)
	if err != nil {
		return nil, err
	}
	stateful := false
	for _, n := range p.g.Nodes() {
		if withCtl[n.Name] && isMutating(n.Op) {
			if !stateOps[n.Op] {
				return nil, fmt.Errorf("%w: node %q (op %s) updates a variable", ErrStateful, n.Name, n.Op)
			}
			stateful = true
		}
	}
	// A signature that updates variables runs what its outputs depend on
	// through control edges too, in control order; a read-only one needs
	// only the data path.
	var reach map[string]bool
	var order []*graph.Node
	if stateful {
		reach = withCtl
		order, err = p.g.TopoSortControl(reach)
	} else {
		if reach, err = p.g.Reachable(outPorts, stops, false); err != nil {
			return nil, err
		}
		order, err = p.g.TopoSort(reach)
	}
	if err != nil {
		return nil, err
	}
	used := map[graph.Port]bool{}
	for _, n := range order {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range outPorts {
		used[o] = true
	}
	maxOut := map[string]int{}
	for port := range used {
		if m, ok := maxOut[port.Node]; !ok || port.Index > m {
			maxOut[port.Node] = port.Index
		}
	}
	numOut := func(node string) int {
		if m, ok := maxOut[node]; ok {
			return m + 1
		}
		return 0
	}

	vals := map[graph.Port]value{}
	lookup := func(port graph.Port) value {
		if slot, ok := feedPorts[port]; ok {
			return value{kind: vDyn, slot: slot, shape: feedShapes[port]}
		}
		return vals[port]
	}
	for _, n := range order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ins := make([]value, len(n.Inputs))
		dead := false
		for i, port := range n.Inputs {
			ins[i] = lookup(port)
			if ins[i].kind == 0 {
				return nil, fmt.Errorf("%w: node %q reads %v before it is computed", ErrInvalidModel, n.Name, port)
			}
			if ins[i].kind == vDead {
				dead = true
			}
		}
		set := func(i int, v value) { vals[graph.Port{Node: n.Name, Index: i}] = v }
		if dead && n.Op != "Merge" {
			for i := 0; i < numOut(n.Name); i++ {
				set(i, value{kind: vDead})
			}
			continue
		}
		switch {
		case n.Op == "Const" && p.consts[n.Name] != nil:
			set(0, value{kind: vConst, t: p.consts[n.Name]})
		case n.Op == "Const":
			t, err := savedmodel.TensorFromProto(n.Attrs["value"].GetTensor())
			if err != nil {
				return nil, fmt.Errorf("%w: constant %q: %v", ErrInvalidModel, n.Name, err)
			}
			set(0, value{kind: vConst, t: t})
		case n.Op == "Placeholder":
			return nil, fmt.Errorf("%w: signature %q needs placeholder %q, which is not one of its inputs", ErrInvalidModel, sig.Name, n.Name)
		case n.Op == "PlaceholderWithDefault":
			set(0, ins[0])
		case n.Op == "IdentityN":
			for i, v := range ins {
				set(i, v)
			}
		case aliasOps[n.Op]:
			if len(ins) == 0 {
				return nil, fmt.Errorf("%w: node %q (op %s) has no input", ErrInvalidModel, n.Name, n.Op)
			}
			set(0, ins[0])
		case n.Op == "VariableV2" || n.Op == "Variable":
			st, err := p.stateOf(n)
			if err != nil {
				return nil, err
			}
			if st != nil {
				set(0, readStep(pl, n, st))
				continue
			}
			t, err := p.variable(n)
			if err != nil {
				return nil, err
			}
			set(0, value{kind: vConst, t: t})
		case n.Op == "VarHandleOp":
			set(0, value{kind: vResource, node: n.Name})
		case n.Op == "ReadVariableOp":
			if len(ins) != 1 || ins[0].kind != vResource {
				return nil, fmt.Errorf("%w: node %q reads a variable that is not a restored VarHandleOp", ErrUnsupported, n.Name)
			}
			st, err := p.stateOf(p.g.Node(ins[0].node))
			if err != nil {
				return nil, err
			}
			if st != nil {
				set(0, readStep(pl, n, st))
				continue
			}
			t, err := p.variable(p.g.Node(ins[0].node))
			if err != nil {
				return nil, err
			}
			set(0, value{kind: vConst, t: t})
		case stateOps[n.Op]:
			if len(ins) < 2 {
				return nil, fmt.Errorf("%w: node %q (op %s) has %d inputs", ErrInvalidModel, n.Name, n.Op, len(ins))
			}
			if err := p.updateStep(pl, n, ins, numOut(n.Name), set); err != nil {
				return nil, err
			}
		case n.Op == "NoOp":
		case n.Op == "Switch":
			if len(ins) != 2 || ins[1].kind != vConst || ins[1].t.DType() != tensor.Bool || ins[1].t.Len() != 1 {
				return nil, fmt.Errorf("%w: node %q (op Switch) has a predicate that is not a load-time constant; dynamic control flow is not supported", ErrUnsupported, n.Name)
			}
			taken := 0
			if ins[1].t.Bools()[0] {
				taken = 1
			}
			set(taken, ins[0])
			set(1-taken, value{kind: vDead})
		case n.Op == "Merge":
			live := -1
			for i, v := range ins {
				if v.kind != vDead {
					if live >= 0 {
						return nil, fmt.Errorf("%w: node %q (op Merge) has more than one live input", ErrUnsupported, n.Name)
					}
					live = i
				}
			}
			if live < 0 {
				set(0, value{kind: vDead})
				set(1, value{kind: vDead})
				continue
			}
			set(0, ins[live])
			set(1, value{kind: vConst, t: tensor.MustFromSlice(tensor.Shape{}, []int32{int32(live)})})
		default:
			if err := p.kernelNode(ctx, pl, n, ins, used, numOut(n.Name), set, relied); err != nil {
				return nil, err
			}
		}
	}

	// Steps whose outputs nothing reads any more (a Shape whose every use
	// folded) are dropped; variable updates always run.
	needed := map[int]bool{}
	for _, port := range outPorts {
		if v := lookup(port); v.kind == vDyn {
			needed[v.slot] = true
		}
	}
	for i := len(pl.steps) - 1; i >= 0; i-- {
		st := &pl.steps[i]
		keep := st.effect
		for _, s := range st.out {
			keep = keep || (s >= 0 && needed[s])
		}
		if !keep {
			st.kernel = nil
			continue
		}
		for _, s := range st.in {
			if s >= 0 {
				needed[s] = true
			}
		}
	}
	live := pl.steps[:0]
	for _, st := range pl.steps {
		if st.kernel != nil {
			live = append(live, st)
		}
	}
	pl.steps = live
	if p.fusion {
		fetched := map[int]bool{}
		for _, port := range outPorts {
			if v := lookup(port); v.kind == vDyn {
				fetched[v.slot] = true
			}
		}
		p.fuse(pl, fetched, relied)
	}
	for key, b := range pl.feeds {
		if dims, ok := relied[b.slot]; ok {
			b.relied = dims
			pl.feeds[key] = b
		}
	}
	for i := range pl.steps {
		st := &pl.steps[i]
		for j, s := range st.out {
			if dims, ok := relied[s]; ok && s >= 0 {
				st.checks = append(st.checks, shapeCheck{out: j, dims: dims})
			}
		}
	}

	// Constants that a step reads or the signature returns get slots.
	constSlot := map[*tensor.Tensor]int{}
	var init []*tensor.Tensor
	slotOf := func(v value, what string) (int, error) {
		switch v.kind {
		case vDyn:
			return v.slot, nil
		case vConst:
			if s, ok := constSlot[v.t]; ok {
				return s, nil
			}
			s := pl.nslots
			pl.nslots++
			constSlot[v.t] = s
			for len(init) < pl.nslots {
				init = append(init, nil)
			}
			init[s] = v.t
			return s, nil
		case vDead:
			return 0, fmt.Errorf("%w: %s is never computed (it is on an untaken branch)", ErrInvalidModel, what)
		case vResource:
			return 0, fmt.Errorf("%w: %s is a resource handle, which inferd cannot return or pass to a kernel", ErrUnsupported, what)
		}
		return 0, fmt.Errorf("%w: %s has no value", ErrInvalidModel, what)
	}
	for i := range pl.steps {
		st := &pl.steps[i]
		for j, s := range st.in {
			if s < 0 {
				// The input was recorded as a constant; see kernelNode.
				v := pendingConst(st, j)
				slot, err := slotOf(v, fmt.Sprintf("input %d of node %q", j, st.node))
				if err != nil {
					return nil, err
				}
				st.in[j] = slot
			}
		}
		st.consts = nil
	}
	for i, key := range outKeys {
		v := lookup(outPorts[i])
		slot, err := slotOf(v, fmt.Sprintf("output %q (%s)", key, outputs[key]))
		if err != nil {
			return nil, err
		}
		pl.fetches = append(pl.fetches, binding{spec: specOf(sig.Outputs, key), slot: slot})
	}
	for len(init) < pl.nslots {
		init = append(init, nil)
	}
	pl.init = init

	// Each slot that is neither a constant nor a fetch is freed after its
	// last reader.
	keep := make([]bool, pl.nslots)
	for s, t := range init {
		keep[s] = t != nil
	}
	for _, f := range pl.fetches {
		keep[f.slot] = true
	}
	for i := range pl.steps {
		for _, s := range pl.steps[i].out {
			if s >= 0 && keep[s] && init[s] == nil {
				pl.steps[i].fetched = true
			}
		}
	}
	last := make([]int, pl.nslots)
	for s := range last {
		last[s] = -1
	}
	for i, st := range pl.steps {
		for _, s := range st.in {
			last[s] = i
		}
	}
	for s, i := range last {
		if i >= 0 && !keep[s] {
			pl.steps[i].free = append(pl.steps[i].free, s)
		}
	}
	return pl, nil
}

// kernelNode builds the kernel of an ordinary op node, folds it when every
// input is a constant, and otherwise appends a step for it.
func (p *planner) kernelNode(ctx context.Context, pl *plan, n *graph.Node, ins []value, used map[graph.Port]bool, nout int, set func(int, value), relied map[int][]int64) error {
	build, ok := kernels.Lookup(n.Op)
	if cb, isFunc := cfOps[n.Op]; isFunc {
		build, ok = func(kernels.Node) (kernels.Kernel, error) { return p.cfKernel(ctx, n, cb) }, true
	}
	if !ok {
		return unsupportedOp(n.Name, n.Op)
	}
	for i, v := range ins {
		if v.kind == vResource {
			return fmt.Errorf("%w: node %q (op %s) takes variable %q as a resource (input %d); only ReadVariableOp is supported on resource variables",
				ErrUnsupported, n.Name, n.Op, v.node, i)
		}
	}
	k, err := build(kernels.Node{Name: n.Name, Op: n.Op, Attrs: graph.Attrs(n.Attrs), NumInputs: len(n.Inputs)})
	if err != nil {
		return kernelError(n.Name, n.Op, err)
	}
	allConst := !noFold[n.Op]
	for _, v := range ins {
		if v.kind != vConst {
			allConst = false
		}
	}
	if allConst {
		in := make([]*tensor.Tensor, len(ins))
		for i, v := range ins {
			in[i] = v.t
		}
		outs, err := k.Compute(ctx, in)
		if err != nil {
			return fmt.Errorf("%w: folding constant node %q (op %s): %v", ErrInvalidModel, n.Name, n.Op, err)
		}
		if len(outs) < nout {
			return fmt.Errorf("%w: node %q (op %s) produced %d outputs, want at least %d", ErrInvalidModel, n.Name, n.Op, len(outs), nout)
		}
		for i := 0; i < nout; i++ {
			set(i, value{kind: vConst, t: outs[i]})
		}
		return nil
	}
	var part *partial
	if folded, pt, ok := shapeOps(n, ins); ok {
		relied[ins[0].slot] = ins[0].shape
		if folded != nil {
			set(0, value{kind: vConst, t: folded})
			return nil
		}
		part = pt
	} else if folded, pt, ok := foldPartial(ctx, k, n, ins); ok {
		if folded != nil {
			set(0, value{kind: vConst, t: folded})
			return nil
		}
		part = pt
	}
	st := step{node: n.Name, op: n.Op, kernel: k, in: make([]int, len(ins)), out: make([]int, nout)}
	for i, v := range ins {
		if v.kind == vDyn {
			st.in[i] = v.slot
			continue
		}
		st.in[i] = -1
		if st.consts == nil {
			st.consts = map[int]value{}
		}
		st.consts[i] = v
	}
	for i := range st.out {
		st.out[i] = -1
		if used[graph.Port{Node: n.Name, Index: i}] {
			st.out[i] = pl.nslots
			pl.nslots++
			v := value{kind: vDyn, slot: st.out[i]}
			if i == 0 {
				v.shape, v.part = inferShape(n, ins), part
			}
			set(i, v)
		}
	}
	pl.steps = append(pl.steps, st)
	return nil
}

func pendingConst(st *step, i int) value { return st.consts[i] }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
