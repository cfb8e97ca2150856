package importer

import (
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
)

// ElemTypeOf lets the external tests name a dtype's ONNX element type
// (UNDEFINED for one ONNX has none of).
func ElemTypeOf(dt tensor.DType) pb.TensorProto_DataType {
	et, _ := pb.ElemType(dt)
	return et
}

// The builders below, of the ONNX attributes and nodes test models are
// made of, serve the tests of this package and of importer_test alike.

// IntAttr is an INT attribute.
func IntAttr(name string, v int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}

// IntsAttr is an INTS attribute.
func IntsAttr(name string, v ...int64) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: v}
}

// FloatAttr is a FLOAT attribute.
func FloatAttr(name string, v float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}

// FloatsAttr is a FLOATS attribute.
func FloatsAttr(name string, v ...float32) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOATS, Floats: v}
}

// StringAttr is a STRING attribute.
func StringAttr(name, v string) *pb.AttributeProto {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_STRING, S: []byte(v)}
}

// NodeProto is a node of op reading ins and writing outs.
func NodeProto(op string, ins, outs []string, attrs ...*pb.AttributeProto) *pb.NodeProto {
	return &pb.NodeProto{OpType: op, Input: ins, Output: outs, Attribute: attrs}
}
