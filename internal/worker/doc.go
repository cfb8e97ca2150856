// Package worker runs one model as a separate process: it loads the
// SavedModel or ONNX model, then serves the SageMaker container contract
// over a unix socket or TCP and reports readiness to the process that
// started it.
package worker
