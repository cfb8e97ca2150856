package engine

import (
	"math"
	"runtime"
	"sync"
	"unsafe"

	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// reuseMode says how Run allocates kernel outputs.
type reuseMode uint8

const (
	// reuseOn recycles a buffer once no slot refers to it any more.
	reuseOn reuseMode = iota
	// reuseOff gives kernels no allocator: every output is fresh.
	reuseOff
	// reusePoison is reuseOn with every buffer filled with NaN (or a
	// nonzero pattern) before it is handed out, so that a kernel reading
	// memory it did not write, or a step reading a recycled buffer,
	// changes an answer. Tests use it.
	reusePoison
)

// idleRuns is how many Runs a free buffer may go unused before its arena
// drops it, so that an arena that once served a large batch does not keep
// its buffers for ever.
const idleRuns = 4

// maxWaste bounds how many times larger than a request a recycled buffer
// may be.
const maxWaste = 2

// buffer is one block of memory an arena hands out, tracked by the address
// range of its backing array so that views of it (a Reshape, a pass-through)
// are recognised as the same storage.
type buffer struct {
	data   any // the typed slice at full length
	dt     tensor.DType
	n      int     // elements
	lo, hi uintptr // address range of the backing array
	refs   int     // slots that hold a tensor on this storage
	live   bool    // handed out in the current Run and not yet recycled
	pinned bool    // escaped the Run (a fetch, a variable's value): never recycled
	listed bool    // in arena.used
	gen    uint64  // the Run that last handed it out
	// hdrs are tensor headers made for this buffer, reused whenever a
	// later request (an Alloc, a View) asks for one of their shapes: a
	// header is immutable, so any two requests for the same dtype, shape
	// and storage may share one. In steady state every request hits.
	hdrs [hdrsPerBuffer]*tensor.Tensor
	next int // the slot of hdrs the next new header replaces
}

// hdrsPerBuffer is how many shapes a buffer keeps a header for.
const hdrsPerBuffer = 4

// header returns a tensor of d over the first n elements of b, the
// elements d needs. The arena's lock is held.
func (b *buffer) header(d *kernels.Dims, n int) *tensor.Tensor {
	for _, h := range b.hdrs {
		if h != nil && d.Equal(h.Shape()) {
			return h
		}
	}
	data := b.data // an exact fit, the usual case, needs no new slice header
	if n != b.n {
		data = slicePrefix(b.data, n)
	}
	t, err := tensor.FromSlice(d.Shape(), data)
	if err != nil {
		panic(err) // unreachable: AllocDims checked the dimensions
	}
	b.hdrs[b.next] = t
	b.next = (b.next + 1) % hdrsPerBuffer
	return t
}

// arena is the allocator of one Run at a time: it hands kernels buffers
// freed by earlier steps, and takes back a buffer as soon as no slot refers
// to it. Plans keep idle arenas in an arenaPool, so concurrent Runs each
// have their own and a steady state allocates little.
type arena struct {
	mu     sync.Mutex
	poison bool
	free   [dtPooled + 1][]*buffer // by dtype; strings, sequences and optionals are not pooled
	used   []*buffer               // handed out during this Run
	base   map[uintptr]*buffer     // live buffers by their first address
	fresh  []*buffer               // handed out during the current step
	gen    uint64

	// Per-Run scratch reused across Runs.
	slots   []*tensor.Tensor
	slotBuf []*buffer
	in      []*tensor.Tensor
	results []*tensor.Tensor // backs the slices Results hands out
	nres    int              // how much of results this Run used
	ctx     kernels.RunContext
	noAlloc kernels.RunContext // for steps whose outputs leave the Run
	// views are headers ViewDims made over memory the arena does not own
	// (an input, a constant), kept while Runs keep asking for them: each
	// is dropped at the end of a Run that did not use it, so that it
	// holds a request's input no longer than the next Run.
	views   [4]*tensor.Tensor
	viewGen [4]uint64
}

var _ kernels.ReuseAllocator = (*arena)(nil)

func newArena(nslots int, poison bool) *arena {
	return &arena{
		poison:  poison,
		base:    map[uintptr]*buffer{},
		slots:   make([]*tensor.Tensor, nslots),
		slotBuf: make([]*buffer, nslots),
	}
}

// Alloc implements kernels.Allocator through AllocDims.
func (a *arena) Alloc(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if len(shape) > kernels.MaxDimsRank {
		return tensor.New(dt, shape)
	}
	d := kernels.Dims{Rank: len(shape)}
	copy(d.D[:], shape)
	return a.AllocDims(dt, d)
}

// AllocDims implements kernels.ReuseAllocator: a tensor on the smallest
// free buffer of dt with the elements d needs and at most maxWaste times
// as many, else on a new one. The bound keeps a small tensor from holding
// a large buffer for its life (or, when it is fetched, taking it out of
// the arena). The tensor's header is the buffer's for that shape when an
// earlier request made one.
func (a *arena) AllocDims(dt tensor.DType, d kernels.Dims) *tensor.Tensor {
	n := 1
	for _, v := range d.D[:d.Rank] {
		if v < 0 {
			// FromSlice's error; compute turns the panic into an error.
			_, err := tensor.FromSlice(d.Shape(), []float32{})
			panic(err)
		}
		n *= v
	}
	if dt == tensor.String || dt == tensor.Invalid || dt > dtPooled || n <= 0 {
		return tensor.New(dt, d.Shape())
	}
	a.mu.Lock()
	free := a.free[dt]
	best := -1
	for i, b := range free {
		if b.n >= n && b.n <= maxWaste*n && (best < 0 || b.n < free[best].n) {
			best = i
		}
	}
	var b *buffer
	if best >= 0 {
		b = free[best]
		free[best] = free[len(free)-1]
		free[len(free)-1] = nil
		a.free[dt] = free[:len(free)-1]
	} else {
		b = newBuffer(dt, n)
	}
	b.live, b.refs, b.pinned, b.gen = true, 0, false, a.gen
	a.base[b.lo] = b
	if !b.listed {
		b.listed = true
		a.used = append(a.used, b)
	}
	a.fresh = append(a.fresh, b)
	t := b.header(&d, n)
	a.mu.Unlock()
	if a.poison {
		poisonData(t.Data())
	}
	return t
}

// ViewDims implements kernels.ReuseAllocator: a view of a whole arena
// tensor shares the headers of its buffer, and a view of other memory is
// one of the arena's views when a recent Run made the same.
func (a *arena) ViewDims(t *tensor.Tensor, d kernels.Dims) *tensor.Tensor {
	p := dataAddr(t)
	if p == 0 {
		return reshaped(t, &d)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if b, ok := a.base[p]; ok && b.live && b.dt == t.DType() {
		return b.header(&d, t.Len())
	}
	oldest := 0
	for i, h := range a.views {
		if h != nil && dataAddr(h) == p && h.DType() == t.DType() && h.Len() == t.Len() && d.Equal(h.Shape()) {
			a.viewGen[i] = a.gen
			return h
		}
		if h == nil || a.viewGen[i] < a.viewGen[oldest] {
			oldest = i
		}
	}
	v := reshaped(t, &d)
	a.views[oldest], a.viewGen[oldest] = v, a.gen
	return v
}

// reshaped is t.Reshaped to d.
func reshaped(t *tensor.Tensor, d *kernels.Dims) *tensor.Tensor {
	v, err := t.Reshaped(d.Shape())
	if err != nil {
		panic(err) // kernels.View checked the element count
	}
	return v
}

// maxResults bounds the results array of an arena.
const maxResults = 4096

// Results implements kernels.ReuseAllocator: slices of the arena's
// results, which endStep takes back. A step that needs more than the last
// one grows it once.
func (a *arena) Results(n int) []*tensor.Tensor {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.nres+n > maxResults {
		// A step that loops over kernels (a function call's body) gets
		// fresh slices past this, rather than a results array as long
		// as its loop.
		return make([]*tensor.Tensor, n)
	}
	if a.nres+n > len(a.results) {
		// Slices already handed out keep the old array alive.
		a.results = make([]*tensor.Tensor, max(2*len(a.results), a.nres+n, 64))
		a.nres = 0
	}
	r := a.results[a.nres : a.nres+n : a.nres+n]
	a.nres += n
	return r
}

// dtPooled is the last dtype the arena pools: every dtype up to it but
// String has fixed-width elements (and a case in newBuffer, slicePrefix,
// poisonData and dataAddr).
const dtPooled = tensor.BFloat16

func newBuffer(dt tensor.DType, n int) *buffer {
	var data any
	var p unsafe.Pointer
	switch dt {
	case tensor.Float32:
		s := make([]float32, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Float64:
		s := make([]float64, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Int8:
		s := make([]int8, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Uint8:
		s := make([]uint8, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Int32:
		s := make([]int32, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Int64:
		s := make([]int64, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Bool:
		s := make([]bool, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Int16:
		s := make([]int16, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Uint16:
		s := make([]uint16, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Uint32:
		s := make([]uint32, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Uint64:
		s := make([]uint64, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.Float16:
		s := make([]tensor.F16, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	case tensor.BFloat16:
		s := make([]tensor.BF16, n)
		data, p = s, unsafe.Pointer(unsafe.SliceData(s))
	}
	lo := uintptr(p)
	return &buffer{data: data, dt: dt, n: n, lo: lo, hi: lo + uintptr(n*dt.Size())}
}

// slicePrefix returns the first n elements of the typed slice data.
func slicePrefix(data any, n int) any {
	switch s := data.(type) {
	case []float32:
		return s[:n:n]
	case []float64:
		return s[:n:n]
	case []int8:
		return s[:n:n]
	case []uint8:
		return s[:n:n]
	case []int32:
		return s[:n:n]
	case []int64:
		return s[:n:n]
	case []bool:
		return s[:n:n]
	case []int16:
		return s[:n:n]
	case []uint16:
		return s[:n:n]
	case []uint32:
		return s[:n:n]
	case []uint64:
		return s[:n:n]
	case []tensor.F16:
		return s[:n:n]
	case []tensor.BF16:
		return s[:n:n]
	}
	panic("engine: arena buffer of an unpooled type")
}

// poisonData fills a buffer about to be handed out with values no kernel
// computes by accident.
func poisonData(data any) {
	switch s := data.(type) {
	case []float32:
		nan := float32(math.NaN())
		for i := range s {
			s[i] = nan
		}
	case []float64:
		for i := range s {
			s[i] = math.NaN()
		}
	case []int8:
		for i := range s {
			s[i] = -91
		}
	case []uint8:
		for i := range s {
			s[i] = 0xa5
		}
	case []int32:
		for i := range s {
			s[i] = -0x5a5a5a5b
		}
	case []int64:
		for i := range s {
			s[i] = -0x5a5a5a5a5a5a5a5b
		}
	case []bool:
		for i := range s {
			s[i] = true
		}
	case []int16:
		for i := range s {
			s[i] = -0x5a5b
		}
	case []uint16:
		for i := range s {
			s[i] = 0xa5a5
		}
	case []uint32:
		for i := range s {
			s[i] = 0xa5a5a5a5
		}
	case []uint64:
		for i := range s {
			s[i] = 0xa5a5a5a5a5a5a5a5
		}
	case []tensor.F16:
		for i := range s {
			s[i] = 0x7e5a // a NaN
		}
	case []tensor.BF16:
		for i := range s {
			s[i] = 0x7fa5 // a NaN
		}
	}
}

// dataAddr is the address of t's first element, or 0 when t is nil or
// empty (an empty tensor reads no memory, so it pins nothing).
func dataAddr(t *tensor.Tensor) uintptr {
	if t == nil {
		return 0
	}
	var p unsafe.Pointer
	switch s := t.Data().(type) {
	case []float32:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []float64:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []int8:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []uint8:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []int32:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []int64:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []bool:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []int16:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []uint16:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []uint32:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []uint64:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []tensor.F16:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	case []tensor.BF16:
		if len(s) > 0 {
			p = unsafe.Pointer(unsafe.SliceData(s))
		}
	}
	return uintptr(p)
}

// owner returns the live buffer t's storage lies in, or nil when t is not
// on arena memory (a constant, a caller's input, a kernel's own
// allocation). It is called between steps, when no kernel runs.
func (a *arena) owner(t *tensor.Tensor) *buffer {
	p := dataAddr(t)
	if p == 0 {
		return nil
	}
	if b, ok := a.base[p]; ok {
		return b
	}
	for _, b := range a.used {
		if b.live && p >= b.lo && p < b.hi {
			return b
		}
	}
	return nil
}

// hold records that a slot now refers to b.
func (a *arena) hold(b *buffer) { b.refs++ }

// drop records that a slot no longer refers to b, recycling b when no slot
// does.
func (a *arena) drop(b *buffer) {
	b.refs--
	if b.refs == 0 {
		a.recycle(b)
	}
}

// recycle takes back a live buffer no slot refers to: onto the free list,
// or, when it escaped the Run, out of the arena altogether.
func (a *arena) recycle(b *buffer) {
	if !b.live {
		return
	}
	b.live = false
	delete(a.base, b.lo)
	if b.pinned {
		return
	}
	a.free[b.dt] = append(a.free[b.dt], b)
}

// endStep recycles the buffers the step just run handed out but left in
// no slot: its temporaries and its unused outputs.
func (a *arena) endStep() {
	for i, b := range a.fresh {
		if b.live && b.refs == 0 {
			a.recycle(b)
		}
		a.fresh[i] = nil
	}
	a.fresh = a.fresh[:0]
	// The step's outputs are in their slots: its result slices are dead.
	clear(a.results[:a.nres])
	a.nres = 0
}

// endRun takes back every buffer the Run did not hand off, forgets the
// ones it did, and drops free buffers left idle for idleRuns Runs. The
// arena is then ready for another Run.
func (a *arena) endRun() {
	for _, b := range a.used {
		if b.live {
			a.recycle(b)
		}
		b.listed = false
	}
	clear(a.used)
	a.used = a.used[:0]
	clear(a.fresh)
	a.fresh = a.fresh[:0]
	clear(a.base)
	for dt, free := range a.free {
		keep := free[:0]
		for _, b := range free {
			if a.gen-b.gen < idleRuns {
				keep = append(keep, b)
			}
		}
		clear(free[len(keep):])
		a.free[dt] = keep
	}
	for i := range a.views {
		if a.viewGen[i] != a.gen {
			a.views[i] = nil
		}
	}
	a.gen++
	clear(a.results[:a.nres])
	a.nres = 0
	clear(a.slots)
	clear(a.slotBuf)
	clear(a.in)
	a.in = a.in[:0]
}

// arenaPool keeps the idle arenas of one plan, most recently used first.
// Unlike a sync.Pool it is not emptied by garbage collection, so a model
// serving steadily keeps its buffers across collections instead of
// allocating its working set again after each one. It keeps at most
// GOMAXPROCS arenas (their free buffers stay allocated while the model is
// loaded); a Run that finds none idle makes one, and one returned to a
// full pool is left to the collector.
type arenaPool struct {
	mu   sync.Mutex
	idle []*arena
}

// get returns an idle arena with the given poisoning, or nil.
func (p *arenaPool) get(poison bool) *arena {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.idle) - 1; i >= 0; i-- {
		if a := p.idle[i]; a.poison == poison {
			last := len(p.idle) - 1
			copy(p.idle[i:], p.idle[i+1:])
			p.idle[last] = nil
			p.idle = p.idle[:last]
			return a
		}
	}
	return nil
}

// put returns an arena whose Run has ended.
func (p *arenaPool) put(a *arena) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) < runtime.GOMAXPROCS(0) {
		p.idle = append(p.idle, a)
	}
}
