package kernels

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countRanger counts how often each index of its range is visited.
type countRanger struct{ hits []atomic.Int32 }

func (c *countRanger) run(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

// TestParallelCoversOnce runs the pool's entry points from several
// goroutines at once, nested too, and checks that every index is visited
// exactly once per call.
func TestParallelCoversOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := WithThreads(context.Background(), 4)
	tests := []struct {
		name string
		call func(n int, visit func(lo, hi int))
	}{
		{"parallelFor", func(n int, visit func(lo, hi int)) { parallelFor(ctx, n, 1<<20, visit) }},
		{"parallelDo", func(n int, visit func(lo, hi int)) { parallelDo(min(n, 7), n, visit) }},
		{"parallelParts", func(n int, visit func(lo, hi int)) {
			parallelParts(min(n, 5), func(p int) { visit(n*p/min(n, 5), n*(p+1)/min(n, 5)) })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for _, n := range []int{2, 3, 17, 100 + g} {
						hits := make([]atomic.Int32, n)
						tc.call(n, func(lo, hi int) {
							for i := lo; i < hi; i++ {
								hits[i].Add(1)
								// A nested call, as a kernel inside a
								// kernel makes, must not deadlock.
								parallelDo(2, 2, func(int, int) {})
							}
						})
						for i := range hits {
							if got := hits[i].Load(); got != 1 {
								t.Errorf("n=%d: index %d visited %d times, want 1", n, i, got)
							}
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestParallelRunAllocs checks that a parallel call through a ranger
// allocates nothing once the pool has started, at four threads.
func TestParallelRunAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	ctx := WithThreads(context.Background(), 4)
	r := &countRanger{hits: make([]atomic.Int32, 64)}
	call := func() { parallelRun(ctx, 64, 1<<20, r) }
	for range 10 {
		call()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		call()
	}
	runtime.ReadMemStats(&after)
	if n := (after.Mallocs - before.Mallocs) / 100; n != 0 {
		t.Errorf("parallelRun allocates %d per call, want 0", n)
	}
	for i := range r.hits {
		if got := r.hits[i].Load(); got != 110 {
			t.Fatalf("index %d visited %d times, want 110", i, got)
		}
	}
}

// TestPoolSleepsWhenIdle checks that the workers stop polling soon after
// the parallel calls stop: within a second every started worker sleeps.
func TestPoolSleepsWhenIdle(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	busyThenIdle(t)
}

// busyThenIdle makes parallel calls at four threads and returns once every
// started worker sleeps, failing t if that takes over a second.
func busyThenIdle(t *testing.T) {
	t.Helper()
	ctx := WithThreads(context.Background(), 4)
	r := &countRanger{hits: make([]atomic.Int32, 64)}
	for range 200 {
		parallelRun(ctx, 64, 1<<20, r)
	}
	if workers.started.Load() == 0 {
		t.Fatal("no worker started")
	}
	deadline := time.Now().Add(time.Second)
	for workers.sleeping.Load() < workers.started.Load() || workers.spinning.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("a second after the last call, %d of %d workers sleep and %d poll",
				workers.sleeping.Load(), workers.started.Load(), workers.spinning.Load())
		}
		time.Sleep(time.Millisecond)
	}
}
