package kernels

import (
	"context"
	"slices"
	"strings"

	"inferd/internal/tensor"
)

func init() {
	Register("Einsum", buildEinsum)
}

// einsumEllipsis is the first label given to the dimensions an ellipsis
// stands for; they are numbered from the left of the broadcast ellipsis so
// that operands of different ranks align on the right.
const einsumEllipsis rune = 0x10000

// einsumTerm is one side of the equation: its letters and where an
// ellipsis sits among them (-1 for none).
type einsumTerm struct {
	labels   []rune
	ellipsis int
}

func parseEinsumTerm(s string) (einsumTerm, bool) {
	t := einsumTerm{ellipsis: -1}
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		switch {
		case c == '.':
			if t.ellipsis >= 0 || !strings.HasPrefix(s[i:], "...") {
				return t, false
			}
			t.ellipsis = len(t.labels)
			i += 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			t.labels = append(t.labels, c)
		case c == ' ':
		default:
			return t, false
		}
	}
	return t, true
}

// expand returns the term's labels with its ellipsis replaced by the last
// n of the maxE ellipsis labels.
func (t einsumTerm) expand(n, maxE int) []rune {
	if t.ellipsis < 0 {
		return append([]rune(nil), t.labels...)
	}
	out := append([]rune(nil), t.labels[:t.ellipsis]...)
	for k := maxE - n; k < maxE; k++ {
		out = append(out, einsumEllipsis+rune(k))
	}
	return append(out, t.labels[t.ellipsis:]...)
}

// buildEinsum supports one or two operands with any mix of batch,
// contracted, free and summed-out labels, ellipses (broadcast over the
// batch dimensions) and the implicit output form. Labels repeated within
// one operand (diagonals) are refused.
func buildEinsum(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	eq := attrString(n, "equation", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	parts := strings.Split(lhs, ",")
	if len(parts) < 1 || len(parts) > 2 {
		return nil, n.Errorf(ErrUnsupported, "equation %q has %d operands (1 or 2 supported)", eq, len(parts))
	}
	var ins []einsumTerm
	for _, p := range parts {
		t, ok := parseEinsumTerm(p)
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "malformed equation %q", eq)
		}
		if hasDuplicate(t.labels) {
			return nil, n.Errorf(ErrUnsupported, "equation %q repeats a label within an operand", eq)
		}
		ins = append(ins, t)
	}
	var out einsumTerm
	if explicit {
		var ok bool
		if out, ok = parseEinsumTerm(rhs); !ok || hasDuplicate(out.labels) {
			return nil, n.Errorf(ErrInvalidArgument, "malformed output in equation %q", eq)
		}
		for _, l := range out.labels {
			found := false
			for _, in := range ins {
				found = found || slices.Contains(in.labels, l)
			}
			if !found {
				return nil, n.Errorf(ErrInvalidArgument, "output label %q of equation %q appears in no input", l, eq)
			}
		}
	} else {
		// Implicit form: the ellipsis, then the labels used exactly once,
		// in alphabetical order.
		count := map[rune]int{}
		for _, in := range ins {
			for _, l := range in.labels {
				count[l]++
			}
		}
		for l, c := range count {
			if c == 1 {
				out.labels = append(out.labels, l)
			}
		}
		slices.Sort(out.labels)
		out.ellipsis = 0
	}
	if len(ins) != n.NumInputs && n.NumInputs != 0 {
		return nil, n.Errorf(ErrInvalidArgument, "equation %q has %d operands but the node has %d inputs", eq, len(ins), n.NumInputs)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, len(ins)); err != nil {
			return nil, err
		}
		for _, x := range in[:len(ins)] {
			if err := checkDType(n, "input", x, floatTypes...); err != nil {
				return nil, err
			}
			if x.DType() != in[0].DType() {
				return nil, n.Errorf(ErrInvalidArgument, "input dtypes differ")
			}
		}
		res, err := einsum(ctx, ins, out, in[:len(ins)])
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "equation %q: %v", eq, err)
		}
		return Result(ctx, res), nil
	}), nil
}

func hasDuplicate(l []rune) bool {
	seen := map[rune]bool{}
	for _, r := range l {
		if seen[r] {
			return true
		}
		seen[r] = true
	}
	return false
}

// einsum evaluates the parsed equation: labels found in one operand only
// and not in the output are summed out first; the rest become the batch,
// free and contracted dimensions of one batched matrix product, whose
// result is permuted into the output order.
func einsum(ctx context.Context, ins []einsumTerm, outT einsumTerm, x []*tensor.Tensor) (*tensor.Tensor, error) {
	x = slices.Clone(x) // entries are replaced below; the caller's slice stays as it was
	maxE := 0
	ellDims := make([]int, len(ins))
	for i, t := range ins {
		if t.ellipsis < 0 {
			if x[i].Rank() != len(t.labels) {
				return nil, errorf("operand %d has rank %d but %d labels", i, x[i].Rank(), len(t.labels))
			}
			continue
		}
		ellDims[i] = x[i].Rank() - len(t.labels)
		if ellDims[i] < 0 {
			return nil, errorf("operand %d has rank %d, fewer than its %d labels", i, x[i].Rank(), len(t.labels))
		}
		maxE = max(maxE, ellDims[i])
	}
	labels := make([][]rune, len(ins))
	size := map[rune]int{}
	for i, t := range ins {
		labels[i] = t.expand(ellDims[i], maxE)
		for d, l := range labels[i] {
			e := x[i].Shape()[d]
			if s, ok := size[l]; ok && s != e {
				// Only ellipsis dimensions broadcast.
				if l < einsumEllipsis || (s != 1 && e != 1) {
					return nil, errorf("label %q has sizes %d and %d", l, s, e)
				}
				e = max(s, e)
			}
			size[l] = e
		}
	}
	var outL []rune
	if outT.ellipsis >= 0 {
		outL = outT.expand(maxE, maxE)
	} else {
		outL = append([]rune(nil), outT.labels...)
	}
	inOut := func(l rune) bool { return slices.Contains(outL, l) }

	// Sum out labels that appear in one operand and not in the output.
	for i := range x {
		var keep []rune
		mask := make([]bool, len(labels[i]))
		summed := false
		for d, l := range labels[i] {
			other := len(x) == 2 && slices.Contains(labels[1-i], l)
			if !inOut(l) && !other {
				mask[d] = true
				summed = true
				continue
			}
			keep = append(keep, l)
		}
		if summed {
			x[i] = einsumSum(ctx, x[i], mask)
			labels[i] = keep
		}
	}
	if len(x) == 1 {
		return einsumPermute(ctx, x[0], labels[0], outL)
	}

	a, b := x[0], x[1]
	la, lb := labels[0], labels[1]
	var batch, freeA, freeB, contract []rune
	for _, l := range outL {
		inA, inB := slices.Contains(la, l), slices.Contains(lb, l)
		switch {
		case inA && inB:
			batch = append(batch, l)
		case inA:
			freeA = append(freeA, l)
		case inB:
			freeB = append(freeB, l)
		}
	}
	for _, l := range la {
		if !inOut(l) && slices.Contains(lb, l) {
			contract = append(contract, l)
		}
	}
	prod := func(ls []rune, t *tensor.Tensor, tl []rune) int {
		p := 1
		for _, l := range ls {
			p *= t.Shape()[slices.Index(tl, l)]
		}
		return p
	}
	dimsOf := func(ls []rune, t *tensor.Tensor, tl []rune) tensor.Shape {
		s := tensor.Shape{}
		for _, l := range ls {
			s = append(s, t.Shape()[slices.Index(tl, l)])
		}
		return s
	}
	for _, l := range contract {
		if a.Shape()[slices.Index(la, l)] != b.Shape()[slices.Index(lb, l)] {
			return nil, errorf("contracted label %q has sizes %d and %d", l, a.Shape()[slices.Index(la, l)], b.Shape()[slices.Index(lb, l)])
		}
	}
	orderA := slices.Concat(batch, freeA, contract)
	orderB := slices.Concat(batch, contract, freeB)
	pa, err := einsumPermute(ctx, a, la, orderA)
	if err != nil {
		return nil, err
	}
	pb, err := einsumPermute(ctx, b, lb, orderB)
	if err != nil {
		return nil, err
	}
	m, k, nn := prod(freeA, a, la), prod(contract, a, la), prod(freeB, b, lb)
	ra, err := pa.Reshaped(append(dimsOf(batch, a, la), m, k))
	if err != nil {
		return nil, err
	}
	rb, err := pb.Reshaped(append(dimsOf(batch, b, lb), k, nn))
	if err != nil {
		return nil, err
	}
	mm, err := batchMatMul(ctx, ra, rb, false, false, true)
	if err != nil {
		return nil, err
	}
	bs := mm.Shape()[:len(batch)]
	full := slices.Concat(bs.Clone(), dimsOf(freeA, a, la), dimsOf(freeB, b, lb))
	r, err := mm.Reshaped(full)
	if err != nil {
		return nil, err
	}
	return einsumPermute(ctx, r, slices.Concat(batch, freeA, freeB), outL)
}

// einsumSum sums a float tensor over the dimensions set in mask.
func einsumSum(ctx context.Context, x *tensor.Tensor, mask []bool) *tensor.Tensor {
	keep, out := reducedShapes(x.Shape(), mask, false)
	count := 1
	for d, m := range mask {
		if m {
			count *= x.Shape()[d]
		}
	}
	if x.DType() == tensor.Float32 {
		return reduceFloat[float32](ctx, "Sum", x, keep, out, count)
	}
	return reduceFloat[float64](ctx, "Sum", x, keep, out, count)
}

// einsumPermute reorders x, whose dimensions carry the labels from, into
// the label order to; it shares x when the order is unchanged.
func einsumPermute(ctx context.Context, x *tensor.Tensor, from, to []rune) (*tensor.Tensor, error) {
	if len(from) != len(to) {
		return nil, errorf("cannot arrange labels %q as %q", string(from), string(to))
	}
	perm := make([]int, len(to))
	identity := true
	for d, l := range to {
		perm[d] = slices.Index(from, l)
		if perm[d] < 0 {
			return nil, errorf("cannot arrange labels %q as %q", string(from), string(to))
		}
		identity = identity && perm[d] == d
	}
	if identity {
		return x, nil
	}
	outShape := make(tensor.Shape, len(perm))
	for d, p := range perm {
		outShape[d] = x.Shape()[p]
	}
	out := Alloc(ctx, x.DType(), outShape)
	if x.DType() == tensor.Float32 {
		permuteInto(Slice[float32](x), x.Shape(), perm, Slice[float32](out))
	} else {
		permuteInto(Slice[float64](x), x.Shape(), perm, Slice[float64](out))
	}
	return out, nil
}

// permuteInto writes the transpose of src (shape in) by perm into dst:
// output dimension d is input dimension perm[d].
func permuteInto[T any](src []T, in tensor.Shape, perm []int, dst []T) {
	r := len(perm)
	if len(dst) == 0 {
		return
	}
	inStride := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		inStride[d] = s
		s *= in[d]
	}
	dims := make([]int, r)
	st := make([]int, r)
	for d, p := range perm {
		dims[d], st[d] = in[p], inStride[p]
	}
	last := r - 1
	idx := make([]int, r)
	base := 0
	for o := 0; o < len(dst); o += dims[last] {
		j := base
		for k := 0; k < dims[last]; k++ {
			dst[o+k] = src[j]
			j += st[last]
		}
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			base += st[d]
			if idx[d] < dims[d] {
				break
			}
			base -= st[d] * dims[d]
			idx[d] = 0
		}
	}
}
