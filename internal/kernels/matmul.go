package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("MatMul", buildMatMul)
	Register("BatchMatMul", buildBatchMatMul(false))
	Register("BatchMatMulV2", buildBatchMatMul(true))
	Register("BatchMatMulV3", buildBatchMatMul(true))
	Register("BiasAdd", buildBiasAdd)
	Register("BiasAddV1", buildBiasAdd)
}

// matmulTypes are the dtypes MatMul and BatchMatMul accept.
var matmulTypes = []tensor.DType{tensor.Float32, tensor.Float64, tensor.Int32, tensor.Int64}

func buildMatMul(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", matmulTypes...); err != nil {
		return nil, err
	}
	ta, tb := attrBool(n, "transpose_a", false), attrBool(n, "transpose_b", false)
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, matmulTypes); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		m, k, nn, err := matmulDims(n, a, b, ta, tb)
		if err != nil {
			return nil, err
		}
		out := Alloc(ctx, a.DType(), tensor.Shape{m, nn})
		matmulInto(ctx, a, 0, a.Shape()[1], ta, b, 0, b.Shape()[1], tb, out, 0, m, nn, k)
		return Result(ctx, out), nil
	}), nil
}

// matmulInto multiplies the m×k matrix of a starting at element aOff (row
// stride lda, transposed when ta) by the k×n matrix of b starting at bOff,
// writing the m×n result into out starting at element cOff.
func matmulInto(ctx context.Context, a *tensor.Tensor, aOff, lda int, ta bool, b *tensor.Tensor, bOff, ldb int, tb bool, out *tensor.Tensor, cOff, m, n, k int) {
	switch a.DType() {
	case tensor.Float32:
		gemm(ctx, m, n, k, mat[float32]{data: a.Float32s()[aOff:], ld: lda, trans: ta}, mat[float32]{data: b.Float32s()[bOff:], ld: ldb, trans: tb}, out.Float32s()[cOff:], n)
	case tensor.Float64:
		gemm(ctx, m, n, k, mat[float64]{data: a.Float64s()[aOff:], ld: lda, trans: ta}, mat[float64]{data: b.Float64s()[bOff:], ld: ldb, trans: tb}, out.Float64s()[cOff:], n)
	case tensor.Int32:
		naiveMatMul(m, n, k, a.Int32s()[aOff:], lda, ta, b.Int32s()[bOff:], ldb, tb, out.Int32s()[cOff:])
	case tensor.Int64:
		naiveMatMul(m, n, k, a.Int64s()[aOff:], lda, ta, b.Int64s()[bOff:], ldb, tb, out.Int64s()[cOff:])
	}
}

// naiveMatMul is the plain triple loop, used for integer matrices.
func naiveMatMul[T Integer](m, n, k int, a []T, lda int, ta bool, b []T, ldb int, tb bool, c []T) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s T
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if ta {
					ai = p*lda + i
				}
				if tb {
					bi = j*ldb + p
				}
				x, y := a[ai], b[bi]
				s += x * y
			}
			c[i*n+j] = s
		}
	}
}

// buildBatchMatMul makes BatchMatMul (batch dimensions must match) and
// BatchMatMulV2/V3 (batch dimensions broadcast).
func buildBatchMatMul(broadcast bool) Builder {
	return func(n Node) (Kernel, error) {
		if err := checkTypeAttr(n, "T", matmulTypes...); err != nil {
			return nil, err
		}
		if n.Op == "BatchMatMulV3" {
			ta, oka := attrType(n, "Ta")
			tb, okb := attrType(n, "Tb")
			to, oko := attrType(n, "Tout")
			if oka && okb && (ta != tb || (oko && to != ta)) {
				return nil, n.Errorf(ErrUnsupported, "mixed dtypes Ta=%v Tb=%v Tout=%v", ta, tb, to)
			}
		}
		adjX, adjY := attrBool(n, "adj_x", false), attrBool(n, "adj_y", false)
		return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkBinary(n, in, matmulTypes); err != nil {
				return nil, err
			}
			out, err := batchMatMul(ctx, in[0], in[1], adjX, adjY, broadcast)
			if err != nil {
				return nil, n.Errorf(ErrInvalidArgument, "%v", err)
			}
			return Result(ctx, out), nil
		}), nil
	}
}

// batchMatMul multiplies the matrices in the last two dimensions of x and y
// (adjoint, which for real types is the transpose, when adjX or adjY),
// broadcasting the leading batch dimensions when broadcast is set.
func batchMatMul(ctx context.Context, x, y *tensor.Tensor, adjX, adjY, broadcast bool) (*tensor.Tensor, error) {
	xs, ys := x.Shape(), y.Shape()
	if len(xs) < 2 || len(ys) < 2 {
		return nil, errorf("inputs must have rank >= 2, got shapes %v and %v", xs, ys)
	}
	xr, xc := xs[len(xs)-2], xs[len(xs)-1]
	yr, yc := ys[len(ys)-2], ys[len(ys)-1]
	m, k := xr, xc
	if adjX {
		m, k = xc, xr
	}
	k2, nn := yr, yc
	if adjY {
		k2, nn = yc, yr
	}
	if k != k2 {
		return nil, errorf("matrix size-incompatible: In[0]: %v, In[1]: %v (adj_x=%v, adj_y=%v)", xs, ys, adjX, adjY)
	}
	xb, yb := xs[:len(xs)-2], ys[:len(ys)-2]
	var batch tensor.Shape
	if broadcast {
		var err error
		if batch, err = BroadcastShape(xb, yb); err != nil {
			return nil, errorf("batch dimensions of %v and %v do not broadcast", xs, ys)
		}
	} else {
		if !xb.Equal(yb) {
			return nil, errorf("batch dimensions of %v and %v differ", xs, ys)
		}
		batch = xb
	}
	outShape := append(batch.Clone(), m, nn)
	out := Alloc(ctx, x.DType(), outShape)
	nb := batch.NumElements()
	if nb == 0 {
		return out, nil
	}
	// Map each output batch to its x and y batches.
	xi := make([]int, nb)
	yi := make([]int, nb)
	forEachRun(batch, []tensor.Shape{xb, yb}, func(oo int, offs []int, cnt int, steps []int) {
		for j := 0; j < cnt; j++ {
			xi[oo+j] = offs[0] + j*steps[0]
			yi[oo+j] = offs[1] + j*steps[1]
		}
	})
	if len(batch) == 0 {
		xi[0], yi[0] = 0, 0
	}
	one := func(bi int) {
		matmulInto(ctx, x, xi[bi]*xr*xc, xc, adjX, y, yi[bi]*yr*yc, yc, adjY, out, bi*m*nn, m, nn, k)
	}
	if 2*m*nn*k >= gemmParallelFlops {
		// Each product is big enough to use every core by itself.
		for bi := 0; bi < nb; bi++ {
			one(bi)
		}
		return out, nil
	}
	parallelFor(ctx, nb, 2*m*nn*k*nb, func(lo, hi int) {
		for bi := lo; bi < hi; bi++ {
			one(bi)
		}
	})
	return out, nil
}

// buildBiasAdd adds a vector to the last (channel) dimension; NCHW is
// refused.
func buildBiasAdd(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", numericTypes...); err != nil {
		return nil, err
	}
	if f := attrString(n, "data_format", "NHWC"); f != "NHWC" {
		return nil, n.Errorf(ErrUnsupported, "data_format %q (only NHWC)", f)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkBinary(n, in, numericTypes); err != nil {
			return nil, err
		}
		x, b := in[0], in[1]
		if x.Rank() < 2 {
			return nil, n.Errorf(ErrInvalidArgument, "input must have rank >= 2, got shape %v", x.Shape())
		}
		if b.Rank() != 1 || b.Shape()[0] != x.Shape()[x.Rank()-1] {
			return nil, n.Errorf(ErrInvalidArgument, "bias shape %v must be a vector matching the last dimension of %v", b.Shape(), x.Shape())
		}
		out, err := BroadcastShape(x.Shape(), b.Shape())
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if res, ok := binaryVec(ctx, vecAdd, x, b, out); ok {
			return Result(ctx, res), nil
		}
		var res *tensor.Tensor
		switch x.DType() {
		case tensor.Float32:
			res = addTyped[float32](ctx, x, b, out)
		case tensor.Float64:
			res = addTyped[float64](ctx, x, b, out)
		case tensor.Int8:
			res = addTyped[int8](ctx, x, b, out)
		case tensor.Uint8:
			res = addTyped[uint8](ctx, x, b, out)
		case tensor.Int32:
			res = addTyped[int32](ctx, x, b, out)
		case tensor.Int64:
			res = addTyped[int64](ctx, x, b, out)
		}
		return Result(ctx, res), nil
	}), nil
}

func addTyped[T Real](ctx context.Context, a, b *tensor.Tensor, out tensor.Shape) *tensor.Tensor {
	res, o := NewLikeCtx[T](ctx, a.DType(), out)
	broadcastBinary(out, a.Shape(), b.Shape(), Slice[T](a), Slice[T](b), o, func(x, y T) T { return x + y })
	return res
}

// matmulDims checks MatMul's operands, two matrices whose inner dimensions
// agree after the transposes, and returns the product's m x k by k x nn.
func matmulDims(n Node, a, b *tensor.Tensor, ta, tb bool) (m, k, nn int, err error) {
	if a.Rank() != 2 || b.Rank() != 2 {
		return 0, 0, 0, n.Errorf(ErrInvalidArgument, "inputs must be matrices, got shapes %v and %v", a.Shape(), b.Shape())
	}
	m, k = a.Shape()[0], a.Shape()[1]
	if ta {
		m, k = k, m
	}
	k2, nn := b.Shape()[0], b.Shape()[1]
	if tb {
		k2, nn = nn, k2
	}
	if k != k2 {
		return 0, 0, 0, n.Errorf(ErrInvalidArgument, "matrix size-incompatible: In[0]: %v, In[1]: %v (transpose_a=%v, transpose_b=%v)", a.Shape(), b.Shape(), ta, tb)
	}
	return m, k, nn, nil
}
