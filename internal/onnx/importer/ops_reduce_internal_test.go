package importer

import (
	"testing"

	"inferd/internal/graph"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// TestRdRank checks the rank proofs MatMul's lowering relies on, and that
// it claims none it cannot make.
func TestRdRank(t *testing.T) {
	b := &builder{g: graph.New(), consts: map[string]*tensor.Tensor{}, taken: map[string]bool{}}
	add := func(name, op string, attrs map[string]*tfpb.AttrValue, in ...graph.Port) graph.Port {
		if attrs == nil {
			attrs = map[string]*tfpb.AttrValue{}
		}
		if err := b.g.Add(&graph.Node{Name: name, Op: op, Inputs: in, Attrs: attrs}); err != nil {
			t.Fatal(err)
		}
		return graph.Port{Node: name}
	}
	shape := func(dims ...int64) *tfpb.AttrValue {
		s := &tfpb.TensorShapeProto{}
		for _, d := range dims {
			s.Dim = append(s.Dim, &tfpb.TensorShapeProto_Dim{Size: d})
		}
		return &tfpb.AttrValue{Value: &tfpb.AttrValue_Shape{Shape: s}}
	}
	typed := add("typed", "Placeholder", map[string]*tfpb.AttrValue{"shape": shape(-1, 3, 4)})
	untyped := add("untyped", "Placeholder", nil)
	vec := b.constant(tensor.MustFromSlice(tensor.Shape{3}, []float32{1, 2, 3}))
	perm := b.constant(tensor.MustFromSlice(tensor.Shape{3}, []int32{0, 2, 1}))
	tr := add("tr", "Transpose", nil, typed, perm)
	mean := add("mean", OnnxOp("ReduceMean"), map[string]*tfpb.AttrValue{"keepdims": aInt(0), "axes": aInts(-1)}, tr)
	meanAll := add("meanAll", OnnxOp("ReduceMean"), map[string]*tfpb.AttrValue{"keepdims": aInt(0)}, tr)
	kept := add("kept", OnnxOp("ReduceSum"), map[string]*tfpb.AttrValue{"_absent": aInts(1)}, tr, vec)
	sum := add("sum", "AddV2", nil, add("relu", "Relu", nil, mean), vec)
	odd := add("odd", "AddV2", nil, untyped, vec)
	cases := []struct {
		name string
		p    graph.Port
		want int
		ok   bool
	}{
		{"typed input", typed, 3, true},
		{"input without a shape", untyped, 0, false},
		{"constant", vec, 1, true},
		{"transpose", tr, 3, true},
		{"reduction without keepdims", mean, 2, true},
		{"reduction of every axis", meanAll, 0, true},
		{"reduction keeping dimensions", kept, 3, true},
		{"broadcast of an activation", sum, 2, true},
		{"broadcast with an unknown side", odd, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := b.rdRank(c.p, 8)
			if ok != c.ok || ok && got != c.want {
				t.Fatalf("rdRank = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
