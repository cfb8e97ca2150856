package kernels

import (
	"bytes"
	"cmp"
	"context"
	"math"

	"inferd/internal/tensor"
)

// The ONNX generator and rearranging kernels: Pad, ConstantOfShape, Range,
// EyeLike, Trilu, OneHot, NonZero, Compress, ReverseSequence.

func init() {
	Register("OnnxPad", shBuildPad)
	Register("OnnxConstantOfShape", shBuildConstantOfShape)
	Register("OnnxRange", shBuildRange)
	Register("OnnxEyeLike", shBuildEyeLike)
	Register("OnnxTrilu", shBuildTrilu)
	Register("OnnxOneHot", shBuildOneHot)
	Register("OnnxNonZero", shBuildNonZero)
	Register("OnnxCompress", shBuildCompress)
	Register("OnnxReverseSequence", shBuildReverseSequence)
}

// shScalar returns a one-element tensor of dtype dt holding v (true for
// any non-zero v when dt is Bool).
func shScalar(dt tensor.DType, v float64) (*tensor.Tensor, bool) {
	var data any
	switch dt {
	case tensor.Float32:
		data = []float32{float32(v)}
	case tensor.Float64:
		data = []float64{v}
	case tensor.Int8:
		data = []int8{int8(v)}
	case tensor.Uint8:
		data = []uint8{uint8(v)}
	case tensor.Int32:
		data = []int32{int32(v)}
	case tensor.Int64:
		data = []int64{int64(v)}
	case tensor.Bool:
		data = []bool{v != 0}
	case tensor.Int16:
		data = []int16{int16(v)}
	case tensor.Uint16:
		data = []uint16{uint16(v)}
	case tensor.Uint32:
		data = []uint32{uint32(v)}
	case tensor.Uint64:
		data = []uint64{uint64(v)}
	case tensor.Float16:
		data = []tensor.F16{tensor.F16FromFloat64(v)}
	case tensor.BFloat16:
		data = []tensor.BF16{tensor.BF16FromFloat64(v)}
	default:
		return nil, false
	}
	return tensor.MustFromSlice(tensor.Shape{}, data), true
}

// shNumbers reads any numeric or bool tensor as float64 values.
func shNumbers(t *tensor.Tensor) ([]float64, bool) {
	switch v := t.Data().(type) {
	case []float32:
		return rdConv[float32, float64](v), true
	case []float64:
		return append([]float64(nil), v...), true
	case []int8:
		return rdConv[int8, float64](v), true
	case []uint8:
		return rdConv[uint8, float64](v), true
	case []int32:
		return rdConv[int32, float64](v), true
	case []int64:
		return rdConv[int64, float64](v), true
	case []bool:
		out := make([]float64, len(v))
		for i, b := range v {
			if b {
				out[i] = 1
			}
		}
		return out, true
	case []int16:
		return rdConv[int16, float64](v), true
	case []uint16:
		return rdConv[uint16, float64](v), true
	case []uint32:
		return rdConv[uint32, float64](v), true
	case []uint64:
		return rdConv[uint64, float64](v), true
	case []tensor.F16:
		out := make([]float64, len(v))
		for i, h := range v {
			out[i] = h.Float64()
		}
		return out, true
	case []tensor.BF16:
		out := make([]float64, len(v))
		for i, h := range v {
			out[i] = h.Float64()
		}
		return out, true
	}
	return nil, false
}

// shCmp returns a three-way comparison of t's elements i and j (NaN
// orders before every number, false before true, strings bytewise).
func shCmp(t *tensor.Tensor) (func(i, j int) int, bool) {
	switch v := t.Data().(type) {
	case []float32:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []float64:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []int8:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []uint8:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []int32:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []int64:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []bool:
		return func(i, j int) int {
			switch {
			case v[i] == v[j]:
				return 0
			case v[j]:
				return -1
			}
			return 1
		}, true
	case [][]byte:
		return func(i, j int) int { return bytes.Compare(v[i], v[j]) }, true
	case []int16:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []uint16:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []uint32:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []uint64:
		return func(i, j int) int { return cmp.Compare(v[i], v[j]) }, true
	case []tensor.F16:
		return func(i, j int) int { return cmp.Compare(v[i].Float32(), v[j].Float32()) }, true
	case []tensor.BF16:
		return func(i, j int) int { return cmp.Compare(v[i].Float32(), v[j].Float32()) }, true
	}
	return nil, false
}

// shPadSource maps output coordinate j of a dimension of extent dim,
// padded by begin in front, to the input coordinate it reads; false means
// the constant value.
func shPadSource(j, dim, begin int, mode string) (int, bool) {
	i := j - begin
	if i >= 0 && i < dim {
		return i, true
	}
	switch mode {
	case "edge":
		return min(max(i, 0), dim-1), true
	case "reflect":
		if dim == 1 {
			return 0, true
		}
		period := 2 * (dim - 1)
		i %= period
		if i < 0 {
			i += period
		}
		if i >= dim {
			i = period - i
		}
		return i, true
	}
	return 0, false
}

// shBuildPad: Pad(data, pads, constant_value, axes) from opset 11, with
// the pads (paddings in opset 1), value and mode attributes before. Pads
// list every begin then every end and may be negative (cropping); modes
// are constant, reflect and edge.
func shBuildPad(n Node) (Kernel, error) {
	mode := attrString(n, "mode", "constant")
	if mode != "constant" && mode != "reflect" && mode != "edge" {
		return nil, n.Errorf(ErrUnsupported, "mode %q", mode)
	}
	attrPads, hasAttrPads := []int64(nil), false
	if n.Attrs != nil {
		if attrPads, hasAttrPads = n.Attrs.Ints("pads"); !hasAttrPads {
			attrPads, hasAttrPads = n.Attrs.Ints("paddings")
		}
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		s := x.Shape()
		r := len(s)
		pads := attrPads
		var err error
		if !hasAttrPads {
			t := onnxAbsentOf(n).input(in, 1)
			if t == nil {
				return nil, n.Errorf(ErrInvalidArgument, "no pads")
			}
			if pads, err = intInput(n, "pads", t); err != nil {
				return nil, err
			}
		}
		// The pads apply to axes (opset 18), all dimensions by default.
		axes := make([]int, 0, r)
		if t := onnxAbsentOf(n).input(in, 3); t != nil {
			av, err := intInput(n, "axes", t)
			if err != nil {
				return nil, err
			}
			for _, ax := range av {
				a, err := onnxAxis(n, ax, r)
				if err != nil {
					return nil, err
				}
				axes = append(axes, a)
			}
		} else {
			for a := range r {
				axes = append(axes, a)
			}
		}
		if len(pads) != 2*len(axes) {
			return nil, n.Errorf(ErrInvalidArgument, "pads %v for %d axes", pads, len(axes))
		}
		for _, p := range pads {
			if p > maxOutputElements || p < -maxOutputElements {
				return nil, n.Errorf(ErrInvalidArgument, "pads %v are too large", pads)
			}
		}
		begin, end := make([]int, r), make([]int, r)
		for i, a := range axes {
			begin[a], end[a] = int(pads[i]), int(pads[i+len(axes)])
		}
		// The constant: the constant_value input, or the value attribute.
		var cv *tensor.Tensor
		if mode == "constant" {
			if t := onnxAbsentOf(n).input(in, 2); t != nil && t.Len() > 0 {
				if t.DType() != x.DType() {
					return nil, n.Errorf(ErrInvalidArgument, "constant_value is %v, data %v", t.DType(), x.DType())
				}
				cv = t
			} else if x.DType() == tensor.String {
				cv = tensor.MustFromSlice(tensor.Shape{1}, [][]byte{{}})
			} else {
				var ok bool
				if cv, ok = shScalar(x.DType(), float64(attrFloat(n, "value", 0))); !ok {
					return nil, n.Errorf(ErrUnsupported, "dtype %v", x.DType())
				}
			}
		}
		outShape := make(tensor.Shape, r)
		for d := range r {
			outShape[d] = s[d] + begin[d] + end[d]
			if outShape[d] < 0 {
				return nil, n.Errorf(ErrInvalidArgument, "pads %v crop dimension %d of %v below zero", pads, d, s)
			}
			if mode != "constant" && s[d] == 0 && outShape[d] > 0 {
				return nil, n.Errorf(ErrInvalidArgument, "%s padding of an empty dimension %d", mode, d)
			}
		}
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		out, e := newElems(ctx, x.DType(), outShape)
		total := outShape.NumElements()
		if total == 0 {
			return single(out), nil
		}
		src := asElems(x)
		var cve elems
		if cv != nil {
			cve = asElems(cv)
		}
		if r == 0 {
			e.copyRun(0, src, 0, 1)
			return single(out), nil
		}
		strides := rowMajorStrides(s)
		inner := outShape[r-1]
		// The inner dimension's source coordinates, the same for every row.
		innerSrc := make([]int, inner)
		innerOK := make([]bool, inner)
		for j := range inner {
			innerSrc[j], innerOK[j] = shPadSource(j, s[r-1], begin[r-1], mode)
		}
		coord := make([]int, r-1)
		for di := 0; di < total; di += inner {
			base, inside := 0, true
			for d, c := range coord {
				i, ok := shPadSource(c, s[d], begin[d], mode)
				if !ok {
					inside = false
					break
				}
				base += i * strides[d]
			}
			if !inside {
				e.fillRun(di, cve, 0, inner)
			} else {
				for j := 0; j < inner; {
					if !innerOK[j] {
						e.copyRun(di+j, cve, 0, 1)
						j++
						continue
					}
					// Copy the longest run of consecutive source elements.
					k := j + 1
					for k < inner && innerOK[k] && innerSrc[k] == innerSrc[k-1]+1 {
						k++
					}
					e.copyRun(di+j, src, base+innerSrc[j], k-j)
					j = k
				}
			}
			for d := r - 2; d >= 0; d-- {
				coord[d]++
				if coord[d] < outShape[d] {
					break
				}
				coord[d] = 0
			}
		}
		return single(out), nil
	}), nil
}

// shBuildConstantOfShape: ConstantOfShape(shape, value), value being the
// one-element tensor the converter turns the attribute into.
func shBuildConstantOfShape(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		dims, err := intInput(n, "shape", in[0])
		if err != nil {
			return nil, err
		}
		shape, err := shapeFromValues(n, "shape", dims)
		if err != nil {
			return nil, err
		}
		if in[1].Len() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "value holds %d elements", in[1].Len())
		}
		out, e := newElems(ctx, in[1].DType(), shape)
		if k := shape.NumElements(); k > 0 {
			e.fillRun(0, asElems(in[1]), 0, k)
		}
		return single(out), nil
	}), nil
}

// shBuildRange: Range(start, limit, delta) of max(ceil((limit-start)/delta),
// 0) elements start + i*delta.
func shBuildRange(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		dt := in[0].DType()
		var v [3]float64
		for i := range 3 {
			if in[i].DType() != dt || in[i].Len() != 1 {
				return nil, n.Errorf(ErrInvalidArgument, "start, limit and delta must be scalars of one dtype, got %v %v %v", in[0], in[1], in[2])
			}
			f, ok := shNumbers(in[i])
			switch dt {
			case tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int32, tensor.Int64:
			default:
				ok = false
			}
			if !ok {
				return nil, n.Errorf(ErrUnsupported, "dtype %v", dt)
			}
			v[i] = f[0]
		}
		start, limit, delta := v[0], v[1], v[2]
		if delta == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "delta is zero")
		}
		fcount := max(math.Ceil((limit-start)/delta), 0)
		if math.IsNaN(fcount) || fcount > maxOutputElements {
			return nil, n.Errorf(ErrInvalidArgument, "range from %v to %v by %v is too large", start, limit, delta)
		}
		count := int64(fcount)
		if !isFloat(dt) {
			// Exact integer arithmetic: the float64 quotient can be off
			// by one for large int64 values.
			s, l, d := shIntScalar(in[0]), shIntScalar(in[1]), shIntScalar(in[2])
			count = 0
			if d > 0 && l > s {
				count = (l-s-1)/d + 1
			} else if d < 0 && l < s {
				count = (s-l-1)/-d + 1
			}
		}
		if count > maxOutputElements {
			return nil, n.Errorf(ErrInvalidArgument, "range of %d elements is too large", count)
		}
		out := Alloc(ctx, dt, tensor.Shape{int(count)})
		switch d := out.Data().(type) {
		case []float32:
			// start + i*delta in float32 arithmetic, each element from
			// its own product so that rounding does not accumulate.
			s, dl := float32(start), float32(delta)
			for i := range d {
				d[i] = s + float32(i)*dl
			}
		case []float64:
			for i := range d {
				d[i] = start + float64(i)*delta
			}
		case []int8:
			shRangeInt(d, in[0].Int8s()[0], in[2].Int8s()[0])
		case []uint8:
			shRangeInt(d, in[0].Uint8s()[0], in[2].Uint8s()[0])
		case []int32:
			shRangeInt(d, in[0].Int32s()[0], in[2].Int32s()[0])
		case []int64:
			shRangeInt(d, in[0].Int64s()[0], in[2].Int64s()[0])
		}
		return single(out), nil
	}), nil
}

// shIntScalar reads the one element of an integer tensor.
func shIntScalar(t *tensor.Tensor) int64 {
	switch v := t.Data().(type) {
	case []int8:
		return int64(v[0])
	case []uint8:
		return int64(v[0])
	case []int32:
		return int64(v[0])
	case []int64:
		return v[0]
	}
	return 0
}

func shRangeInt[T Integer](d []T, start, delta T) {
	v := start
	for i := range d {
		d[i] = v
		v += delta
	}
}

// shBuildEyeLike: EyeLike(input) of a 2-D input: ones on diagonal k,
// zeros elsewhere, of the dtype attribute (an engine dtype, translated by
// the converter) or input's.
func shBuildEyeLike(n Node) (Kernel, error) {
	k := int(attrInt(n, "k", 0))
	dt, hasDT := attrType(n, "dtype")
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		s := in[0].Shape()
		if len(s) != 2 {
			return nil, n.Errorf(ErrInvalidArgument, "input must be 2-D, got %v", s)
		}
		odt := in[0].DType()
		if hasDT {
			odt = dt
		}
		one, ok := shScalar(odt, 1)
		zero, _ := shScalar(odt, 0)
		if !ok {
			return nil, n.Errorf(ErrUnsupported, "dtype %v", odt)
		}
		out, e := newElems(ctx, odt, s)
		oe := asElems(one)
		if k := out.Len(); k > 0 {
			e.fillRun(0, asElems(zero), 0, k)
		}
		for i := range s[0] {
			if j := i + k; j >= 0 && j < s[1] {
				e.copyRun(i*s[1]+j, oe, 0, 1)
			}
		}
		return single(out), nil
	}), nil
}

// shBuildTrilu: Trilu(input, k) keeps the upper (default) or lower
// triangle of the last two dimensions from diagonal k and zeroes the rest.
func shBuildTrilu(n Node) (Kernel, error) {
	upper := attrInt(n, "upper", 1) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		k := int64(0)
		if t := onnxAbsentOf(n).input(in, 1); t != nil {
			var err error
			if k, err = scalarInput(n, "k", t); err != nil {
				return nil, err
			}
		}
		s := in[0].Shape()
		if len(s) < 2 {
			return nil, n.Errorf(ErrInvalidArgument, "input must have rank 2 or more, got %v", s)
		}
		rows, cols := s[len(s)-2], s[len(s)-1]
		// Beyond either corner the diagonal keeps all or nothing.
		k = min(max(k, -int64(rows)-1), int64(cols)+1)
		zero, ok := shScalar(in[0].DType(), 0)
		if in[0].DType() == tensor.String {
			zero, ok = tensor.MustFromSlice(tensor.Shape{}, [][]byte{{}}), true
		}
		if !ok {
			return nil, n.Errorf(ErrUnsupported, "dtype %v", in[0].DType())
		}
		out, e := newElems(ctx, in[0].DType(), s)
		if out.Len() == 0 {
			return single(out), nil
		}
		e.fillRun(0, asElems(zero), 0, out.Len())
		src := asElems(in[0])
		for m := range s[:len(s)-2].NumElements() {
			for i := range rows {
				lo, hi := int64(0), int64(cols)
				if upper {
					lo = min(max(int64(i)+k, 0), int64(cols))
				} else {
					hi = min(max(int64(i)+k+1, 0), int64(cols))
				}
				if hi > lo {
					off := (m*rows+i)*cols + int(lo)
					e.copyRun(off, src, off, int(hi-lo))
				}
			}
		}
		return single(out), nil
	}), nil
}

// shBuildOneHot: OneHot(indices, depth, values) inserts a dimension of
// extent depth at axis (default -1) holding values[1] at each index and
// values[0] elsewhere; negative indices count from depth, others outside
// [0, depth) give a row of values[0].
func shBuildOneHot(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", -1)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		idx, ok := shNumbers(in[0])
		dv, ok2 := shNumbers(in[1])
		if !ok || !ok2 || len(dv) != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "indices %v and depth %v must be numeric, depth one value", in[0], in[1])
		}
		if in[2].Len() != 2 {
			return nil, n.Errorf(ErrInvalidArgument, "values must hold two elements, got %v", in[2].Shape())
		}
		if dv[0] > maxOutputElements || math.IsNaN(dv[0]) {
			return nil, n.Errorf(ErrInvalidArgument, "depth %v is too large", dv[0])
		}
		depth := int(dv[0])
		if depth < 0 {
			return nil, n.Errorf(ErrInvalidArgument, "depth %v is negative", dv[0])
		}
		is := in[0].Shape()
		a, err := onnxAxis(n, axis, len(is)+1)
		if err != nil {
			return nil, err
		}
		outShape := append(append(append(tensor.Shape{}, is[:a]...), depth), is[a:]...)
		if err := checkSize(n, outShape); err != nil {
			return nil, err
		}
		out, e := newElems(ctx, in[2].DType(), outShape)
		total := outShape.NumElements()
		if total == 0 {
			return single(out), nil
		}
		vals := asElems(in[2])
		e.fillRun(0, vals, 0, total)
		inner := is[a:].NumElements()
		for p, x := range idx {
			j := int(x)
			if j < 0 {
				j += depth
			}
			if j < 0 || j >= depth {
				continue
			}
			o, i := p/inner, p%inner
			e.copyRun((o*depth+j)*inner+i, vals, 1, 1)
		}
		return single(out), nil
	}), nil
}

// shBuildNonZero: NonZero(X), the coordinates of the non-zero elements as
// an int64 [rank, count] tensor in row-major order.
func shBuildNonZero(n Node) (Kernel, error) {
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		var nz []bool
		if v, ok := in[0].Data().([][]byte); ok {
			nz = make([]bool, len(v))
			for i, b := range v {
				nz[i] = len(b) > 0
			}
		} else {
			f, ok := shNumbers(in[0])
			if !ok {
				return nil, n.Errorf(ErrUnsupported, "dtype %v", in[0].DType())
			}
			nz = make([]bool, len(f))
			for i, x := range f {
				nz[i] = x != 0
			}
		}
		s := in[0].Shape()
		r := len(s)
		if r == 0 {
			s, r = tensor.Shape{1}, 1
		}
		count := 0
		for _, b := range nz {
			if b {
				count++
			}
		}
		out, d := NewLikeCtx[int64](ctx, tensor.Int64, tensor.Shape{r, count})
		strides := rowMajorStrides(s)
		k := 0
		for i, b := range nz {
			if !b {
				continue
			}
			for dim := range r {
				d[dim*count+k] = int64(i / strides[dim] % s[dim])
			}
			k++
		}
		return single(out), nil
	}), nil
}

// shBuildCompress: Compress(input, condition) keeps the slices along axis
// (or the elements of the flattened input, without axis) whose condition
// is true; a condition shorter than the extent drops the rest.
func shBuildCompress(n Node) (Kernel, error) {
	axis, hasAxis := int64(0), false
	if n.Attrs != nil {
		axis, hasAxis = n.Attrs.Int("axis")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		cond, ok := shNumbers(in[1])
		if !ok || in[1].Rank() != 1 {
			return nil, n.Errorf(ErrInvalidArgument, "condition must be a 1-D bool tensor, got %v", in[1])
		}
		x := in[0]
		s := x.Shape()
		a := 0
		if !hasAxis {
			s = tensor.Shape{x.Len()}
		} else {
			var err error
			if a, err = onnxAxis(n, axis, len(s)); err != nil {
				return nil, err
			}
		}
		if len(cond) > s[a] {
			return nil, n.Errorf(ErrInvalidArgument, "condition of %d for an extent of %d", len(cond), s[a])
		}
		var keep []int
		for i, c := range cond {
			if c != 0 {
				keep = append(keep, i)
			}
		}
		outShape := s.Clone()
		outShape[a] = len(keep)
		return single(shTakeAlong(ctx, x, s, a, keep, outShape)), nil
	}), nil
}

// shBuildReverseSequence: ReverseSequence(input, sequence_lens) reverses
// the first sequence_lens[b] elements along time_axis (default 0) of each
// batch b along batch_axis (default 1).
func shBuildReverseSequence(n Node) (Kernel, error) {
	timeAxis, batchAxis := attrInt(n, "time_axis", 0), attrInt(n, "batch_axis", 1)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		lens, err := intInput(n, "sequence_lens", in[1])
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		ta, err := onnxAxis(n, timeAxis, len(s))
		if err != nil {
			return nil, err
		}
		ba, err := onnxAxis(n, batchAxis, len(s))
		if err != nil {
			return nil, err
		}
		if ta == ba || len(lens) != s[ba] {
			return nil, n.Errorf(ErrInvalidArgument, "time_axis %d, batch_axis %d and %d sequence_lens for shape %v", ta, ba, len(lens), s)
		}
		for _, l := range lens {
			if l < 0 || l > int64(s[ta]) {
				return nil, n.Errorf(ErrInvalidArgument, "sequence length %d is not in [0, %d]", l, s[ta])
			}
		}
		out := shCopy(ctx, in[0])
		e, src := asElems(out), asElems(in[0])
		strides := rowMajorStrides(s)
		for i := range in[0].Len() {
			t := i / strides[ta] % s[ta]
			l := int(lens[i/strides[ba]%s[ba]])
			if t < l {
				e.copyRun(i, src, i+(l-1-2*t)*strides[ta], 1)
			}
		}
		return single(out), nil
	}), nil
}
