package engine

import (
	"context"
	"testing"

	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// dtSet sets element i of t, a tensor of one of the dtypes added after
// String, to v.
func dtSet(t *tensor.Tensor, i int, v float64) {
	switch d := t.Data().(type) {
	case []int16:
		d[i] = int16(v)
	case []uint16:
		d[i] = uint16(v)
	case []uint32:
		d[i] = uint32(v)
	case []uint64:
		d[i] = uint64(v)
	case []tensor.F16:
		d[i] = tensor.F16FromFloat64(v)
	case []tensor.BF16:
		d[i] = tensor.BF16FromFloat64(v)
	}
}

// dtGet reads element i of t as dtSet writes it.
func dtGet(t *tensor.Tensor, i int) float64 {
	switch d := t.Data().(type) {
	case []int16:
		return float64(d[i])
	case []uint16:
		return float64(d[i])
	case []uint32:
		return float64(d[i])
	case []uint64:
		return float64(d[i])
	case []tensor.F16:
		return d[i].Float64()
	case []tensor.BF16:
		return d[i].Float64()
	}
	return -1
}

// TestArenaWideTypes runs the aliased-view plan of TestReuseAliasedViews
// on each dtype added after String: the arena pools their buffers, and
// must not recycle one while a view of it is still in a slot. A second
// round checks that Runs in steady state hand the same buffers back.
func TestArenaWideTypes(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Int16, tensor.Uint16, tensor.Uint32, tensor.Uint64, tensor.Float16, tensor.BFloat16} {
		t.Run(dt.String(), func(t *testing.T) {
			fillDT := func(v float64) kernels.Kernel {
				return kernels.KernelFunc(func(ctx context.Context, _ []*tensor.Tensor) ([]*tensor.Tensor, error) {
					x := kernels.Alloc(ctx, dt, tensor.Shape{16})
					for i := range 16 {
						dtSet(x, i, v)
					}
					return []*tensor.Tensor{x}, nil
				})
			}
			view := kernels.KernelFunc(func(_ context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				v, err := in[0].Reshaped(tensor.Shape{2, 8})
				return []*tensor.Tensor{v}, err
			})
			var bufs []uintptr
			sum := kernels.KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
				bufs = append(bufs, dataAddr(in[0]), dataAddr(in[1]))
				y := kernels.Alloc(ctx, tensor.Float64, tensor.Shape{16})
				for i := range 16 {
					y.Float64s()[i] = dtGet(in[0], i) + dtGet(in[1], i)
				}
				return []*tensor.Tensor{y}, nil
			})
			m := handPlan(4, 3,
				step{node: "a", kernel: fillDT(1), out: []int{0}},
				step{node: "view", kernel: view, in: []int{0}, out: []int{1}}, // slot 0 is freed here
				step{node: "b", kernel: fillDT(10), out: []int{2}},            // must not take a's buffer
				step{node: "sum", kernel: sum, in: []int{1, 2}, out: []int{3}},
			)
			for _, mode := range []reuseMode{reuseOff, reuseOn, reusePoison, reuseOn, reuseOn} {
				m.reuse = mode
				out, err := m.Run(context.Background(), "s", nil)
				if err != nil {
					t.Fatal(err)
				}
				for i, v := range out["y"].Float64s() {
					if v != 11 {
						t.Fatalf("mode %d: y[%d] = %v, want 11 (a's buffer was recycled under its view)", mode, i, v)
					}
				}
			}
			if n := len(bufs); bufs[n-1] != bufs[n-3] || bufs[n-2] != bufs[n-4] || bufs[n-1] == 0 {
				t.Errorf("the last two Runs used buffers %x and %x, want the same pooled ones", bufs[n-4:n-2], bufs[n-2:])
			}
		})
	}
}
