package kernels

import (
	"context"
	"math"

	"inferd/internal/tensor"
)

func init() {
	Register("OnnxSoftmax", rdBuildSoftmax(rdSoftmax))
	Register("OnnxLogSoftmax", rdBuildSoftmax(rdLogSoftmax))
	Register("OnnxHardmax", rdBuildSoftmax(rdHardmax))
	Register("OnnxLayerNormalization", rdBuildLayerNorm)
	Register("OnnxBatchNormalization", rdBuildBatchNorm)
	Register("OnnxInstanceNormalization", rdBuildInstanceNorm)
	Register("OnnxLRN", rdBuildLRN)
	Register("OnnxMeanVarianceNormalization", rdBuildMVN)
}

// The modes of the softmax family.
const (
	rdSoftmax = iota
	rdLogSoftmax
	rdHardmax
)

// rdBuildSoftmax makes ONNX Softmax, LogSoftmax and Hardmax. Before opset
// 13 the input is coerced to a matrix at axis (default 1), whose rows are
// normalized; from 13 the op runs along axis (default -1).
func rdBuildSoftmax(mode int) Builder {
	return func(n Node) (Kernel, error) {
		opset := attrInt(n, "_opset", 13)
		def := int64(-1)
		if opset < 13 {
			def = 1
		}
		axisAttr := attrInt(n, "axis", def)
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			x := in[0]
			if err := checkDType(n, "input", x, rdFloats...); err != nil {
				return nil, err
			}
			s := x.Shape()
			if x.Rank() == 0 {
				s = tensor.Shape{1}
			}
			axis, err := onnxAxis(n, axisAttr, len(s))
			if err != nil {
				return nil, err
			}
			outer, cnt, inner := rdSplit(s, axis)
			if opset < 13 {
				cnt, inner = cnt*inner, 1
			}
			var res *tensor.Tensor
			switch x.DType() {
			case tensor.Float32:
				res = rdSoftmaxTyped[float32](ctx, x, outer, cnt, inner, mode)
			case tensor.Float64:
				res = rdSoftmaxTyped[float64](ctx, x, outer, cnt, inner, mode)
			default:
				// Half precision: computed in float64, rounded once.
				v, _ := rdF64(x)
				wide := rdSoftmaxTyped[float64](context.Background(), tensor.MustFromSlice(x.Shape(), v), outer, cnt, inner, mode)
				res = rdStore(ctx, x.DType(), x.Shape(), wide.Float64s())
			}
			return []*tensor.Tensor{res}, nil
		}), nil
	}
}

// rdSoftmaxTyped normalizes x, seen as outer × cnt × inner, along its
// middle dimension. Hardmax marks the first maximum with 1.
func rdSoftmaxTyped[T Float](ctx context.Context, x *tensor.Tensor, outer, cnt, inner int, mode int) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, x.DType(), x.Shape())
	v := Slice[T](x)
	if cnt == 0 {
		return res
	}
	// Rows (one per outer and inner index) split across goroutines.
	parallelFor(ctx, outer*inner, outer*inner*cnt*8, func(lo, hi int) {
		ex := make([]float64, cnt)
		for r := lo; r < hi; r++ {
			i, k := r/inner, r%inner
			base := i*cnt*inner + k
			m, mi := math.Inf(-1), 0
			for j := 0; j < cnt; j++ {
				if e := float64(v[base+j*inner]); e > m || math.IsNaN(e) && !math.IsNaN(m) {
					m, mi = e, j
				}
			}
			if mode == rdHardmax {
				for j := 0; j < cnt; j++ {
					o[base+j*inner] = 0
				}
				o[base+mi*inner] = 1
				continue
			}
			sum := 0.0
			for j := 0; j < cnt; j++ {
				ex[j] = math.Exp(float64(v[base+j*inner]) - m)
				sum += ex[j]
			}
			if mode == rdLogSoftmax {
				ls := math.Log(sum)
				for j := 0; j < cnt; j++ {
					o[base+j*inner] = T(float64(v[base+j*inner]) - m - ls)
				}
				continue
			}
			inv := 1 / sum
			for j := 0; j < cnt; j++ {
				o[base+j*inner] = T(ex[j] * inv)
			}
		}
	})
	return res
}

// rdExpand broadcasts t to shape (NumPy's rules, t aligned on the right)
// and returns the float64 values in shape's layout.
func rdExpand(t *tensor.Tensor, shape tensor.Shape) ([]float64, error) {
	if b, err := BroadcastShape(t.Shape(), shape); err != nil || !b.Equal(shape) {
		return nil, errorf("shape %v does not broadcast to %v", t.Shape(), shape)
	}
	v, ok := rdF64(t)
	if !ok {
		return nil, errorf("dtype %v is not numeric", t.DType())
	}
	out := make([]float64, shape.NumElements())
	forEachRun(shape, []tensor.Shape{t.Shape()}, func(oo int, offs []int, cnt int, steps []int) {
		for j := 0; j < cnt; j++ {
			out[oo+j] = v[offs[0]+j*steps[0]]
		}
	})
	return out, nil
}

// rdBuildLayerNorm makes ONNX LayerNormalization: X normalized over the
// dimensions from axis (default -1) on, times Scale plus B (both
// broadcast to those dimensions). Outputs 1 and 2, Mean and InvStdDev,
// keep the normalized dimensions as 1s and have the stash_type dtype.
func rdBuildLayerNorm(n Node) (Kernel, error) {
	axisAttr := attrInt(n, "axis", -1)
	eps := float64(attrFloat(n, "epsilon", 1e-5))
	stash := tensor.Float32
	if attrInt(n, "stash_type", 1) == 11 {
		stash = tensor.Float64
	}
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, rdFloats...); err != nil {
			return nil, err
		}
		axis, err := onnxAxis(n, axisAttr, x.Rank())
		if err != nil {
			return nil, err
		}
		s := x.Shape()
		norm := s[axis:]
		outer, cnt := 1, norm.NumElements()
		for _, d := range s[:axis] {
			outer *= d
		}
		scale, err := rdExpand(in[1], norm)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "Scale: %v", err)
		}
		var bias []float64
		if absent.input(in, 2) != nil {
			if bias, err = rdExpand(in[2], norm); err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "B: %v", err)
			}
		}
		statShape := s.Clone()
		for d := axis; d < len(statShape); d++ {
			statShape[d] = 1
		}
		mean, inv := make([]float64, outer), make([]float64, outer)
		if bias == nil {
			bias = make([]float64, cnt)
		}
		var y *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			var o []float32
			y, o = NewLikeCtx[float32](ctx, tensor.Float32, s)
			rdLayerNormRows(ctx, x.Float32s(), o, cnt, scale, bias, eps, mean, inv)
		case tensor.Float64:
			var o []float64
			y, o = NewLikeCtx[float64](ctx, tensor.Float64, s)
			rdLayerNormRows(ctx, x.Float64s(), o, cnt, scale, bias, eps, mean, inv)
		default:
			v, _ := rdF64(x)
			o := make([]float64, len(v))
			rdLayerNormRows(ctx, v, o, cnt, scale, bias, eps, mean, inv)
			y = rdStore(ctx, x.DType(), s, o)
		}
		return []*tensor.Tensor{
			y,
			rdStore(ctx, stash, statShape, mean),
			rdStore(ctx, stash, statShape, inv),
		}, nil
	}), nil
}

// rdMeanVar returns the mean of row and its population variance (the mean
// squared deviation from that mean), in float64.
func rdMeanVar[T Float](row []T) (mean, variance float64) {
	for _, e := range row {
		mean += float64(e)
	}
	mean /= float64(len(row))
	for _, e := range row {
		d := float64(e) - mean
		variance += d * d
	}
	return mean, variance / float64(len(row))
}

// rdLayerNormRows normalizes each row of cnt elements of x into y,
// recording its mean and inverse standard deviation.
func rdLayerNormRows[T Float](ctx context.Context, x, y []T, cnt int, scale, bias []float64, eps float64, mean, inv []float64) {
	parallelFor(ctx, len(mean), len(mean)*cnt*4, func(lo, hi int) {
		rdLayerNormRange(x, y, cnt, scale, bias, eps, mean, inv, lo, hi)
	})
}

// rdLayerNormRange is rdLayerNormRows for rows lo to hi.
func rdLayerNormRange[T Float](x, y []T, cnt int, scale, bias []float64, eps float64, mean, inv []float64, lo, hi int) {
	for i := lo; i < hi; i++ {
		row, dst := x[i*cnt:(i+1)*cnt], y[i*cnt:(i+1)*cnt]
		m, va := rdMeanVar(row)
		is := 1 / math.Sqrt(va+eps)
		mean[i], inv[i] = m, is
		for j, e := range row {
			dst[j] = T((float64(e)-m)*is*scale[j] + bias[j])
		}
	}
}

// rdChannelVec reads a per-channel input of BatchNormalization or
// InstanceNormalization, which must hold want values.
func rdChannelVec(t *tensor.Tensor, want int) ([]float64, error) {
	if t.Len() != want {
		return nil, errorf("has shape %v, want %d elements", t.Shape(), want)
	}
	v, ok := rdF64(t)
	if !ok {
		return nil, errorf("dtype %v is not numeric", t.DType())
	}
	return v, nil
}

// rdBuildBatchNorm makes ONNX BatchNormalization. In inference Y =
// (X - mean) / sqrt(var + epsilon) * scale + B per channel (dimension
// 1); with spatial=0 (before opset 9) the statistics are per element of a
// sample. With training_mode=1 (opset 14) the batch's own statistics are
// used, and outputs 1 and 2 are the running mean and variance updated
// with momentum.
func rdBuildBatchNorm(n Node) (Kernel, error) {
	eps := float64(attrFloat(n, "epsilon", 1e-5))
	momentum := float64(attrFloat(n, "momentum", 0.9))
	training := attrInt(n, "training_mode", 0) != 0
	spatial := attrInt(n, "spatial", 1) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 5); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, rdFloats...); err != nil {
			return nil, err
		}
		s := x.Shape()
		if len(s) < 2 {
			s = append(s.Clone(), 1)
			if len(s) < 2 {
				s = append(s, 1)
			}
		}
		nb, c := s[0], s[1]
		inner := s[2:].NumElements()
		per := c
		if !spatial {
			per = c * inner
		}
		var vecs [4][]float64
		for i := range vecs {
			var err error
			if vecs[i], err = rdChannelVec(in[i+1], per); err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "input %d: %v", i+1, err)
			}
		}
		scale, bias, mean, vari := vecs[0], vecs[1], vecs[2], vecs[3]
		// group maps an element's offset within a sample to its statistic.
		group := func(off int) int { return off / inner }
		if !spatial {
			group = func(off int) int { return off }
		}
		sample := c * inner
		var v []float64
		var runMean, runVar []float64
		if training {
			v, _ = rdF64(x)
			bm, bv := make([]float64, per), make([]float64, per)
			cnts := make([]float64, per)
			for b := 0; b < nb; b++ {
				for off := 0; off < sample; off++ {
					g := group(off)
					bm[g] += v[b*sample+off]
					cnts[g]++
				}
			}
			for g := range bm {
				bm[g] /= cnts[g]
			}
			for b := 0; b < nb; b++ {
				for off := 0; off < sample; off++ {
					g := group(off)
					d := v[b*sample+off] - bm[g]
					bv[g] += d * d
				}
			}
			runMean, runVar = make([]float64, per), make([]float64, per)
			for g := range bv {
				bv[g] /= cnts[g]
				runMean[g] = mean[g]*momentum + bm[g]*(1-momentum)
				runVar[g] = vari[g]*momentum + bv[g]*(1-momentum)
			}
			mean, vari = bm, bv
		}
		a, sh := make([]float64, per), make([]float64, per)
		for g := range a {
			a[g] = scale[g] / math.Sqrt(vari[g]+eps)
			sh[g] = bias[g] - mean[g]*a[g]
		}
		var y *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			var o []float32
			y, o = NewLikeCtx[float32](ctx, tensor.Float32, x.Shape())
			rdAffine(x.Float32s(), o, nb, sample, inner, spatial, a, sh)
		case tensor.Float64:
			var o []float64
			y, o = NewLikeCtx[float64](ctx, tensor.Float64, x.Shape())
			rdAffine(x.Float64s(), o, nb, sample, inner, spatial, a, sh)
		default:
			if v == nil {
				v, _ = rdF64(x)
			}
			o := make([]float64, len(v))
			rdAffine(v, o, nb, sample, inner, spatial, a, sh)
			y = rdStore(ctx, x.DType(), x.Shape(), o)
		}
		out := []*tensor.Tensor{y}
		if training {
			out = append(out,
				rdStore(ctx, in[3].DType(), in[3].Shape(), runMean),
				rdStore(ctx, in[4].DType(), in[4].Shape(), runVar))
		}
		return out, nil
	}), nil
}

// rdAffine sets y = x·a + sh over nb samples of sample elements, the
// coefficients per channel (inner elements each) when spatial, else per
// element of a sample.
func rdAffine[T Float](x, y []T, nb, sample, inner int, spatial bool, a, sh []float64) {
	for b := 0; b < nb; b++ {
		xs, ys := x[b*sample:(b+1)*sample], y[b*sample:(b+1)*sample]
		if !spatial {
			for i, e := range xs {
				ys[i] = T(float64(e)*a[i] + sh[i])
			}
			continue
		}
		for g := range a {
			ag, sg := a[g], sh[g]
			src, dst := xs[g*inner:(g+1)*inner], ys[g*inner:(g+1)*inner]
			for i, e := range src {
				dst[i] = T(float64(e)*ag + sg)
			}
		}
	}
}

// rdBuildInstanceNorm makes ONNX InstanceNormalization: each channel of
// each sample normalized over its spatial elements, then scaled and
// shifted per channel.
func rdBuildInstanceNorm(n Node) (Kernel, error) {
	eps := float64(attrFloat(n, "epsilon", 1e-5))
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "input", x, rdFloats...); err != nil {
			return nil, err
		}
		s := x.Shape()
		if len(s) < 2 {
			return nil, n.Errorf(ErrInvalidArgument, "input must have rank >= 2, got %v", s)
		}
		nb, c, inner := s[0], s[1], s[2:].NumElements()
		scale, err := rdChannelVec(in[1], c)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "scale: %v", err)
		}
		bias, err := rdChannelVec(in[2], c)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "B: %v", err)
		}
		var y *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			var o []float32
			y, o = NewLikeCtx[float32](ctx, tensor.Float32, s)
			rdInstanceRows(ctx, x.Float32s(), o, nb*c, c, inner, scale, bias, eps)
		case tensor.Float64:
			var o []float64
			y, o = NewLikeCtx[float64](ctx, tensor.Float64, s)
			rdInstanceRows(ctx, x.Float64s(), o, nb*c, c, inner, scale, bias, eps)
		default:
			v, _ := rdF64(x)
			o := make([]float64, len(v))
			rdInstanceRows(ctx, v, o, nb*c, c, inner, scale, bias, eps)
			y = rdStore(ctx, x.DType(), s, o)
		}
		return []*tensor.Tensor{y}, nil
	}), nil
}

// rdInstanceRows normalizes rows rows of inner elements of x into y, row
// r being channel r%c, scaled and shifted by that channel's scale and
// bias; rows are split across the run's threads.
func rdInstanceRows[T Float](ctx context.Context, x, y []T, rows, c, inner int, scale, bias []float64, eps float64) {
	parallelFor(ctx, rows, rows*inner*4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row, dst := x[r*inner:(r+1)*inner], y[r*inner:(r+1)*inner]
			m, va := rdMeanVar(row)
			ch := r % c
			k := scale[ch] / math.Sqrt(va+eps)
			for j, e := range row {
				dst[j] = T((float64(e)-m)*k + bias[ch])
			}
		}
	})
}

// rdBuildLRN makes ONNX LRN: each element divided by (bias + alpha/size ·
// the sum of squares over the size channels around it)^beta.
func rdBuildLRN(n Node) (Kernel, error) {
	alpha := float64(attrFloat(n, "alpha", 1e-4))
	beta := float64(attrFloat(n, "beta", 0.75))
	bias := float64(attrFloat(n, "bias", 1))
	size := int(attrInt(n, "size", 0))
	if size <= 0 {
		return nil, n.Errorf(ErrInvalidArgument, "size must be positive, got %d", size)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, rdFloats...); err != nil {
			return nil, err
		}
		s := x.Shape()
		if len(s) < 2 {
			return nil, n.Errorf(ErrInvalidArgument, "X must have rank >= 2, got %v", s)
		}
		nb, c, inner := s[0], s[1], s[2:].NumElements()
		lo, hi := (size-1)/2, (size-1)-(size-1)/2
		v, _ := rdF64(x)
		y := make([]float64, len(v))
		for b := 0; b < nb; b++ {
			for ch := 0; ch < c; ch++ {
				for k := 0; k < inner; k++ {
					sq := 0.0
					for cc := max(0, ch-lo); cc <= min(c-1, ch+hi); cc++ {
						e := v[(b*c+cc)*inner+k]
						sq += e * e
					}
					i := (b*c+ch)*inner + k
					y[i] = v[i] / math.Pow(bias+alpha/float64(size)*sq, beta)
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), s, y)}, nil
	}), nil
}

// rdBuildMVN makes ONNX MeanVarianceNormalization: (X - E[X]) /
// (sqrt(E[X²] - E[X]²) + 1e-9), the expectations over axes (default 0, 2,
// 3), as ONNX's function body computes it.
func rdBuildMVN(n Node) (Kernel, error) {
	axes := attrInts(n, "axes", []int64{0, 2, 3})
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, rdFloats...); err != nil {
			return nil, err
		}
		mask := make([]bool, x.Rank())
		for _, a := range axes {
			d, err := onnxAxis(n, a, x.Rank())
			if err != nil {
				return nil, err
			}
			mask[d] = true
		}
		keep, _ := reducedShapes(x.Shape(), mask, true)
		cnt := 1
		for d, red := range mask {
			if red {
				cnt *= x.Shape()[d]
			}
		}
		v, _ := rdF64(x)
		m := make([]float64, keep.NumElements())
		sq := make([]float64, len(m))
		rdFold(v, x.Shape(), keep, m, func(a, e float64, _ int) float64 { return a + e })
		rdFold(v, x.Shape(), keep, sq, func(a, e float64, _ int) float64 { return a + e*e })
		sd := make([]float64, len(m))
		for i := range m {
			m[i] /= float64(cnt)
			sd[i] = math.Sqrt(max(sq[i]/float64(cnt)-m[i]*m[i], 0)) + 1e-9
		}
		y := make([]float64, len(v))
		forEachRun(x.Shape(), []tensor.Shape{keep}, func(xo int, offs []int, c int, steps []int) {
			for j := 0; j < c; j++ {
				g := offs[0] + j*steps[0]
				y[xo+j] = (v[xo+j] - m[g]) / sd[g]
			}
		})
		return []*tensor.Tensor{rdStore(ctx, x.DType(), x.Shape(), y)}, nil
	}), nil
}
