package kernels

import (
	"context"
	"math"
	"math/rand/v2"

	"inferd/internal/tensor"
)

func init() {
	Register("OnnxNegativeLogLikelihoodLoss", rdBuildLoss(false))
	Register("OnnxSoftmaxCrossEntropyLoss", rdBuildLoss(true))
	Register("OnnxDropout", rdBuildDropout)
}

// rdBuildLoss makes ONNX NegativeLogLikelihoodLoss (input: log
// probabilities N×C×d1…dk) and, with softmax, SoftmaxCrossEntropyLoss
// (input: scores, turned into log probabilities along dimension 1, which
// are its optional output 1). Targets are class indices N×d1…dk; a target
// equal to ignore_index contributes nothing, its weight included. The
// reduction is none (the per-element losses), sum or mean (the sum over
// the sum of the weights that applied).
func rdBuildLoss(softmax bool) Builder {
	return func(n Node) (Kernel, error) {
		reduction := attrString(n, "reduction", "mean")
		if reduction != "none" && reduction != "sum" && reduction != "mean" {
			return nil, n.Errorf(ErrInvalidArgument, "reduction %q is not none, sum or mean", reduction)
		}
		var ii int64
		hasII := false
		if n.Attrs != nil {
			ii, hasII = n.Attrs.Int("ignore_index")
		}
		absent := onnxAbsentOf(n)
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			x, target := in[0], in[1]
			if err := checkDType(n, "input", x, rdFloats...); err != nil {
				return nil, err
			}
			s := x.Shape()
			if len(s) < 2 {
				return nil, n.Errorf(ErrInvalidArgument, "input must have rank >= 2, got %v", s)
			}
			nb, c, d := s[0], s[1], s[2:].NumElements()
			want := append(tensor.Shape{nb}, s[2:]...)
			if !target.Shape().Equal(want) {
				return nil, n.Errorf(ErrInvalidArgument, "target has shape %v, want %v", target.Shape(), want)
			}
			t, ok := IntValues(target)
			if !ok {
				return nil, n.Errorf(ErrInvalidArgument, "target must be int32 or int64, got %v", target.DType())
			}
			var weight []float64
			if absent.input(in, 2) != nil {
				var err error
				if weight, err = rdChannelVec(in[2], c); err != nil {
					return nil, n.Errorf(ErrInvalidArgument, "weight: %v", err)
				}
			}
			logp, _ := rdF64(x)
			if softmax {
				lp := make([]float64, len(logp))
				for b := 0; b < nb; b++ {
					for k := 0; k < d; k++ {
						base := b*c*d + k
						m := math.Inf(-1)
						for j := 0; j < c; j++ {
							m = max(m, logp[base+j*d])
						}
						sum := 0.0
						for j := 0; j < c; j++ {
							sum += math.Exp(logp[base+j*d] - m)
						}
						ls := math.Log(sum) + m
						for j := 0; j < c; j++ {
							lp[base+j*d] = logp[base+j*d] - ls
						}
					}
				}
				logp = lp
			}
			loss := make([]float64, nb*d)
			total, wsum := 0.0, 0.0
			for b := 0; b < nb; b++ {
				for k := 0; k < d; k++ {
					cls := t[b*d+k]
					if hasII && cls == ii {
						continue
					}
					if cls < 0 || cls >= int64(c) {
						return nil, n.Errorf(ErrInvalidArgument, "target %d is out of range [0, %d)", cls, c)
					}
					w := 1.0
					if weight != nil {
						w = weight[cls]
					}
					l := -logp[(b*c+int(cls))*d+k] * w
					loss[b*d+k] = l
					total += l
					wsum += w
				}
			}
			var out *tensor.Tensor
			switch reduction {
			case "none":
				out = rdStore(ctx, x.DType(), want, loss)
			case "sum":
				out = rdStore(ctx, x.DType(), tensor.Shape{}, []float64{total})
			default:
				out = rdStore(ctx, x.DType(), tensor.Shape{}, []float64{total / wsum})
			}
			res := []*tensor.Tensor{out}
			if softmax {
				res = append(res, rdStore(ctx, x.DType(), s, logp))
			}
			return res, nil
		}), nil
	}
}

// rdBuildDropout makes ONNX Dropout. Outside training (no training_mode
// input, or false, and always before opset 12) it is the identity with an
// all-true mask. In training each element is kept, scaled by 1/(1-ratio),
// when a uniform draw in [0, 1) is at least ratio (from the input, else
// the attribute, default 0.5); the draws come from MT19937 seeded with the
// seed attribute (a random seed when there is none), giving the same
// doubles as NumPy's RandomState.
func rdBuildDropout(n Node) (Kernel, error) {
	opset := attrInt(n, "_opset", 13)
	ratioAttr := float64(attrFloat(n, "ratio", 0.5))
	var seed int64
	hasSeed := false
	if n.Attrs != nil {
		seed, hasSeed = n.Attrs.Int("seed")
	}
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "data", x, rdFloats...); err != nil {
			return nil, err
		}
		ratio, training := ratioAttr, false
		if opset >= 12 {
			if absent.input(in, 1) != nil {
				v, ok := rdF64(in[1])
				if !ok || len(v) != 1 {
					return nil, n.Errorf(ErrInvalidArgument, "ratio must be a scalar, got %v", in[1])
				}
				ratio = v[0]
			}
			if absent.input(in, 2) != nil {
				if in[2].DType() != tensor.Bool || in[2].Len() != 1 {
					return nil, n.Errorf(ErrInvalidArgument, "training_mode must be a bool scalar, got %v", in[2])
				}
				training = in[2].Bools()[0]
			}
		}
		maskType := tensor.Bool
		if opset < 10 {
			maskType = x.DType()
		}
		mask := Alloc(ctx, maskType, x.Shape())
		if !training || ratio == 0 {
			rdFillOnes(mask)
			return []*tensor.Tensor{shCopy(ctx, x), mask}, nil
		}
		if ratio < 0 || ratio >= 1 {
			return nil, n.Errorf(ErrInvalidArgument, "ratio %v is not in [0, 1)", ratio)
		}
		s := uint32(seed)
		if !hasSeed {
			s = rand.Uint32()
		}
		mt := rdNewMT(s)
		v, _ := rdF64(x)
		y := make([]float64, len(v))
		keep := make([]bool, len(v))
		scale := 1 / (1 - ratio)
		for i, e := range v {
			if mt.float64() >= ratio {
				keep[i] = true
				y[i] = e * scale
			}
		}
		out := rdStore(ctx, x.DType(), x.Shape(), y)
		if maskType == tensor.Bool {
			copy(mask.Bools(), keep)
		} else {
			f := make([]float64, len(keep))
			for i, k := range keep {
				if k {
					f[i] = 1
				}
			}
			mask = rdStore(ctx, maskType, x.Shape(), f)
		}
		return []*tensor.Tensor{out, mask}, nil
	}), nil
}

// rdFillOnes sets every element of t to one (true for bool).
func rdFillOnes(t *tensor.Tensor) {
	switch d := t.Data().(type) {
	case []bool:
		for i := range d {
			d[i] = true
		}
	case []float32:
		for i := range d {
			d[i] = 1
		}
	case []float64:
		for i := range d {
			d[i] = 1
		}
	case []tensor.F16:
		for i := range d {
			d[i] = tensor.F16FromFloat32(1)
		}
	case []tensor.BF16:
		for i := range d {
			d[i] = tensor.BF16FromFloat32(1)
		}
	}
}

// rdMT is the MT19937 generator.
type rdMT struct {
	state [624]uint32
	i     int
}

// rdNewMT seeds MT19937 as its reference init_genrand does.
func rdNewMT(seed uint32) *rdMT {
	m := &rdMT{i: 624}
	m.state[0] = seed
	for i := 1; i < 624; i++ {
		p := m.state[i-1]
		m.state[i] = 1812433253*(p^(p>>30)) + uint32(i)
	}
	return m
}

func (m *rdMT) uint32() uint32 {
	if m.i >= 624 {
		for k := 0; k < 624; k++ {
			y := m.state[k]&0x80000000 | m.state[(k+1)%624]&0x7fffffff
			v := m.state[(k+397)%624] ^ y>>1
			if y&1 != 0 {
				v ^= 0x9908b0df
			}
			m.state[k] = v
		}
		m.i = 0
	}
	y := m.state[m.i]
	m.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	y ^= y >> 18
	return y
}

// float64 is a uniform double in [0, 1) from 53 random bits, as
// genrand_res53 makes it.
func (m *rdMT) float64() float64 {
	a, b := m.uint32()>>5, m.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}
