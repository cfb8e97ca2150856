package engine

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// ErrNoSignature marks a Run for a signature the model does not have.
var ErrNoSignature = fmt.Errorf("%w: no such signature", ErrInvalidInput)

// Run feeds inputs by signature key and returns the outputs by key. It is
// safe for concurrent use: each call has its own value slots and its own
// arena, and kernels never modify their inputs. Within a call, a kernel's
// output buffer is reused by later steps once no slot refers to it; the
// returned tensors are the caller's, never reused. The outputs may share
// storage with the inputs or with the model's constants, so callers must
// not modify them.
//
// In steady state Run allocates only for what it hands back, since the
// steps that make the fetched outputs allocate outside the arena: the map
// (2 allocations), and per fetched output its tensor (data, the data's
// interface value, header and shape: 4), the slice its kernel returns it
// in, and that kernel's own temporaries (a Softmax's row buffer): 8 to 11
// per Run on the CNN fixtures. RunInto allocates nothing.
func (m *Model) Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	pl, err := m.planFor(signature, inputs)
	if err != nil {
		return nil, err
	}
	var out map[string]*tensor.Tensor
	err = m.runPlan(ctx, pl, inputs, false, func(a *arena, slots []*tensor.Tensor) {
		out = make(map[string]*tensor.Tensor, len(pl.fetches))
		for _, f := range pl.fetches {
			t := slots[f.slot]
			out[f.spec.Name] = t
			if a != nil {
				if b := a.owner(t); b != nil {
					b.pinned = true
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Outputs holds the tensors RunInto writes, reused from one call to the
// next. Its zero value is ready to use. An Outputs must not be used by two
// RunInto calls at once.
type Outputs struct {
	byName map[string]*tensor.Tensor
}

// Get returns the output named name by the last RunInto, or nil.
func (o *Outputs) Get(name string) *tensor.Tensor { return o.byName[name] }

// Map returns the outputs by name. The map and its tensors belong to o:
// the next RunInto with o overwrites them.
func (o *Outputs) Map() map[string]*tensor.Tensor { return o.byName }

// RunInto is Run writing the outputs into out instead of a new map: an
// output whose tensor in out has the new value's dtype and shape is
// overwritten in place, any other is replaced by a copy. Every buffer of
// the call stays in its arena, so in steady state (the same signature and
// input shapes, and out reused) RunInto allocates nothing. The outputs
// never share storage with the inputs or the model.
func (m *Model) RunInto(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, out *Outputs) error {
	pl, err := m.planFor(signature, inputs)
	if err != nil {
		return err
	}
	return m.runPlan(ctx, pl, inputs, true, func(_ *arena, slots []*tensor.Tensor) {
		if out.byName == nil {
			out.byName = make(map[string]*tensor.Tensor, len(pl.fetches))
		}
		for _, f := range pl.fetches {
			out.byName[f.spec.Name] = copyInto(out.byName[f.spec.Name], slots[f.slot])
		}
	})
}

// copyInto returns src's value in dst when dst has src's dtype and shape,
// else in a new tensor.
func copyInto(dst, src *tensor.Tensor) *tensor.Tensor {
	if src == nil {
		return nil
	}
	if dst == nil || dst == src || dst.DType() != src.DType() || !dst.Shape().Equal(src.Shape()) {
		dst = tensor.New(src.DType(), src.Shape())
	}
	switch d := dst.Data().(type) {
	case []float32:
		copy(d, src.Float32s())
	case []float64:
		copy(d, src.Float64s())
	case []int8:
		copy(d, src.Int8s())
	case []uint8:
		copy(d, src.Uint8s())
	case []int32:
		copy(d, src.Int32s())
	case []int64:
		copy(d, src.Int64s())
	case []bool:
		copy(d, src.Bools())
	case []int16:
		copy(d, src.Int16s())
	case []uint16:
		copy(d, src.Uint16s())
	case []uint32:
		copy(d, src.Uint32s())
	case []uint64:
		copy(d, src.Uint64s())
	case []tensor.F16:
		copy(d, src.Float16s())
	case []tensor.BF16:
		copy(d, src.BFloat16s())
	case [][]byte:
		for i, v := range src.Strings() {
			d[i] = append(d[i][:0], v...)
		}
	case tensor.Seq:
		// A sequence or optional: its elements, each copied.
		for i, e := range src.Elems() {
			d[i] = copyInto(d[i], e)
		}
	}
	return dst
}

// planFor returns the plan of signature after checking inputs against it.
func (m *Model) planFor(signature string, inputs map[string]*tensor.Tensor) (*plan, error) {
	pl, ok := m.plans[signature]
	if !ok {
		if err, refused := m.refused[signature]; refused {
			return nil, err
		}
		return nil, fmt.Errorf("%w: serving signature name: %q not found in signature def", ErrNoSignature, signature)
	}
	if err := pl.checkInputs(inputs); err != nil {
		return nil, err
	}
	return pl, nil
}

// runPlan runs pl with an arena from its pool and hands the final slots
// to fetch, while the arena is still the call's: fetch pins what leaves
// the call (Run) or copies it out (RunInto, which sets intoArena so that
// the fetched steps allocate in the arena too).
func (m *Model) runPlan(ctx context.Context, pl *plan, inputs map[string]*tensor.Tensor, intoArena bool, fetch func(a *arena, slots []*tensor.Tensor)) error {
	var a *arena
	if m.reuse != reuseOff {
		a = pl.getArena(m.reuse == reusePoison)
	}
	slots, err := pl.run(ctx, a, m.threads, intoArena, inputs)
	if err != nil {
		// A failed step may have left a kernel's goroutines or buffers
		// in any state; the arena is not reused.
		return err
	}
	fetch(a, slots)
	if a != nil {
		a.endRun()
		pl.arenas.put(a)
	}
	return nil
}

// run executes the plan's steps and returns the slots, which hold the
// fetched tensors. With an arena, kernels allocate through it, and each
// buffer is recycled once no slot refers to it any more; the buffers
// under a value a step stores in a variable are handed off and never
// recycled. Unless intoArena is set, steps whose outputs are fetched
// allocate without the arena, since their outputs leave the call.
func (pl *plan) run(ctx context.Context, a *arena, threads int, intoArena bool, inputs map[string]*tensor.Tensor) ([]*tensor.Tensor, error) {
	var slots []*tensor.Tensor
	var slotBuf []*buffer
	var in []*tensor.Tensor
	var kctx, fctx context.Context
	if a != nil {
		slots, slotBuf, in = a.slots, a.slotBuf, a.in[:0]
		a.ctx.Reset(ctx, a, threads)
		a.noAlloc.Reset(ctx, nil, threads)
		kctx, fctx = &a.ctx, &a.noAlloc
		if intoArena {
			fctx = kctx
		}
	} else {
		slots = make([]*tensor.Tensor, pl.nslots)
		in = make([]*tensor.Tensor, 0, 8)
		rc := &kernels.RunContext{}
		rc.Reset(ctx, nil, threads)
		kctx, fctx = rc, rc
	}
	copy(slots, pl.init)
	for key, b := range pl.feeds {
		slots[b.slot] = inputs[key]
	}
	for i := range pl.steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st := &pl.steps[i]
		in = in[:0]
		for _, s := range st.in {
			in = append(in, slots[s])
		}
		sctx := kctx
		if st.fetched {
			sctx = fctx
		}
		outs, err := compute(sctx, st.kernel, in)
		if err != nil {
			return nil, kernelError(st.node, st.op, err)
		}
		if len(outs) < len(st.out) {
			return nil, fmt.Errorf("engine: node %q (op %s) produced %d outputs, want %d", st.node, st.op, len(outs), len(st.out))
		}
		for _, c := range st.checks {
			if outs[c.out] == nil || !fitsDims(outs[c.out].Shape(), c.dims) {
				return nil, fmt.Errorf("engine: node %q (op %s): output %v differs from the static shape %s the plan was folded with",
					st.node, st.op, outs[c.out], formatDims(c.dims))
			}
		}
		for j, s := range st.out {
			if s >= 0 {
				slots[s] = outs[j]
				if a != nil {
					if b := a.owner(outs[j]); b != nil {
						a.hold(b)
						slotBuf[s] = b
					}
				}
			}
		}
		if a != nil {
			if st.effect {
				// A variable update keeps its value beyond this Run.
				for _, t := range in {
					if b := a.owner(t); b != nil {
						b.pinned = true
					}
				}
				for _, t := range outs {
					if b := a.owner(t); b != nil {
						b.pinned = true
					}
				}
			}
			a.endStep()
		}
		for _, s := range st.free {
			slots[s] = nil
			if a != nil && slotBuf[s] != nil {
				b := slotBuf[s]
				slotBuf[s] = nil
				a.drop(b)
			}
		}
	}
	if a != nil {
		a.in = in
	}
	return slots, nil
}

// getArena takes an arena from the plan's pool, or makes one.
func (pl *plan) getArena(poison bool) *arena {
	if a := pl.arenas.get(poison); a != nil {
		return a
	}
	return newArena(pl.nslots, poison)
}

// compute runs one kernel. A kernel that panics on inputs it did not
// expect (Run does not check shapes, as TensorFlow does not) fails the
// request instead of the process.
func compute(ctx context.Context, k kernels.Kernel, in []*tensor.Tensor) (outs []*tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("kernel failed on inputs %v: %v", in, r)
		}
	}()
	return k.Compute(ctx, in)
}

// checkInputs verifies keys, dtypes and static dimensions against the
// signature, with messages in the style of TensorFlow Serving.
func (pl *plan) checkInputs(inputs map[string]*tensor.Tensor) error {
	var extra, missing []string
	for key := range inputs {
		if _, ok := pl.feeds[key]; !ok {
			extra = append(extra, key)
		}
	}
	for key := range pl.feeds {
		if _, ok := inputs[key]; !ok {
			missing = append(missing, key)
		}
	}
	if len(extra) > 0 || len(missing) > 0 {
		sort.Strings(extra)
		sort.Strings(missing)
		want := make([]string, 0, len(pl.feeds))
		for key := range pl.feeds {
			want = append(want, key)
		}
		sort.Strings(want)
		return fmt.Errorf("%w: input size does not match signature %q: %d!=%d len({%s}) != len({%s}). Sent extra: {%s}. Missing but required: {%s}",
			ErrInvalidInput, pl.sig.Name, len(inputs), len(pl.feeds), strings.Join(keysOf(inputs), ","),
			strings.Join(want, ","), strings.Join(extra, ","), strings.Join(missing, ","))
	}
	// The common case, every input fine, is checked in map order without
	// sorting the keys; only a failure looks again in key order, so that
	// the error names the first bad input in order.
	ok := true
	for key, b := range pl.feeds {
		if checkInput(pl, key, b, inputs[key]) != nil {
			ok = false
			break
		}
	}
	if ok {
		return nil
	}
	for _, key := range sortedKeys(pl.feeds) {
		if err := checkInput(pl, key, pl.feeds[key], inputs[key]); err != nil {
			return err
		}
	}
	return nil
}

// checkInput checks the tensor t fed for key, bound by b.
func checkInput(pl *plan, key string, b binding, t *tensor.Tensor) error {
	spec := b.spec
	if t == nil {
		return fmt.Errorf("%w: input %q is nil", ErrInvalidInput, key)
	}
	if spec.DType != tensor.Invalid && t.DType() != spec.DType {
		return fmt.Errorf("%w: input %q expects %v but %v is provided", ErrInvalidInput, key, spec.DType, t.DType())
	}
	// TensorFlow does not check a fed tensor against the shape its
	// signature declares (TF Serving answers {"instances": [1.0, 2.0,
	// 5.0]} on half_plus_two, whose x is [-1,1]), so neither does Run,
	// except where the plan folded a computation using those dims.
	dims := b.relied
	if dims == nil {
		return nil
	}
	shape := t.Shape()
	if !fitsDims(shape, dims) {
		return fmt.Errorf("%w: input %q has shape %v, but signature %q expects %s",
			ErrInvalidInput, key, shape, pl.sig.Name, formatDims(dims))
	}
	return nil
}

func keysOf(m map[string]*tensor.Tensor) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func formatDims(d []int64) string {
	parts := make([]string, len(d))
	for i, v := range d {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// fitsDims reports whether s has dims' rank and every known dimension.
func fitsDims(s tensor.Shape, dims []int64) bool {
	if len(s) != len(dims) {
		return false
	}
	for i, d := range dims {
		if d >= 0 && int64(s[i]) != d {
			return false
		}
	}
	return true
}
