package modelserver

import (
	"context"
	"reflect"
	"sync"

	"inferd/internal/codec"
	"inferd/internal/engine"
	"inferd/internal/tensor"
)

// intoRunner is a Runner that writes its outputs into tensors the caller
// reuses from one run to the next; *engine.Model is one. The server runs
// such models through scratchPools, and any other Runner through Run.
type intoRunner interface {
	// RunInto runs a signature as Run does, writing the outputs into out,
	// which must not be used by two calls at once.
	RunInto(ctx context.Context, signature string, inputs map[string]*tensor.Tensor, out *engine.Outputs) error
}

var _ intoRunner = (*engine.Model)(nil)

// maxPooledBytes bounds what a scratch keeps when it goes back to its
// pool: a response buffer, or a set of outputs, larger than this (a huge
// batch) is dropped after its request instead of pinning memory until the
// next collections.
const maxPooledBytes = 4 << 20

// scratch is what one request borrows to answer against one model and
// signature: the engine's outputs and the response buffer. It belongs to
// that request from get until put, which comes after the response is
// written, so that no tensor or byte of it is ever seen by two requests.
type scratch struct {
	pool *scratchPool
	outs engine.Outputs
	buf  []byte
}

// scratchPool holds the scratches of one model and signature, and what
// else a request to them can share.
type scratchPool struct {
	pool sync.Pool // *scratch
	// inputs are the signature's inputs as codec.DecodePredict takes
	// them; it copies them, so every request shares these.
	inputs []codec.Input
}

// scratchKey names a pool: outputs are reused only by runs of the same
// signature of the same model, whose outputs have the same names.
type scratchKey struct {
	model     Runner
	signature string
}

// scratchPools holds a pool of scratches per model and signature. Its zero
// value is ready to use. The pools live as long as the server: there is
// one per signature a request has named, of a model the server keeps.
type scratchPools struct {
	mu    sync.RWMutex
	pools map[scratchKey]*scratchPool
}

// pool returns the pool for runs of sig on m, or nil when m cannot run
// into reused outputs (it is no intoRunner, or it cannot key a map: see
// hashable). A nil p has no pools and returns nil.
func (p *scratchPools) pool(m Runner, sig engine.Signature) *scratchPool {
	if p == nil {
		return nil
	}
	if _, ok := m.(intoRunner); !ok || !hashable(reflect.ValueOf(m)) {
		return nil
	}
	key := scratchKey{m, sig.Name}
	p.mu.RLock()
	sp := p.pools[key]
	p.mu.RUnlock()
	if sp != nil {
		return sp
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if sp = p.pools[key]; sp == nil {
		if p.pools == nil {
			p.pools = map[scratchKey]*scratchPool{}
		}
		sp = &scratchPool{inputs: codecInputs(sig)}
		p.pools[key] = sp
	}
	return sp
}

// get returns a scratch of the pool. A nil p returns nil.
func (p *scratchPool) get() *scratch {
	if p == nil {
		return nil
	}
	if sc, ok := p.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{pool: p}
}

// hashable reports whether v can be compared with == and key a map
// without a panic: its type is comparable, and so is every value an
// interface within it holds.
func hashable(v reflect.Value) bool {
	if !v.Type().Comparable() {
		return false
	}
	switch v.Kind() {
	case reflect.Interface:
		return v.IsNil() || hashable(v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			if !hashable(v.Field(i)) {
				return false
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			if !hashable(v.Index(i)) {
				return false
			}
		}
	}
	return true
}

// codecInputs lists sig's inputs as codec.DecodePredict takes them.
func codecInputs(sig engine.Signature) []codec.Input {
	in := make([]codec.Input, len(sig.Inputs))
	for i, spec := range sig.Inputs {
		in[i] = codec.Input{Name: spec.Name, DType: spec.DType}
	}
	return in
}

// put gives sc back to its pool, less what is over maxPooledBytes. A nil
// sc is ignored. sc must not be used afterwards.
func (sc *scratch) put() {
	if sc == nil {
		return
	}
	sc.trim()
	sc.pool.pool.Put(sc)
}

// trim drops the buffer and the outputs when they are over
// maxPooledBytes.
func (sc *scratch) trim() {
	if cap(sc.buf) > maxPooledBytes {
		sc.buf = nil
	}
	if outputsBytes(sc.outs.Map()) > maxPooledBytes {
		sc.outs = engine.Outputs{}
	}
}

// outputsBytes is about the memory the tensors hold: their elements, and
// for strings a slice header and the bytes of each.
func outputsBytes(outs map[string]*tensor.Tensor) int {
	n := 0
	for _, t := range outs {
		if t == nil {
			continue
		}
		if t.DType() != tensor.String {
			n += t.Len() * t.DType().Size()
			continue
		}
		for _, s := range t.Strings() {
			n += 24 + len(s)
		}
	}
	return n
}
