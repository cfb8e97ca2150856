package importer

import (
	"slices"
	"strings"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	tfpb "inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

func init() {
	for _, op := range []string{
		"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
		"Hardmax", "LayerNormalization", "InstanceNormalization", "LRN",
		"MeanVarianceNormalization", "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss",
		"Det", "Einsum",
	} {
		register(op, kernel)
	}
	register("Softmax", rdSoftmax("Softmax"))
	register("LogSoftmax", rdSoftmax("LogSoftmax"))
	register("Dropout", rdDropout)
	register("Gemm", rdGemm)
	register("BatchNormalization", rdBatchNorm)
	register("MatMul", rdMatMul)
	passes = append(passes, rdBiasAddPass)
}

// rdMatMul converts MatMul: TensorFlow's MatMul (which the engine fuses
// with a following BiasAdd and activation) when both operands are known
// to be float matrices, else the ONNX kernel with NumPy's semantics.
func rdMatMul(b *builder, n *node) error {
	a, ok := b.in(n, 0)
	if !ok {
		return kernel(b, n)
	}
	w, ok := b.in(n, 1)
	if !ok {
		return kernel(b, n)
	}
	if ra, ok := b.rdRank(a, 8); !ok || ra != 2 {
		return kernel(b, n)
	}
	if rw, ok := b.rdRank(w, 8); !ok || rw != 2 {
		return kernel(b, n)
	}
	if !b.rdMaybeFloat(n, 0) || !b.rdMaybeFloat(n, 1) {
		return kernel(b, n)
	}
	b.out(n, 0, graph.Port{Node: b.add(n, "MatMul", nil, a, w)})
	return nil
}

// rdRankKeeping are the ops whose output 0 has the rank of their input 0.
var rdRankKeeping = map[string]bool{
	"Relu": true, "Relu6": true, "Elu": true, "Selu": true, "Sigmoid": true, "Tanh": true,
	"Softplus": true, "Softsign": true, "LeakyRelu": true, "Identity": true, "Abs": true,
	"Neg": true, "Exp": true, "Log": true, "Sqrt": true, "Rsqrt": true, "Square": true,
	"Erf": true, "Reciprocal": true, "BiasAdd": true, "Softmax": true, "LogSoftmax": true,
	"OnnxClip": true, "OnnxCast": true, "Cast": true, "OnnxSoftmax": true, "OnnxLogSoftmax": true, "OnnxHardmax": true,
	"OnnxMaxPool": true, "OnnxAveragePool": true, "OnnxGlobalMaxPool": true,
	"OnnxGlobalAveragePool": true, "OnnxBatchNormalization": true, "OnnxLayerNormalization": true,
}

// rdBroadcasting are the binary ops whose output has the larger rank of
// their two inputs.
var rdBroadcasting = map[string]bool{
	"Add": true, "AddV2": true, "Sub": true, "Mul": true, "Div": true, "RealDiv": true,
	"Maximum": true, "Minimum": true, "Pow": true, "SquaredDifference": true,
}

// rdRank returns the rank of the value at p when the graph proves it: a
// constant, a graph input with a known shape, a flatten, a reshape to a constant shape, a transpose, a
// convolution or pooling, a matrix product, a reduction, or an op keeping
// or broadcasting its inputs' ranks applied to those (depth bounds the
// walk).
func (b *builder) rdRank(p graph.Port, depth int) (int, bool) {
	n := b.g.Node(p.Node)
	if n == nil || p.Index != 0 || depth == 0 {
		return 0, false
	}
	constOf := func(q graph.Port) *tensor.Tensor {
		if cn := b.g.Node(q.Node); cn != nil && cn.Op == "Const" && q.Index == 0 {
			return b.consts[cn.Name]
		}
		return nil
	}
	switch {
	case n.Op == "Const":
		if t := b.consts[n.Name]; t != nil {
			return t.Rank(), true
		}
	case n.Op == "Placeholder":
		// A graph input whose node carries its shape, when the importer
		// records one.
		if sh := n.Attrs["shape"].GetShape(); sh != nil && !sh.GetUnknownRank() {
			return len(sh.GetDim()), true
		}
	case n.Op == OnnxOp("Flatten") || n.Op == "MatMul" || n.Op == OnnxOp("Gemm"):
		return 2, true
	case n.Op == "Conv2D" || n.Op == "DepthwiseConv2dNative" || n.Op == "MaxPool" || n.Op == "AvgPool":
		return 4, true
	case n.Op == OnnxOp("Reshape") && len(n.Inputs) >= 2:
		if t := constOf(n.Inputs[1]); t != nil && t.Rank() == 1 {
			return t.Len(), true
		}
	case n.Op == "Transpose" && len(n.Inputs) == 2:
		if t := constOf(n.Inputs[1]); t != nil && t.Rank() == 1 {
			return t.Len(), true
		}
	case n.Op == OnnxOp("Transpose") && len(n.Inputs) == 1:
		if perm, ok := graph.Attrs(n.Attrs).Ints("perm"); ok {
			return len(perm), true
		}
		return b.rdRank(n.Inputs[0], depth-1)
	case strings.HasPrefix(n.Op, OnnxOp("Reduce")) && len(n.Inputs) >= 1:
		return b.rdReducedRank(n, depth)
	case rdRankKeeping[n.Op] && len(n.Inputs) >= 1:
		return b.rdRank(n.Inputs[0], depth-1)
	case rdBroadcasting[n.Op] && len(n.Inputs) == 2:
		r0, ok0 := b.rdRank(n.Inputs[0], depth-1)
		r1, ok1 := b.rdRank(n.Inputs[1], depth-1)
		return max(r0, r1), ok0 && ok1
	}
	return 0, false
}

// rdReducedRank is rdRank for one of the OnnxReduce kernels.
func (b *builder) rdReducedRank(n *graph.Node, depth int) (int, bool) {
	r, ok := b.rdRank(n.Inputs[0], depth-1)
	if !ok {
		return 0, false
	}
	a := graph.Attrs(n.Attrs)
	if k, has := a.Int("keepdims"); !has || k != 0 {
		return r, true
	}
	axes, _ := a.Ints("axes")
	if len(n.Inputs) >= 2 {
		absent, _ := a.Ints("_absent")
		if !slices.Contains(absent, 1) {
			cn := b.g.Node(n.Inputs[1].Node)
			if cn == nil || cn.Op != "Const" || b.consts[cn.Name] == nil {
				return 0, false
			}
			if axes, ok = kernels.IntValues(b.consts[cn.Name]); !ok {
				return 0, false
			}
		}
	}
	if len(axes) == 0 {
		if noop, _ := a.Int("noop_with_empty_axes"); noop != 0 {
			return r, true
		}
		return 0, true
	}
	seen := map[int64]bool{}
	for _, x := range axes {
		if x < 0 {
			x += int64(r)
		}
		if x < 0 || x >= int64(r) {
			return 0, false
		}
		seen[x] = true
	}
	return r - len(seen), true
}

// rdColumns returns the column count of a TensorFlow MatMul's product
// when its second operand is a constant, else -1.
func (b *builder) rdColumns(mm *graph.Node) int {
	wn := b.g.Node(mm.Inputs[1].Node)
	if wn == nil || wn.Op != "Const" || b.consts[wn.Name] == nil || b.consts[wn.Name].Rank() != 2 {
		return -1
	}
	s := b.consts[wn.Name].Shape()
	if tb, _ := graph.Attrs(mm.Attrs).Bool("transpose_b"); tb {
		return s[0]
	}
	return s[1]
}

// rdBiasAddPass turns Add(MatMul, c) (either order), c a float constant
// row as wide as the product, into BiasAdd(MatMul, c as a vector), which
// the engine fuses into the product: for a 2-D product the two agree.
func rdBiasAddPass(b *builder) error {
	for _, n := range b.g.Nodes() {
		if (n.Op != "Add" && n.Op != "AddV2") || len(n.Inputs) != 2 {
			continue
		}
		for k := 0; k < 2; k++ {
			mm, cp := n.Inputs[k], n.Inputs[1-k]
			mn := b.g.Node(mm.Node)
			if mn == nil || mn.Op != "MatMul" || mm.Index != 0 || len(mn.Inputs) != 2 {
				continue
			}
			cn := b.g.Node(cp.Node)
			if cn == nil || cn.Op != "Const" || cp.Index != 0 {
				continue
			}
			c := b.consts[cn.Name]
			if c == nil || (c.DType() != tensor.Float32 && c.DType() != tensor.Float64) {
				continue
			}
			// The product's width must be known (a constant weight) and
			// match: Add broadcasts a [M, 1] product against a wider row,
			// BiasAdd does not.
			if b.rdColumns(mn) != c.Len() {
				continue
			}
			if s := c.Shape(); !(len(s) == 1 || len(s) == 2 && s[0] == 1) {
				continue
			}
			row, err := c.Reshaped(tensor.Shape{c.Len()})
			if err != nil {
				return err
			}
			n.Op = "BiasAdd"
			n.Inputs = []graph.Port{mm, b.constant(row)}
			n.Attrs = map[string]*tfpb.AttrValue{"T": aType(c.DType()), "data_format": aStr("NHWC")}
			break
		}
	}
	return nil
}

// rdBatchNorm converts BatchNormalization. In inference, when its input is
// a transpose from NHWC to NCHW (what the Conv converter ends with), it is
// TensorFlow's FusedBatchNormV3 on the NHWC tensor, transposed back
// after, so that the engine folds it into the convolution and the layout
// pass keeps the chain NHWC; otherwise the ONNX kernel runs it.
func rdBatchNorm(b *builder, n *node) error {
	src, ok := b.rdFromNHWC(n)
	if !ok || n.int("training_mode", 0) != 0 || n.int("spatial", 1) != 1 || len(n.GetInput()) != 5 {
		return kernel(b, n)
	}
	for i, o := range n.GetOutput() {
		if i > 0 && o != "" {
			return kernel(b, n)
		}
	}
	ports := []graph.Port{src}
	for i := 1; i < 5; i++ {
		p, err := b.need(n, i)
		if err != nil {
			return err
		}
		if t, ok := b.constIn(n, i); ok && t.Rank() != 1 {
			return kernel(b, n)
		}
		ports = append(ports, p)
	}
	attrs := map[string]*tfpb.AttrValue{
		"epsilon":     aFloat(n.float("epsilon", 1e-5)),
		"is_training": aBool(false),
		"data_format": aStr("NHWC"),
	}
	if t, ok := b.constIn(n, 1); ok {
		attrs["T"], attrs["U"] = aType(t.DType()), aType(t.DType())
	}
	y := graph.Port{Node: b.add(n, "FusedBatchNormV3", attrs, ports...)}
	perm := b.constant(tensor.MustFromSlice(tensor.Shape{4}, []int32{0, 3, 1, 2}))
	b.out(n, 0, graph.Port{Node: b.add(n, "Transpose", map[string]*tfpb.AttrValue{"Tperm": aType(tensor.Int32)}, y, perm)})
	return nil
}

// rdFromNHWC reports whether input 0 of n is a Transpose by [0 3 1 2]
// with a constant permutation, and returns the port it transposes.
func (b *builder) rdFromNHWC(n *node) (graph.Port, bool) {
	p, ok := b.in(n, 0)
	if !ok || p.Index != 0 {
		return p, false
	}
	t := b.g.Node(p.Node)
	if t == nil || t.Op != "Transpose" || len(t.Inputs) != 2 {
		return p, false
	}
	pc := b.g.Node(t.Inputs[1].Node)
	if pc == nil || pc.Op != "Const" || b.consts[pc.Name] == nil {
		return p, false
	}
	perm, ok := kernels.IntValues(b.consts[pc.Name])
	if !ok || len(perm) != 4 || perm[0] != 0 || perm[1] != 3 || perm[2] != 1 || perm[3] != 2 {
		return p, false
	}
	return t.Inputs[0], true
}

// rdGemm converts Gemm. With alpha 1, or alpha folded into a constant B,
// it is TensorFlow's MatMul (which the engine fuses with a following
// BiasAdd) plus C: a constant C, scaled by beta at import, that is a row
// of the product's width becomes a BiasAdd, any other C (when beta is 1
// or C is constant) an AddV2, which broadcasts as Gemm does for the shapes
// Gemm accepts. Anything else goes to the ONNX kernel.
func rdGemm(b *builder, n *node) error {
	alpha, beta := n.float("alpha", 1), n.float("beta", 1)
	c, constC := b.constIn(n, 2)
	if constC && beta != 1 {
		if c = rdScale(c, beta); c == nil {
			constC = false
		}
	}
	bm, err := b.need(n, 1)
	if err != nil {
		return err
	}
	if w, ok := b.constIn(n, 1); ok && alpha != 1 {
		// alpha folds into a constant B: alpha·(A·B) = A·(alpha·B) up
		// to rounding.
		if w = rdScale(w, alpha); w != nil {
			bm, alpha = b.constant(w), 1
		}
	}
	if alpha != 1 || n.has(2) && !constC && beta != 1 || !b.rdMaybeFloat(n, 0) || !b.rdMaybeFloat(n, 1) {
		return kernel(b, n)
	}
	a, err := b.need(n, 0)
	if err != nil {
		return err
	}
	mm := graph.Port{Node: b.add(n, "MatMul", map[string]*tfpb.AttrValue{
		"transpose_a": aBool(n.int("transA", 0) != 0),
		"transpose_b": aBool(n.int("transB", 0) != 0),
	}, a, bm)}
	if !n.has(2) || beta == 0 {
		b.out(n, 0, mm)
		return nil
	}
	if constC {
		s := c.Shape()
		if c.Len() > 1 && (len(s) == 1 || len(s) == 2 && s[0] == 1) {
			row, err := c.Reshaped(tensor.Shape{c.Len()})
			if err != nil {
				return err
			}
			b.out(n, 0, graph.Port{Node: b.add(n, "BiasAdd", nil, mm, b.constant(row))})
			return nil
		}
		b.out(n, 0, graph.Port{Node: b.add(n, "AddV2", nil, mm, b.constant(c))})
		return nil
	}
	cp, _ := b.in(n, 2)
	b.out(n, 0, graph.Port{Node: b.add(n, "AddV2", nil, mm, cp)})
	return nil
}

// rdMaybeFloat reports whether input i of n may be float32 or float64,
// the dtypes of the TensorFlow kernels the converters choose: false only
// when its dtype is known (a constant, a typed graph input or a cast) and
// is another.
func (b *builder) rdMaybeFloat(n *node, i int) bool {
	if t, ok := b.constIn(n, i); ok {
		return t.DType() == tensor.Float32 || t.DType() == tensor.Float64
	}
	p, ok := b.in(n, i)
	if !ok {
		return true
	}
	src := b.g.Node(p.Node)
	if src == nil || p.Index != 0 {
		return true
	}
	var a *tfpb.AttrValue
	switch src.Op {
	case "Placeholder":
		a = src.Attrs["dtype"]
	case OnnxOp("Cast"):
		a = src.Attrs["to"]
	case "Cast":
		a = src.Attrs["DstT"]
	}
	if a == nil {
		return true
	}
	return a.GetType() == tfDType(tensor.Float32) || a.GetType() == tfDType(tensor.Float64)
}

// rdScale returns a float tensor times f, or nil for another dtype.
func rdScale(t *tensor.Tensor, f float32) *tensor.Tensor {
	switch t.DType() {
	case tensor.Float32:
		v := make([]float32, t.Len())
		for i, x := range t.Float32s() {
			v[i] = x * f
		}
		return tensor.MustFromSlice(t.Shape(), v)
	case tensor.Float64:
		v := make([]float64, t.Len())
		for i, x := range t.Float64s() {
			v[i] = x * float64(f)
		}
		return tensor.MustFromSlice(t.Shape(), v)
	}
	return nil
}

// rdDropout converts Dropout: outside training, when no mask is asked
// for, its output is its input; otherwise the ONNX kernel runs it.
func rdDropout(b *builder, n *node) error {
	if _, err := b.need(n, 0); err != nil {
		return err
	}
	training := n.opset >= 12 && n.has(2)
	if t, ok := b.constIn(n, 2); ok && t.DType() == tensor.Bool && t.Len() == 1 && !t.Bools()[0] {
		training = false
	}
	if training || len(n.GetOutput()) > 1 && n.GetOutput()[1] != "" {
		return kernel(b, n)
	}
	return convertIdentity(b, n)
}

// rdSoftmax converts Softmax and LogSoftmax: along the last axis (-1, or
// the last of a proven rank; before opset 13 the coercion to rows at that
// axis gives the same) it is the TensorFlow op; any other axis goes to the
// ONNX kernel.
func rdSoftmax(op string) converter {
	return func(b *builder, n *node) error {
		def := int64(-1)
		if n.opset < 13 {
			def = 1
		}
		axis := n.int("axis", def)
		if axis >= 0 {
			if x, ok := b.in(n, 0); ok {
				if r, ok := b.rdRank(x, 8); ok && axis == int64(r)-1 {
					axis = -1
				}
			}
		}
		if axis == -1 && b.rdMaybeFloat(n, 0) {
			return direct(op, nil)(b, n)
		}
		return kernel(b, n)
	}
}
