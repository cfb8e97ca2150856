package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// This file holds the optimizers of ONNX's ai.onnx.preview.training domain
// (Adagrad, Adam and Momentum, version 1), written to the pseudo code of
// their ONNX definitions. Their inputs are R (the learning rate, a float
// scalar), T (the update count, an int64 scalar) and then, for N optimized
// tensors, the N tensors X, their N gradients G and their N states of each
// kind (Adagrad: H; Momentum: V; Adam: V then H). The outputs are the N new
// tensors followed by the N new states of each kind. Each tuple is computed
// in float64 with numpy-style broadcasting among its tensors and rounded
// once to their dtype.

func init() {
	Register("OnnxAdagrad", trBuildAdagrad)
	Register("OnnxAdam", trBuildAdam)
	Register("OnnxMomentum", trBuildMomentum)
}

// trFloat reads float attribute name, def when absent.
func trFloat(n Node, name string, def float32) float64 {
	return float64(attrFloat(n, name, def))
}

// trOptimizer is the kernel shared by the three optimizers: states is how
// many state tensors each optimized tensor has; step, given R and T once
// per call, returns the function that maps one element's X, G and states
// (in input order) to its new X and new states.
type trOptimizer struct {
	node   Node
	states int
	step   func(r float64, t int64) func(in, out []float64)
}

// trBuild returns the kernel for an optimizer with states state tensors
// per optimized tensor, checking the input count.
func trBuild(n Node, states int, step func(r float64, t int64) func(in, out []float64)) (Kernel, error) {
	per := 2 + states
	if n.NumInputs < 2+per || (n.NumInputs-2)%per != 0 {
		return nil, n.Errorf(ErrInvalidArgument, "%d inputs: want R, T and then %d tensors per optimized tensor", n.NumInputs, per)
	}
	return &trOptimizer{node: n, states: states, step: step}, nil
}

// Compute checks R and T, then updates each optimized tensor.
func (k *trOptimizer) Compute(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.node
	rt, tt := in[0], in[1]
	if rt.Len() != 1 || (rt.DType() != tensor.Float32 && rt.DType() != tensor.Float64) {
		return nil, n.Errorf(ErrInvalidArgument, "R must be a float or double scalar, got %v of shape %v", rt.DType(), rt.Shape())
	}
	if tt.Len() != 1 || tt.DType() != tensor.Int64 {
		return nil, n.Errorf(ErrInvalidArgument, "T must be an int64 scalar, got %v of shape %v", tt.DType(), tt.Shape())
	}
	var r float64
	if rt.DType() == tensor.Float32 {
		r = float64(rt.Float32s()[0])
	} else {
		r = rt.Float64s()[0]
	}
	step := k.step(r, tt.Int64s()[0])
	per := 2 + k.states
	count := (len(in) - 2) / per
	outs := make([]*tensor.Tensor, count*(1+k.states))
	for i := range count {
		tuple := make([]*tensor.Tensor, per)
		shapes := make([]tensor.Shape, per)
		for j := range per {
			tuple[j] = in[2+j*count+i]
			shapes[j] = tuple[j].Shape()
			if dt := tuple[j].DType(); dt != tensor.Float32 && dt != tensor.Float64 {
				return nil, n.Errorf(ErrInvalidArgument, "input %d is %v; the optimized tensors, gradients and states must be float or double", 2+j*count+i, dt)
			}
		}
		shape, err := BroadcastShapes(shapes...)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "optimized tensor %d: %v", i, err)
		}
		size := shape.NumElements()
		vals := make([][]float64, per)
		for j, t := range tuple {
			vals[j] = trBroadcast(asFloat64s(t), t.Shape(), shape, size)
		}
		res := make([][]float64, 1+k.states)
		for j := range res {
			res[j] = make([]float64, size)
		}
		ein, eout := make([]float64, per), make([]float64, 1+k.states)
		for e := range size {
			for j := range per {
				ein[j] = vals[j][e]
			}
			step(ein, eout)
			for j := range eout {
				res[j][e] = eout[j]
			}
		}
		// Output 0 is the new X, of X's dtype; output j > 0 is the new
		// state j-1, of that state's dtype (input 2+j).
		for j := range res {
			src := 0
			if j > 0 {
				src = 1 + j
			}
			outs[j*count+i] = rdStore(ctx, tuple[src].DType(), shape, res[j])
		}
	}
	return outs, nil
}

// trBroadcast returns vals (of shape from) broadcast to shape to of size
// elements; vals itself when no broadcasting is needed.
func trBroadcast(vals []float64, from, to tensor.Shape, size int) []float64 {
	if from.Equal(to) {
		return vals
	}
	out := make([]float64, size)
	BroadcastTo(out, to, vals, from)
	return out
}

// trBuildAdagrad builds Adagrad: r = R / (1 + T*decay_factor),
// G' = norm_coefficient*X + G, H_new = H + G'*G',
// X_new = X - r*G' / (sqrt(H_new) + epsilon).
func trBuildAdagrad(n Node) (Kernel, error) {
	decay := trFloat(n, "decay_factor", 0)
	eps := trFloat(n, "epsilon", 1e-6)
	norm := trFloat(n, "norm_coefficient", 0)
	return trBuild(n, 1, func(r float64, t int64) func(in, out []float64) {
		r /= 1 + float64(t)*decay
		return func(in, out []float64) {
			x, g, h := in[0], in[1], in[2]
			g = norm*x + g
			h += g * g
			out[0] = x - r*g/(math.Sqrt(h)+eps)
			out[1] = h
		}
	})
}

// trBuildAdam builds Adam: G' = norm_coefficient*X + G,
// V_new = alpha*V + (1-alpha)*G', H_new = beta*H + (1-beta)*G'*G',
// r = T > 0 ? R*sqrt(1-beta^T)/(1-alpha^T) : R,
// X_new = (1-norm_coefficient_post) * (X - r*V_new/(sqrt(H_new)+epsilon)).
func trBuildAdam(n Node) (Kernel, error) {
	alpha := trFloat(n, "alpha", 0.9)
	beta := trFloat(n, "beta", 0.999)
	eps := trFloat(n, "epsilon", 1e-6)
	norm := trFloat(n, "norm_coefficient", 0)
	post := trFloat(n, "norm_coefficient_post", 0)
	return trBuild(n, 2, func(r float64, t int64) func(in, out []float64) {
		if t > 0 {
			r = r * math.Sqrt(1-math.Pow(beta, float64(t))) / (1 - math.Pow(alpha, float64(t)))
		}
		return func(in, out []float64) {
			x, g, v, h := in[0], in[1], in[2], in[3]
			g = norm*x + g
			v = alpha*v + (1-alpha)*g
			h = beta*h + (1-beta)*(g*g)
			out[0] = (1 - post) * (x - r*(v/(math.Sqrt(h)+eps)))
			out[1] = v
			out[2] = h
		}
	})
}

// trBuildMomentum builds Momentum: G' = norm_coefficient*X + G,
// b = T > 0 ? beta : 1, V_new = alpha*V + b*G', and X_new = X - R*V_new
// ("standard") or X - R*(G' + alpha*V_new) ("nesterov"). Its attributes
// have no defaults.
func trBuildMomentum(n Node) (Kernel, error) {
	var coef [3]float64
	for i, name := range []string{"alpha", "beta", "norm_coefficient"} {
		v, ok := n.Attrs.Float(name)
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "attribute %s is required", name)
		}
		coef[i] = float64(v)
	}
	alpha, beta, norm := coef[0], coef[1], coef[2]
	mode, ok := n.Attrs.String("mode")
	if !ok {
		return nil, n.Errorf(ErrInvalidArgument, "attribute mode is required")
	}
	if mode != "standard" && mode != "nesterov" {
		return nil, n.Errorf(ErrInvalidArgument, "mode %q: want \"standard\" or \"nesterov\"", mode)
	}
	nesterov := mode == "nesterov"
	return trBuild(n, 1, func(r float64, t int64) func(in, out []float64) {
		b := 1.0
		if t > 0 {
			b = beta
		}
		return func(in, out []float64) {
			x, g, v := in[0], in[1], in[2]
			g = norm*x + g
			v = alpha*v + b*g
			if nesterov {
				out[0] = x - r*(g+alpha*v)
			} else {
				out[0] = x - r*v
			}
			out[1] = v
		}
	})
}
