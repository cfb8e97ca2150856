package engine

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"inferd/internal/graph"
	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// cfGraph builds a GraphSpec: inputs are Placeholders named by ins (with
// dtypes), nodes follow, outputs name ports; the signature lists them in
// that order.
type cfGraph struct {
	spec GraphSpec
}

func newCFGraph() *cfGraph {
	return &cfGraph{spec: GraphSpec{Graph: graph.New(), Consts: map[string]*tensor.Tensor{}, Inputs: map[string]string{}, Outputs: map[string]string{}}}
}

func (g *cfGraph) input(name string, dt tensor.DType) *cfGraph {
	g.spec.Graph.Add(&graph.Node{Name: name, Op: "Placeholder", Attrs: map[string]*pb.AttrValue{"dtype": attrT(cfTFType(dt))}})
	g.spec.Inputs[name] = name
	g.spec.Signature.Inputs = append(g.spec.Signature.Inputs, TensorSpec{Name: name, DType: dt})
	return g
}

func (g *cfGraph) constant(name string, t *tensor.Tensor) *cfGraph {
	g.spec.Graph.Add(&graph.Node{Name: name, Op: "Const", Attrs: map[string]*pb.AttrValue{"dtype": attrT(cfTFType(t.DType()))}})
	g.spec.Consts[name] = t
	return g
}

func (g *cfGraph) node(name, op string, attrs map[string]*pb.AttrValue, ins ...string) *cfGraph {
	n := &graph.Node{Name: name, Op: op, Attrs: attrs}
	for _, in := range ins {
		p, err := graph.ParsePort(in)
		if err != nil {
			panic(err)
		}
		n.Inputs = append(n.Inputs, p)
	}
	if n.Attrs == nil {
		n.Attrs = map[string]*pb.AttrValue{}
	}
	if _, ok := n.Attrs["T"]; !ok {
		n.Attrs["T"] = attrT(pb.DataType_DT_FLOAT)
	}
	g.spec.Graph.Add(n)
	return g
}

func (g *cfGraph) output(key, port string) *cfGraph {
	g.spec.Outputs[key] = port
	g.spec.Signature.Outputs = append(g.spec.Signature.Outputs, TensorSpec{Name: key})
	return g
}

func cfTFType(dt tensor.DType) pb.DataType {
	switch dt {
	case tensor.Float32:
		return pb.DataType_DT_FLOAT
	case tensor.Int64:
		return pb.DataType_DT_INT64
	case tensor.Bool:
		return pb.DataType_DT_BOOL
	}
	panic(dt)
}

func cfFuncAttr(name string) *pb.AttrValue {
	return &pb.AttrValue{Value: &pb.AttrValue_Func{Func: &pb.NameAttrList{Name: name}}}
}

func cfIntAttr(v int64) *pb.AttrValue { return &pb.AttrValue{Value: &pb.AttrValue_I{I: v}} }

func cfIntsAttr(v ...int64) *pb.AttrValue {
	return &pb.AttrValue{Value: &pb.AttrValue_List{List: &pb.AttrValue_ListValue{I: v}}}
}

func cfF32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }

func cfRun(t *testing.T, spec GraphSpec, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	ctx := context.Background()
	m, err := LoadGraph(ctx, spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Run(ctx, "serving_default", in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func cfCheck(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil || got.DType() != want.DType() || !got.Shape().Equal(want.Shape()) || !reflect.DeepEqual(got.Data(), want.Data()) {
		t.Errorf("%s = %v %v, want %v %v", name, got, cfDataOf(got), want, want.Data())
	}
}

func cfDataOf(t *tensor.Tensor) any {
	if t == nil {
		return nil
	}
	return t.Data()
}

// TestFuncIf runs an If whose condition is fed at run time: then doubles x,
// else negates it and adds the captured y, so both branches read outer
// values.
func TestFuncIf(t *testing.T) {
	then := newCFGraph().input("x", tensor.Float32).input("y", tensor.Float32).
		constant("two", cfF32(nil, 2)).node("dbl", "Mul", nil, "x", "two").output("r", "dbl")
	els := newCFGraph().input("x", tensor.Float32).input("y", tensor.Float32).
		node("neg", "Neg", nil, "x").node("sum", "AddV2", nil, "neg", "y").output("r", "sum")
	main := newCFGraph().input("c", tensor.Bool).input("x", tensor.Float32).input("y", tensor.Float32).
		node("if", "OnnxIf", map[string]*pb.AttrValue{"then_branch": cfFuncAttr("then"), "else_branch": cfFuncAttr("else"), "captured": cfIntAttr(2)}, "c", "x", "y").
		output("out", "if")
	main.spec.Functions = map[string]*GraphSpec{"then": &then.spec, "else": &els.spec}
	x, y := cfF32(tensor.Shape{3}, 1, 2, 3), cfF32(tensor.Shape{3}, 10, 20, 30)
	for _, tc := range []struct {
		cond bool
		want *tensor.Tensor
	}{
		{true, cfF32(tensor.Shape{3}, 2, 4, 6)},
		{false, cfF32(tensor.Shape{3}, 9, 18, 27)},
	} {
		t.Run(fmt.Sprint(tc.cond), func(t *testing.T) {
			c := tensor.MustFromSlice(tensor.Shape{}, []bool{tc.cond})
			out := cfRun(t, main.spec, map[string]*tensor.Tensor{"c": c, "x": x, "y": y})
			cfCheck(t, "out", out["out"], tc.want)
		})
	}
}

// loopBody is an ONNX Loop body: (i, cond, acc) -> (acc+i < limit, acc + i,
// acc*2 as a scan value), with limit captured from outside.
func loopBody() *cfGraph {
	i64 := map[string]*pb.AttrValue{"T": attrT(pb.DataType_DT_INT64)}
	return newCFGraph().input("i", tensor.Int64).input("c", tensor.Bool).input("acc", tensor.Int64).input("limit", tensor.Int64).
		constant("two", tensor.MustFromSlice(tensor.Shape{}, []int64{2})).
		node("next", "AddV2", i64, "acc", "i").
		node("more", "Less", i64, "next", "limit").
		node("dbl", "Mul", i64, "acc", "two").
		output("c", "more").output("acc", "next").output("scan", "dbl")
}

// TestFuncLoop runs a Loop with a trip count and a condition, carried
// state and a scan output, and one whose condition stops it early.
func TestFuncLoop(t *testing.T) {
	i64 := func(v ...int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, v) }
	main := newCFGraph().input("m", tensor.Int64).input("c", tensor.Bool).input("acc0", tensor.Int64).input("limit", tensor.Int64).
		node("loop", "OnnxLoop", map[string]*pb.AttrValue{"body": cfFuncAttr("body"), "captured": cfIntAttr(1),
			"scan_types": {Value: &pb.AttrValue_List{List: &pb.AttrValue_ListValue{Type: []pb.DataType{pb.DataType_DT_INT64}}}}}, "m", "c", "acc0", "limit").
		output("acc", "loop").output("scan", "loop:1")
	main.spec.Functions = map[string]*GraphSpec{"body": &loopBody().spec}
	for _, tc := range []struct {
		name           string
		m, acc0, limit int64
		wantAcc        int64
		wantScan       []int64
	}{
		// acc: 1 -> 1 -> 2 -> 4 -> 7 (four iterations, i = 0..3).
		{"trip count", 4, 1, 100, 7, []int64{2, 2, 4, 8}},
		// The condition turns false once acc+i reaches 5: after i=3.
		{"condition", 10, 1, 5, 7, []int64{2, 2, 4, 8}},
		{"zero trips", 0, 5, 100, 5, []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := cfRun(t, main.spec, map[string]*tensor.Tensor{"m": i64(tc.m), "c": tensor.MustFromSlice(tensor.Shape{}, []bool{true}),
				"acc0": i64(tc.acc0), "limit": i64(tc.limit)})
			cfCheck(t, "acc", out["acc"], i64(tc.wantAcc))
			cfCheck(t, "scan", out["scan"], tensor.MustFromSlice(tensor.Shape{len(tc.wantScan)}, tc.wantScan))
		})
	}
}

// TestFuncScan runs a running sum over axis 1 of a [2,3] input, forwards
// and backwards, with the scan output stacked on axis 0 or reversed on
// axis 1.
func TestFuncScan(t *testing.T) {
	body := newCFGraph().input("s", tensor.Float32).input("x", tensor.Float32).
		node("sum", "AddV2", nil, "s", "x").output("s", "sum").output("y", "sum")
	x := cfF32(tensor.Shape{2, 3}, 1, 2, 3, 10, 20, 30)
	for _, tc := range []struct {
		name            string
		inDir, outAxis  int64
		outDir          int64
		wantS, wantScan *tensor.Tensor
	}{
		{"forward", 0, 0, 0, cfF32(tensor.Shape{2}, 6, 60), cfF32(tensor.Shape{3, 2}, 1, 10, 3, 30, 6, 60)},
		{"backward", 1, 0, 0, cfF32(tensor.Shape{2}, 6, 60), cfF32(tensor.Shape{3, 2}, 3, 30, 5, 50, 6, 60)},
		{"axis 1 reversed", 0, 1, 1, cfF32(tensor.Shape{2}, 6, 60), cfF32(tensor.Shape{2, 3}, 6, 3, 1, 60, 30, 10)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			main := newCFGraph().input("s0", tensor.Float32).input("x", tensor.Float32).
				node("scan", "OnnxScan", map[string]*pb.AttrValue{"body": cfFuncAttr("body"), "num_scan_inputs": cfIntAttr(1), "_opset": cfIntAttr(11),
					"scan_input_axes": cfIntsAttr(1), "scan_input_directions": cfIntsAttr(tc.inDir),
					"scan_output_axes": cfIntsAttr(tc.outAxis), "scan_output_directions": cfIntsAttr(tc.outDir)}, "s0", "x").
				output("s", "scan").output("y", "scan:1")
			main.spec.Functions = map[string]*GraphSpec{"body": &body.spec}
			out := cfRun(t, main.spec, map[string]*tensor.Tensor{"s0": cfF32(tensor.Shape{2}, 0, 0), "x": x})
			cfCheck(t, "s", out["s"], tc.wantS)
			cfCheck(t, "y", out["y"], tc.wantScan)
		})
	}
}

// TestFuncErrors checks load-time refusals: a function that is not
// defined, one that calls itself, and a condition that is not one bool.
func TestFuncErrors(t *testing.T) {
	ctx := context.Background()
	missing := newCFGraph().input("c", tensor.Bool).
		node("if", "OnnxIf", map[string]*pb.AttrValue{"then_branch": cfFuncAttr("nope"), "else_branch": cfFuncAttr("nope")}, "c").output("o", "if")
	missing.spec.Functions = map[string]*GraphSpec{}
	if _, err := LoadGraph(ctx, missing.spec, Options{}); err == nil || !strings.Contains(err.Error(), `function "nope" is not defined`) {
		t.Errorf("missing function: err = %v", err)
	}
	self := newCFGraph().input("c", tensor.Bool).
		node("if", "OnnxIf", map[string]*pb.AttrValue{"then_branch": cfFuncAttr("f"), "else_branch": cfFuncAttr("f")}, "c").output("o", "if")
	self.spec.Functions = map[string]*GraphSpec{"f": &self.spec}
	if _, err := LoadGraph(ctx, self.spec, Options{}); err == nil || !strings.Contains(err.Error(), "calls itself") {
		t.Errorf("recursive function: err = %v", err)
	}
	branch := newCFGraph().constant("k", cfF32(nil, 1)).output("r", "k")
	ok := newCFGraph().input("c", tensor.Bool).
		node("if", "OnnxIf", map[string]*pb.AttrValue{"then_branch": cfFuncAttr("b"), "else_branch": cfFuncAttr("b")}, "c").output("o", "if")
	ok.spec.Functions = map[string]*GraphSpec{"b": &branch.spec}
	m, err := LoadGraph(ctx, ok.spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"c": tensor.MustFromSlice(tensor.Shape{2}, []bool{true, false})})
	if err == nil || !strings.Contains(err.Error(), "want one bool") {
		t.Errorf("two-element condition: err = %v", err)
	}
}

// TestFuncConcurrent runs a Loop from several goroutines at once, the
// outer plan poisoning recycled buffers, each call with its own trip
// count, so that calls sharing the body's plan (and its arenas) or reading
// a recycled buffer would change an answer.
func TestFuncConcurrent(t *testing.T) {
	i64 := func(v ...int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, v) }
	i64m := map[string]*pb.AttrValue{"T": attrT(pb.DataType_DT_INT64)}
	main := newCFGraph().input("m", tensor.Int64).input("c", tensor.Bool).input("acc0", tensor.Int64).input("limit", tensor.Int64).
		node("acc1", "AddV2", i64m, "acc0", "acc0").
		node("loop", "OnnxLoop", map[string]*pb.AttrValue{"body": cfFuncAttr("body"), "captured": cfIntAttr(1)}, "m", "c", "acc1", "limit").
		node("twice", "AddV2", i64m, "loop", "loop").
		output("acc", "twice").output("scan", "loop:1")
	main.spec.Functions = map[string]*GraphSpec{"body": &loopBody().spec}
	ctx := context.Background()
	m, err := LoadGraph(ctx, main.spec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m.reuse = reusePoison
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for rep := 0; rep < 20; rep++ {
				trips := int64(g%4 + 1)
				out, err := m.Run(ctx, "serving_default", map[string]*tensor.Tensor{"m": i64(trips), "c": tensor.MustFromSlice(tensor.Shape{}, []bool{true}),
					"acc0": i64(1), "limit": i64(1000)})
				if err != nil {
					errs <- err
					return
				}
				// acc starts at 2 and gains i on trip i.
				want := int64(2) + trips*(trips-1)/2
				if got := out["acc"].Int64s()[0]; got != 2*want || out["scan"].Len() != int(trips) {
					errs <- fmt.Errorf("%d trips: acc %d, scan %v; want %d and %d values", trips, got, out["scan"].Int64s(), 2*want, trips)
					return
				}
			}
			errs <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestFuncScan8 runs Scan's opset-8 form: a batch axis 0 on every input
// and output, the scan over axis 1, "directions" for the scan input.
func TestFuncScan8(t *testing.T) {
	body := newCFGraph().input("s", tensor.Float32).input("x", tensor.Float32).
		node("sum", "AddV2", nil, "s", "x").output("s", "sum").output("y", "sum")
	x := cfF32(tensor.Shape{2, 3, 2}, 1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60)
	for _, tc := range []struct {
		name     string
		dir      int64
		wantS    *tensor.Tensor
		wantScan *tensor.Tensor
	}{
		{"forward", 0, cfF32(tensor.Shape{2, 2}, 9, 12, 90, 120),
			cfF32(tensor.Shape{2, 3, 2}, 1, 2, 4, 6, 9, 12, 10, 20, 40, 60, 90, 120)},
		{"backward", 1, cfF32(tensor.Shape{2, 2}, 9, 12, 90, 120),
			cfF32(tensor.Shape{2, 3, 2}, 5, 6, 8, 10, 9, 12, 50, 60, 80, 100, 90, 120)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			main := newCFGraph().constant("nolens", tensor.New(tensor.Float32, tensor.Shape{0})).input("s0", tensor.Float32).input("x", tensor.Float32).
				node("scan", "OnnxScan", map[string]*pb.AttrValue{"body": cfFuncAttr("body"), "num_scan_inputs": cfIntAttr(1), "_opset": cfIntAttr(8),
					"_absent": cfIntsAttr(0), "directions": cfIntsAttr(tc.dir)}, "nolens", "s0", "x").
				output("s", "scan").output("y", "scan:1")
			main.spec.Functions = map[string]*GraphSpec{"body": &body.spec}
			out := cfRun(t, main.spec, map[string]*tensor.Tensor{"s0": cfF32(tensor.Shape{2, 2}, 0, 0, 0, 0), "x": x})
			cfCheck(t, "s", out["s"], tc.wantS)
			cfCheck(t, "y", out["y"], tc.wantScan)
		})
	}
}
