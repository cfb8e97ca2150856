package kernels

import (
	"context"
	"math"
	"sync"
	"testing"

	"inferd/internal/tensor"
)

// poisonAllocator hands out tensors filled with NaN (floats), a nonzero
// pattern (integers) and true (bools), so that a kernel which reads an
// output element it did not write gives a different answer than with
// fresh zeroed memory.
type poisonAllocator struct {
	mu sync.Mutex
	n  int // tensors handed out
}

func (p *poisonAllocator) Alloc(dt tensor.DType, shape tensor.Shape) *tensor.Tensor {
	p.mu.Lock()
	p.n++
	p.mu.Unlock()
	t := tensor.New(dt, shape)
	switch d := t.Data().(type) {
	case []float32:
		fillAll(d, float32(math.NaN()))
	case []float64:
		fillAll(d, math.NaN())
	case []int8:
		fillAll(d, -91)
	case []uint8:
		fillAll(d, 0xa5)
	case []int32:
		fillAll(d, -0x5a5a5a5b)
	case []int64:
		fillAll(d, -0x5a5a5a5a5a5a5a5b)
	case []bool:
		fillAll(d, true)
	case [][]byte:
		fillAll(d, []byte("poison"))
	case []int16:
		fillAll(d, -0x5a5b)
	case []uint16:
		fillAll(d, 0xa5a5)
	case []uint32:
		fillAll(d, 0xa5a5a5a5)
	case []uint64:
		fillAll(d, 0xa5a5a5a5a5a5a5a5)
	case []tensor.F16:
		fillAll(d, 0x7e5a) // a NaN
	case []tensor.BF16:
		fillAll(d, 0x7fa5) // a NaN
	}
	return t
}

// sameBits reports whether a and b have one dtype, shape and bit pattern
// (NaNs compare by payload, so a NaN result must be the same NaN).
func sameBits(a, b *tensor.Tensor) bool {
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
	case []float64:
		y := b.Float64s()
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return false
			}
		}
	case [][]byte:
		y := b.Strings()
		for i := range x {
			if string(x[i]) != string(y[i]) {
				return false
			}
		}
	default:
		return tensorEqualInts(a, b)
	}
	return true
}

func tensorEqualInts(a, b *tensor.Tensor) bool {
	switch x := a.Data().(type) {
	case []int8:
		return equalSlices(x, b.Int8s())
	case []uint8:
		return equalSlices(x, b.Uint8s())
	case []int32:
		return equalSlices(x, b.Int32s())
	case []int64:
		return equalSlices(x, b.Int64s())
	case []bool:
		return equalSlices(x, b.Bools())
	case []int16:
		return equalSlices(x, b.Int16s())
	case []uint16:
		return equalSlices(x, b.Uint16s())
	case []uint32:
		return equalSlices(x, b.Uint32s())
	case []uint64:
		return equalSlices(x, b.Uint64s())
	case []tensor.F16:
		return equalSlices(x, b.Float16s())
	case []tensor.BF16:
		return equalSlices(x, b.BFloat16s())
	}
	return false
}

func equalSlices[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// computePoisoned runs k again with a poisoning allocator in the context
// and fails t unless every output is bit-identical to want, the outputs of
// the same inputs with fresh zeroed memory.
func computePoisoned(t testing.TB, op string, k Kernel, in []*tensor.Tensor, want []*tensor.Tensor) {
	t.Helper()
	got, err := k.Compute(WithAllocator(context.Background(), &poisonAllocator{}), in)
	if err != nil {
		t.Fatalf("%s with a poisoning allocator: %v", op, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s with a poisoning allocator: %d outputs, want %d", op, len(got), len(want))
	}
	for i := range want {
		if !sameBits(got[i], want[i]) {
			t.Fatalf("%s output %d with a poisoning allocator differs from fresh memory: got %v, want %v (the kernel reads memory it did not write)", op, i, got[i], want[i])
		}
	}
}

func TestAllocWithoutAllocator(t *testing.T) {
	x := Alloc(context.Background(), tensor.Float32, tensor.Shape{2, 3})
	if x.Len() != 6 || x.DType() != tensor.Float32 {
		t.Fatalf("Alloc = %v, want float32 [2,3]", x)
	}
	for _, v := range x.Float32s() {
		if v != 0 {
			t.Fatalf("Alloc without an allocator is not zeroed: %v", x.Float32s())
		}
	}
}

func TestAllocThroughAllocator(t *testing.T) {
	p := &poisonAllocator{}
	ctx := WithAllocator(context.Background(), p)
	x := Alloc(ctx, tensor.Float32, tensor.Shape{4})
	if !math.IsNaN(float64(x.Float32s()[0])) {
		t.Fatalf("Alloc did not come from the allocator: %v", x.Float32s())
	}
	z := AllocZeroed(ctx, tensor.Int32, tensor.Shape{3})
	if got := z.Int32s(); got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Fatalf("AllocZeroed = %v, want zeros", got)
	}
	_, s := NewLikeCtx[float64](ctx, tensor.Float64, tensor.Shape{2})
	if !math.IsNaN(s[1]) {
		t.Fatalf("NewLikeCtx did not come from the allocator: %v", s)
	}
	if p.n != 3 {
		t.Fatalf("allocator handed out %d tensors, want 3", p.n)
	}
	if sc := scratch[int64](ctx, 5); len(sc) != 5 || sc[0] == 0 {
		t.Fatalf("scratch = %v, want 5 poisoned elements", sc)
	}
	if AllocatorFrom(WithAllocator(ctx, nil)) != nil {
		t.Fatal("WithAllocator(ctx, nil) still has an allocator")
	}
}

// TestPoisonCatchesUnwrittenOutput checks the poisoning comparison itself: a kernel that
// accumulates into memory it did not clear must be caught.
func TestPoisonCatchesUnwrittenOutput(t *testing.T) {
	bad := KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		out, o := NewLikeCtx[float32](ctx, tensor.Float32, in[0].Shape())
		for i, v := range in[0].Float32s() {
			o[i] += v // reads o[i] before writing it
		}
		return []*tensor.Tensor{out}, nil
	})
	in := []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2}, []float32{1, 2})}
	want, _ := bad.Compute(context.Background(), in)
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		computePoisoned(ft, "bad", bad, in, want)
	}()
	if !ft.failed {
		t.Fatal("computePoisoned did not catch a kernel reading its uninitialised output")
	}
}

// fakeTB records a fatal failure instead of ending the test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
