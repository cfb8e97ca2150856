package kernels

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

type threadsKey struct{}

// WithThreads returns a context whose kernels each use at most n
// goroutines; n <= 0 means GOMAXPROCS.
func WithThreads(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, threadsKey{}, n)
}

// Threads returns how many goroutines a kernel running under ctx may use:
// the WithThreads limit when there is one, capped by GOMAXPROCS.
func Threads(ctx context.Context) int {
	procs := runtime.GOMAXPROCS(0)
	if rc, ok := ctx.(*RunContext); ok && rc.threads > 0 {
		return min(rc.threads, procs)
	}
	if n, ok := ctx.Value(threadsKey{}).(int); ok && n > 0 {
		return min(n, procs)
	}
	return procs
}

// parallelFor splits [0, n) into contiguous ranges run on up to
// Threads(ctx) goroutines, staying on the caller's when work (a rough count
// of scalar operations for all n) is small. The ranges run on the
// process's worker pool and on the caller's goroutine, so a call starts no
// goroutine and allocates nothing beyond f itself; a caller that wants no
// allocation at one thread calls f directly when serial says so, leaving
// the func literal to the parallel branch.
func parallelFor(ctx context.Context, n int, work int, f func(lo, hi int)) {
	workers := Threads(ctx)
	if work < 1<<18 || workers < 2 || n < 2 {
		f(0, n)
		return
	}
	parallelDo(min(workers, n), n, f)
}

// ranger is work over an index range, for parallelRun: run handles
// [lo, hi), and runs for disjoint ranges may run at once.
type ranger interface {
	run(lo, hi int)
}

// parallelRun is parallelFor for work held in r instead of a func
// literal. A kernel that keeps its rangers on a freeList allocates
// nothing per call at any thread count, where a literal handed to
// parallelFor is allocated on every call, even one that stays serial.
func parallelRun(ctx context.Context, n int, work int, r ranger) {
	workers := Threads(ctx)
	if work < 1<<18 || workers < 2 || n < 2 {
		r.run(0, n)
		return
	}
	b := getBatch()
	b.r, b.n = r, n
	b.run(min(workers, n))
	b.r = nil
	putBatch(b)
}

// parallelRunParts runs r over parts contiguous ranges of [0, n), as
// parallelRun does, with the part count chosen by the caller.
func parallelRunParts(parts, n int, r ranger) {
	if parts <= 1 || n < 2 {
		r.run(0, n)
		return
	}
	b := getBatch()
	b.r, b.n = r, n
	b.run(min(parts, n))
	b.r = nil
	putBatch(b)
}

// freeList recycles a kernel's per-call values, its rangers, so that they
// are allocated once per concurrent call rather than on every call.
type freeList[T any] struct {
	mu   sync.Mutex
	free []*T
}

// get returns a recycled value, or a new zero one.
func (l *freeList[T]) get() *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.free); n > 0 {
		p := l.free[n-1]
		l.free = l.free[:n-1]
		return p
	}
	return new(T)
}

// put zeroes p, so that it keeps no slice alive, and keeps it for reuse.
func (l *freeList[T]) put(p *T) {
	var zero T
	*p = zero
	l.mu.Lock()
	l.free = append(l.free, p)
	l.mu.Unlock()
}

// serial reports whether parallelFor(ctx, n, work, f) would run f(0, n)
// on the caller's goroutine.
func serial(ctx context.Context, n, work int) bool {
	return work < 1<<18 || n < 2 || Threads(ctx) < 2
}

// parallelParts runs f(0), ..., f(parts-1) concurrently on the worker pool
// and the caller's goroutine, and returns when all have returned.
func parallelParts(parts int, f func(part int)) {
	if parts <= 1 {
		if parts == 1 {
			f(0)
		}
		return
	}
	b := getBatch()
	b.part = f
	b.run(parts)
	b.part = nil
	putBatch(b)
}

// parallelDo runs f over parts contiguous ranges of [0, n).
func parallelDo(parts, n int, f func(lo, hi int)) {
	b := getBatch()
	b.rng, b.n = f, n
	b.run(parts)
	b.rng = nil
	putBatch(b)
}

// batch is one parallel call: parts indices claimed by the caller and by
// the pool's workers through state, which packs the batch's generation,
// its part count and the next unclaimed part, so that a worker that found
// an earlier call that has since ended claims nothing.
type batch struct {
	state atomic.Uint64 // gen<<32 | parts<<16 | next
	left  atomic.Int32  // parts not yet finished
	fin   atomic.Int32  // finRunning, finWaiting or finDone
	done  chan struct{} // a worker that finishes the last part sends here when the caller waits
	gen   uint32
	n     int
	rng   func(lo, hi int)
	r     ranger
	part  func(int)
}

// The states of batch.fin, through which the caller and a worker that
// finishes the call's last part agree on whether the caller sleeps on done.
const (
	finRunning = iota // parts are running on workers
	finWaiting        // the caller sleeps, or is about to, on done
	finDone           // a worker finished the last part and touches the batch no more
)

const maxParts = 1<<16 - 1

// spinWindow is how long a worker with nothing to do keeps polling for
// parallel calls before it sleeps, and how long a caller waiting for a
// part running on a worker polls before it sleeps. A sleeping goroutine
// takes hundreds of microseconds to wake on a loaded machine, longer than
// many layers; polling keeps a worker ready between one layer's parallel
// call and the next, and stops soon after the calls stop.
const spinWindow = 150 * time.Microsecond

// minSpinWindow is the shortest a worker's spin window gets after windows
// that passed without a call: long enough to notice calls that come again
// in quick succession, and so to grow the window back.
const minSpinWindow = spinWindow / 16

// spinCheck is how many polls a spinning goroutine makes between looks at
// the clock, each followed by runtime.Gosched, so that the goroutines
// waiting for its processor run, and by yieldThread, so that on a machine
// with more busy threads than cores a polling goroutine does not keep the
// CPU from a worker that runs a part. Without yieldThread, under load the
// 90th percentile of a model's batch-1 latency at two threads was five to
// ten times its median.
const spinCheck = 16

// run executes parts parts and returns when every one has finished.
func (b *batch) run(parts int) {
	parts = min(parts, maxParts)
	b.gen++
	b.left.Store(int32(parts))
	b.fin.Store(finRunning)
	b.state.Store(uint64(b.gen)<<32 | uint64(parts)<<16)
	slot := workers.post(b, parts-1)
	last := b.work(b.gen)
	// Every part is claimed now, so no worker needs to find b.
	workers.unpost(slot)
	if !last {
		b.wait()
	}
}

// work claims and runs the parts of generation gen until none is left. It
// reports whether the caller finished the call's last part; a worker that
// does calls finish instead.
func (b *batch) work(gen uint32) (last bool) {
	for {
		s := b.state.Load()
		parts, next := int(s>>16&0xffff), int(s&0xffff)
		if uint32(s>>32) != gen || next >= parts {
			return false
		}
		if !b.state.CompareAndSwap(s, s+1) {
			continue
		}
		// The claim succeeded for gen, so the call cannot end (and the
		// batch's fields change) before this part finishes.
		b.runPart(next, parts)
		if b.left.Add(-1) == 0 {
			return true
		}
	}
}

// finish is the last touch of b by the worker that finished its last
// part: it wakes the caller if the caller sleeps.
func (b *batch) finish() {
	if b.fin.Swap(finDone) == finWaiting {
		b.done <- struct{}{}
	}
}

// wait returns once the worker running the call's last part has called
// finish, polling for up to spinWindow before it sleeps on done.
func (b *batch) wait() {
	start := time.Now()
	for i := 1; b.fin.Load() != finDone; i++ {
		if i%spinCheck != 0 {
			continue
		}
		if time.Since(start) > spinWindow {
			if b.fin.Swap(finWaiting) != finDone {
				<-b.done
			}
			return
		}
		runtime.Gosched()
		yieldThread()
	}
}

func (b *batch) runPart(i, parts int) {
	lo, hi := b.n*i/parts, b.n*(i+1)/parts
	switch {
	case b.part != nil:
		b.part(i)
	case b.r != nil:
		b.r.run(lo, hi)
	default:
		b.rng(lo, hi)
	}
}

var batches = struct {
	sync.Mutex
	free []*batch
}{}

func getBatch() *batch {
	batches.Lock()
	defer batches.Unlock()
	if n := len(batches.free); n > 0 {
		b := batches.free[n-1]
		batches.free = batches.free[:n-1]
		return b
	}
	return &batch{done: make(chan struct{}, 1)}
}

func putBatch(b *batch) {
	batches.Lock()
	batches.free = append(batches.free, b)
	batches.Unlock()
}

// workerPool is the process's kernel workers. A parallel call posts its
// batch in one of the offers slots; a worker that has just finished some
// work polls the slots for spinWindow, then sleeps on wakeups until a call
// finds too few polling workers and wakes it. The pool starts workers
// lazily, one fewer than the most parts any call asked for, up to
// GOMAXPROCS. The workers are never stopped: asleep, they cost a little
// memory and no CPU, and they are shared by every model in the process.
type workerPool struct {
	mu       sync.Mutex
	started  atomic.Int32
	spinning atomic.Int32 // workers polling the offers with nothing to run
	sleeping atomic.Int32 // workers asleep on wakeups, or about to be
	posted   atomic.Int32 // offers holding a batch
	offers   [8]atomic.Pointer[batch]
	wakeups  chan struct{}
}

var workers = workerPool{wakeups: make(chan struct{}, 64)}

// post offers b to the workers, which may run up to n of its parts, and
// wakes sleeping workers when too few are polling. It never blocks, since
// the caller runs whatever parts no worker claims. It returns the slot
// that unpost frees, or -1 when b was not posted.
func (p *workerPool) post(b *batch, n int) int {
	if n <= 0 {
		return -1
	}
	slot := -1
	for i := range p.offers {
		if p.offers[i].CompareAndSwap(nil, b) {
			slot = i
			break
		}
	}
	if slot < 0 {
		return -1
	}
	p.posted.Add(1)
	if want := int32(min(n, runtime.GOMAXPROCS(0)-1)); p.started.Load() < want {
		p.mu.Lock()
		for p.started.Load() < want {
			p.started.Add(1)
			go p.work()
		}
		p.mu.Unlock()
	}
	// A worker that stops polling does so before it looks at posted for
	// the last time, so either it sees b or this sees it gone.
	for range min(n-int(p.spinning.Load()), int(p.sleeping.Load())) {
		select {
		case p.wakeups <- struct{}{}:
		default:
			return slot
		}
	}
	return slot
}

// unpost withdraws the batch post put in slot.
func (p *workerPool) unpost(slot int) {
	if slot >= 0 {
		p.offers[slot].Store(nil)
		p.posted.Add(-1)
	}
}

func (p *workerPool) work() {
	window := spinWindow
	for {
		window = p.spin(window)
		<-p.wakeups
		p.sleeping.Add(-1)
	}
}

// spin runs the parts of posted batches until it has found none to claim
// for window: a batch whose parts are all claimed keeps no worker polling,
// however long its last parts run. The window adapts to the gaps between
// calls: it halves, down to minSpinWindow, each time it passes without a
// call, and is back to spinWindow once polling finds one. spin returns the
// window for next time, counted in sleeping.
func (p *workerPool) spin(window time.Duration) time.Duration {
	p.spinning.Add(1)
	start := time.Now()
	polled := false // whether a poll since the last run of parts found nothing
	for i := 1; ; i++ {
		if b, gen := p.find(); b != nil {
			if polled {
				window = spinWindow
			}
			p.spinning.Add(-1)
			if b.work(gen) {
				b.finish()
			}
			p.spinning.Add(1)
			start, i, polled = time.Now(), 0, false
			continue
		}
		polled = true
		if i%spinCheck != 0 {
			continue
		}
		if time.Since(start) <= window {
			runtime.Gosched()
			yieldThread()
			continue
		}
		p.sleeping.Add(1)
		p.spinning.Add(-1)
		// A call posted before the decrement is found here; one posted
		// after it finds this worker no longer spinning, and wakes it.
		if b, _ := p.find(); b == nil {
			return max(window/2, minSpinWindow)
		}
		p.spinning.Add(1)
		p.sleeping.Add(-1)
		start, i = time.Now(), 0
	}
}

// find returns a posted batch with unclaimed parts and its generation, or
// nil.
func (p *workerPool) find() (*batch, uint32) {
	if p.posted.Load() == 0 {
		return nil, 0
	}
	for i := range p.offers {
		b := p.offers[i].Load()
		if b == nil {
			continue
		}
		if s := b.state.Load(); s&0xffff < s>>16&0xffff {
			return b, uint32(s >> 32)
		}
	}
	return nil, 0
}
