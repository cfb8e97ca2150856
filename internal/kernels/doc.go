// Package kernels implements the engine's operations on tensors, one
// TensorFlow op per builder, registered by op name.
//
// The environment variable INFERD_CPU, read once at start, narrows the
// micro-kernels chosen for this CPU: "avx2" leaves AVX-512 unused, and
// "generic" all assembly, as on a CPU without them.
package kernels
