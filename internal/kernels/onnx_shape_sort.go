package kernels

import (
	"context"
	"slices"

	"inferd/internal/tensor"
)

// The ONNX kernels that order or accumulate along an axis: CumSum, TopK
// and Unique.

func init() {
	Register("OnnxCumSum", shBuildCumSum)
	Register("OnnxTopK", shBuildTopK)
	Register("OnnxUnique", shBuildUnique)
}

// shBuildCumSum: CumSum(x, axis) with the exclusive and reverse
// attributes.
func shBuildCumSum(n Node) (Kernel, error) {
	exclusive, reverse := attrInt(n, "exclusive", 0) != 0, attrInt(n, "reverse", 0) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		ax, err := scalarInput(n, "axis", in[1])
		if err != nil {
			return nil, err
		}
		s := in[0].Shape()
		a, err := onnxAxis(n, ax, len(s))
		if err != nil {
			return nil, err
		}
		outer, dim, inner := s[:a].NumElements(), s[a], s[a+1:].NumElements()
		out := Alloc(ctx, in[0].DType(), s)
		switch d := out.Data().(type) {
		case []float32:
			shCumSum(d, in[0].Float32s(), outer, dim, inner, exclusive, reverse)
		case []float64:
			shCumSum(d, in[0].Float64s(), outer, dim, inner, exclusive, reverse)
		case []int8:
			shCumSum(d, in[0].Int8s(), outer, dim, inner, exclusive, reverse)
		case []uint8:
			shCumSum(d, in[0].Uint8s(), outer, dim, inner, exclusive, reverse)
		case []int32:
			shCumSum(d, in[0].Int32s(), outer, dim, inner, exclusive, reverse)
		case []int64:
			shCumSum(d, in[0].Int64s(), outer, dim, inner, exclusive, reverse)
		default:
			return nil, n.Errorf(ErrUnsupported, "dtype %v", in[0].DType())
		}
		return single(out), nil
	}), nil
}

func shCumSum[T Real](d, x []T, outer, dim, inner int, exclusive, reverse bool) {
	for o := range outer {
		for i := range inner {
			var acc T
			for step := range dim {
				k := step
				if reverse {
					k = dim - 1 - step
				}
				p := (o*dim+k)*inner + i
				if exclusive {
					d[p] = acc
					acc += x[p]
				} else {
					acc += x[p]
					d[p] = acc
				}
			}
		}
	}
}

// shBuildTopK: TopK(X, K) (K the k attribute in opset 1) along axis
// (default -1): the k largest (or, with largest=0, smallest) elements in
// order and their int64 indices; equal elements keep index order.
func shBuildTopK(n Node) (Kernel, error) {
	axis := attrInt(n, "axis", -1)
	largest := attrInt(n, "largest", 1) != 0
	attrK, hasAttrK := int64(0), false
	if n.Attrs != nil {
		attrK, hasAttrK = n.Attrs.Int("k")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		k := attrK
		if !hasAttrK {
			t := onnxAbsentOf(n).input(in, 1)
			if t == nil {
				return nil, n.Errorf(ErrInvalidArgument, "no K")
			}
			var err error
			if k, err = scalarInput(n, "K", t); err != nil {
				return nil, err
			}
		}
		x := in[0]
		s := x.Shape()
		a, err := onnxAxis(n, axis, len(s))
		if err != nil {
			return nil, err
		}
		if k < 0 || k > int64(s[a]) {
			return nil, n.Errorf(ErrInvalidArgument, "k %d is not in [0, %d]", k, s[a])
		}
		compare, ok := shCmp(x)
		if !ok {
			return nil, n.Errorf(ErrUnsupported, "dtype %v", x.DType())
		}
		outer, dim, inner := s[:a].NumElements(), s[a], s[a+1:].NumElements()
		outShape := s.Clone()
		outShape[a] = int(k)
		vals, e := newElems(ctx, x.DType(), outShape)
		idxT, idx := NewLikeCtx[int64](ctx, tensor.Int64, outShape)
		src := asElems(x)
		order := make([]int, dim)
		for o := range outer {
			for i := range inner {
				base := o*dim*inner + i
				for j := range order {
					order[j] = j
				}
				slices.SortStableFunc(order, func(p, q int) int {
					c := compare(base+p*inner, base+q*inner)
					if largest {
						return -c
					}
					return c
				})
				for j := range int(k) {
					di := (o*int(k)+j)*inner + i
					e.copyRun(di, src, base+order[j]*inner, 1)
					idx[di] = int64(order[j])
				}
			}
		}
		return []*tensor.Tensor{vals, idxT}, nil
	}), nil
}

// shBuildUnique: Unique(X) of the flattened X, or of its slices along
// axis, sorted ascending (sorted=1, the default) or in order of first
// occurrence. Outputs: the unique values Y, the index in X of each one's
// first occurrence, the index in Y of each element (slice) of X, and
// each one's count; the last three int64.
func shBuildUnique(n Node) (Kernel, error) {
	sorted := attrInt(n, "sorted", 1) != 0
	axis, hasAxis := int64(0), false
	if n.Attrs != nil {
		axis, hasAxis = n.Attrs.Int("axis")
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
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
		compare, ok := shCmp(x)
		if !ok {
			return nil, n.Errorf(ErrUnsupported, "dtype %v", x.DType())
		}
		outer, dim, inner := s[:a].NumElements(), s[a], s[a+1:].NumElements()
		// cmpSlice orders slices p and q along the axis lexicographically.
		cmpSlice := func(p, q int) int {
			for o := range outer {
				for i := range inner {
					if c := compare((o*dim+p)*inner+i, (o*dim+q)*inner+i); c != 0 {
						return c
					}
				}
			}
			return 0
		}
		order := make([]int, dim)
		for j := range order {
			order[j] = j
		}
		slices.SortStableFunc(order, cmpSlice)
		// Group equal slices; the stable sort puts each group's first
		// occurrence first.
		var first []int
		var counts []int64
		group := make([]int, dim)
		for j, p := range order {
			if j == 0 || cmpSlice(order[j-1], p) != 0 {
				first = append(first, p)
				counts = append(counts, 0)
			}
			group[p] = len(first) - 1
			counts[len(counts)-1]++
		}
		u := len(first)
		// rank maps a group to its position in Y.
		rank := make([]int, u)
		for g := range rank {
			rank[g] = g
		}
		if !sorted {
			byFirst := make([]int, u)
			for g := range byFirst {
				byFirst[g] = g
			}
			slices.SortFunc(byFirst, func(g, h int) int { return first[g] - first[h] })
			for pos, g := range byFirst {
				rank[g] = pos
			}
		}
		outShape := s.Clone()
		outShape[a] = u
		y, e := newElems(ctx, x.DType(), outShape)
		indT, ind := NewLikeCtx[int64](ctx, tensor.Int64, tensor.Shape{u})
		invT, inv := NewLikeCtx[int64](ctx, tensor.Int64, tensor.Shape{dim})
		cntT, cnt := NewLikeCtx[int64](ctx, tensor.Int64, tensor.Shape{u})
		src := asElems(x)
		for g, p := range first {
			r := rank[g]
			ind[r] = int64(p)
			cnt[r] = counts[g]
			if inner > 0 {
				for o := range outer {
					e.copyRun((o*u+r)*inner, src, (o*dim+p)*inner, inner)
				}
			}
		}
		for p := range dim {
			inv[p] = int64(rank[group[p]])
		}
		return []*tensor.Tensor{y, indT, invT, cntT}, nil
	}), nil
}
