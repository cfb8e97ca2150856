package engine

import (
	"math"

	"inferd/internal/graph"
	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// fuse rewrites the plan's steps at load: a convolution or matrix product
// followed by an inference FusedBatchNorm has the normalisation folded
// into its constant filter and bias, and a BiasAdd and then an activation
// that are the only readers of what comes before them run in the product's
// epilogue, and a MaxPool after a convolution (kernels.FusablePool) in the
// convolution's kernel. Steps it absorbs are removed. fetched lists the slots the
// signature returns and relied those a fold at load took a static shape
// from; neither is fused away.
func (p *planner) fuse(pl *plan, fetched map[int]bool, relied map[int][]int64) {
	readers := map[int]int{}
	reader := map[int]int{}
	for i, st := range pl.steps {
		for _, s := range st.in {
			if s >= 0 {
				readers[s]++
				reader[s] = i
			}
		}
	}
	removed := make([]bool, len(pl.steps))
	// sole returns the step that is the only reader of slot s, reading it
	// as its first input, when s can be fused away.
	sole := func(s int) (int, bool) {
		if s < 0 || readers[s] != 1 || fetched[s] {
			return 0, false
		}
		if _, ok := relied[s]; ok {
			return 0, false
		}
		j := reader[s]
		st := &pl.steps[j]
		if removed[j] || st.effect || len(st.in) == 0 || st.in[0] != s {
			return 0, false
		}
		for _, o := range st.out[1:] {
			if o >= 0 {
				return 0, false
			}
		}
		return j, true
	}
	for i := range pl.steps {
		st := &pl.steps[i]
		if removed[i] || st.effect || !kernels.FusableProduct(st.op) || len(st.out) != 1 || len(st.in) != 2 {
			continue
		}
		n := p.g.Node(st.node)
		if n == nil {
			continue
		}
		knode := kernels.Node{Name: n.Name, Op: n.Op, Attrs: graph.Attrs(n.Attrs), NumInputs: len(n.Inputs)}
		cur := st.out[0]
		var absorbed []int
		var bias *tensor.Tensor
		filter := constInput(st, 1)
		if j, ok := sole(cur); ok && (pl.steps[j].op == "BiasAdd" || pl.steps[j].op == "BiasAddV1") && len(pl.steps[j].in) == 2 {
			if b := constInput(&pl.steps[j], 1); b != nil && nhwc(p.g.Node(pl.steps[j].node)) {
				bias = b
				absorbed = append(absorbed, j)
				cur = pl.steps[j].out[0]
			}
		}
		if j, ok := sole(cur); ok && filter != nil && st.op != "MatMul" && isBatchNorm(pl.steps[j].op) {
			if f, b, ok := foldBatchNorm(st.op, p.g.Node(pl.steps[j].node), &pl.steps[j], filter, bias); ok {
				filter, bias = f, b
				absorbed = append(absorbed, j)
				cur = pl.steps[j].out[0]
			}
		}
		var act kernels.Node
		if j, ok := sole(cur); ok && kernels.FusableActivation(pl.steps[j].op) && len(pl.steps[j].in) == 1 {
			if an := p.g.Node(pl.steps[j].node); an != nil {
				act = kernels.Node{Name: an.Name, Op: an.Op, Attrs: graph.Attrs(an.Attrs), NumInputs: len(an.Inputs)}
				absorbed = append(absorbed, j)
				cur = pl.steps[j].out[0]
			}
		}
		// A max pool that alone reads a convolution's finished output
		// is computed from bands of it that are never stored whole.
		var pool kernels.Node
		if j, ok := sole(cur); ok && st.op == "Conv2D" && pl.steps[j].op == "MaxPool" && len(pl.steps[j].in) == 1 {
			if pn := p.g.Node(pl.steps[j].node); pn != nil {
				cand := kernels.Node{Name: pn.Name, Op: pn.Op, Attrs: graph.Attrs(pn.Attrs), NumInputs: len(pn.Inputs)}
				if kernels.FusablePool(cand) {
					pool = cand
					absorbed = append(absorbed, j)
					cur = pl.steps[j].out[0]
				}
			}
		}
		// A convolution or matrix product with a constant filter is
		// rebuilt even with nothing to absorb, so that it lays its filter
		// out once, here.
		if len(absorbed) == 0 && (filter == nil || st.op == "DepthwiseConv2dNative") {
			continue
		}
		k, err := kernels.BuildFused(knode, kernels.Fusion{Bias: bias, Activation: act, Filter: filter, Pool: pool})
		if err != nil {
			continue
		}
		st.kernel = k
		st.out[0] = cur
		if filter != constInput(st, 1) {
			st.consts[1] = value{kind: vConst, t: filter}
		}
		for _, j := range absorbed {
			removed[j] = true
		}
	}
	live := pl.steps[:0]
	for i, st := range pl.steps {
		if !removed[i] {
			live = append(live, st)
		}
	}
	pl.steps = live
}

// constInput returns the load-time constant that is input i of st, or nil.
func constInput(st *step, i int) *tensor.Tensor {
	if i >= len(st.in) || st.in[i] >= 0 {
		return nil
	}
	if v, ok := st.consts[i]; ok && v.kind == vConst {
		return v.t
	}
	return nil
}

func nhwc(n *graph.Node) bool {
	if n == nil {
		return false
	}
	f, ok := graph.Attrs(n.Attrs).String("data_format")
	return !ok || f == "NHWC"
}

func isBatchNorm(op string) bool {
	return op == "FusedBatchNorm" || op == "FusedBatchNormV2" || op == "FusedBatchNormV3"
}

// foldBatchNorm folds the inference-mode batch normalisation st (node n)
// into the filter and bias of the convolution before it, returning the new
// ones (product is the convolution's op): output channel j is scaled by mul = scale/sqrt(variance+epsilon)
// and shifted by offset - mean·mul, computed in float64 as the kernel
// does. The output channel of a filter element (HWIO, or depthwise
// [h, w, c, multiplier]) is its index modulo the output depth.
func foldBatchNorm(product string, n *graph.Node, st *step, filter, bias *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, bool) {
	if n == nil || len(st.in) != 5 || !nhwc(n) {
		return nil, nil, false
	}
	a := graph.Attrs(n.Attrs)
	if training, ok := a.Bool("is_training"); !ok || training {
		return nil, nil, false
	}
	eps := 0.0001
	if e, ok := a.Float("epsilon"); ok {
		eps = float64(e)
	}
	dt := filter.DType()
	if (dt != tensor.Float32 && dt != tensor.Float64) || filter.Rank() != 4 || (bias != nil && bias.DType() != dt) {
		return nil, nil, false
	}
	fs := filter.Shape()
	oc := fs[3]
	if product == "DepthwiseConv2dNative" {
		oc = fs[2] * fs[3]
	}
	params := make([][]float64, 4)
	for i := range params {
		t := constInput(st, i+1)
		if t == nil || t.Rank() != 1 {
			return nil, nil, false
		}
		params[i] = floats64(t)
		if params[i] == nil {
			return nil, nil, false
		}
	}
	c := len(params[0])
	if c != oc {
		return nil, nil, false
	}
	for _, p := range params {
		if len(p) != c {
			return nil, nil, false
		}
	}
	if bias != nil && bias.Len() != c {
		return nil, nil, false
	}
	mul := make([]float64, c)
	add := make([]float64, c)
	for j := 0; j < c; j++ {
		mul[j] = params[0][j] / math.Sqrt(params[3][j]+eps)
		add[j] = params[1][j] - params[2][j]*mul[j]
	}
	var b0 []float64
	if bias != nil {
		b0 = floats64(bias)
	} else {
		b0 = make([]float64, c)
	}
	nf := tensor.New(dt, fs.Clone())
	nb := tensor.New(dt, tensor.Shape{c})
	if dt == tensor.Float32 {
		src, dst := filter.Float32s(), nf.Float32s()
		for i, v := range src {
			dst[i] = float32(float64(v) * mul[i%oc])
		}
		for j := range nb.Float32s() {
			nb.Float32s()[j] = float32(b0[j]*mul[j] + add[j])
		}
	} else {
		src, dst := filter.Float64s(), nf.Float64s()
		for i, v := range src {
			dst[i] = v * mul[i%oc]
		}
		for j := range nb.Float64s() {
			nb.Float64s()[j] = b0[j]*mul[j] + add[j]
		}
	}
	return nf, nb, true
}

// floats64 widens a float vector, or returns nil for another dtype.
func floats64(t *tensor.Tensor) []float64 {
	switch t.DType() {
	case tensor.Float32:
		out := make([]float64, t.Len())
		for i, v := range t.Float32s() {
			out[i] = float64(v)
		}
		return out
	case tensor.Float64:
		return append([]float64(nil), t.Float64s()...)
	}
	return nil
}
