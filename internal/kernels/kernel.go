package kernels

import (
	"context"
	"sort"

	"inferd/internal/tensor"
)

// Attrs gives a kernel builder the attributes of its node. Each getter
// reports false when the attribute is absent or of another kind.
type Attrs interface {
	Int(name string) (int64, bool)
	Float(name string) (float32, bool)
	Bool(name string) (bool, bool)
	String(name string) (string, bool)
	Type(name string) (tensor.DType, bool)
	Shape(name string) (dims []int64, ok bool) // -1 marks an unknown dimension; nil dims with ok is a scalar
	Tensor(name string) (*tensor.Tensor, bool)
	Ints(name string) ([]int64, bool)
	Floats(name string) ([]float32, bool)
	Strings(name string) ([]string, bool)
	Types(name string) ([]tensor.DType, bool)
}

// Node describes the graph node a kernel is built for.
type Node struct {
	Name      string
	Op        string
	Attrs     Attrs
	NumInputs int
}

// Kernel computes a node's outputs from its inputs. Compute must not modify
// its inputs and must be safe to call from several goroutines at once.
type Kernel interface {
	Compute(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// KernelFunc adapts a function to Kernel.
type KernelFunc func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error)

// Compute calls f.
func (f KernelFunc) Compute(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	return f(ctx, in)
}

// Builder makes the kernel for one node, checking its attributes once at
// load so that a bad model fails then rather than at serve time.
type Builder func(n Node) (Kernel, error)

var builders = map[string]Builder{}

// Register adds the builder for op. It is called from init functions.
func Register(op string, b Builder) {
	if _, dup := builders[op]; dup {
		panic("kernels: duplicate registration of " + op)
	}
	builders[op] = b
}

// Lookup returns the builder registered for op. The float32 kernels of
// the ops in dtViaFloat32 come wrapped to take float16 and bfloat16 too.
func Lookup(op string) (Builder, bool) {
	b, ok := builders[op]
	if ok && dtViaFloat32[op] {
		b = dtHalfAdapter(b)
	}
	return b, ok
}

// Ops lists the registered op names in order.
func Ops() []string {
	out := make([]string, 0, len(builders))
	for op := range builders {
		out = append(out, op)
	}
	sort.Strings(out)
	return out
}
