package importer

// ElemTypeOf lets the external tests name a dtype's ONNX element type.
var ElemTypeOf = elemTypeOf
