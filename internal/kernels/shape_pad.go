package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("Pad", func(n Node) (Kernel, error) { return buildPad(n, false) })
	Register("PadV2", func(n Node) (Kernel, error) { return buildPad(n, true) })
	Register("MirrorPad", buildMirrorPad)
}

// padMode says how a padded position is filled.
type padMode int

const (
	padConstant  padMode = iota
	padReflect           // the edge is not repeated: [1 2 3] -> 3 2 [1 2 3] 2 1
	padSymmetric         // the edge is repeated:     [1 2 3] -> 2 1 [1 2 3] 3 2
)

// readPaddings validates a [rank, 2] paddings tensor.
func readPaddings(n Node, s tensor.Shape, p *tensor.Tensor, mode padMode) ([][2]int, error) {
	v, err := intInput(n, "paddings", p)
	if err != nil {
		return nil, err
	}
	if ps := p.Shape(); len(ps) != 2 || ps[0] != len(s) || ps[1] != 2 {
		return nil, n.Errorf(ErrInvalidArgument, "paddings must be a matrix of shape [%d, 2], got %v", len(s), ps)
	}
	out := make([][2]int, len(s))
	for i := range s {
		for j := range 2 {
			x := v[2*i+j]
			if x < 0 || x > maxOutputElements {
				return nil, n.Errorf(ErrInvalidArgument, "paddings must be non-negative: %d", x)
			}
			switch {
			case mode == padReflect && x > int64(s[i])-1:
				return nil, n.Errorf(ErrInvalidArgument, "paddings must be less than the dimension size: %d, %d not less than %d", v[2*i], v[2*i+1], s[i])
			case mode == padSymmetric && x > int64(s[i]):
				return nil, n.Errorf(ErrInvalidArgument, "paddings must be no greater than the dimension size: %d, %d greater than %d", v[2*i], v[2*i+1], s[i])
			}
			out[i][j] = int(x)
		}
	}
	return out, nil
}

// buildPad: Pad(input, paddings) with zeros, PadV2(input, paddings,
// constant_values) with a scalar.
func buildPad(n Node, v2 bool) (Kernel, error) {
	nin := 2
	if v2 {
		nin = 3
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, nin); err != nil {
			return nil, err
		}
		pads, err := readPaddings(n, in[0].Shape(), in[1], padConstant)
		if err != nil {
			return nil, err
		}
		var fill *tensor.Tensor
		if v2 {
			fill = in[2]
			if fill.Len() != 1 || fill.DType() != in[0].DType() {
				return nil, n.Errorf(ErrInvalidArgument, "constant_values must be a scalar of dtype %v, got %v", in[0].DType(), fill)
			}
		}
		out, err := pad(ctx, n, in[0], pads, padConstant, fill)
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// buildMirrorPad: MirrorPad(input, paddings) with mode REFLECT or SYMMETRIC.
func buildMirrorPad(n Node) (Kernel, error) {
	var mode padMode
	switch m := attrString(n, "mode", ""); m {
	case "REFLECT":
		mode = padReflect
	case "SYMMETRIC":
		mode = padSymmetric
	default:
		return nil, n.Errorf(ErrInvalidArgument, "mode %q is not REFLECT or SYMMETRIC", m)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		pads, err := readPaddings(n, in[0].Shape(), in[1], mode)
		if err != nil {
			return nil, err
		}
		out, err := pad(ctx, n, in[0], pads, mode, nil)
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// padSource maps output position o of a dimension of size dim padded by
// before to its input position, or -1 for a constant.
func padSource(o, before, dim int, mode padMode) int {
	i := o - before
	switch {
	case i >= 0 && i < dim:
		return i
	case mode == padConstant:
		return -1
	case i < 0 && mode == padReflect:
		return -i
	case i < 0:
		return -i - 1
	case mode == padReflect:
		return 2*dim - 2 - i
	default:
		return 2*dim - 1 - i
	}
}

// padRun is a stretch of an output row: n elements from the input row at
// src stepping by step, or constants when src is -1.
type padRun struct{ n, src, step int }

// pad builds the padded tensor. Every output dimension gets a map from
// output to input position; the innermost one is compressed into runs so a
// row is a handful of copies.
func pad(ctx context.Context, n Node, t *tensor.Tensor, pads [][2]int, mode padMode, fill *tensor.Tensor) (*tensor.Tensor, error) {
	s := t.Shape()
	outShape := make(tensor.Shape, len(s))
	for i, d := range s {
		outShape[i] = d + pads[i][0] + pads[i][1]
	}
	if err := checkSize(n, outShape); err != nil {
		return nil, err
	}
	var out *tensor.Tensor
	if fill == nil && mode == padConstant {
		// Padding with zeros writes only the copied elements.
		out = AllocZeroed(ctx, t.DType(), outShape)
	} else {
		out = Alloc(ctx, t.DType(), outShape)
	}
	e := asElems(out)
	total := outShape.NumElements()
	if total == 0 {
		return out, nil
	}
	var fe elems
	if fill != nil {
		fe = asElems(fill)
	}
	src := asElems(t)
	r := len(s)
	if r == 0 {
		e.copyRun(0, src, 0, 1)
		return out, nil
	}
	maps := make([][]int, r)
	for d := range r {
		maps[d] = make([]int, outShape[d])
		for o := range maps[d] {
			maps[d][o] = padSource(o, pads[d][0], s[d], mode)
		}
	}
	var runs []padRun
	for _, x := range maps[r-1] {
		if k := len(runs) - 1; k >= 0 {
			last := &runs[k]
			switch {
			case x == -1 && last.src == -1:
				last.n++
				continue
			case x != -1 && last.src != -1 && (last.n == 1 || last.step != 0) && x == last.src+last.n*stepOr(last, x):
				if last.n == 1 {
					last.step = x - last.src
				}
				last.n++
				continue
			}
		}
		runs = append(runs, padRun{n: 1, src: x})
	}
	inStrides := rowMajorStrides(s)
	row := outShape[r-1]
	idx := make([]int, r-1)
	for di := 0; di < total; di += row {
		base, constRow := 0, false
		for d, x := range idx {
			m := maps[d][x]
			if m < 0 {
				constRow = true
				break
			}
			base += m * inStrides[d]
		}
		if constRow {
			if fe != nil {
				e.fillRun(di, fe, 0, row)
			}
		} else {
			o := di
			for _, run := range runs {
				switch {
				case run.src < 0:
					if fe != nil {
						e.fillRun(o, fe, 0, run.n)
					}
				case run.n == 1:
					e.copyRun(o, src, base+run.src, 1)
				default:
					e.strideRun(o, src, base+run.src, run.n, run.step)
				}
				o += run.n
			}
		}
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < outShape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// stepOr returns the run's step, or the step x would give a one-element run.
func stepOr(r *padRun, x int) int {
	if r.n == 1 {
		if d := x - r.src; d == 1 || d == -1 {
			return d
		}
		return 0
	}
	return r.step
}
