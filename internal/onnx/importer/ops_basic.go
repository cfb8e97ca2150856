package importer

import (
	"fmt"

	"inferd/internal/engine"
	"inferd/internal/tensor"
)

func init() {
	register("Identity", convertIdentity)
	register("Constant", convertConstant)
	for onnxOp, tfOp := range map[string]string{
		"Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh", "Exp": "Exp", "Log": "Log",
		"Abs": "Abs", "Neg": "Neg", "Sqrt": "Sqrt", "Floor": "Floor", "Ceil": "Ceil",
	} {
		register(onnxOp, direct(tfOp, nil))
	}
}

// convertIdentity passes input 0 through: a constant stays a constant.
func convertIdentity(b *builder, n *node) error {
	p, err := b.need(n, 0)
	if err != nil {
		return err
	}
	if t, ok := b.constIn(n, 0); ok {
		b.outConst(n, 0, t)
		return nil
	}
	b.out(n, 0, p)
	return nil
}

// convertConstant binds the node's output to the value its one value
// attribute holds.
func convertConstant(b *builder, n *node) error {
	t, ok, err := n.tensorAttr(b, "value")
	if err != nil {
		return err
	}
	if !ok {
		switch {
		case n.attrs["value_float"] != nil:
			t = tensor.MustFromSlice(tensor.Shape{}, []float32{n.float("value_float", 0)})
		case n.attrs["value_int"] != nil:
			t = tensor.MustFromSlice(tensor.Shape{}, []int64{n.int("value_int", 0)})
		case n.attrs["value_string"] != nil:
			t = tensor.MustFromSlice(tensor.Shape{}, [][]byte{[]byte(n.str("value_string", ""))})
		case n.attrs["value_floats"] != nil:
			v, _ := n.floats("value_floats")
			t = tensor.MustFromSlice(tensor.Shape{len(v)}, append([]float32(nil), v...))
		case n.attrs["value_ints"] != nil:
			v, _ := n.ints("value_ints")
			t = tensor.MustFromSlice(tensor.Shape{len(v)}, append([]int64(nil), v...))
		case n.attrs["value_strings"] != nil:
			v := n.attrs["value_strings"].GetStrings()
			s := make([][]byte, len(v))
			copy(s, v)
			t = tensor.MustFromSlice(tensor.Shape{len(v)}, s)
		default:
			return fmt.Errorf("%w: Constant has no supported value attribute (sparse_value is not supported)", engine.ErrUnsupported)
		}
	}
	b.outConst(n, 0, t)
	return nil
}
