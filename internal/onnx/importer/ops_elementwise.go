package importer

import (
	"fmt"
	"strings"

	"inferd/internal/engine"
	"inferd/internal/graph"
	"inferd/internal/onnx/pb"
	tfpb "inferd/internal/savedmodel/pb"
)

// The element-wise ONNX ops. Those whose semantics a TensorFlow kernel
// has (dtypes, NumPy broadcasting, rounding, NaN handling) map onto it, so
// that the engine's vector loops and fusions apply; the rest run kernels
// written to ONNX semantics (OnnxOp).
func init() {
	for onnxOp, tfOp := range map[string]string{
		"Add": "AddV2", "Sub": "Sub", "Mul": "Mul", "Div": "Div",
		"Equal": "Equal", "Greater": "Greater", "Less": "Less",
		"GreaterOrEqual": "GreaterEqual", "LessOrEqual": "LessEqual",
		"And": "LogicalAnd", "Or": "LogicalOr", "Xor": "NotEqual",
	} {
		register(onnxOp, ewBinary(tfOp))
	}
	register("Pow", ewBinary(OnnxOp("Pow")))
	register("Mod", ewMod)
	register("Not", direct("LogicalNot", nil))
	register("Where", direct("SelectV2", nil))
	for _, op := range []string{
		"Sign", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh",
		"Asinh", "Acosh", "Atanh", "Erf", "Round", "Softplus", "Softsign",
	} {
		register(op, direct(op, nil))
	}
	register("LeakyRelu", direct("LeakyRelu", func(n *node) map[string]*tfpb.AttrValue {
		return map[string]*tfpb.AttrValue{"alpha": aFloat(n.float("alpha", 0.01))}
	}))
	// Elu and Selu with ONNX's default attributes are TensorFlow's (Selu's
	// constants differ from ONNX's float32 ones by under 1e-7 relative).
	register("Elu", ewDefaults("Elu", map[string]float32{"alpha": 1}))
	register("Selu", ewDefaults("Selu", map[string]float32{"alpha": 1.67326319217681884765625, "gamma": 1.05070102214813232421875}))
	register("Max", ewVariadic("Maximum"))
	register("Min", ewVariadic("Minimum"))
	register("Sum", ewVariadic("AddV2"))
	register("Clip", ewClip)
	for _, op := range []string{
		"Mean", "BitShift", "IsNaN", "IsInf",
		"Celu", "HardSigmoid", "HardSwish", "ThresholdedRelu", "Shrink", "PRelu", "CastLike",
	} {
		register(op, kernel)
	}
	register("Cast", ewCast)
}

// ewBinary returns the converter of a binary op computed by op, which
// broadcasts as NumPy does. Before opset 7, ONNX broadcast only with the
// broadcast attribute set, and then aligned the second input's dimensions
// with the first's from the axis attribute on (by default at the end, which
// NumPy's rules cover); an OnnxEwAlign node reshapes it to NumPy's form.
func ewBinary(op string) converter {
	return func(b *builder, n *node) error {
		x, err := b.need(n, 0)
		if err != nil {
			return err
		}
		y, err := b.need(n, 1)
		if err != nil {
			return err
		}
		if _, hasAxis := n.attrs["axis"]; n.opset < 7 && hasAxis && n.int("broadcast", 0) != 0 {
			y = graph.Port{Node: b.add(n, "OnnxEwAlign", map[string]*tfpb.AttrValue{"axis": aInt(n.int("axis", 0))}, x, y)}
		}
		var attrs map[string]*tfpb.AttrValue
		if op == OnnxOp(n.GetOpType()) {
			attrs = onnxAttrs(n)
		}
		b.out(n, 0, graph.Port{Node: b.add(n, op, attrs, x, y)})
		return nil
	}
}

// ewMod converts Mod: fmod=0 (the default) takes the sign of the divisor,
// as Python's % and TensorFlow's FloorMod; fmod=1 that of the dividend, as
// C's fmod and TensorFlow's TruncateMod.
func ewMod(b *builder, n *node) error {
	op := "FloorMod"
	if n.int("fmod", 0) != 0 {
		op = "TruncateMod"
	}
	return ewBinary(op)(b, n)
}

// ewDefaults returns the converter that maps an activation onto the
// TensorFlow op of the same name when its float attributes hold the
// values defaults gives, and onto the ONNX kernel otherwise.
func ewDefaults(op string, defaults map[string]float32) converter {
	tf := direct(op, nil)
	return func(b *builder, n *node) error {
		for name, def := range defaults {
			if n.float(name, def) != def {
				return kernel(b, n)
			}
		}
		return tf(b, n)
	}
}

// ewVariadic converts Max, Min and Sum: one input is passed through, two
// run the TensorFlow binary op pair (which broadcasts as NumPy does and,
// for Maximum and Minimum, propagates NaN as ONNX Runtime does), and more
// run the ONNX kernel, which folds them in one pass over the output.
func ewVariadic(pair string) converter {
	return func(b *builder, n *node) error {
		switch len(n.GetInput()) {
		case 1:
			return convertIdentity(b, n)
		case 2:
			return direct(pair, nil)(b, n)
		}
		return kernel(b, n)
	}
}

// ewClip converts Clip. With constant bounds of 0 and 6, or 0 and none, it
// is TensorFlow's Relu6 or Relu (which a preceding convolution absorbs);
// otherwise the ONNX kernel clips, reading the bounds from the min and max
// attributes before opset 11 and from the optional inputs 1 and 2 after.
func ewClip(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	bound := func(i int, attr string) (v float64, present, known bool) {
		if n.opset < 11 {
			a, ok := n.attrs[attr]
			return float64(a.GetF()), ok, true
		}
		if !n.has(i) {
			return 0, false, true
		}
		t, ok := b.constIn(n, i)
		if !ok || t.Len() != 1 {
			return 0, true, false
		}
		switch d := t.Data().(type) {
		case []float32:
			return float64(d[0]), true, true
		case []float64:
			return d[0], true, true
		}
		return 0, true, false
	}
	lo, hasLo, loKnown := bound(1, "min")
	hi, hasHi, hiKnown := bound(2, "max")
	if loKnown && hiKnown && hasLo && lo == 0 {
		switch {
		case hasHi && hi == 6:
			b.out(n, 0, graph.Port{Node: b.add(n, "Relu6", nil, x)})
			return nil
		case !hasHi:
			b.out(n, 0, graph.Port{Node: b.add(n, "Relu", nil, x)})
			return nil
		}
	}
	return kernel(b, n)
}

// ewCast converts Cast, refusing at load a target dtype the engine lacks.
func ewCast(b *builder, n *node) error {
	x, err := b.need(n, 0)
	if err != nil {
		return err
	}
	a, ok := n.attrs["to"]
	if !ok {
		return fmt.Errorf("%w: Cast has no \"to\" attribute", engine.ErrInvalidModel)
	}
	to := int32(a.GetI())
	if a.GetType() == pb.AttributeProto_STRING {
		// Before opset 6, "to" named the type ("FLOAT").
		v, ok := pb.TensorProto_DataType_value[strings.ToUpper(string(a.GetS()))]
		if !ok {
			return fmt.Errorf("%w: Cast to unknown type %q", engine.ErrInvalidModel, a.GetS())
		}
		to = v
	}
	dt, err := dtypeOf(to)
	if err != nil {
		return fmt.Errorf("Cast to %s: %w", pb.TensorProto_DataType(to), err)
	}
	b.out(n, 0, graph.Port{Node: b.add(n, OnnxOp("Cast"), map[string]*tfpb.AttrValue{"to": aType(dt)}, x)})
	return nil
}
