package kernels

import (
	"context"
	"time"

	"inferd/internal/tensor"
)

// Allocator hands out tensors for kernel outputs and temporaries. The
// engine stores one per request in the context so that buffers freed by
// earlier steps are reused; kernels reach it through Alloc and NewLikeCtx.
type Allocator interface {
	// Alloc returns a tensor of dtype dt and the given shape whose
	// contents are unspecified: the caller must write every element.
	// It is called from the goroutine running Compute and from any
	// goroutine the kernel starts, so it must be safe for concurrent use.
	Alloc(dt tensor.DType, shape tensor.Shape) *tensor.Tensor
}

// MaxDimsRank is the largest rank a Dims holds.
const MaxDimsRank = 8

// Dims is a shape of rank at most MaxDimsRank held by value, so that
// passing it through an interface does not move the caller's shape to the
// heap as passing a tensor.Shape does.
type Dims struct {
	Rank int
	D    [MaxDimsRank]int
}

// Equal reports whether d holds shape s.
func (d *Dims) Equal(s tensor.Shape) bool {
	if len(s) != d.Rank {
		return false
	}
	for i, v := range s {
		if d.D[i] != v {
			return false
		}
	}
	return true
}

// Shape returns a new tensor.Shape holding d.
func (d *Dims) Shape() tensor.Shape {
	s := make(tensor.Shape, d.Rank)
	copy(s, d.D[:d.Rank])
	return s
}

// ReuseAllocator is an Allocator that also recycles what Alloc and
// Result would otherwise allocate on every call: tensor headers, result
// slices, and the headers of reshaped views. The engine's arena
// implements it; Alloc, View and Result use it when ctx's allocator does.
type ReuseAllocator interface {
	Allocator
	// AllocDims is Alloc with the shape held in d.
	AllocDims(dt tensor.DType, d Dims) *tensor.Tensor
	// ViewDims returns a tensor sharing t's data with shape d, which has
	// t's element count.
	ViewDims(t *tensor.Tensor, d Dims) *tensor.Tensor
	// Results returns a slice of n tensors that stays valid until the
	// step that asked for it has ended.
	Results(n int) []*tensor.Tensor
}

type allocatorKey struct{}

// WithAllocator returns a context whose kernels allocate through a; a nil a
// makes them allocate fresh zeroed tensors, as with no allocator at all.
func WithAllocator(ctx context.Context, a Allocator) context.Context {
	return context.WithValue(ctx, allocatorKey{}, a)
}

// AllocatorFrom returns the allocator stored in ctx, or nil.
func AllocatorFrom(ctx context.Context) Allocator {
	if rc, ok := ctx.(*RunContext); ok {
		return rc.alloc
	}
	a, _ := ctx.Value(allocatorKey{}).(Allocator)
	return a
}

// RunContext is a context carrying an allocator and a thread limit, as
// WithAllocator and WithThreads make, that its owner resets for each Run
// instead of allocating two context values per Run. Its zero value is not
// ready: call Reset first. A RunContext must not be reset while a kernel
// may still use it.
type RunContext struct {
	parent  context.Context
	alloc   Allocator
	threads int
}

var _ context.Context = (*RunContext)(nil)

// Reset makes c parent with allocator a (nil: kernels allocate fresh
// tensors) and, when threads > 0, the WithThreads limit threads.
func (c *RunContext) Reset(parent context.Context, a Allocator, threads int) {
	c.parent, c.alloc, c.threads = parent, a, threads
}

// Deadline is the parent's.
func (c *RunContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done is the parent's.
func (c *RunContext) Done() <-chan struct{} { return c.parent.Done() }

// Err is the parent's.
func (c *RunContext) Err() error { return c.parent.Err() }

// Value answers the allocator and thread keys itself and asks the parent
// for any other.
func (c *RunContext) Value(key any) any {
	switch key.(type) {
	case allocatorKey:
		if c.alloc == nil {
			return nil
		}
		return c.alloc
	case threadsKey:
		if c.threads > 0 {
			return c.threads
		}
	}
	return c.parent.Value(key)
}

// Alloc returns a tensor of dtype dt and the given shape for a kernel to
// fill. It comes from ctx's allocator when there is one, and then its
// contents are unspecified, so the kernel must write every element; with
// no allocator it is a fresh zeroed tensor. Alloc does not keep shape.
func Alloc(ctx context.Context, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	a := AllocatorFrom(ctx)
	if a == nil {
		return tensor.New(dt, shape)
	}
	if ra, ok := a.(ReuseAllocator); ok && len(shape) <= MaxDimsRank {
		d := Dims{Rank: len(shape)}
		copy(d.D[:], shape)
		return ra.AllocDims(dt, d)
	}
	return a.Alloc(dt, shape.Clone())
}

// View returns a tensor sharing t's data with the given shape, which must
// have t's element count, as t.Reshaped does; through a ReuseAllocator in
// ctx its header is recycled. View does not keep shape.
func View(ctx context.Context, t *tensor.Tensor, shape tensor.Shape) (*tensor.Tensor, error) {
	if ra, ok := AllocatorFrom(ctx).(ReuseAllocator); ok && len(shape) <= MaxDimsRank && shape.NumElements() == t.Len() {
		d := Dims{Rank: len(shape)}
		copy(d.D[:], shape)
		return ra.ViewDims(t, d), nil
	}
	return t.Reshaped(shape.Clone())
}

// Result returns the slice a kernel's Compute returns, holding outs: a
// recycled one through a ReuseAllocator in ctx, else a new one. Result
// does not keep outs, so a call with literal arguments allocates nothing
// in steady state.
func Result(ctx context.Context, outs ...*tensor.Tensor) []*tensor.Tensor {
	if ra, ok := AllocatorFrom(ctx).(ReuseAllocator); ok {
		r := ra.Results(len(outs))
		copy(r, outs)
		return r
	}
	return append([]*tensor.Tensor(nil), outs...)
}

// AllocZeroed is Alloc for kernels that write only some elements and rely
// on the rest being zero (false, or nil for strings).
func AllocZeroed(ctx context.Context, dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	if AllocatorFrom(ctx) == nil {
		return tensor.New(dt, shape)
	}
	t := Alloc(ctx, dt, shape)
	clearData(t)
	return t
}

// NewLikeCtx is NewLike through ctx's allocator: the tensor's contents are
// unspecified (see Alloc) and the kernel must write every element of the
// returned slice.
func NewLikeCtx[T any](ctx context.Context, dt tensor.DType, shape tensor.Shape) (*tensor.Tensor, []T) {
	t := Alloc(ctx, dt, shape)
	return t, t.Data().([]T)
}

func clearData(t *tensor.Tensor) {
	switch d := t.Data().(type) {
	case []float32:
		clear(d)
	case []float64:
		clear(d)
	case []int8:
		clear(d)
	case []uint8:
		clear(d)
	case []int32:
		clear(d)
	case []int64:
		clear(d)
	case []bool:
		clear(d)
	case [][]byte:
		clear(d)
	case []int16:
		clear(d)
	case []uint16:
		clear(d)
	case []uint32:
		clear(d)
	case []uint64:
		clear(d)
	case []tensor.F16:
		clear(d)
	case []tensor.BF16:
		clear(d)
	}
}

// scratch returns a temporary slice of n elements with unspecified
// contents, through ctx's allocator when T is a numeric or bool element
// type; the kernel must write each element before reading it.
func scratch[T any](ctx context.Context, n int) []T {
	var dt tensor.DType
	switch any(*new(T)).(type) {
	case float32:
		dt = tensor.Float32
	case float64:
		dt = tensor.Float64
	case int8:
		dt = tensor.Int8
	case uint8:
		dt = tensor.Uint8
	case int32:
		dt = tensor.Int32
	case int64:
		dt = tensor.Int64
	case bool:
		dt = tensor.Bool
	case int16:
		dt = tensor.Int16
	case uint16:
		dt = tensor.Uint16
	case uint32:
		dt = tensor.Uint32
	case uint64:
		dt = tensor.Uint64
	case tensor.F16:
		dt = tensor.Float16
	case tensor.BF16:
		dt = tensor.BFloat16
	}
	if dt == tensor.Invalid || AllocatorFrom(ctx) == nil {
		return make([]T, n)
	}
	return Alloc(ctx, dt, tensor.Shape{n}).Data().([]T)
}
