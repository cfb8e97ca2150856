package importer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// trModel builds a one-node model importing the given opsets, whose graph
// inputs are the node's inputs and whose outputs are the node's outputs.
func trModel(opsets []*pb.OperatorSetIdProto, node *pb.NodeProto) *pb.ModelProto {
	g := &pb.GraphProto{Node: []*pb.NodeProto{node}}
	for _, in := range node.Input {
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: in})
	}
	for _, out := range node.Output {
		g.Output = append(g.Output, &pb.ValueInfoProto{Name: out})
	}
	return &pb.ModelProto{IrVersion: 7, OpsetImport: opsets, Graph: g}
}

// trTraining imports only version v of the training domain.
func trTraining(v int64) []*pb.OperatorSetIdProto {
	return []*pb.OperatorSetIdProto{{Domain: "ai.onnx.preview.training", Version: v}}
}

// TestTrainingOptimizers imports and runs the optimizers of the training
// domain in models that import no default-domain opset, as ONNX's own
// test models do.
func TestTrainingOptimizers(t *testing.T) {
	scalar := func(v float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []float32{v}) }
	vec := func(v ...float32) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{len(v)}, v) }
	step := func(v int64) *tensor.Tensor { return tensor.MustFromSlice(tensor.Shape{}, []int64{v}) }
	mom := []*pb.AttributeProto{importer.FloatAttr("norm_coefficient", 0.25), importer.FloatAttr("alpha", 0.5), importer.FloatAttr("beta", 0.75),
		{Name: "mode", Type: pb.AttributeProto_STRING, S: []byte("nesterov")}}
	cases := []struct {
		name   string
		node   *pb.NodeProto
		values []*tensor.Tensor
		want   []string
	}{
		{"Adagrad", &pb.NodeProto{OpType: "Adagrad", Domain: "ai.onnx.preview.training",
			Input: []string{"R", "T", "X", "G", "H"}, Output: []string{"X_new", "H_new"},
			Attribute: []*pb.AttributeProto{importer.FloatAttr("epsilon", 0), importer.FloatAttr("decay_factor", 1)}},
			[]*tensor.Tensor{scalar(1), step(1), vec(1, 2), vec(4, 3), vec(9, 0)},
			[]string{"float32[2][0.6 1.5]", "float32[2][25 9]"}},
		{"Adam of two tensors", &pb.NodeProto{OpType: "Adam", Domain: "ai.onnx.preview.training",
			Input:     []string{"R", "T", "X1", "X2", "G1", "G2", "V1", "V2", "H1", "H2"},
			Output:    []string{"X1_new", "X2_new", "V1_new", "V2_new", "H1_new", "H2_new"},
			Attribute: []*pb.AttributeProto{importer.FloatAttr("alpha", 0.5), importer.FloatAttr("beta", 0.5), importer.FloatAttr("epsilon", 0)}},
			[]*tensor.Tensor{scalar(1), step(0), vec(1), vec(2, 3), vec(2), vec(4, -4), vec(0), vec(0, 2), vec(4), vec(16, 16)},
			[]string{"float32[1][0.5]", "float32[2][1.5 3.25]", "float32[1][1]", "float32[2][2 -1]", "float32[1][4]", "float32[2][16 16]"}},
		{"Momentum nesterov", &pb.NodeProto{OpType: "Momentum", Domain: "ai.onnx.preview.training",
			Input: []string{"R", "T", "X", "G", "V"}, Output: []string{"X_new", "V_new"}, Attribute: mom},
			[]*tensor.Tensor{scalar(0.5), step(1), vec(1, 4), vec(2, -1), vec(3, 0)},
			[]string{"float32[2][-0.921875 4]", "float32[2][3.1875 0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := loadModel(t, trModel(trTraining(1), c.node))
			in := map[string]*tensor.Tensor{}
			for i, name := range c.node.Input {
				in[name] = c.values[i]
			}
			out, err := m.Run(context.Background(), importer.Signature, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, name := range c.node.Output {
				v, ok := out[name]
				if !ok {
					t.Fatalf("no output %q", name)
				}
				if got := fmt.Sprintf("%v%v%v", v.DType(), v.Shape(), v.Data()); got != c.want[i] {
					t.Errorf("%s = %s, want %s", name, got, c.want[i])
				}
			}
		})
	}
}

// TestTrainingRefuses checks the errors for ops of other domains and for
// malformed training nodes.
func TestTrainingRefuses(t *testing.T) {
	adagrad := func(domain string, inputs ...string) *pb.NodeProto {
		return &pb.NodeProto{Name: "opt", OpType: "Adagrad", Domain: domain, Input: inputs, Output: []string{"X_new", "H_new"}}
	}
	momentum := &pb.NodeProto{Name: "opt", OpType: "Momentum", Domain: "ai.onnx.preview.training",
		Input: []string{"R", "T", "X", "G", "V"}, Output: []string{"X_new", "V_new"}}
	cases := []struct {
		name     string
		opsets   []*pb.OperatorSetIdProto
		node     *pb.NodeProto
		sentinel error
		want     []string
	}{
		{"an op of an unknown domain", []*pb.OperatorSetIdProto{{Domain: "com.example", Version: 1}},
			adagrad("com.example", "R", "T", "X", "G", "H"), engine.ErrUnsupported, []string{"Adagrad", `"com.example"`, "opt"}},
		{"an unknown op of the training domain", trTraining(1),
			&pb.NodeProto{Name: "opt", OpType: "Gradient", Domain: "ai.onnx.preview.training", Input: []string{"X"}, Output: []string{"Y"}},
			engine.ErrUnsupported, []string{"Gradient", `"ai.onnx.preview.training"`}},
		{"a training op the model does not import", []*pb.OperatorSetIdProto{{Version: 13}},
			adagrad("ai.onnx.preview.training", "R", "T", "X", "G", "H"), engine.ErrInvalidModel, []string{"Adagrad", "imports no opset"}},
		{"a later version of the training domain", trTraining(2),
			adagrad("ai.onnx.preview.training", "R", "T", "X", "G", "H"), engine.ErrUnsupported, []string{"Adagrad", "opset 2"}},
		{"a missing state tensor", trTraining(1),
			adagrad("ai.onnx.preview.training", "R", "T", "X", "G"), engine.ErrInvalidModel, []string{"4 inputs"}},
		{"momentum without its attributes", trTraining(1), momentum, nil, []string{"alpha"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec, err := importer.Import(trModel(c.opsets, c.node), t.TempDir())
			if err == nil {
				_, err = engine.LoadGraph(context.Background(), spec, engine.Options{Threads: 1})
			}
			if err == nil {
				t.Fatal("loaded")
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %v is not %v", err, c.sentinel)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
}
