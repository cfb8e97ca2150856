// Package importer turns an ONNX model into the engine's graph, so that the engine serves it with the same planner and kernels as a SavedModel.
package importer
