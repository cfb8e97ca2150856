package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"inferd/internal/kernels"
	"inferd/internal/tensor"
	"inferd/internal/testutil"
)

// fixtureDirs lists every SavedModel directory under the fixture root,
// relative to it.
func fixtureDirs(t testing.TB) []string {
	t.Helper()
	root := testutil.Fixtures(t)
	var rels []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Name() == "saved_model.pb" {
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			rels = append(rels, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rels
}

// bitsEqual reports whether a and b have one dtype, shape and bit pattern.
func bitsEqual(a, b *tensor.Tensor) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.DType() != b.DType() || !a.Shape().Equal(b.Shape()) {
		return false
	}
	switch x := a.Data().(type) {
	case []float32:
		y := b.Float32s()
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	case []float64:
		y := b.Float64s()
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
		return true
	case []int8:
		return fmt.Sprint(x) == fmt.Sprint(b.Int8s())
	case []uint8:
		return fmt.Sprint(x) == fmt.Sprint(b.Uint8s())
	case []int32:
		return fmt.Sprint(x) == fmt.Sprint(b.Int32s())
	case []int64:
		return fmt.Sprint(x) == fmt.Sprint(b.Int64s())
	case []bool:
		return fmt.Sprint(x) == fmt.Sprint(b.Bools())
	case [][]byte:
		return fmt.Sprintf("%q", x) == fmt.Sprintf("%q", b.Strings())
	}
	return false
}

// sameOutputs returns an error naming the first output of got that is not
// bit-identical to want's.
func sameOutputs(got, want map[string]*tensor.Tensor) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d outputs, want %d", len(got), len(want))
	}
	for k, w := range want {
		if !bitsEqual(got[k], w) {
			return fmt.Errorf("output %q = %v differs from the run without buffer reuse (%v)", k, got[k], w)
		}
	}
	return nil
}

// cloneOutputs deep-copies a Run's outputs.
func cloneOutputs(out map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	c := make(map[string]*tensor.Tensor, len(out))
	for k, t := range out {
		c[k] = cloneTensor(t)
	}
	return c
}

func cloneTensor(t *tensor.Tensor) *tensor.Tensor {
	var data any
	switch x := t.Data().(type) {
	case []float32:
		data = append([]float32{}, x...)
	case []float64:
		data = append([]float64{}, x...)
	case []int8:
		data = append([]int8{}, x...)
	case []uint8:
		data = append([]uint8{}, x...)
	case []int32:
		data = append([]int32{}, x...)
	case []int64:
		data = append([]int64{}, x...)
	case []bool:
		data = append([]bool{}, x...)
	case [][]byte:
		data = append([][]byte{}, x...)
	}
	return tensor.MustFromSlice(t.Shape(), data)
}

// hasEffects reports whether a signature updates a variable, so that
// running it twice gives different answers.
func (m *Model) hasEffects(sig string) bool {
	for _, st := range m.plans[sig].steps {
		if st.effect {
			return true
		}
	}
	return false
}

// runMode runs sig with the model's buffers allocated as mode says.
func runMode(m *Model, mode reuseMode, sig string, in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	m.reuse = mode
	defer func() { m.reuse = reuseOn }()
	return m.Run(context.Background(), sig, in)
}

// TestReuseBitIdentical runs every signature of every fixture that takes
// float inputs at several batch sizes, without buffer reuse and then with
// it (plain and NaN-poisoned) several times over, interleaving the batch
// sizes so that buffers sized for one serve another. Every answer must be
// bit-identical to the one without reuse, and the outputs of an early Run
// must still hold their values after later Runs (they are handed off, not
// recycled).
func TestReuseBitIdentical(t *testing.T) {
	batches := []int{1, 3, 8}
	checked := 0
	for _, rel := range fixtureDirs(t) {
		t.Run(rel, func(t *testing.T) {
			m, err := Load(context.Background(), testutil.Fixture(t, rel), Options{})
			if err != nil {
				t.Skipf("does not load: %v", err)
			}
			for _, sig := range m.Signatures() {
				if m.hasEffects(sig.Name) {
					continue
				}
				type trial struct {
					batch int
					in    map[string]*tensor.Tensor
					want  map[string]*tensor.Tensor
					first map[string]*tensor.Tensor // a reuse Run's outputs, kept
				}
				var trials []*trial
				for i, batch := range batches {
					in, ok := randomInputs(sig, batch, rand.New(rand.NewPCG(uint64(i), 7)))
					if !ok {
						break
					}
					want, err := runMode(m, reuseOff, sig.Name, in)
					if err != nil {
						continue // this batch size does not fit the model
					}
					again, err := runMode(m, reuseOff, sig.Name, in)
					if err != nil || sameOutputs(again, want) != nil {
						t.Logf("%s at batch %d is not deterministic; not compared", sig.Name, batch)
						continue
					}
					trials = append(trials, &trial{batch: batch, in: in, want: cloneOutputs(want)})
				}
				modes := []reuseMode{reuseOn, reusePoison, reuseOn, reusePoison, reuseOn}
				for round, mode := range modes {
					for k := range trials {
						// Alternate the order so that each batch size
						// follows each other one.
						tr := trials[k]
						if round%2 == 1 {
							tr = trials[len(trials)-1-k]
						}
						got, err := runMode(m, mode, sig.Name, tr.in)
						if err != nil {
							t.Fatalf("%s batch %d round %d: %v", sig.Name, tr.batch, round, err)
						}
						if err := sameOutputs(got, tr.want); err != nil {
							t.Fatalf("%s batch %d round %d (mode %d): %v", sig.Name, tr.batch, round, mode, err)
						}
						if tr.first == nil {
							tr.first = got
						}
					}
				}
				for _, tr := range trials {
					if err := sameOutputs(tr.first, tr.want); err != nil {
						t.Fatalf("%s batch %d: an early Run's output changed under later Runs: %v", sig.Name, tr.batch, err)
					}
				}
				checked += len(trials)
			}
		})
	}
	t.Logf("compared %d signature/batch pairs bit for bit", checked)
	if checked < 40 {
		t.Errorf("compared %d signature/batch pairs, want at least 40", checked)
	}
}

// TestReuseConcurrent runs CNN fixtures from several goroutines at once,
// with poisoned buffer reuse and mixed batch sizes; each Run must match
// the answer computed alone without reuse. Run it with -race.
func TestReuseConcurrent(t *testing.T) {
	for _, rel := range []string{"mnist_cnn_egekaan/model", "rps_cnn_hyuto/saved_model", "tfserving/saved_model_half_plus_two_cpu/00000123"} {
		t.Run(rel, func(t *testing.T) {
			m := loadOrSkip(t, rel)
			sig, ok := m.Signature("serving_default")
			if !ok {
				t.Fatal("no serving_default")
			}
			type job struct {
				in, want map[string]*tensor.Tensor
			}
			var jobs []job
			for i, batch := range []int{1, 2, 5} {
				in, ok := randomInputs(sig, batch, rand.New(rand.NewPCG(uint64(i), 11)))
				if !ok {
					t.Skip("non-float inputs")
				}
				want, err := m.Run(context.Background(), "serving_default", in)
				if err != nil {
					t.Fatal(err)
				}
				jobs = append(jobs, job{in, cloneOutputs(want)})
			}
			// Outputs are computed without reuse as the reference; from
			// here on every Run poisons its recycled buffers.
			for i := range jobs {
				want, err := runMode(m, reuseOff, "serving_default", jobs[i].in)
				if err != nil {
					t.Fatal(err)
				}
				if err := sameOutputs(want, jobs[i].want); err != nil {
					t.Fatalf("reuse on and off disagree: %v", err)
				}
			}
			m.reuse = reusePoison
			defer func() { m.reuse = reuseOn }()
			iters := 6
			if testing.Short() || raceEnabled {
				iters = 2
			}
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < iters; i++ {
						j := jobs[(g+i)%len(jobs)]
						out, err := m.Run(context.Background(), "serving_default", j.in)
						if err == nil {
							err = sameOutputs(out, j.want)
						}
						if err != nil {
							errs <- fmt.Errorf("goroutine %d iteration %d: %w", g, i, err)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// TestReuseKeepsVariables runs TF Serving's counter with poisoned buffer
// reuse: the value an update stores in the variable must never be
// recycled, nor a fetched output after its Run.
func TestReuseKeepsVariables(t *testing.T) {
	c := loadOrSkip(t, "tfserving/saved_model_counter/00000123")
	c.reuse = reusePoison
	steps := []struct {
		sig  string
		in   map[string]*tensor.Tensor
		want float32
	}{
		{"reset_counter", nil, 0},
		{"incr_counter", nil, 1},
		{"incr_counter_by", map[string]*tensor.Tensor{"delta": f32(tensor.Shape{}, 2.5)}, 3.5},
		{"incr_counter", nil, 4.5},
		{"get_counter", nil, 4.5},
		{"incr_counter_by", map[string]*tensor.Tensor{"delta": f32(tensor.Shape{}, 1)}, 5.5},
		{"get_counter", nil, 5.5},
	}
	var outs []*tensor.Tensor
	for i, s := range steps {
		out, err := c.Run(context.Background(), s.sig, s.in)
		if err != nil {
			t.Fatalf("step %d %s: %v", i, s.sig, err)
		}
		assertClose(t, fmt.Sprintf("step %d %s", i, s.sig), out["output"], []float32{s.want}, 0)
		outs = append(outs, out["output"])
	}
	for i, o := range outs {
		assertClose(t, fmt.Sprintf("step %d's output after later steps", i), o, []float32{steps[i].want}, 0)
	}
}

// TestReuseSavesMemory checks that buffer reuse does what it is for: in a
// steady state a CNN Run allocates far fewer bytes than without it.
func TestReuseSavesMemory(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector sync.Pool drops items at random, so bytes per run measure the detector")
	}
	m := loadOrSkip(t, "mnist_cnn_egekaan/model")
	sig, _ := m.Signature("serving_default")
	in, ok := randomInputs(sig, 8, rand.New(rand.NewPCG(5, 6)))
	if !ok {
		t.Skip("non-float inputs")
	}
	bytesPerRun := func(mode reuseMode) uint64 {
		m.reuse = mode
		defer func() { m.reuse = reuseOn }()
		if _, err := m.Run(context.Background(), "serving_default", in); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		const runs = 4
		for range runs {
			if _, err := m.Run(context.Background(), "serving_default", in); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	off, on := bytesPerRun(reuseOff), bytesPerRun(reuseOn)
	t.Logf("bytes per Run: %d without reuse, %d with", off, on)
	if on*3 > off {
		t.Errorf("a Run with buffer reuse allocates %d bytes, without %d; want under a third", on, off)
	}
}

// fill returns a kernel that allocates a float32 vector of n elements
// through the context and sets every element to v.
func fill(n int, v float32) kernels.Kernel {
	return kernels.KernelFunc(func(ctx context.Context, _ []*tensor.Tensor) ([]*tensor.Tensor, error) {
		t, s := kernels.NewLikeCtx[float32](ctx, tensor.Float32, tensor.Shape{n})
		for i := range s {
			s[i] = v
		}
		return []*tensor.Tensor{t}, nil
	})
}

// handPlan makes a model with one signature "s" whose plan is steps over
// nslots slots, fetching slot fetch as "y"; slots are freed after their
// last reader, as compile does.
func handPlan(nslots, fetch int, steps ...step) *Model {
	pl := &plan{sig: Signature{Name: "s"}, nslots: nslots, init: make([]*tensor.Tensor, nslots),
		feeds: map[string]binding{}, fetches: []binding{{spec: TensorSpec{Name: "y"}, slot: fetch}}, steps: steps}
	last := make([]int, nslots)
	for s := range last {
		last[s] = -1
	}
	for i, st := range pl.steps {
		for _, s := range st.in {
			last[s] = i
		}
	}
	for s, i := range last {
		if i >= 0 && s != fetch {
			pl.steps[i].free = append(pl.steps[i].free, s)
		}
	}
	return &Model{plans: map[string]*plan{"s": pl}, refused: map[string]error{}}
}

// TestReuseAliasedViews checks that a buffer is not recycled while a view
// of it (a Reshape, or a slice starting inside it) is still in a slot,
// although the slot that allocated it has been freed.
func TestReuseAliasedViews(t *testing.T) {
	views := []struct {
		name string
		view func(*tensor.Tensor) (*tensor.Tensor, error)
	}{
		{"reshape", func(x *tensor.Tensor) (*tensor.Tensor, error) { return x.Reshaped(tensor.Shape{2, 8}) }},
		{"interior", func(x *tensor.Tensor) (*tensor.Tensor, error) {
			return tensor.FromSlice(tensor.Shape{8}, x.Float32s()[3:11])
		}},
	}
	sum := kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		t, s := kernels.NewLikeCtx[float32](ctx, tensor.Float32, tensor.Shape{8})
		for i := range s {
			s[i] = in[0].Float32s()[i] + in[1].Float32s()[i]
		}
		return []*tensor.Tensor{t}, nil
	})
	for _, tc := range views {
		t.Run(tc.name, func(t *testing.T) {
			view := kernels.KernelFunc(func(_ context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				v, err := tc.view(in[0])
				return []*tensor.Tensor{v}, err
			})
			m := handPlan(4, 3,
				step{node: "a", kernel: fill(16, 1), out: []int{0}},
				step{node: "view", kernel: view, in: []int{0}, out: []int{1}}, // slot 0 is freed here
				step{node: "b", kernel: fill(16, 10), out: []int{2}},          // must not take a's buffer
				step{node: "sum", kernel: sum, in: []int{1, 2}, out: []int{3}},
			)
			for _, mode := range []reuseMode{reuseOff, reuseOn, reusePoison, reuseOn} {
				m.reuse = mode
				out, err := m.Run(context.Background(), "s", nil)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range out["y"].Float32s() {
					if v != 11 {
						t.Fatalf("mode %d: y[%d] = %v, want 11 (a's buffer was recycled under its view)", mode, i, v)
					}
				}
			}
		})
	}
}

// TestReusePinsVariableUpdates checks that a value a step stores beyond the
// Run (as a variable update does) is never recycled, even when nothing in
// the Run reads it afterwards.
func TestReusePinsVariableUpdates(t *testing.T) {
	var mu sync.Mutex
	var stored []*tensor.Tensor
	store := kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		out, err := fill(4, 5).Compute(ctx, nil)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		stored = append(stored, out[0], in[0])
		mu.Unlock()
		return out, nil
	})
	m := handPlan(3, 2,
		step{node: "x", kernel: fill(4, 3), out: []int{0}},
		step{node: "assign", kernel: store, in: []int{0}, out: []int{-1}, effect: true},
		step{node: "y", kernel: fill(4, 9), out: []int{1}},
		step{node: "z", kernel: fill(4, 9), out: []int{2}},
	)
	m.reuse = reusePoison
	for range 3 {
		if _, err := m.Run(context.Background(), "s", nil); err != nil {
			t.Fatal(err)
		}
	}
	for i, st := range stored {
		want := float32(5)
		if i%2 == 1 {
			want = 3
		}
		for _, v := range st.Float32s() {
			if v != want {
				t.Fatalf("stored value %d = %v, want all %v: it was recycled", i, st.Float32s(), want)
			}
		}
	}
}

// TestArenaRecycling checks the arena's own rules: a released buffer
// serves the next request of its dtype that it fits without more than
// maxWaste times the room, poisoning fills it, and a free buffer left
// unused for idleRuns Runs is dropped.
func TestArenaRecycling(t *testing.T) {
	a := newArena(0, true)
	x := a.Alloc(tensor.Float32, tensor.Shape{4, 25})
	bx := a.owner(x)
	if bx == nil || bx.n != 100 {
		t.Fatalf("owner of a fresh 100-element tensor = %+v", bx)
	}
	for _, v := range x.Float32s() {
		if !math.IsNaN(float64(v)) {
			t.Fatalf("poisoning arena handed out %v, want NaN", v)
		}
	}
	a.hold(bx)
	a.endStep()
	if !bx.live {
		t.Fatal("a buffer held by a slot was recycled at the end of its step")
	}
	a.drop(bx)
	if bx.live || len(a.free[tensor.Float32]) != 1 {
		t.Fatalf("a buffer no slot holds was not recycled: live %v, free %d", bx.live, len(a.free[tensor.Float32]))
	}
	tests := []struct {
		name  string
		dt    tensor.DType
		n     int
		reuse bool
	}{
		{"other dtype", tensor.Int32, 100, false},
		{"too small for the buffer", tensor.Float32, 49, false},
		{"larger than the buffer", tensor.Float32, 101, false},
		{"half the buffer", tensor.Float32, 50, true},
	}
	for _, tc := range tests {
		y := a.Alloc(tc.dt, tensor.Shape{tc.n})
		if got := a.owner(y) == bx; got != tc.reuse {
			t.Errorf("%s: reused = %v, want %v", tc.name, got, tc.reuse)
		}
		if y.Len() != tc.n {
			t.Errorf("%s: got %d elements, want %d", tc.name, y.Len(), tc.n)
		}
	}
	a.endStep() // nothing holds them: all go back
	a.endRun()
	if n := len(a.free[tensor.Float32]) + len(a.free[tensor.Int32]); n != 4 {
		t.Fatalf("%d free buffers after the Run, want 4", n)
	}
	for range idleRuns {
		a.endRun()
	}
	if n := len(a.free[tensor.Float32]) + len(a.free[tensor.Int32]); n != 0 {
		t.Errorf("%d free buffers after %d idle Runs, want 0", n, idleRuns)
	}
	if s := a.Alloc(tensor.String, tensor.Shape{2}); s.DType() != tensor.String || a.owner(s) != nil {
		t.Error("a string tensor came from the arena")
	}
}
