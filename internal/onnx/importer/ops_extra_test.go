package importer_test

import (
	"context"
	"fmt"
	"testing"

	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// xtRun imports a one-node model of the given opset whose graph inputs
// are fed from feeds (in order) and returns its outputs printed as
// dtype, shape and values.
func xtRun(t *testing.T, opset int64, node *pb.NodeProto, feeds []string, values []*tensor.Tensor, inits map[string]*pb.TensorProto) []string {
	t.Helper()
	g := &pb.GraphProto{Node: []*pb.NodeProto{node}}
	in := map[string]*tensor.Tensor{}
	for i, name := range feeds {
		g.Input = append(g.Input, &pb.ValueInfoProto{Name: name})
		in[name] = values[i]
	}
	for name, tp := range inits {
		tp.Name = name
		g.Initializer = append(g.Initializer, tp)
	}
	for _, o := range node.Output {
		if o != "" {
			g.Output = append(g.Output, &pb.ValueInfoProto{Name: o})
		}
	}
	mp := &pb.ModelProto{IrVersion: 7, OpsetImport: []*pb.OperatorSetIdProto{{Version: opset}}, Graph: g}
	m := loadModel(t, mp)
	out, err := m.Run(context.Background(), importer.Signature, in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range node.Output {
		if o == "" {
			continue
		}
		v, ok := out[o]
		if !ok {
			t.Fatalf("no output %q", o)
		}
		got = append(got, fmt.Sprintf("%v%v%v", v.DType(), v.Shape(), v.Data()))
	}
	return got
}

func TestExtraConverters(t *testing.T) {
	x := tensor.MustFromSlice(tensor.Shape{1, 1, 2, 2}, []float32{1, 2, 3, 4})
	f32s := func(dims []int64, v ...float32) *pb.TensorProto {
		return &pb.TensorProto{Dims: dims, DataType: int32(pb.TensorProto_FLOAT), FloatData: v}
	}
	cases := []struct {
		name   string
		opset  int64
		node   *pb.NodeProto
		feeds  []string
		values []*tensor.Tensor
		inits  map[string]*pb.TensorProto
		want   []string
	}{
		{"Upsample-1 height and width scales", 1,
			&pb.NodeProto{OpType: "Upsample", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatAttr("height_scale", 1), importer.FloatAttr("width_scale", 2)}},
			[]string{"x"}, []*tensor.Tensor{x}, nil, []string{"float32[1,1,2,4][1 1 2 2 3 3 4 4]"}},
		{"Upsample-7 scales attribute", 7,
			&pb.NodeProto{OpType: "Upsample", Input: []string{"x"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.FloatsAttr("scales", 1, 1, 2, 1)}},
			[]string{"x"}, []*tensor.Tensor{x}, nil, []string{"float32[1,1,4,2][1 2 1 2 3 4 3 4]"}},
		{"Upsample-9 scales input, linear is asymmetric", 9,
			&pb.NodeProto{OpType: "Upsample", Input: []string{"x", "s"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{importer.StringAttr("mode", "linear")}},
			[]string{"x"}, []*tensor.Tensor{x}, map[string]*pb.TensorProto{"s": f32s([]int64{4}, 1, 1, 1, 2)},
			[]string{"float32[1,1,2,4][1 1.5 2 2 3 3.5 4 4]"}},
		{"Resize-13 with absent roi and scales", 13,
			&pb.NodeProto{OpType: "Resize", Input: []string{"x", "", "", "sz"}, Output: []string{"y"}},
			[]string{"x"}, []*tensor.Tensor{x}, map[string]*pb.TensorProto{"sz": {Dims: []int64{4}, DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{1, 1, 1, 4}}},
			[]string{"float32[1,1,1,4][1 1 2 2]"}},
		{"RNN with only Y_h bound", 7,
			&pb.NodeProto{OpType: "RNN", Input: []string{"x", "w", "r"}, Output: []string{"", "h"}, Attribute: []*pb.AttributeProto{
				{Name: "hidden_size", Type: pb.AttributeProto_INT, I: 1}, {Name: "activations", Type: pb.AttributeProto_STRINGS, Strings: [][]byte{[]byte("Relu")}}}},
			[]string{"x"}, []*tensor.Tensor{tensor.MustFromSlice(tensor.Shape{2, 1, 1}, []float32{1, -4})},
			map[string]*pb.TensorProto{"w": f32s([]int64{1, 1, 1}, 2), "r": f32s([]int64{1, 1, 1}, 1)},
			[]string{"float32[1,1,1][0]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := xtRun(t, c.opset, c.node, c.feeds, c.values, c.inits)
			for i := range c.want {
				if got[i] != c.want[i] {
					t.Errorf("output %d = %s, want %s", i, got[i], c.want[i])
				}
			}
		})
	}
}
