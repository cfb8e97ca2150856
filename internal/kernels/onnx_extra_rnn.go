package kernels

import (
	"context"
	"math"
	"strings"

	"inferd/internal/tensor"
)

// This file holds ONNX's recurrent layers, RNN, GRU and LSTM, with their
// directions, sequence lengths, initial states, peepholes, clipping,
// activation lists and both layouts.

func init() {
	Register("OnnxRNN", xtBuildRecurrent(xtRNN))
	Register("OnnxGRU", xtBuildRecurrent(xtGRU))
	Register("OnnxLSTM", xtBuildRecurrent(xtLSTM))
}

// xtCell is the kind of recurrent layer.
type xtCell int

const (
	xtRNN xtCell = iota
	xtGRU
	xtLSTM
)

// gates is the number of stacked weight blocks; acts the number of
// activation functions per direction.
func (c xtCell) gates() int { return [...]int{1, 3, 4}[c] }
func (c xtCell) acts() int  { return [...]int{1, 2, 3}[c] }

// xtAct is one activation function with its parameters bound.
type xtAct func(float64) float64

// xtActivation returns the named activation of an ONNX recurrent layer;
// alpha and beta are the parameters given for it, NaN when not given.
func xtActivation(name string, alpha, beta float64) (xtAct, bool) {
	def := func(v, d float64) float64 {
		if math.IsNaN(v) {
			return d
		}
		return v
	}
	switch strings.ToLower(name) {
	case "sigmoid":
		return func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, true
	case "tanh":
		return math.Tanh, true
	case "relu":
		return func(x float64) float64 { return math.Max(x, 0) }, true
	case "affine":
		a, b := def(alpha, 1), def(beta, 0)
		return func(x float64) float64 { return a*x + b }, true
	case "leakyrelu":
		a := def(alpha, 0.01)
		return func(x float64) float64 {
			if x < 0 {
				return a * x
			}
			return x
		}, true
	case "thresholdedrelu":
		a := def(alpha, 1)
		return func(x float64) float64 {
			if x > a {
				return x
			}
			return 0
		}, true
	case "scaledtanh":
		a, b := def(alpha, 1), def(beta, 1)
		return func(x float64) float64 { return a * math.Tanh(b*x) }, true
	case "hardsigmoid":
		a, b := def(alpha, 0.2), def(beta, 0.5)
		return func(x float64) float64 { return math.Max(0, math.Min(1, a*x+b)) }, true
	case "elu":
		a := def(alpha, 1)
		return func(x float64) float64 {
			if x < 0 {
				return a * (math.Exp(x) - 1)
			}
			return x
		}, true
	case "softsign":
		return func(x float64) float64 { return x / (1 + math.Abs(x)) }, true
	case "softplus":
		return func(x float64) float64 { return math.Log1p(math.Exp(x)) }, true
	}
	return nil, false
}

// xtUsesAlpha and xtUsesBeta say which activations consume an entry of
// activation_alpha and activation_beta.
func xtUsesAlpha(name string) bool {
	switch strings.ToLower(name) {
	case "affine", "leakyrelu", "thresholdedrelu", "scaledtanh", "hardsigmoid", "elu":
		return true
	}
	return false
}

func xtUsesBeta(name string) bool {
	switch strings.ToLower(name) {
	case "affine", "scaledtanh", "hardsigmoid":
		return true
	}
	return false
}

// xtRecurrent holds a recurrent node's attributes.
type xtRecurrent struct {
	cell        xtCell
	dirs        int
	reverse     bool // for one direction: runs backwards
	hidden      int
	layout      int64
	clip        float64 // 0 for none
	acts        [][]xtAct
	inputForget bool
	linearReset bool
}

func xtBuildRecurrent(cell xtCell) Builder {
	return func(n Node) (Kernel, error) {
		r := &xtRecurrent{cell: cell, dirs: 1, hidden: int(attrInt(n, "hidden_size", 0)), layout: attrInt(n, "layout", 0)}
		switch dir := attrString(n, "direction", "forward"); dir {
		case "forward":
		case "reverse":
			r.reverse = true
		case "bidirectional":
			r.dirs = 2
		default:
			return nil, n.Errorf(ErrInvalidArgument, "direction %q", dir)
		}
		if c := attrFloat(n, "clip", 0); c > 0 {
			r.clip = float64(c)
		}
		r.inputForget = attrInt(n, "input_forget", 0) != 0
		r.linearReset = attrInt(n, "linear_before_reset", 0) != 0
		names := [][]string{{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}}[cell]
		var given []string
		if n.Attrs != nil {
			given, _ = n.Attrs.Strings("activations")
		}
		var alphas, betas []float32
		if n.Attrs != nil {
			alphas, _ = n.Attrs.Floats("activation_alpha")
			betas, _ = n.Attrs.Floats("activation_beta")
		}
		all := make([]string, 0, r.dirs*cell.acts())
		switch {
		case len(given) == r.dirs*cell.acts():
			all = given
		case len(given) == cell.acts():
			for range r.dirs {
				all = append(all, given...)
			}
		case len(given) == 0:
			for range r.dirs {
				all = append(all, names...)
			}
		default:
			return nil, n.Errorf(ErrInvalidArgument, "%d activations given, want %d", len(given), r.dirs*cell.acts())
		}
		ai, bi := 0, 0
		for d := range r.dirs {
			var fs []xtAct
			for _, name := range all[d*cell.acts() : (d+1)*cell.acts()] {
				alpha, beta := math.NaN(), math.NaN()
				if xtUsesAlpha(name) && ai < len(alphas) {
					alpha = float64(alphas[ai])
					ai++
				}
				if xtUsesBeta(name) && bi < len(betas) {
					beta = float64(betas[bi])
					bi++
				}
				f, ok := xtActivation(name, alpha, beta)
				if !ok {
					return nil, n.Errorf(ErrUnsupported, "activation %q", name)
				}
				fs = append(fs, f)
			}
			r.acts = append(r.acts, fs)
		}
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 3); err != nil {
				return nil, err
			}
			if err := checkDType(n, "X", in[0], floatTypes...); err != nil {
				return nil, err
			}
			for i := 1; i < len(in); i++ {
				if i != 4 && !xtAbsent(in, i) && in[i].DType() != in[0].DType() {
					return nil, n.Errorf(ErrInvalidArgument, "input %d has dtype %v, X has %v", i, in[i].DType(), in[0].DType())
				}
			}
			if in[0].DType() == tensor.Float64 {
				return xtRunRecurrent[float64](ctx, n, r, in)
			}
			return xtRunRecurrent[float32](ctx, n, r, in)
		}), nil
	}
}

// xtRunRecurrent computes the outputs Y, Y_h (and Y_c for LSTM).
func xtRunRecurrent[T Float](ctx context.Context, n Node, r *xtRecurrent, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	x, w, rw := in[0], in[1], in[2]
	if x.Rank() != 3 || w.Rank() != 3 || rw.Rank() != 3 {
		return nil, n.Errorf(ErrInvalidArgument, "X, W and R must be 3-D, got %v, %v, %v", x.Shape(), w.Shape(), rw.Shape())
	}
	seq, batch, isz := x.Shape()[0], x.Shape()[1], x.Shape()[2]
	if r.layout != 0 {
		seq, batch = batch, seq
	}
	hs := r.hidden
	if hs == 0 {
		hs = rw.Shape()[2]
	}
	g := r.cell.gates()
	if !w.Shape().Equal(tensor.Shape{r.dirs, g * hs, isz}) || !rw.Shape().Equal(tensor.Shape{r.dirs, g * hs, hs}) {
		return nil, n.Errorf(ErrInvalidArgument, "W %v and R %v do not match %d directions, hidden size %d and input size %d", w.Shape(), rw.Shape(), r.dirs, hs, isz)
	}
	// xs is X as [seq, batch, input].
	xs := Slice[T](x)
	if r.layout != 0 {
		xs = make([]T, len(xs))
		src := Slice[T](x)
		for b := range batch {
			for t := range seq {
				copy(xs[(t*batch+b)*isz:(t*batch+b+1)*isz], src[(b*seq+t)*isz:(b*seq+t+1)*isz])
			}
		}
	}
	bias := make([]T, r.dirs*2*g*hs)
	if !xtAbsent(in, 3) {
		if in[3].Len() != len(bias) {
			return nil, n.Errorf(ErrInvalidArgument, "B has shape %v, want [%d %d]", in[3].Shape(), r.dirs, 2*g*hs)
		}
		copy(bias, Slice[T](in[3]))
	}
	lens := make([]int, batch)
	for i := range lens {
		lens[i] = seq
	}
	if !xtAbsent(in, 4) {
		v, ok := IntValues(in[4])
		if !ok || len(v) != batch {
			return nil, n.Errorf(ErrInvalidArgument, "sequence_lens must hold %d integers, got %v", batch, in[4])
		}
		for i, l := range v {
			if l < 0 || int(l) > seq {
				return nil, n.Errorf(ErrInvalidArgument, "sequence length %d is outside [0, %d]", l, seq)
			}
			lens[i] = int(l)
		}
	}
	// state reads an initial state input ([dirs, batch, hidden], or
	// [batch, dirs, hidden] in layout 1) as [dirs][batch*hidden].
	state := func(i int) ([][]T, error) {
		out := make([][]T, r.dirs)
		for d := range out {
			out[d] = make([]T, batch*hs)
		}
		if xtAbsent(in, i) {
			return out, nil
		}
		if in[i].Len() != r.dirs*batch*hs {
			return nil, n.Errorf(ErrInvalidArgument, "initial state %d has shape %v", i, in[i].Shape())
		}
		src := Slice[T](in[i])
		for d := range r.dirs {
			for b := range batch {
				off := (d*batch + b) * hs
				if r.layout != 0 {
					off = (b*r.dirs + d) * hs
				}
				copy(out[d][b*hs:(b+1)*hs], src[off:off+hs])
			}
		}
		return out, nil
	}
	hState, err := state(5)
	if err != nil {
		return nil, err
	}
	var cState [][]T
	var peep []T
	if r.cell == xtLSTM {
		if cState, err = state(6); err != nil {
			return nil, err
		}
		peep = make([]T, r.dirs*3*hs)
		if !xtAbsent(in, 7) {
			if in[7].Len() != len(peep) {
				return nil, n.Errorf(ErrInvalidArgument, "P has shape %v, want [%d %d]", in[7].Shape(), r.dirs, 3*hs)
			}
			copy(peep, Slice[T](in[7]))
		}
	}
	dt := x.DType()
	ys := make([]T, seq*r.dirs*batch*hs) // [seq, dirs, batch, hidden]
	for d := range r.dirs {
		reverse := r.reverse || d == 1
		xtRecurrentDirection(ctx, r, d, reverse, xs, Slice[T](w)[d*g*hs*isz:(d+1)*g*hs*isz], Slice[T](rw)[d*g*hs*hs:(d+1)*g*hs*hs],
			bias[d*2*g*hs:(d+1)*2*g*hs], xtPeepOf(peep, d, hs), lens, seq, batch, isz, hs, hState[d], xtStateOf(cState, d), ys)
	}
	// Lay the outputs out.
	yShape := tensor.Shape{seq, r.dirs, batch, hs}
	hShape := tensor.Shape{r.dirs, batch, hs}
	if r.layout != 0 {
		yShape = tensor.Shape{batch, seq, r.dirs, hs}
		hShape = tensor.Shape{batch, r.dirs, hs}
	}
	y := Alloc(ctx, dt, yShape)
	yd := Slice[T](y)
	if r.layout == 0 {
		copy(yd, ys)
	} else {
		for t := range seq {
			for d := range r.dirs {
				for b := range batch {
					copy(yd[((b*seq+t)*r.dirs+d)*hs:][:hs], ys[((t*r.dirs+d)*batch+b)*hs:][:hs])
				}
			}
		}
	}
	final := func(st [][]T) *tensor.Tensor {
		t := Alloc(ctx, dt, hShape)
		td := Slice[T](t)
		for d := range r.dirs {
			for b := range batch {
				off := (d*batch + b) * hs
				if r.layout != 0 {
					off = (b*r.dirs + d) * hs
				}
				copy(td[off:off+hs], st[d][b*hs:(b+1)*hs])
			}
		}
		return t
	}
	out := []*tensor.Tensor{y, final(hState)}
	if r.cell == xtLSTM {
		out = append(out, final(cState))
	}
	return out, nil
}

func xtPeepOf[T any](p []T, d, hs int) []T {
	if p == nil {
		return nil
	}
	return p[d*3*hs : (d+1)*3*hs]
}

func xtStateOf[T any](s [][]T, d int) []T {
	if s == nil {
		return nil
	}
	return s[d]
}

// xtRecurrentDirection runs direction d over the sequence, updating h (and
// c) in place and writing each step's h into ys ([seq, dirs, batch, hs]).
// Rows whose sequence has ended keep their state and get zeros in ys.
func xtRecurrentDirection[T Float](ctx context.Context, r *xtRecurrent, d int, reverse bool, xs, w, rw, bias, peep []T, lens []int, seq, batch, isz, hs int, h, c []T, ys []T) {
	g := r.cell.gates()
	gh := g * hs
	wb, rb := bias[:gh], bias[gh:]
	// xw[t*batch+b] = X[t,b]·Wᵀ + Wb.
	xw := make([]T, seq*batch*gh)
	if seq*batch > 0 && isz > 0 {
		gemm(ctx, seq*batch, gh, isz, mat[T]{data: xs, ld: isz}, mat[T]{data: w, ld: isz, trans: true}, xw, gh)
	}
	for i := 0; i < seq*batch; i++ {
		row := xw[i*gh : (i+1)*gh]
		for j := range row {
			row[j] += wb[j]
		}
	}
	acts := r.acts[d]
	clip := func(v float64) float64 {
		if r.clip > 0 {
			return math.Max(-r.clip, math.Min(r.clip, v))
		}
		return v
	}
	hr := make([]T, batch*gh)
	var rh, rhr []T
	if r.cell == xtGRU && !r.linearReset {
		rh, rhr = make([]T, batch*hs), make([]T, batch*hs)
	}
	hNew := make([]T, hs)
	for s := range seq {
		if hs > 0 && batch > 0 {
			gemm(ctx, batch, gh, hs, mat[T]{data: h, ld: hs}, mat[T]{data: rw, ld: hs, trans: true}, hr, gh)
		}
		if rh != nil {
			// (r ⊙ h)·Rhᵀ needs r first.
			for b := range batch {
				if s >= lens[b] {
					continue
				}
				t := s
				if reverse {
					t = lens[b] - 1 - s
				}
				xrow, hrow := xw[(t*batch+b)*gh:], hr[b*gh:]
				for j := range hs {
					rg := acts[0](clip(float64(xrow[hs+j] + hrow[hs+j] + rb[hs+j])))
					rh[b*hs+j] = T(rg) * h[b*hs+j]
				}
			}
			if hs > 0 && batch > 0 {
				gemm(ctx, batch, hs, hs, mat[T]{data: rh, ld: hs}, mat[T]{data: rw[2*hs*hs:], ld: hs, trans: true}, rhr, hs)
			}
		}
		for b := range batch {
			if s >= lens[b] {
				continue
			}
			t := s
			if reverse {
				t = lens[b] - 1 - s
			}
			xrow, hrow := xw[(t*batch+b)*gh:(t*batch+b+1)*gh], hr[b*gh:(b+1)*gh]
			hb := h[b*hs : (b+1)*hs]
			switch r.cell {
			case xtRNN:
				for j := range hs {
					hNew[j] = T(acts[0](clip(float64(xrow[j] + hrow[j] + rb[j]))))
				}
			case xtGRU:
				for j := range hs {
					z := acts[0](clip(float64(xrow[j] + hrow[j] + rb[j])))
					var pre float64
					if r.linearReset {
						rg := acts[0](clip(float64(xrow[hs+j] + hrow[hs+j] + rb[hs+j])))
						pre = float64(xrow[2*hs+j]) + rg*float64(hrow[2*hs+j]+rb[2*hs+j])
					} else {
						pre = float64(xrow[2*hs+j] + rhr[b*hs+j] + rb[2*hs+j])
					}
					hh := acts[1](clip(pre))
					hNew[j] = T((1-z)*hh + z*float64(hb[j]))
				}
			case xtLSTM:
				cb := c[b*hs : (b+1)*hs]
				var pi, po, pf []T
				if peep != nil {
					pi, po, pf = peep[:hs], peep[hs:2*hs], peep[2*hs:]
				}
				for j := range hs {
					cPrev := float64(cb[j])
					ig := acts[0](clip(float64(xrow[j]+hrow[j]+rb[j]) + float64(pi[j])*cPrev))
					var fg float64
					if r.inputForget {
						fg = 1 - ig
					} else {
						fg = acts[0](clip(float64(xrow[2*hs+j]+hrow[2*hs+j]+rb[2*hs+j]) + float64(pf[j])*cPrev))
					}
					cc := acts[1](clip(float64(xrow[3*hs+j] + hrow[3*hs+j] + rb[3*hs+j])))
					cn := fg*cPrev + ig*cc
					og := acts[0](clip(float64(xrow[hs+j]+hrow[hs+j]+rb[hs+j]) + float64(po[j])*cn))
					cb[j] = T(cn)
					hNew[j] = T(og * acts[2](cn))
				}
			}
			copy(hb, hNew)
			copy(ys[((t*r.dirs+d)*batch+b)*hs:][:hs], hNew)
		}
	}
}
