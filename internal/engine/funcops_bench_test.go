package engine

import (
	"context"
	"testing"

	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// BenchmarkFuncLoop measures a Loop's cost per iteration: a body of three
// scalar ops, 1000 trips per Run.
func BenchmarkFuncLoop(b *testing.B) {
	main := newCFGraph().input("m", tensor.Int64).input("c", tensor.Bool).input("acc0", tensor.Int64).input("limit", tensor.Int64).
		node("loop", "OnnxLoop", map[string]*pb.AttrValue{"body": cfFuncAttr("body"), "captured": cfIntAttr(1)}, "m", "c", "acc0", "limit").
		output("acc", "loop").output("scan", "loop:1")
	main.spec.Functions = map[string]*GraphSpec{"body": &loopBody().spec}
	ctx := context.Background()
	m, err := LoadGraph(ctx, main.spec, Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	in := map[string]*tensor.Tensor{"m": tensor.MustFromSlice(tensor.Shape{}, []int64{1000}), "c": tensor.MustFromSlice(tensor.Shape{}, []bool{true}),
		"acc0": tensor.MustFromSlice(tensor.Shape{}, []int64{0}), "limit": tensor.MustFromSlice(tensor.Shape{}, []int64{1 << 60})}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Run(ctx, "serving_default", in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/iteration")
}
