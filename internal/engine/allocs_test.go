package engine

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"runtime"
	"testing"

	"inferd/internal/tensor"
	"inferd/internal/testutil"
)

// allocFloors are the documented steady-state allocations of one RunInto
// on a fixture, by thread count: none, so that any allocation a change
// brings back fails TestRunIntoAllocs. Run allocates on top of them its
// output map and each fetched output (see Run).
var allocFloors = []struct {
	rel     string
	threads int
	floor   float64
}{
	{"rps_cnn_hyuto/saved_model", 1, 0},
	{"rps_cnn_hyuto/saved_model", 2, 0},
	{"cats_dogs_chris_sle/64x3-CNN.model", 1, 0},
	{"cats_dogs_chris_sle/64x3-CNN.model", 2, 0},
	{"cats_dogs_flintlouis/64x3-CNN.model", 1, 0},
	{"cats_dogs_flintlouis/64x3-CNN.model", 2, 0},
	{"cats_dogs_guy_baron1/classifier-api/64x3-CNN-grey-high-res.model", 1, 0},
	{"cats_dogs_guy_baron1/classifier-api/64x3-CNN-grey-high-res.model", 2, 0},
	{"insight_cat_dog/cat_dog/1", 1, 0},
	{"insight_cat_dog/cat_dog/1", 2, 0},
	{"mnist_cnn_egekaan/model", 1, 0},
	{"mnist_cnn_egekaan/model", 2, 0},
	{"mnist_mlp_aiano/model", 1, 0},
	{"tfserving/saved_model_half_plus_two_cpu/00000123", 1, 0},
}

// TestRunIntoAllocs asserts that RunInto allocates at most the documented
// floor per inference once warm, at one and two threads.
func TestRunIntoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	if testing.Short() {
		t.Skip("loads CNN fixtures")
	}
	for _, c := range allocFloors {
		t.Run(fmt.Sprintf("%s/threads=%d", c.rel, c.threads), func(t *testing.T) {
			m, err := Load(context.Background(), testutil.Fixture(t, c.rel), Options{Threads: c.threads})
			if err != nil {
				t.Fatal(err)
			}
			sig, _ := m.Signature("serving_default")
			in, ok := randomInputs(sig, 1, rand.New(rand.NewPCG(1, 2)))
			if !ok {
				t.Fatal("non-float inputs")
			}
			ctx := context.Background()
			var out Outputs
			run := func() {
				if err := m.RunInto(ctx, "serving_default", in, &out); err != nil {
					t.Fatal(err)
				}
			}
			if got := allocsPerRun(c.threads, 40, run); got > c.floor {
				t.Errorf("RunInto allocates %v per run, want at most %v", got, c.floor)
			}
		})
	}
}

// allocsPerRun is testing.AllocsPerRun with GOMAXPROCS set to threads
// instead of 1, so that kernels do split their work across the pool.
func allocsPerRun(threads, runs int, f func()) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	// The fixture's load garbage is collected first, and warm-up runs at
	// this thread count let the arena settle: with two threads, which
	// scratch buffer a worker gets depends on timing, and a busy machine
	// takes more runs to have met every order. Even then the runtime may
	// allocate now and then when a Run waits for a worker (a sudog, when
	// its P's cache is empty), hence an average over many runs, rounded
	// down as testing.AllocsPerRun does.
	runtime.GC()
	for range 10 {
		f()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return float64((after.Mallocs - before.Mallocs) / uint64(runs))
}

// BenchmarkRunInto is BenchmarkRun through RunInto with reused outputs,
// after warm-up runs: the engine's steady state.
func BenchmarkRunInto(b *testing.B) {
	for _, rel := range cnnFixtures {
		m, err := Load(context.Background(), testutil.Fixture(b, rel), Options{})
		if err != nil {
			b.Logf("%s: %v", rel, err)
			continue
		}
		sig, _ := m.Signature("serving_default")
		for _, batch := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/batch=%d", rel, batch), func(b *testing.B) {
				in, ok := randomInputs(sig, batch, rand.New(rand.NewPCG(3, 4)))
				if !ok {
					b.Skip("non-float inputs")
				}
				var out Outputs
				for range 3 {
					if err := m.RunInto(context.Background(), "serving_default", in, &out); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := m.RunInto(context.Background(), "serving_default", in, &out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestRunIntoMatchesRun checks that RunInto writes Run's outputs, bit for
// bit, through one Outputs reused across batch sizes (a new tensor when
// the shape changes, the same one overwritten when it does not), and that
// its outputs are copies: a pass-through output does not change with the
// input it came from.
func TestRunIntoMatchesRun(t *testing.T) {
	ctx := context.Background()
	for _, rel := range []string{"rps_cnn_hyuto/saved_model", "mnist_mlp_aiano/model", "tfserving/saved_model_half_plus_two_cpu/00000123"} {
		t.Run(rel, func(t *testing.T) {
			m := loadOrSkip(t, rel)
			sig, _ := m.Signature("serving_default")
			var out Outputs
			var first map[string]*tensor.Tensor
			for k, batch := range []int{1, 3, 3, 1} {
				in, ok := randomInputs(sig, batch, rand.New(rand.NewPCG(uint64(k), 1)))
				if !ok {
					t.Fatal("non-float inputs")
				}
				want, err := m.Run(ctx, "serving_default", in)
				if err != nil {
					t.Fatal(err)
				}
				want = cloneOutputs(want)
				if err := m.RunInto(ctx, "serving_default", in, &out); err != nil {
					t.Fatal(err)
				}
				if err := sameOutputs(out.Map(), want); err != nil {
					t.Fatalf("batch %d: %v", batch, err)
				}
				if k == 1 {
					first = maps.Clone(out.Map())
				}
				if k == 2 {
					for name, t0 := range first {
						if out.Get(name) != t0 {
							t.Errorf("batch %d again: output %s is a new tensor, want the last one overwritten", batch, name)
						}
					}
				}
			}
		})
	}
	t.Run("pass-through", func(t *testing.T) {
		m := loadOrSkip(t, "tfjs_node/model_single_input_multi_output")
		x := tensor.MustFromSlice(tensor.Shape{1}, []int32{7})
		var out Outputs
		if err := m.RunInto(ctx, "serving_default", map[string]*tensor.Tensor{"x": x}, &out); err != nil {
			t.Fatal(err)
		}
		x.Int32s()[0] = 8
		if got := out.Get("output_1").Int32s()[0]; got != 7 {
			t.Errorf("output_1 = %d after the input changed, want 7 (a copy)", got)
		}
	})
}
