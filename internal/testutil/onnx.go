package testutil

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"inferd/internal/onnx/pb"
)

// ONNXBatchDim is the symbolic dimension ONNXValueInfo writes for a dim of -1.
const ONNXBatchDim = "batch"

// ONNXValueInfo describes a graph input or output of elem type with dims; a
// dim of -1 is the symbolic ONNXBatchDim.
func ONNXValueInfo(name string, elem pb.TensorProto_DataType, dims ...int64) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		dim := &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}}
		if d < 0 {
			dim.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: ONNXBatchDim}
		}
		shape.Dim = append(shape.Dim, dim)
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{
		TensorType: &pb.TypeProto_Tensor{ElemType: int32(elem), Shape: shape}}}}
}

// ONNXModel returns the bytes of an IR version 8 model of graph g that
// imports opsets, or opset 17 of the default domain when none is given.
func ONNXModel(t testing.TB, g *pb.GraphProto, opsets ...*pb.OperatorSetIdProto) []byte {
	t.Helper()
	if len(opsets) == 0 {
		opsets = []*pb.OperatorSetIdProto{{Version: 17}}
	}
	b, err := proto.Marshal(&pb.ModelProto{IrVersion: 8, OpsetImport: opsets, Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ONNXUnary is one unary node of a test model: Op reads the graph input
// In, a float tensor of rank Rank (at least 1) whose first dimension is
// ONNXBatchDim and whose others are 2, and writes the graph output Out of
// the same shape.
type ONNXUnary struct {
	Op, In, Out string
	Rank        int
}

// ONNXUnaryModel returns an opset-17 model made of nodes, using only ops
// the ONNX importer has converted since it first landed.
func ONNXUnaryModel(t testing.TB, nodes ...ONNXUnary) []byte {
	t.Helper()
	g := &pb.GraphProto{Name: "test"}
	for i, n := range nodes {
		dims := make([]int64, n.Rank)
		for d := range dims {
			dims[d] = 2
		}
		dims[0] = -1
		g.Node = append(g.Node, &pb.NodeProto{OpType: n.Op, Input: []string{n.In}, Output: []string{n.Out}, Name: n.Op + string(rune('a'+i))})
		g.Input = append(g.Input, ONNXValueInfo(n.In, pb.TensorProto_FLOAT, dims...))
		g.Output = append(g.Output, ONNXValueInfo(n.Out, pb.TensorProto_FLOAT, dims...))
	}
	return ONNXModel(t, g)
}
