package importer_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
)

// fuzzSeeds are tiny hand-built models the fuzzer starts from besides the
// conformance models.
func fuzzSeeds() []*pb.ModelProto {
	x := hostileVI("x", 1, 1, 4, 4)
	shape := &pb.TensorProto{Name: "s", DataType: int32(pb.TensorProto_INT64), Dims: []int64{2}, Int64Data: []int64{2, 3}}
	return []*pb.ModelProto{
		hostileGraph([]*pb.ValueInfoProto{x}, nil, importer.NodeProto("Relu", []string{"x"}, []string{"y"})),
		hostileGraph(nil, []*pb.TensorProto{shape}, importer.NodeProto("ConstantOfShape", []string{"s"}, []string{"y"})),
		hostileGraph([]*pb.ValueInfoProto{x}, []*pb.TensorProto{shape}, importer.NodeProto("Reshape", []string{"x", "s"}, []string{"y"})),
		hostileGraph([]*pb.ValueInfoProto{x}, []*pb.TensorProto{shape}, importer.NodeProto("Expand", []string{"x", "s"}, []string{"y"})),
		hostileGraph([]*pb.ValueInfoProto{x}, nil, importer.NodeProto("Transpose", []string{"x"}, []string{"y"}, importer.IntsAttr("perm", 0, 2, 1, 3))),
		hostileGraph([]*pb.ValueInfoProto{x}, nil, importer.NodeProto("Softmax", []string{"x"}, []string{"y"}, importer.IntAttr("axis", 1))),
		hostileGraph([]*pb.ValueInfoProto{x}, nil, importer.NodeProto("MaxPool", []string{"x"}, []string{"y"}, importer.IntsAttr("kernel_shape", 2, 2))),
	}
}

// FuzzImport feeds arbitrary bytes to the importer as a model: importing,
// loading and running it once on zero inputs must end in an error or a
// result, never a panic, and import and load errors must wrap an engine
// sentinel.
func FuzzImport(f *testing.F) {
	for _, mp := range fuzzSeeds() {
		data, err := proto.Marshal(mp)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint8(0), uint8(0), uint8(0), int64(0))
	}
	if root := hostileData(); root != "" {
		for _, name := range hostileSeeds {
			if mp := readSeed(root, name); mp != nil {
				if data, err := proto.Marshal(mp); err == nil {
					f.Add(data, uint8(0), uint8(0), uint8(0), int64(0))
					f.Add(data, uint8(1), uint8(0), uint8(0), int64(-1))
					f.Add(data, uint8(2), uint8(0), uint8(1), int64(1<<40))
					f.Add(data, uint8(3), uint8(0), uint8(0), int64(3))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, op, node, item uint8, v int64) {
		var mp pb.ModelProto
		if proto.Unmarshal(data, &mp) != nil {
			return
		}
		fuzzEdit(&mp, op, int(node), int(item), v)
		res := tryHostile(&mp, t.TempDir(), 2*time.Second)
		if res.panic != "" {
			t.Fatalf("panic in %s", res.panic)
		}
		if res.err != nil && res.stage != "run" && !hostileLoadErr(res.err) {
			t.Fatalf("%s error wraps no engine sentinel: %v", res.stage, res.err)
		}
	})
}

// fuzzEdit applies one structured edit to mp, so that the fuzzer explores
// attribute values and initializer contents as well as bytes: op 1 sets an
// int attribute, 2 an element of an ints attribute, 3 an int64
// initializer element, 4 drops an input, 5 drops an attribute; 0 and the
// rest leave mp alone.
func fuzzEdit(mp *pb.ModelProto, op uint8, node, item int, v int64) {
	g := mp.GetGraph()
	if g == nil {
		return
	}
	if op == 3 {
		if len(g.Initializer) == 0 {
			return
		}
		init := g.Initializer[node%len(g.Initializer)]
		if len(init.Int64Data) > 0 {
			init.Int64Data[item%len(init.Int64Data)] = v
		}
		return
	}
	if len(g.Node) == 0 {
		return
	}
	n := g.Node[node%len(g.Node)]
	switch op {
	case 1, 2, 5:
		if len(n.Attribute) == 0 {
			return
		}
		j := item % len(n.Attribute)
		a := n.Attribute[j]
		switch {
		case op == 5:
			n.Attribute = append(n.Attribute[:j:j], n.Attribute[j+1:]...)
		case op == 1:
			a.I = v
		case len(a.Ints) > 0:
			a.Ints[(item/len(n.Attribute))%len(a.Ints)] = v
		}
	case 4:
		if len(n.Input) > 0 {
			j := item % len(n.Input)
			n.Input = append(n.Input[:j:j], n.Input[j+1:]...)
		}
	}
}
