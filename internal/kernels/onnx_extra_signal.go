package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

// This file holds ONNX's signal ops (opset 17): the Hann, Hamming and
// Blackman windows, MelWeightMatrix, DFT and STFT. Complex values are a
// trailing dimension of 2 (real, imaginary), as ONNX represents them.

func init() {
	Register("OnnxHannWindow", xtBuildWindow(func(k, n float64) float64 {
		return 0.5 - 0.5*math.Cos(2*math.Pi*k/n)
	}))
	Register("OnnxHammingWindow", xtBuildWindow(func(k, n float64) float64 {
		const alpha = 25.0 / 46.0
		return alpha - (1-alpha)*math.Cos(2*math.Pi*k/n)
	}))
	Register("OnnxBlackmanWindow", xtBuildWindow(func(k, n float64) float64 {
		return 0.42 - 0.5*math.Cos(2*math.Pi*k/n) + 0.08*math.Cos(4*math.Pi*k/n)
	}))
	Register("OnnxMelWeightMatrix", xtBuildMel)
	Register("OnnxDFT", xtBuildDFT)
	Register("OnnxSTFT", xtBuildSTFT)
}

// xtOutputType reads the output_datatype attribute, an ONNX TensorProto
// data type (1, float, by default).
func xtOutputType(n Node) (tensor.DType, error) {
	code := attrInt(n, "output_datatype", 1)
	dt, ok := map[int64]tensor.DType{1: tensor.Float32, 2: tensor.Uint8, 3: tensor.Int8, 6: tensor.Int32, 7: tensor.Int64, 9: tensor.Bool, 11: tensor.Float64}[code]
	if !ok {
		return tensor.Invalid, n.Errorf(ErrUnsupported, "output_datatype %d", code)
	}
	return dt, nil
}

// xtScalar reads input i as one integer.
func xtScalar(n Node, in []*tensor.Tensor, i int, what string) (int64, error) {
	if xtAbsent(in, i) {
		return 0, n.Errorf(ErrInvalidArgument, "%s is required", what)
	}
	v, ok := scalarInt(in[i])
	if !ok {
		return 0, n.Errorf(ErrInvalidArgument, "%s must be one integer, got %v", what, in[i])
	}
	return v, nil
}

// xtBuildWindow makes a window op: size values f(k, N) with N = size when
// periodic (the default) and size-1 when symmetric.
func xtBuildWindow(f func(k, n float64) float64) Builder {
	return func(n Node) (Kernel, error) {
		dt, err := xtOutputType(n)
		if err != nil {
			return nil, err
		}
		periodic := attrInt(n, "periodic", 1) != 0
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			size, err := xtScalar(n, in, 0, "size")
			if err != nil {
				return nil, err
			}
			if size < 0 {
				return nil, n.Errorf(ErrInvalidArgument, "negative size %d", size)
			}
			denom := float64(size)
			if !periodic {
				denom--
			}
			vals := make([]float64, size)
			for k := range vals {
				vals[k] = f(float64(k), denom)
			}
			return []*tensor.Tensor{rdStore(ctx, dt, tensor.Shape{int(size)}, vals)}, nil
		}), nil
	}
}

// xtBuildMel makes MelWeightMatrix: [dft_length/2+1, num_mel_bins]
// triangular filters whose edges are evenly spaced on the mel scale
// between lower_edge_hertz and upper_edge_hertz, snapped to DFT bins.
func xtBuildMel(n Node) (Kernel, error) {
	dt, err := xtOutputType(n)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 5); err != nil {
			return nil, err
		}
		bins, err := xtScalar(n, in, 0, "num_mel_bins")
		if err != nil {
			return nil, err
		}
		dftLen, err := xtScalar(n, in, 1, "dft_length")
		if err != nil {
			return nil, err
		}
		rate, err := xtScalar(n, in, 2, "sample_rate")
		if err != nil {
			return nil, err
		}
		if in[3].Len() != 1 || in[4].Len() != 1 || bins < 0 || dftLen <= 0 || rate <= 0 {
			return nil, n.Errorf(ErrInvalidArgument, "num_mel_bins %d, dft_length %d, sample_rate %d and edge frequencies %v, %v", bins, dftLen, rate, in[3], in[4])
		}
		lo, hi := xtFloat64s(in[3])[0], xtFloat64s(in[4])[0]
		spec := int(dftLen/2 + 1)
		mel := func(hz float64) float64 { return 2595 * math.Log10(1+hz/700) }
		loMel, hiMel := mel(lo), mel(hi)
		step := (hiMel - loMel) / float64(bins+2)
		edges := make([]int, bins+2)
		for i := range edges {
			hz := 700 * (math.Pow(10, (float64(i)*step+loMel)/2595) - 1)
			edges[i] = int(math.Floor(float64(dftLen+1) * hz / float64(rate)))
		}
		out := make([]float64, spec*int(bins))
		set := func(j, i int, v float64) error {
			if j < 0 || j >= spec {
				return n.Errorf(ErrInvalidArgument, "mel filter %d reaches DFT bin %d of %d", i, j, spec)
			}
			out[j*int(bins)+i] = v
			return nil
		}
		for i := range int(bins) {
			l, c, h := edges[i], edges[i+1], edges[i+2]
			if c == l {
				if err := set(c, i, 1); err != nil {
					return nil, err
				}
			} else {
				for j := l; j <= c; j++ {
					if err := set(j, i, float64(j-l)/float64(c-l)); err != nil {
						return nil, err
					}
				}
			}
			for j := c; j < h; j++ {
				if err := set(j, i, float64(h-j)/float64(h-c)); err != nil {
					return nil, err
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, dt, tensor.Shape{spec, int(bins)}, out)}, nil
	}), nil
}

// xtDFT1 computes the length-m DFT of the n complex values re, im (zero
// padded or truncated to m), writing the first len(outRe) bins. inverse
// flips the sign and scales by 1/m.
func xtDFT1(re, im []float64, m int, inverse bool, outRe, outIm []float64) {
	sign := -1.0
	if inverse {
		sign = 1
	}
	cos, sin := make([]float64, m), make([]float64, m)
	for k := range m {
		a := sign * 2 * math.Pi * float64(k) / float64(m)
		cos[k], sin[k] = math.Cos(a), math.Sin(a)
	}
	n := min(len(re), m)
	for k := range outRe {
		var sr, si float64
		for t := range n {
			p := (k * t) % m
			sr += re[t]*cos[p] - im[t]*sin[p]
			si += re[t]*sin[p] + im[t]*cos[p]
		}
		if inverse {
			sr, si = sr/float64(m), si/float64(m)
		}
		outRe[k], outIm[k] = sr, si
	}
}

// xtBuildDFT makes DFT (opset 17): input [batch, ..., 1 or 2], the
// transform along axis (1 by default) of dft_length points (input 1, the
// axis's size by default); onesided keeps bins 0 to m/2.
func xtBuildDFT(n Node) (Kernel, error) {
	axis := int(attrInt(n, "axis", 1))
	inverse := attrInt(n, "inverse", 0) != 0
	onesided := attrInt(n, "onesided", 0) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, floatTypes...); err != nil {
			return nil, err
		}
		r := x.Rank()
		ax := axis
		if ax < 0 {
			ax += r
		}
		if r < 3 || ax < 1 || ax > r-2 || (x.Shape()[r-1] != 1 && x.Shape()[r-1] != 2) {
			return nil, n.Errorf(ErrInvalidArgument, "input %v with axis %d: want [batch, ..., 1 or 2] and an axis among the signal dimensions", x.Shape(), axis)
		}
		size := x.Shape()[ax]
		m := size
		if !xtAbsent(in, 1) {
			v, ok := scalarInt(in[1])
			if !ok || v <= 0 {
				return nil, n.Errorf(ErrInvalidArgument, "dft_length must be one positive integer, got %v", in[1])
			}
			m = int(v)
		}
		bins := m
		if onesided {
			bins = m/2 + 1
		}
		cplx := x.Shape()[r-1]
		outer := x.Shape()[:ax].NumElements()
		inner := x.Shape()[ax+1 : r-1].NumElements()
		outShape := x.Shape().Clone()
		outShape[ax], outShape[r-1] = bins, 2
		xv := xtFloat64s(x)
		out := make([]float64, outShape.NumElements())
		re, im := make([]float64, size), make([]float64, size)
		ore, oim := make([]float64, bins), make([]float64, bins)
		for o := range outer {
			for i := range inner {
				for t := range size {
					p := ((o*size+t)*inner + i) * cplx
					re[t] = xv[p]
					im[t] = 0
					if cplx == 2 {
						im[t] = xv[p+1]
					}
				}
				xtDFT1(re, im, m, inverse, ore, oim)
				for k := range bins {
					q := ((o*bins+k)*inner + i) * 2
					out[q], out[q+1] = ore[k], oim[k]
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), outShape, out)}, nil
	}), nil
}

// xtBuildSTFT makes STFT (opset 17): signal [batch, length, 1 or 2],
// frame_step, an optional window and frame_length; the output is
// [batch, frames, bins, 2] with bins = frame_length/2+1 when onesided.
func xtBuildSTFT(n Node) (Kernel, error) {
	onesided := attrInt(n, "onesided", 1) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "signal", x, floatTypes...); err != nil {
			return nil, err
		}
		if x.Rank() != 3 || (x.Shape()[2] != 1 && x.Shape()[2] != 2) {
			return nil, n.Errorf(ErrInvalidArgument, "signal must be [batch, length, 1 or 2], got %v", x.Shape())
		}
		step, err := xtScalar(n, in, 1, "frame_step")
		if err != nil {
			return nil, err
		}
		var window []float64
		if !xtAbsent(in, 2) {
			if in[2].Rank() != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "window must be 1-D, got %v", in[2].Shape())
			}
			window = xtFloat64s(in[2])
		}
		length := int64(len(window))
		if !xtAbsent(in, 3) {
			if length, err = xtScalar(n, in, 3, "frame_length"); err != nil {
				return nil, err
			}
			if window != nil && int(length) != len(window) {
				return nil, n.Errorf(ErrInvalidArgument, "frame_length %d differs from the window's %d", length, len(window))
			}
		}
		nb, sl, cplx := x.Shape()[0], x.Shape()[1], x.Shape()[2]
		if step <= 0 || length <= 0 || int(length) > sl {
			return nil, n.Errorf(ErrInvalidArgument, "frame_step %d and frame_length %d for a signal of %d", step, length, sl)
		}
		fl := int(length)
		frames := (sl-fl)/int(step) + 1
		bins := fl
		if onesided {
			bins = fl/2 + 1
		}
		xv := xtFloat64s(x)
		out := make([]float64, nb*frames*bins*2)
		re, im := make([]float64, fl), make([]float64, fl)
		ore, oim := make([]float64, bins), make([]float64, bins)
		for b := range nb {
			for f := range frames {
				for t := range fl {
					p := (b*sl + f*int(step) + t) * cplx
					w := 1.0
					if window != nil {
						w = window[t]
					}
					re[t], im[t] = xv[p]*w, 0
					if cplx == 2 {
						im[t] = xv[p+1] * w
					}
				}
				xtDFT1(re, im, fl, false, ore, oim)
				for k := range bins {
					q := ((b*frames+f)*bins + k) * 2
					out[q], out[q+1] = ore[k], oim[k]
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), tensor.Shape{nb, frames, bins, 2}, out)}, nil
	}), nil
}
