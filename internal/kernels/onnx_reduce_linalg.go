package kernels

import (
	"context"
	"math"
	"slices"
	"strings"

	"inferd/internal/tensor"
)

func init() {
	Register("OnnxMatMul", rdBuildMatMul)
	Register("OnnxGemm", rdBuildGemm)
	Register("OnnxDet", rdBuildDet)
	Register("OnnxEinsum", rdBuildEinsum)
}

// rdBuildMatMul makes ONNX MatMul, NumPy's matmul: a 1-D first operand is
// a row vector and a 1-D second operand a column vector, their added
// dimension dropped from the result; the batch dimensions broadcast.
func rdBuildMatMul(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, rdNumeric); err != nil {
			return nil, err
		}
		dt := in[0].DType()
		a, b := rdWiden(in[0]), rdWiden(in[1])
		if a.Rank() == 0 || b.Rank() == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "operands must not be scalars, got %v and %v", a.Shape(), b.Shape())
		}
		va, vb := a.Rank() == 1, b.Rank() == 1
		var err error
		if va {
			if a, err = a.Reshaped(tensor.Shape{1, a.Len()}); err != nil {
				return nil, err
			}
		}
		if vb {
			if b, err = b.Reshaped(tensor.Shape{b.Len(), 1}); err != nil {
				return nil, err
			}
		}
		out, err := batchMatMul(ctx, a, b, false, false, true)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if va || vb {
			s := out.Shape()
			shape := s[:len(s)-2].Clone()
			if !va {
				shape = append(shape, s[len(s)-2])
			}
			if !vb {
				shape = append(shape, s[len(s)-1])
			}
			if out, err = out.Reshaped(shape); err != nil {
				return nil, err
			}
		}
		return []*tensor.Tensor{rdNarrow(ctx, out, dt)}, nil
	}), nil
}

// rdBuildGemm makes ONNX Gemm: alpha·A'·B' + beta·C, A' and B' the
// matrices transposed per transA and transB, C (optional) broadcast to
// the product's shape.
func rdBuildGemm(n Node) (Kernel, error) {
	ta, tb := attrInt(n, "transA", 0) != 0, attrInt(n, "transB", 0) != 0
	alpha, beta := float64(attrFloat(n, "alpha", 1)), float64(attrFloat(n, "beta", 1))
	absent := onnxAbsentOf(n)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, rdNumeric); err != nil {
			return nil, err
		}
		dt := in[0].DType()
		a, b := rdWiden(in[0]), rdWiden(in[1])
		if a.Rank() != 2 || b.Rank() != 2 {
			return nil, n.Errorf(ErrInvalidArgument, "A and B must be matrices, got %v and %v", a.Shape(), b.Shape())
		}
		mm, err := batchMatMul(ctx, a, b, ta, tb, false)
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		hasC := absent.input(in, 2) != nil
		if alpha == 1 && (!hasC || beta == 0) {
			return []*tensor.Tensor{rdNarrow(ctx, mm, dt)}, nil
		}
		y, _ := rdF64(mm)
		y = slices.Clone(y)
		for i := range y {
			y[i] *= alpha
		}
		if hasC && beta != 0 {
			c, err := rdExpand(in[2], mm.Shape())
			if err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "C: %v", err)
			}
			for i := range y {
				y[i] += beta * c[i]
			}
		}
		return []*tensor.Tensor{rdStore(ctx, dt, mm.Shape(), y)}, nil
	}), nil
}

// rdWiden returns t when the matrix product takes its dtype, else t
// converted: half precision to float32, other integers to int64.
func rdWiden(t *tensor.Tensor) *tensor.Tensor {
	switch t.DType() {
	case tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64:
		return t
	case tensor.Float16, tensor.BFloat16:
		v, _ := rdF64(t)
		return tensor.MustFromSlice(t.Shape(), rdConv[float64, float32](v))
	}
	out := tensor.New(tensor.Int64, t.Shape())
	o := out.Int64s()
	switch d := t.Data().(type) {
	case []int8:
		copy(o, rdConv[int8, int64](d))
	case []uint8:
		copy(o, rdConv[uint8, int64](d))
	case []int16:
		copy(o, rdConv[int16, int64](d))
	case []uint16:
		copy(o, rdConv[uint16, int64](d))
	case []uint32:
		copy(o, rdConv[uint32, int64](d))
	case []uint64:
		copy(o, rdConv[uint64, int64](d))
	}
	return out
}

// rdNarrow converts a product computed by rdWiden's dtype back to dt
// (integers wrapping).
func rdNarrow(ctx context.Context, t *tensor.Tensor, dt tensor.DType) *tensor.Tensor {
	if t.DType() == dt {
		return t
	}
	if t.DType() == tensor.Float32 {
		v, _ := rdF64(t)
		return rdStore(ctx, dt, t.Shape(), v)
	}
	out := Alloc(ctx, dt, t.Shape())
	v := t.Int64s()
	switch d := out.Data().(type) {
	case []int8:
		rdIntInto(d, v)
	case []uint8:
		rdIntInto(d, v)
	case []int16:
		rdIntInto(d, v)
	case []uint16:
		rdIntInto(d, v)
	case []uint32:
		rdIntInto(d, v)
	case []uint64:
		rdIntInto(d, v)
	}
	return out
}

// rdBuildDet makes ONNX Det: the determinant of each matrix in the last
// two dimensions, by LU decomposition with partial pivoting.
func rdBuildDet(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if err := checkDType(n, "X", x, rdFloats...); err != nil {
			return nil, err
		}
		s := x.Shape()
		if len(s) < 2 || s[len(s)-1] != s[len(s)-2] {
			return nil, n.Errorf(ErrInvalidArgument, "X must hold square matrices, got shape %v", s)
		}
		m := s[len(s)-1]
		batch := s[:len(s)-2]
		v, _ := rdF64(x)
		out := make([]float64, batch.NumElements())
		a := make([]float64, m*m)
		for bi := range out {
			copy(a, v[bi*m*m:(bi+1)*m*m])
			out[bi] = rdLUDet(a, m)
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), batch.Clone(), out)}, nil
	}), nil
}

// rdLUDet returns the determinant of the m×m matrix a, which it
// overwrites.
func rdLUDet(a []float64, m int) float64 {
	det := 1.0
	for c := 0; c < m; c++ {
		p := c
		for r := c + 1; r < m; r++ {
			if math.Abs(a[r*m+c]) > math.Abs(a[p*m+c]) {
				p = r
			}
		}
		if a[p*m+c] == 0 {
			return 0
		}
		if p != c {
			for k := 0; k < m; k++ {
				a[p*m+k], a[c*m+k] = a[c*m+k], a[p*m+k]
			}
			det = -det
		}
		piv := a[c*m+c]
		det *= piv
		for r := c + 1; r < m; r++ {
			f := a[r*m+c] / piv
			if f == 0 {
				continue
			}
			for k := c; k < m; k++ {
				a[r*m+k] -= f * a[c*m+k]
			}
		}
	}
	return det
}

// rdBuildEinsum makes ONNX Einsum. Equations TensorFlow's Einsum kernel
// takes (one or two operands, no label repeated within one, float
// operands) run there; any other, diagonals included, is evaluated
// directly, summing the product of the operands over every assignment of
// the labels.
func rdBuildEinsum(n Node) (Kernel, error) {
	eq := attrString(n, "equation", "")
	fast, fastErr := buildEinsum(n)
	lhs, rhs, explicit := strings.Cut(eq, "->")
	var terms []einsumTerm
	for _, p := range strings.Split(lhs, ",") {
		t, ok := parseEinsumTerm(strings.TrimSpace(p))
		if !ok {
			return nil, n.Errorf(ErrInvalidArgument, "malformed equation %q", eq)
		}
		terms = append(terms, t)
	}
	var outT einsumTerm
	if explicit {
		var ok bool
		if outT, ok = parseEinsumTerm(strings.TrimSpace(rhs)); !ok || hasDuplicate(outT.labels) {
			return nil, n.Errorf(ErrInvalidArgument, "malformed output in equation %q", eq)
		}
	} else {
		count := map[rune]int{}
		for _, t := range terms {
			for _, l := range t.labels {
				count[l]++
			}
		}
		for l, c := range count {
			if c == 1 {
				outT.labels = append(outT.labels, l)
			}
		}
		slices.Sort(outT.labels)
		outT.ellipsis = 0
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, len(terms)); err != nil {
			return nil, err
		}
		allFloat := true
		for _, x := range in[:len(terms)] {
			if err := checkDType(n, "input", x, rdNumeric...); err != nil {
				return nil, err
			}
			allFloat = allFloat && isFloat(x.DType())
		}
		if fastErr == nil && allFloat {
			return fast.Compute(ctx, in)
		}
		out, err := rdEinsum(ctx, terms, outT, in[:len(terms)])
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "equation %q: %v", eq, err)
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// rdEinsum evaluates an equation by brute force over every assignment of
// its labels.
func rdEinsum(ctx context.Context, terms []einsumTerm, outT einsumTerm, x []*tensor.Tensor) (*tensor.Tensor, error) {
	maxE := 0
	for i, t := range terms {
		e := x[i].Rank() - len(t.labels)
		if t.ellipsis < 0 && e != 0 || e < 0 {
			return nil, errorf("operand %d has rank %d, which its %d labels do not match", i, x[i].Rank(), len(t.labels))
		}
		maxE = max(maxE, e)
	}
	size := map[rune]int{}
	labels := make([][]rune, len(terms))
	for i, t := range terms {
		labels[i] = t.expand(x[i].Rank()-len(t.labels), maxE)
		for d, l := range labels[i] {
			e := x[i].Shape()[d]
			switch old, ok := size[l]; {
			case !ok || old == 1:
				size[l] = e
			case e != old && e != 1:
				return nil, errorf("label %q has sizes %d and %d", l, old, e)
			}
		}
	}
	outL := outT.expand(maxE, maxE)
	if outT.ellipsis < 0 {
		outL = outT.expand(0, maxE)
		if maxE > 0 {
			return nil, errorf("the output drops the ellipsis's dimensions")
		}
	}
	all := append([]rune(nil), outL...)
	for _, ls := range labels {
		for _, l := range ls {
			if !slices.Contains(all, l) {
				all = append(all, l)
			}
		}
	}
	outShape := tensor.Shape{}
	for _, l := range outL {
		s, ok := size[l]
		if !ok {
			return nil, errorf("output label %q appears in no operand", l)
		}
		outShape = append(outShape, s)
	}
	dims := make([]int, len(all))
	for i, l := range all {
		dims[i] = size[l]
	}
	// strides[i][j] is operand i's stride for label all[j] (0 where it
	// does not have the label or broadcasts it).
	strides := make([][]int, len(terms))
	vals := make([][]float64, len(terms))
	for i := range terms {
		strides[i] = make([]int, len(all))
		s := x[i].Shape()
		st := 1
		for d := len(s) - 1; d >= 0; d-- {
			if s[d] != 1 {
				strides[i][slices.Index(all, labels[i][d])] += st
			}
			st *= s[d]
		}
		vals[i], _ = rdF64(x[i])
	}
	out := make([]float64, outShape.NumElements())
	total := 1
	for _, d := range dims {
		total *= d
	}
	idx := make([]int, len(all))
	nOut := len(outL)
	for it := 0; it < total; it++ {
		o := 0
		for j := 0; j < nOut; j++ {
			o = o*dims[j] + idx[j]
		}
		p := 1.0
		for i := range terms {
			off := 0
			for j, s := range strides[i] {
				off += s * idx[j]
			}
			p *= vals[i][off]
		}
		out[o] += p
		for j := len(idx) - 1; j >= 0; j-- {
			idx[j]++
			if idx[j] < dims[j] {
				break
			}
			idx[j] = 0
		}
	}
	return rdStore(ctx, x[0].DType(), outShape, out), nil
}
