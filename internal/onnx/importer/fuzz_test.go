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
		f.Add(data)
	}
	if root := hostileData(); root != "" {
		for _, name := range hostileSeeds {
			if mp := readSeed(root, name); mp != nil {
				if data, err := proto.Marshal(mp); err == nil {
					f.Add(data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var mp pb.ModelProto
		if proto.Unmarshal(data, &mp) != nil {
			return
		}
		res := tryHostile(&mp, t.TempDir(), 2*time.Second)
		if res.panic != "" {
			t.Fatalf("panic in %s", res.panic)
		}
		if res.err != nil && res.stage != "run" && !hostileLoadErr(res.err) {
			t.Fatalf("%s error wraps no engine sentinel: %v", res.stage, res.err)
		}
	})
}
