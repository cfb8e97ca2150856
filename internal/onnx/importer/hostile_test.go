package importer_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/kernels"
	"inferd/internal/onnx/importer"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// hostileData finds the directory of libonnx-testdata's categories, or ""
// when the package is not installed.
func hostileData() string {
	if d := os.Getenv("INFERD_ONNX_TESTDATA"); d != "" {
		return d
	}
	out, err := exec.Command("dpkg", "-L", "libonnx-testdata").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasSuffix(line, "/data/node") {
			return filepath.Dir(line)
		}
	}
	return ""
}

// hostileSeeds names the conformance models the hostile-model tests start
// from: ops with shape, axis and size attributes or inputs.
var hostileSeeds = []string{
	"node/test_constantofshape_float_ones", "node/test_expand_dim_changed", "node/test_tile",
	"node/test_range_float_type_positive_delta", "node/test_reshape_reduced_dims", "node/test_slice",
	"node/test_gather_0", "node/test_gather_elements_0", "node/test_gathernd_example_int32",
	"node/test_scatter_elements_with_axis", "node/test_transpose_default", "node/test_concat_2d_axis_0",
	"node/test_split_equal_parts_1d", "node/test_squeeze", "node/test_unsqueeze_axis_0",
	"node/test_flatten_axis0", "node/test_constant_pad", "node/test_conv_with_strides_padding",
	"node/test_maxpool_2d_pads", "node/test_averagepool_2d_strides", "node/test_reduce_sum_keepdims_example",
	"node/test_top_k", "node/test_onehot_with_axis", "node/test_cumsum_1d", "node/test_depthtospace_example",
	"node/test_softmax_axis_0", "node/test_gemm_default_matrix_bias", "node/test_lstm_defaults",
	"node/test_resize_upsample_scales_nearest", "node/test_einsum_transpose", "node/test_argmax_default_axis_example",
	"node/test_convtranspose", "node/test_lrn", "node/test_if", "node/test_loop11", "node/test_nonzero_example",
	"node/test_compress_0", "node/test_eyelike_with_dtype", "node/test_spacetodepth", "node/test_batchnorm_example",
}

// outcome3 is what one hostile model did: the first error of import, load
// or run, and whether a panic escaped.
type hostileResult struct {
	stage string // "import", "load", "run" or "" when it ran
	err   error
	panic string
}

// tryHostile imports, loads and (when that succeeds) runs mp once on zero
// inputs of the declared dtypes, unknown dimensions being 1. It recovers a
// panic so the caller can report it.
func tryHostile(mp *pb.ModelProto, dir string, timeout time.Duration) (res hostileResult) {
	defer func() {
		if r := recover(); r != nil {
			res.panic = fmt.Sprintf("%s: %v\n%s", res.stage, r, debug.Stack())
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res.stage = "import"
	spec, err := importer.Import(mp, dir)
	if err != nil {
		res.err = err
		return res
	}
	res.stage = "load"
	m, err := engine.LoadGraph(ctx, spec, engine.Options{Threads: 1})
	if err != nil {
		res.err = err
		return res
	}
	sig, ok := m.Signature(importer.Signature)
	if !ok {
		res.err = errors.New("no signature")
		return res
	}
	res.stage = "run"
	ins := map[string]*tensor.Tensor{}
	for _, s := range sig.Inputs {
		ins[s.Name] = zeroInput(s)
	}
	_, res.err = m.Run(ctx, importer.Signature, ins)
	if res.err == nil {
		res.stage = ""
	}
	return res
}

// zeroInput is a small zero tensor that matches spec.
func zeroInput(s engine.TensorSpec) *tensor.Tensor {
	switch s.DType {
	case tensor.Sequence:
		return tensor.NewSequence()
	case tensor.Optional:
		return tensor.NewOptional(nil)
	}
	dt := s.DType
	if dt == tensor.Invalid {
		dt = tensor.Float32
	}
	shape := make(tensor.Shape, len(s.Shape))
	for i, d := range s.Shape {
		shape[i] = 1
		if d >= 0 && d <= 64 {
			shape[i] = int(d)
		}
	}
	return tensor.New(dt, shape)
}

// sentinelErr reports whether err wraps one of the engine's sentinels.
func sentinelErr(err error) bool {
	return errors.Is(err, engine.ErrInvalidModel) || errors.Is(err, engine.ErrUnsupported) || errors.Is(err, engine.ErrInvalidInput)
}

// hostileLoadErr reports whether an import or load error is one the
// engine classifies: an engine sentinel, or the kernels' invalid-argument
// error the engine passes on when a kernel rejects its attributes.
func hostileLoadErr(err error) bool {
	return sentinelErr(err) || errors.Is(err, kernels.ErrInvalidArgument)
}

// readSeed reads one conformance model, or returns nil when absent.
func readSeed(root, name string) *pb.ModelProto {
	data, err := os.ReadFile(filepath.Join(root, name, "model.onnx"))
	if err != nil {
		return nil
	}
	var mp pb.ModelProto
	if proto.Unmarshal(data, &mp) != nil {
		return nil
	}
	return &mp
}

// mutations lists systematic damage to mp's top-level graph: each
// attribute dropped, each input dropped, each int attribute set to -1 and
// 1<<40, each ints element set to -1 and 1<<40, each initializer's data
// truncated. Each entry returns a fresh, damaged copy.
func mutations(mp *pb.ModelProto) map[string]func() *pb.ModelProto {
	out := map[string]func() *pb.ModelProto{}
	edit := func(f func(*pb.GraphProto)) func() *pb.ModelProto {
		return func() *pb.ModelProto {
			c := proto.Clone(mp).(*pb.ModelProto)
			f(c.GetGraph())
			return c
		}
	}
	for i, n := range mp.GetGraph().GetNode() {
		for j, a := range n.GetAttribute() {
			out[fmt.Sprintf("node %d %s: drop attr %s", i, n.GetOpType(), a.GetName())] = edit(func(g *pb.GraphProto) {
				nn := g.Node[i]
				nn.Attribute = append(nn.Attribute[:j:j], nn.Attribute[j+1:]...)
			})
			for _, ty := range []pb.AttributeProto_AttributeType{pb.AttributeProto_FLOAT, pb.AttributeProto_INTS, pb.AttributeProto_STRING, pb.AttributeProto_GRAPH} {
				if ty == a.GetType() {
					continue
				}
				out[fmt.Sprintf("node %d %s: attr %s retyped %v", i, n.GetOpType(), a.GetName(), ty)] = edit(func(g *pb.GraphProto) {
					g.Node[i].Attribute[j].Type = ty
				})
			}
			if len(a.GetInts()) > 0 {
				out[fmt.Sprintf("node %d %s: attr %s shortened", i, n.GetOpType(), a.GetName())] = edit(func(g *pb.GraphProto) {
					g.Node[i].Attribute[j].Ints = g.Node[i].Attribute[j].Ints[1:]
				})
			}
			for _, v := range []int64{-1, 1 << 40} {
				switch a.GetType() {
				case pb.AttributeProto_INT:
					out[fmt.Sprintf("node %d %s: attr %s=%d", i, n.GetOpType(), a.GetName(), v)] = edit(func(g *pb.GraphProto) {
						g.Node[i].Attribute[j].I = v
					})
				case pb.AttributeProto_INTS:
					for k := range a.GetInts() {
						out[fmt.Sprintf("node %d %s: attr %s[%d]=%d", i, n.GetOpType(), a.GetName(), k, v)] = edit(func(g *pb.GraphProto) {
							g.Node[i].Attribute[j].Ints[k] = v
						})
					}
				}
			}
		}
		for j := range n.GetInput() {
			out[fmt.Sprintf("node %d %s: drop input %d", i, n.GetOpType(), j)] = edit(func(g *pb.GraphProto) {
				nn := g.Node[i]
				nn.Input = append(nn.Input[:j:j], nn.Input[j+1:]...)
			})
			out[fmt.Sprintf("node %d %s: blank input %d", i, n.GetOpType(), j)] = edit(func(g *pb.GraphProto) {
				g.Node[i].Input[j] = ""
			})
		}
	}
	for i, init := range mp.GetGraph().GetInitializer() {
		for k := range init.GetInt64Data() {
			for _, v := range []int64{-1, 1 << 40} {
				out[fmt.Sprintf("initializer %d[%d]=%d", i, k, v)] = edit(func(g *pb.GraphProto) {
					g.Initializer[i].Int64Data[k] = v
				})
			}
		}
		if init.GetDataType() == int32(pb.TensorProto_INT64) && len(init.GetRawData()) >= 8 && len(init.GetRawData()) <= 64 {
			for k := 0; k < len(init.GetRawData())/8; k++ {
				for _, v := range []int64{-1, 1 << 40} {
					out[fmt.Sprintf("initializer %d[%d]=%d", i, k, v)] = edit(func(g *pb.GraphProto) {
						raw := g.Initializer[i].RawData
						for b := 0; b < 8; b++ {
							raw[8*k+b] = byte(uint64(v) >> (8 * b))
						}
					})
				}
			}
		}
	}
	for i := range mp.GetGraph().GetInitializer() {
		out[fmt.Sprintf("initializer %d: truncated", i)] = edit(func(g *pb.GraphProto) {
			t := g.Initializer[i]
			switch {
			case len(t.RawData) > 0:
				t.RawData = t.RawData[:len(t.RawData)/2]
			case len(t.FloatData) > 0:
				t.FloatData = t.FloatData[:len(t.FloatData)/2]
			case len(t.Int64Data) > 0:
				t.Int64Data = t.Int64Data[:len(t.Int64Data)/2]
			case len(t.Int32Data) > 0:
				t.Int32Data = t.Int32Data[:len(t.Int32Data)/2]
			default:
				t.Dims = append(t.Dims, 3)
			}
		})
	}
	return out
}

// TestHostileMutations damages conformance models systematically and
// checks that importing, loading and running them never panics, and that
// import and load errors wrap an engine sentinel.
func TestHostileMutations(t *testing.T) {
	root := hostileData()
	if root == "" {
		t.Skip("libonnx-testdata is not installed")
	}
	budget := time.Now().Add(8 * time.Second)
	seeds := hostileSeeds
	if os.Getenv("INFERD_HOSTILE_ALL") != "" {
		// A longer hunt, by hand: every conformance model that passes.
		budget = time.Now().Add(10 * time.Minute)
		seeds = nil
		for _, id := range readLines(t, passingFile) {
			seeds = append(seeds, id)
		}
	}
	tried := 0
	for _, name := range seeds {
		mp := readSeed(root, name)
		if mp == nil {
			t.Logf("%s: absent", name)
			continue
		}
		for label, mk := range mutations(mp) {
			if time.Now().After(budget) {
				t.Logf("time budget spent after %d mutations", tried)
				return
			}
			tried++
			if os.Getenv("INFERD_HOSTILE_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "hostile: %s, %s\n", name, label)
			}
			res := tryHostile(mk(), t.TempDir(), 2*time.Second)
			switch {
			case res.panic != "":
				t.Errorf("%s, %s: panic in %s", name, label, res.panic)
			case res.err != nil && res.stage != "run" && !hostileLoadErr(res.err):
				t.Errorf("%s, %s: %s error wraps no engine sentinel: %v", name, label, res.stage, res.err)
			}
		}
	}
	t.Logf("%d mutations", tried)
}

// hostileVI is a float tensor value of the given shape.
func hostileVI(name string, dims ...int64) *pb.ValueInfoProto {
	sh := &pb.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: int32(pb.TensorProto_FLOAT), Shape: sh}}}}
}

// hostileGraph is an opset-13 model of nodes over inputs and initializers
// with the one output "y".
func hostileGraph(inputs []*pb.ValueInfoProto, inits []*pb.TensorProto, nodes ...*pb.NodeProto) *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}},
		Graph: &pb.GraphProto{Node: nodes, Input: inputs, Initializer: inits,
			Output: []*pb.ValueInfoProto{{Name: "y"}}},
	}
}

// TestHostileModels holds the malformed models the fuzz and mutation
// tests found crashing, each of which must now fail with an error at the
// stage named (or run, when stage is "").
func TestHostileModels(t *testing.T) {
	convW := &pb.TensorProto{Name: "w", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{1, 1, 3, 3}, FloatData: make([]float32, 9)}
	for _, c := range []struct {
		name  string
		mp    *pb.ModelProto
		stage string
	}{
		{"Conv with huge pads", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 5, 5)}, []*pb.TensorProto{convW},
			importer.NodeProto("Conv", []string{"x", "w"}, []string{"y"}, importer.IntsAttr("pads", 0, 0, 1<<40, 1<<40))), "run"},
		{"Conv with negative pads", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 5, 5)}, []*pb.TensorProto{convW},
			importer.NodeProto("Conv", []string{"x", "w"}, []string{"y"}, importer.IntsAttr("pads", -1, 0, 0, 0))), "run"},
		{"AveragePool SAME_UPPER with a huge kernel", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 5, 5)}, nil,
			importer.NodeProto("AveragePool", []string{"x"}, []string{"y"}, importer.IntsAttr("kernel_shape", 3, 1<<40), importer.StringAttr("auto_pad", "SAME_UPPER"))), "run"},
		{"ConvTranspose with huge strides", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 3, 3)}, []*pb.TensorProto{convW},
			importer.NodeProto("ConvTranspose", []string{"x", "w"}, []string{"y"}, importer.IntsAttr("strides", 1<<40, 1<<40))), "run"},
		{"ConvTranspose with huge output_padding", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 3, 3)}, []*pb.TensorProto{convW},
			importer.NodeProto("ConvTranspose", []string{"x", "w"}, []string{"y"}, importer.IntsAttr("strides", 2, 2), importer.IntsAttr("output_padding", 1<<40, 1))), "run"},
		{"MaxUnpool with a huge kernel", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 2, 2)}, []*pb.TensorProto{
			{Name: "i", DataType: int32(pb.TensorProto_INT64), Dims: []int64{1, 1, 2, 2}, Int64Data: []int64{0, 1, 2, 3}}},
			importer.NodeProto("MaxUnpool", []string{"x", "i"}, []string{"y"}, importer.IntsAttr("kernel_shape", 1<<40, 2))), "run"},
		{"RoiAlign with a huge output_height", &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 16}}, Graph: &pb.GraphProto{
			Input: []*pb.ValueInfoProto{hostileVI("x", 1, 1, 4, 4)},
			Initializer: []*pb.TensorProto{{Name: "r", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{1, 4}, FloatData: []float32{0, 0, 2, 2}},
				{Name: "b", DataType: int32(pb.TensorProto_INT64), Dims: []int64{1}, Int64Data: []int64{0}}},
			Node:   []*pb.NodeProto{importer.NodeProto("RoiAlign", []string{"x", "r", "b"}, []string{"y"}, importer.IntAttr("output_height", 1<<40))},
			Output: []*pb.ValueInfoProto{{Name: "y"}}}}, "load"},
		{"TfIdfVectorizer with a huge ngram index", hostileGraph([]*pb.ValueInfoProto{{Name: "x", Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: int32(pb.TensorProto_INT32), Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}}}}}}}}, nil,
			importer.NodeProto("TfIdfVectorizer", []string{"x"}, []string{"y"}, importer.StringAttr("mode", "TF"), importer.IntAttr("min_gram_length", 1),
				importer.IntAttr("max_gram_length", 1), importer.IntAttr("max_skip_count", 0), importer.IntsAttr("ngram_counts", 0),
				importer.IntsAttr("ngram_indexes", 1<<40), importer.IntsAttr("pool_int64s", 2))), "load"},
		{"TfIdfVectorizer with a huge max_skip_count", hostileGraph([]*pb.ValueInfoProto{{Name: "x", Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: int32(pb.TensorProto_INT32), Shape: &pb.TensorShapeProto{Dim: []*pb.TensorShapeProto_Dimension{{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: 3}}}}}}}}}, nil,
			importer.NodeProto("TfIdfVectorizer", []string{"x"}, []string{"y"}, importer.StringAttr("mode", "TF"), importer.IntAttr("min_gram_length", 2),
				importer.IntAttr("max_gram_length", 2), importer.IntAttr("max_skip_count", 1<<40), importer.IntsAttr("ngram_counts", 0),
				importer.IntsAttr("ngram_indexes", 0), importer.IntsAttr("pool_int64s", 2, 3))), "load"},
		{"MaxPool with huge pads", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 5, 5)}, nil,
			importer.NodeProto("MaxPool", []string{"x"}, []string{"y"}, importer.IntsAttr("kernel_shape", 2, 2), importer.IntsAttr("pads", 0, 0, 1<<40, 1<<40))), "run"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := tryHostile(c.mp, t.TempDir(), 5*time.Second)
			if res.panic != "" {
				t.Fatalf("panic in %s", res.panic)
			}
			if res.stage != c.stage || (c.stage != "" && res.err == nil) {
				t.Fatalf("stage %q, error %v; want an error at stage %q", res.stage, res.err, c.stage)
			}
			if c.stage == "import" && !sentinelErr(res.err) {
				t.Errorf("import error wraps no engine sentinel: %v", res.err)
			}
		})
	}
}

// hostileInt64s is an int64 initializer.
func hostileInt64s(name string, v ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: name, DataType: int32(pb.TensorProto_INT64), Dims: []int64{int64(len(v))}, Int64Data: v}
}

// TestHostileShapes checks that ops whose output size comes from a
// constant input fail on huge or negative sizes instead of exhausting
// memory or panicking.
func TestHostileShapes(t *testing.T) {
	x := []*pb.ValueInfoProto{hostileVI("x", 2, 3)}
	huge := int64(1 << 40)
	for _, c := range []struct {
		name string
		mp   *pb.ModelProto
	}{
		{"ConstantOfShape huge", hostileGraph(nil, []*pb.TensorProto{hostileInt64s("s", huge, huge)}, importer.NodeProto("ConstantOfShape", []string{"s"}, []string{"y"}))},
		{"ConstantOfShape negative", hostileGraph(nil, []*pb.TensorProto{hostileInt64s("s", -1, 2)}, importer.NodeProto("ConstantOfShape", []string{"s"}, []string{"y"}))},
		{"Expand huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("s", huge, 2, 3)}, importer.NodeProto("Expand", []string{"x", "s"}, []string{"y"}))},
		{"Expand negative", hostileGraph(x, []*pb.TensorProto{hostileInt64s("s", -5, 2, 3)}, importer.NodeProto("Expand", []string{"x", "s"}, []string{"y"}))},
		{"Tile huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("r", huge, huge)}, importer.NodeProto("Tile", []string{"x", "r"}, []string{"y"}))},
		{"Tile negative", hostileGraph(x, []*pb.TensorProto{hostileInt64s("r", -1, 1)}, importer.NodeProto("Tile", []string{"x", "r"}, []string{"y"}))},
		{"Range huge", hostileGraph(nil, []*pb.TensorProto{
			{Name: "a", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{0}},
			{Name: "b", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{huge}},
			{Name: "d", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{1}}},
			importer.NodeProto("Range", []string{"a", "b", "d"}, []string{"y"}))},
		{"Range zero delta", hostileGraph(nil, []*pb.TensorProto{
			{Name: "a", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{0}},
			{Name: "b", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{5}},
			{Name: "d", DataType: int32(pb.TensorProto_INT64), Int64Data: []int64{0}}},
			importer.NodeProto("Range", []string{"a", "b", "d"}, []string{"y"}))},
		{"Reshape huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("s", huge, huge)}, importer.NodeProto("Reshape", []string{"x", "s"}, []string{"y"}))},
		{"Pad huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("p", 0, 0, huge, huge)}, importer.NodeProto("Pad", []string{"x", "p"}, []string{"y"}))},
		{"Resize huge sizes", hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 1, 1, 2, 2)}, []*pb.TensorProto{hostileInt64s("sz", 1, 1, huge, huge)},
			importer.NodeProto("Resize", []string{"x", "", "", "sz"}, []string{"y"}))},
		{"OneHot huge depth", hostileGraph(nil, []*pb.TensorProto{hostileInt64s("i", 1), hostileInt64s("d", huge), hostileInt64s("v", 0, 1)},
			importer.NodeProto("OneHot", []string{"i", "d", "v"}, []string{"y"}))},
		{"EyeLike huge k", hostileGraph(x, nil, importer.NodeProto("EyeLike", []string{"x"}, []string{"y"}, importer.IntAttr("k", huge)))},
		{"Upsample huge scales", &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 9}}, Graph: &pb.GraphProto{
			Input:       []*pb.ValueInfoProto{hostileVI("x", 1, 1, 2, 2)},
			Initializer: []*pb.TensorProto{{Name: "sc", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{4}, FloatData: []float32{1, 1, 1e12, 1e12}}},
			Node:        []*pb.NodeProto{importer.NodeProto("Upsample", []string{"x", "sc"}, []string{"y"})},
			Output:      []*pb.ValueInfoProto{{Name: "y"}}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if os.Getenv("INFERD_HOSTILE_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "hostile: %s\n", c.name)
			}
			res := tryHostile(c.mp, t.TempDir(), 5*time.Second)
			if res.panic != "" {
				t.Fatalf("panic in %s", res.panic)
			}
			// A zero delta and a diagonal off the matrix are legal; the
			// rest must fail.
			mayRun := c.name == "Range zero delta" || c.name == "EyeLike huge k"
			if res.err == nil && res.stage == "" && !mayRun {
				t.Fatalf("ran; want an error")
			}
			if res.err != nil && res.stage != "run" && !hostileLoadErr(res.err) {
				t.Errorf("%s error wraps no engine sentinel: %v", res.stage, res.err)
			}
		})
	}
}

// hostileNested is a model whose If node nests depth If nodes in its
// then branch.
func hostileNested(depth int) *pb.ModelProto {
	cond := &pb.TensorProto{Name: "c", DataType: int32(pb.TensorProto_BOOL), Int32Data: []int32{1}}
	branch := func(body *pb.GraphProto) *pb.GraphProto {
		return body
	}
	leaf := &pb.GraphProto{Name: "leaf", Node: []*pb.NodeProto{importer.NodeProto("Identity", []string{"x"}, []string{"o"})}, Output: []*pb.ValueInfoProto{{Name: "o"}}}
	g := leaf
	for i := 0; i < depth; i++ {
		n := importer.NodeProto("If", []string{"c"}, []string{"o"})
		n.Attribute = []*pb.AttributeProto{
			{Name: "then_branch", Type: pb.AttributeProto_GRAPH, G: branch(g)},
			{Name: "else_branch", Type: pb.AttributeProto_GRAPH, G: leaf},
		}
		g = &pb.GraphProto{Name: fmt.Sprintf("g%d", i), Node: []*pb.NodeProto{n}, Output: []*pb.ValueInfoProto{{Name: "o"}}}
	}
	top := hostileGraph([]*pb.ValueInfoProto{hostileVI("x", 2)}, []*pb.TensorProto{cond}, g.Node[0])
	top.Graph.Node[0].Output = []string{"y"}
	return top
}

// TestHostileGraphs checks malformed graph structure: cycles, absurd
// opsets, deep nesting, unbounded loops, attributes of the wrong kind.
func TestHostileGraphs(t *testing.T) {
	x := []*pb.ValueInfoProto{hostileVI("x", 2, 3)}
	loopBody := &pb.GraphProto{Name: "body",
		Input:  []*pb.ValueInfoProto{{Name: "i"}, {Name: "cin"}, {Name: "v"}},
		Node:   []*pb.NodeProto{importer.NodeProto("Identity", []string{"cin"}, []string{"cout"}), importer.NodeProto("Identity", []string{"v"}, []string{"vout"})},
		Output: []*pb.ValueInfoProto{{Name: "cout"}, {Name: "vout"}}}
	loop := importer.NodeProto("Loop", []string{"", "t", "x"}, []string{"y"})
	loop.Attribute = []*pb.AttributeProto{{Name: "body", Type: pb.AttributeProto_GRAPH, G: loopBody}}
	for _, c := range []struct {
		name  string
		mp    *pb.ModelProto
		stage string // the stage that must fail, "" for any or none
	}{
		{"cycle", hostileGraph(x, nil, importer.NodeProto("Add", []string{"x", "b"}, []string{"a"}), importer.NodeProto("Relu", []string{"a"}, []string{"b"}),
			importer.NodeProto("Identity", []string{"b"}, []string{"y"})), "import"},
		{"self loop", hostileGraph(x, nil, importer.NodeProto("Relu", []string{"y"}, []string{"y"})), "import"},
		{"opset 1<<40", &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 1 << 40}}, Graph: &pb.GraphProto{}}, "import"},
		{"opset -5", &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: -5}}, Graph: &pb.GraphProto{}}, "import"},
		{"no graph", &pb.ModelProto{IrVersion: 8, OpsetImport: []*pb.OperatorSetIdProto{{Version: 13}}}, "import"},
		{"duplicate output name", hostileGraph(x, nil, importer.NodeProto("Relu", []string{"x"}, []string{"y"}), importer.NodeProto("Neg", []string{"x"}, []string{"y"})), ""},
		{"nested If 200 deep", hostileNested(200), ""},
		{"endless Loop", hostileGraph(x, []*pb.TensorProto{{Name: "t", DataType: int32(pb.TensorProto_BOOL), Int32Data: []int32{1}}}, loop), "run"},
		{"Transpose perm out of range", hostileGraph(x, nil, importer.NodeProto("Transpose", []string{"x"}, []string{"y"}, importer.IntsAttr("perm", 5, 0))), "any"},
		{"Transpose perm repeated", hostileGraph(x, nil, importer.NodeProto("Transpose", []string{"x"}, []string{"y"}, importer.IntsAttr("perm", 0, 0))), "any"},
		{"Gather axis huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("i", 0)}, importer.NodeProto("Gather", []string{"x", "i"}, []string{"y"}, importer.IntAttr("axis", 1<<40))), "any"},
		{"Gather index huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("i", 1<<40)}, importer.NodeProto("Gather", []string{"x", "i"}, []string{"y"})), "any"},
		{"Split huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("s", 1<<40, -(1<<40)+3)}, importer.NodeProto("Split", []string{"x", "s"}, []string{"y", "z"}, importer.IntAttr("axis", 1))), "any"},
		{"Slice huge step", hostileGraph(x, []*pb.TensorProto{hostileInt64s("s", 0), hostileInt64s("e", 1<<40), hostileInt64s("a", 1), hostileInt64s("st", -(1 << 62))},
			importer.NodeProto("Slice", []string{"x", "s", "e", "a", "st"}, []string{"y"})), ""},
		{"Squeeze axis huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("a", 1<<40)}, importer.NodeProto("Squeeze", []string{"x", "a"}, []string{"y"})), "any"},
		{"Unsqueeze axes repeated", hostileGraph(x, []*pb.TensorProto{hostileInt64s("a", 0, 0)}, importer.NodeProto("Unsqueeze", []string{"x", "a"}, []string{"y"})), "any"},
		{"TopK huge k", hostileGraph(x, []*pb.TensorProto{hostileInt64s("k", 1<<40)}, importer.NodeProto("TopK", []string{"x", "k"}, []string{"y", "z"})), "any"},
		{"Flatten axis huge", hostileGraph(x, nil, importer.NodeProto("Flatten", []string{"x"}, []string{"y"}, importer.IntAttr("axis", 1<<40))), "any"},
		{"Concat axis huge", hostileGraph(x, nil, importer.NodeProto("Concat", []string{"x", "x"}, []string{"y"}, importer.IntAttr("axis", -(1<<40)))), "any"},
		{"Softmax axis huge", hostileGraph(x, nil, importer.NodeProto("Softmax", []string{"x"}, []string{"y"}, importer.IntAttr("axis", 1<<40))), "any"},
		{"ReduceSum axes huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("a", 1<<40)}, importer.NodeProto("ReduceSum", []string{"x", "a"}, []string{"y"})), "any"},
		{"CumSum axis huge", hostileGraph(x, []*pb.TensorProto{hostileInt64s("a", 1<<40)}, importer.NodeProto("CumSum", []string{"x", "a"}, []string{"y"})), "any"},
		{"Einsum garbage", hostileGraph(x, nil, importer.NodeProto("Einsum", []string{"x"}, []string{"y"}, importer.StringAttr("equation", "...,,->->..."))), "any"},
		{"Constant without value", hostileGraph(nil, nil, importer.NodeProto("Constant", nil, []string{"y"})), "any"},
		{"Constant value of wrong kind", hostileGraph(nil, nil, importer.NodeProto("Constant", nil, []string{"y"}, importer.IntsAttr("value"))), "any"},
		{"Cast to unknown type", hostileGraph(x, nil, importer.NodeProto("Cast", []string{"x"}, []string{"y"}, importer.IntAttr("to", 999))), "any"},
		{"initializer dims huge", hostileGraph(x, []*pb.TensorProto{{Name: "w", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{1 << 40, 1 << 40}}},
			importer.NodeProto("Add", []string{"x", "w"}, []string{"y"})), "import"},
		{"initializer dims negative", hostileGraph(x, []*pb.TensorProto{{Name: "w", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{-1}, FloatData: []float32{1}}},
			importer.NodeProto("Add", []string{"x", "w"}, []string{"y"})), "import"},
		{"initializer raw data short", hostileGraph(x, []*pb.TensorProto{{Name: "w", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{3}, RawData: []byte{1, 2, 3}}},
			importer.NodeProto("Add", []string{"x", "w"}, []string{"y"})), "import"},
		{"initializer external data escapes", hostileGraph(x, []*pb.TensorProto{{Name: "w", DataType: int32(pb.TensorProto_FLOAT), Dims: []int64{3}, DataLocation: pb.TensorProto_EXTERNAL,
			ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: "../../../../etc/passwd"}}}},
			importer.NodeProto("Add", []string{"x", "w"}, []string{"y"})), "import"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if os.Getenv("INFERD_HOSTILE_TRACE") != "" {
				fmt.Fprintf(os.Stderr, "hostile: %s\n", c.name)
			}
			res := tryHostile(c.mp, t.TempDir(), 300*time.Millisecond)
			if res.panic != "" {
				t.Fatalf("panic in %s", res.panic)
			}
			switch c.stage {
			case "":
			case "any":
				if res.err == nil {
					t.Errorf("ran; want an error")
				}
			default:
				if res.err == nil || res.stage != c.stage {
					t.Errorf("stage %q, error %v; want an error at stage %q", res.stage, res.err, c.stage)
				}
			}
			if res.err != nil && res.stage != "run" && !hostileLoadErr(res.err) {
				t.Errorf("%s error wraps no engine sentinel: %v", res.stage, res.err)
			}
		})
	}
}
