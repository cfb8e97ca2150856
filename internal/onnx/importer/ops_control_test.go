package importer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// cfGraphAttr is a graph attribute whose graph takes inputs and returns
// outputs (names only: sub-graph types are optional).
func cfGraphAttr(name string, inputs, outputs []string, nodes ...*pb.NodeProto) *pb.AttributeProto {
	g := &pb.GraphProto{Name: name, Node: nodes}
	for _, in := range inputs {
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: in})
	}
	for _, o := range outputs {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: o})
	}
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_GRAPH, G: g}
}

func cfF32(shape tensor.Shape, v ...float32) *tensor.Tensor { return tensor.MustFromSlice(shape, v) }

// TestControlFlowCaptures runs an If whose branches read outer values
// (a graph input and an intermediate), one of them through a Loop nested
// in the else branch, and whose second output names outer values
// directly.
func TestControlFlowCaptures(t *testing.T) {
	bodyAttr := cfGraphAttr("body", []string{"i", "cond", "acc"}, []string{"cond_out", "acc2", "scan"},
		importer.NodeProto("Identity", []string{"cond"}, []string{"cond_out"}),
		importer.NodeProto("Add", []string{"acc", "x"}, []string{"acc2"}),
		importer.NodeProto("Identity", []string{"acc2"}, []string{"scan"}))
	then := cfGraphAttr("then_branch", nil, []string{"t1", "x"},
		importer.NodeProto("Add", []string{"h", "x"}, []string{"t1"}))
	els := cfGraphAttr("else_branch", nil, []string{"final", "h"},
		importer.NodeProto("Loop", []string{"n", "", "h"}, []string{"final", "scans"}, bodyAttr))
	mp := shModel(13, []shInput{{"x", tensor.New(tensor.Float32, tensor.Shape{3})}, {"c", tensor.New(tensor.Int64, nil)}, {"n", tensor.New(tensor.Int64, nil)}}, nil,
		[]string{"y", "y2"},
		importer.NodeProto("Mul", []string{"x", "x"}, []string{"h"}),
		importer.NodeProto("If", []string{"c"}, []string{"y", "y2"}, then, els))
	// shModel types feeds from their dtypes, which do not include bool.
	mp.Graph.Input[1].Type.Value.(*pb.TypeProto_TensorType).TensorType.ElemType = int32(pb.TensorProto_BOOL)
	m := loadModel(t, mp)
	x := cfF32(tensor.Shape{3}, 1, 2, 3)
	for _, tc := range []struct {
		name  string
		c     bool
		n     int64
		y, y2 string
	}{
		{"then", true, 2, "float32[3][2 6 12]", "float32[3][1 2 3]"},
		{"else, two trips", false, 2, "float32[3][3 8 15]", "float32[3][1 4 9]"},
		{"else, no trip", false, 0, "float32[3][1 4 9]", "float32[3][1 4 9]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"x": x,
				"c": tensor.MustFromSlice(tensor.Shape{}, []bool{tc.c}), "n": tensor.MustFromSlice(tensor.Shape{}, []int64{tc.n})})
			if err != nil {
				t.Fatal(err)
			}
			if got := shFormat(out["y"]); got != tc.y {
				t.Errorf("y = %s, want %s", got, tc.y)
			}
			if got := shFormat(out["y2"]); got != tc.y2 {
				t.Errorf("y2 = %s, want %s", got, tc.y2)
			}
		})
	}
}

// TestScanCaptures runs a Scan whose body reads a graph input and an
// initializer from the outer graph.
func TestScanCaptures(t *testing.T) {
	body := cfGraphAttr("body", []string{"s", "row"}, []string{"s2", "y"},
		importer.NodeProto("Add", []string{"s", "row"}, []string{"sr"}),
		importer.NodeProto("Add", []string{"sr", "b"}, []string{"s2"}),
		importer.NodeProto("Mul", []string{"s2", "two"}, []string{"y"}))
	two := &pb.TensorProto{DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{2}}
	mp := shModel(11, []shInput{{"s0", tensor.New(tensor.Float32, tensor.Shape{2})}, {"xs", tensor.New(tensor.Float32, tensor.Shape{3, 2})}, {"b", tensor.New(tensor.Float32, tensor.Shape{2})}},
		map[string]*pb.TensorProto{"two": two}, []string{"s", "ys"},
		importer.NodeProto("Scan", []string{"s0", "xs"}, []string{"s", "ys"}, body, importer.IntAttr("num_scan_inputs", 1)))
	m := loadModel(t, mp)
	out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"s0": cfF32(tensor.Shape{2}, 0, 0),
		"xs": cfF32(tensor.Shape{3, 2}, 1, 2, 3, 4, 5, 6), "b": cfF32(tensor.Shape{2}, 10, 20)})
	if err != nil {
		t.Fatal(err)
	}
	// s: [11 22] -> [24 46] -> [39 72]; ys doubles each.
	if got, want := shFormat(out["s"]), "float32[2][39 72]"; got != want {
		t.Errorf("s = %s, want %s", got, want)
	}
	if got, want := shFormat(out["ys"]), "float32[3,2][22 44 48 92 78 144]"; got != want {
		t.Errorf("ys = %s, want %s", got, want)
	}
}

// TestSequences runs a model that splits a matrix into a sequence of rows,
// maps a body reading an outer value over it, and joins the rows again,
// and one that takes and returns a sequence.
func TestSequences(t *testing.T) {
	body := cfGraphAttr("body", []string{"r"}, []string{"r2"}, importer.NodeProto("Add", []string{"r", "b"}, []string{"r2"}))
	mp := shModel(17, []shInput{{"xs", tensor.New(tensor.Float32, tensor.Shape{2, 3})}, {"b", tensor.New(tensor.Float32, tensor.Shape{3})}}, nil, []string{"y", "len"},
		importer.NodeProto("SplitToSequence", []string{"xs"}, []string{"rows"}, importer.IntAttr("keepdims", 0)),
		importer.NodeProto("SequenceMap", []string{"rows"}, []string{"rows2"}, body),
		importer.NodeProto("SequenceLength", []string{"rows2"}, []string{"len"}),
		importer.NodeProto("ConcatFromSequence", []string{"rows2"}, []string{"y"}, importer.IntAttr("axis", 0), importer.IntAttr("new_axis", 1)))
	m := loadModel(t, mp)
	out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{
		"xs": cfF32(tensor.Shape{2, 3}, 1, 2, 3, 4, 5, 6), "b": cfF32(tensor.Shape{3}, 10, 20, 30)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shFormat(out["y"]), "float32[2,3][11 22 33 14 25 36]"; got != want {
		t.Errorf("y = %s, want %s", got, want)
	}
	if got, want := shFormat(out["len"]), "int64[][2]"; got != want {
		t.Errorf("len = %s, want %s", got, want)
	}

	seqType := &pb.TypeProto{Value: &pb.TypeProto_SequenceType{SequenceType: &pb.TypeProto_Sequence{}}}
	mp = shModel(17, nil, nil, []string{"s2", "first"},
		importer.NodeProto("SequenceInsert", []string{"s", "extra"}, []string{"s2"}),
		importer.NodeProto("SequenceAt", []string{"s", "zero"}, []string{"first"}))
	mp.Graph.Input = []*pb.ValueInfoProto{{Name: "s", Type: seqType}, {Name: "extra", Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: int32(pb.TensorProto_FLOAT)}}}}}
	mp.Graph.Initializer = []*pb.TensorProto{{Name: "zero", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{0}}}
	mp.Graph.Output[0].Type = seqType
	m = loadModel(t, mp)
	sig, _ := m.Signature(importer.Signature)
	if sig.Inputs[0].DType != tensor.Sequence {
		t.Errorf("input s is %v, want sequence", sig.Inputs[0].DType)
	}
	a := cfF32(tensor.Shape{1}, 7)
	out, err = m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"s": tensor.NewSequence(a), "extra": cfF32(tensor.Shape{2}, 8, 9)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out["s2"].Elems().String(), "[float32[1][7] float32[2][8 9]]"; got != want {
		t.Errorf("s2 = %s, want %s", got, want)
	}
	if got, want := shFormat(out["first"]), "float32[1][7]"; got != want {
		t.Errorf("first = %s, want %s", got, want)
	}
	var into engine.Outputs
	if err := m.RunInto(context.Background(), importer.Signature, map[string]*tensor.Tensor{"s": tensor.NewSequence(a), "extra": a}, &into); err != nil {
		t.Fatal(err)
	}
	if got, want := into.Get("s2").Elems().String(), "[float32[1][7] float32[1][7]]"; got != want {
		t.Errorf("RunInto s2 = %s, want %s", got, want)
	}
	if into.Get("s2").Elems()[0] == a {
		t.Error("RunInto returns the caller's element instead of a copy")
	}
	_, err = m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{"s": a, "extra": a})
	if !errors.Is(err, engine.ErrInvalidInput) {
		t.Errorf("tensor fed for a sequence: err = %v, want ErrInvalidInput", err)
	}
}

// TestSequenceProtos converts test-data sequences and optionals.
func TestSequenceProtos(t *testing.T) {
	tp := &pb.TensorProto{Dims: []int64{2}, DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{1, 2}}
	seq := &pb.SequenceProto{ElemType: int32(pb.SequenceProto_TENSOR), TensorValues: []*pb.TensorProto{tp, tp}}
	s, err := importer.SequenceFromProto(seq, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Elems().String(), "[int64[2][1 2] int64[2][1 2]]"; got != want {
		t.Errorf("sequence = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		name string
		op   *pb.OptionalProto
		want string
	}{
		{"empty", &pb.OptionalProto{}, "[]"},
		{"tensor", &pb.OptionalProto{ElemType: int32(pb.OptionalProto_TENSOR), TensorValue: tp}, "[int64[2][1 2]]"},
		{"sequence", &pb.OptionalProto{ElemType: int32(pb.OptionalProto_SEQUENCE), SequenceValue: seq},
			"[sequence[2][int64[2][1 2] int64[2][1 2]]]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := importer.OptionalFromProto(tc.op, "")
			if err != nil {
				t.Fatal(err)
			}
			if o.DType() != tensor.Optional || o.Elems().String() != tc.want {
				t.Errorf("optional = %v %s, want %s", o, o.Elems(), tc.want)
			}
		})
	}
}

// TestControlFlowRefuses checks import errors: a sub-graph reading a name
// nothing defines, and a missing body.
func TestControlFlowRefuses(t *testing.T) {
	then := cfGraphAttr("then_branch", nil, []string{"t"}, importer.NodeProto("Neg", []string{"nowhere"}, []string{"t"}))
	els := cfGraphAttr("else_branch", nil, []string{"x"})
	mp := shModel(13, []shInput{{"x", tensor.New(tensor.Float32, tensor.Shape{1})}}, nil, []string{"y"},
		importer.NodeProto("Cast", []string{"x"}, []string{"c"}, importer.IntAttr("to", int64(pb.TensorProto_BOOL))),
		importer.NodeProto("If", []string{"c"}, []string{"y"}, then, els))
	if _, err := importer.Import(mp, ""); !errors.Is(err, engine.ErrInvalidModel) || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("unknown name: err = %v", err)
	}
	mp = shModel(13, []shInput{{"x", tensor.New(tensor.Float32, tensor.Shape{1})}}, nil, []string{"y"},
		importer.NodeProto("Loop", []string{"", "", "x"}, []string{"y"}))
	if _, err := importer.Import(mp, ""); !errors.Is(err, engine.ErrInvalidModel) || !strings.Contains(err.Error(), "body") {
		t.Errorf("no body: err = %v", err)
	}
}

// TestLoopNoTrip checks a Loop that runs no iteration: its scan output is
// empty, with the element shape the body declares.
func TestLoopNoTrip(t *testing.T) {
	f := int32(pb.TensorProto_FLOAT)
	body := cfGraphAttr("body", []string{"i", "cond", "v"}, []string{"cond", "v2", "s"},
		importer.NodeProto("Neg", []string{"v"}, []string{"v2"}),
		importer.NodeProto("Identity", []string{"v"}, []string{"s"}))
	body.G.Output[2].Type = &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: f,
		Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 2}}}}}}}
	mp := shModel(13, []shInput{{"m", tensor.New(tensor.Int64, nil)}, {"v", tensor.New(tensor.Float32, tensor.Shape{2})}}, nil, []string{"vf", "ss"},
		importer.NodeProto("Loop", []string{"m", "", "v"}, []string{"vf", "ss"}, body))
	m := loadModel(t, mp)
	for _, tc := range []struct {
		trips  int64
		vf, ss string
	}{
		{0, "float32[2][1 2]", "float32[0,2][]"},
		{3, "float32[2][-1 -2]", "float32[3,2][1 2 -1 -2 1 2]"},
	} {
		out, err := m.Run(context.Background(), importer.Signature, map[string]*tensor.Tensor{
			"m": tensor.MustFromSlice(tensor.Shape{}, []int64{tc.trips}), "v": cfF32(tensor.Shape{2}, 1, 2)})
		if err != nil {
			t.Fatal(err)
		}
		if got := shFormat(out["vf"]); got != tc.vf {
			t.Errorf("%d trips: vf = %s, want %s", tc.trips, got, tc.vf)
		}
		if got := shFormat(out["ss"]); got != tc.ss {
			t.Errorf("%d trips: ss = %s, want %s", tc.trips, got, tc.ss)
		}
	}
}
