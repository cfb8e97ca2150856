package kernels

import (
	"slices"

	"inferd/internal/tensor"
)

// onnxAbsent lists the optional inputs of a node built by the ONNX importer
// that the model left out (its "_absent" attribute); the importer feeds an
// empty tensor in their place so that later inputs keep their positions.
type onnxAbsent []int64

// onnxAbsentOf reads n's "_absent" attribute.
func onnxAbsentOf(n Node) onnxAbsent { return attrInts(n, "_absent", nil) }

// has reports whether input i is listed as absent.
func (a onnxAbsent) has(i int) bool { return slices.Contains(a, int64(i)) }

// input returns in[i], or nil when input i is absent: past the inputs given
// or listed in "_absent".
func (a onnxAbsent) input(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i >= len(in) || a.has(i) {
		return nil
	}
	return in[i]
}

// onnxAxis maps an ONNX axis in [-rank, rank) to [0, rank) (a negative one
// counts from the end) or reports it out of range for n.
func onnxAxis(n Node, axis int64, rank int) (int, error) {
	a, ok := normAxis(axis, rank)
	if !ok {
		return 0, n.Errorf(ErrInvalidArgument, "axis %d is out of range for rank %d", axis, rank)
	}
	return a, nil
}

// onnxMaxElements bounds the elements of one tensor an ONNX kernel makes,
// so that a hostile model's attributes fail the request instead of
// exhausting memory.
const onnxMaxElements = 1 << 32

// onnxCheckShape reports dims that are negative or whose product exceeds
// onnxMaxElements (or overflows) as an error of n.
func onnxCheckShape(n Node, dims []int) error {
	p := 1
	for _, d := range dims {
		if d < 0 {
			return n.Errorf(ErrInvalidArgument, "output shape %v has a negative dimension", dims)
		}
		if d > 0 && p > onnxMaxElements/d {
			return n.Errorf(ErrInvalidArgument, "output shape %v holds more than %d elements", dims, onnxMaxElements)
		}
		p *= d
	}
	return nil
}
