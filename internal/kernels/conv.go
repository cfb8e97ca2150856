package kernels

import (
	"context"

	"inferd/internal/tensor"
)

func init() {
	Register("Conv2D", buildConv2D)
	Register("DepthwiseConv2dNative", buildDepthwise)
	Register("Conv2DBackpropInput", buildConv2DBackpropInput)
}

// im2colBudget bounds the elements of one im2col chunk, so that a large
// image is lowered a band of output pixels at a time.
const im2colBudget = 1 << 20

func buildConv2D(n Node) (Kernel, error) {
	return buildConv2DWith(n, epilogue[float32]{}, epilogue[float64]{}, nil, nil, nil)
}

// buildConv2DWith makes Conv2D finishing its output with ep32 or ep64 (by
// the input dtype), after checkBias, when set, accepts the output depth.
// constFilter, when set, is the load-time constant the filter input will
// be; it is laid out for the direct micro-kernels once, here, and that
// copy is used whenever the filter input is that very tensor. pool, when
// set, is a max pool applied to the finished output, which the kernel
// returns instead (see convDirectPool).
func buildConv2DWith(n Node, ep32 epilogue[float32], ep64 epilogue[float64], checkBias func(int) error, constFilter *tensor.Tensor, pool *convPool) (Kernel, error) {
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	sp, err := parseSpatial(n, true)
	if err != nil {
		return nil, err
	}
	var pre *convPanels
	if constFilter != nil && constFilter.DType() == tensor.Float32 && constFilter.Rank() == 4 && constFilter.Len() > 0 && haveConvAsm {
		fs := constFilter.Shape()
		k, o := fs[0]*fs[1]*fs[2], fs[3]
		pf := packDirectPanels(constFilter.Float32s(), k, o, make([]float32, directPanelsLen(k, o)))
		pre = &pf
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, f, err := convOperands(n, in)
		if err != nil {
			return nil, err
		}
		xs, fs := x.Shape(), f.Shape()
		// A filter shallower than the input makes a grouped convolution:
		// input depth / filter depth groups, each with its share of the
		// output channels.
		if fs[2] <= 0 || xs[3] < fs[2] || xs[3]%fs[2] != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "input depth %d must be a multiple of filter depth %d", xs[3], fs[2])
		}
		if groups := xs[3] / fs[2]; fs[3]%groups != 0 {
			return nil, n.Errorf(ErrInvalidArgument, "output depth %d must be a multiple of the %d groups", fs[3], groups)
		}
		g, err := sp.geometry(xs[1], xs[2], fs[0], fs[1])
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if checkBias != nil {
			if err := checkBias(fs[3]); err != nil {
				return nil, err
			}
		}
		if pool != nil {
			return convPooled(ctx, n, x, f, sp, g, ep32, ep64, pre, f == constFilter, *pool)
		}
		out := Alloc(ctx, x.DType(), tensor.Shape{xs[0], g.outH, g.outW, fs[3]})
		if x.DType() == tensor.Float32 {
			var pf *convPanels
			if f == constFilter {
				pf = pre
			}
			err = conv2D(ctx, Slice[float32](x), xs[0], xs[3], Slice[float32](f), fs[2], fs[3], sp, g, Slice[float32](out), ep32, pf)
		} else {
			err = conv2D(ctx, Slice[float64](x), xs[0], xs[3], Slice[float64](f), fs[2], fs[3], sp, g, Slice[float64](out), ep64, nil)
		}
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// conv2D lowers the convolution to GEMM: each output pixel's receptive
// field becomes a row of kH·kW·C values (zero where it falls in the
// padding), and the HWIO filter is already the (kH·kW·C)×O matrix. With
// groups (fc, the filter depth, below the input depth c) each group of fc
// input channels is lowered and multiplied by its own O/groups columns.
// Each output element is finished with ep. A float32 stride-1
// convolution goes through convDirect instead where the CPU has its
// micro-kernels, with the filter laid out in pre (when not nil) or else
// laid out afresh.
func conv2D[T Float](ctx context.Context, x []T, batch, c int, f []T, fc, o int, sp spatial, g geometry, out []T, ep epilogue[T], pre *convPanels) error {
	rows := batch * g.outH * g.outW
	kdim := g.kH * g.kW * fc
	if rows == 0 || o == 0 {
		return nil
	}
	groups := c / fc
	og := o / groups
	if xf, ok := any(x).([]float32); ok && directApplies(groups, sp, g) {
		if dk, ok := directKernelsFor(); ok {
			if err := ctx.Err(); err != nil {
				return err
			}
			if pre == nil || pre.k != kdim || pre.o != o {
				pf := packDirectPanels(any(f).([]float32), kdim, o, scratch[float32](ctx, directPanelsLen(kdim, o)))
				pre = &pf
			}
			convDirect(ctx, dk, xf, batch, c, *pre, sp, g, any(out).([]float32), any(ep).(epilogue[float32]))
			return nil
		}
	}
	if groups == 1 && g.kH == 1 && g.kW == 1 && sp.strideH == 1 && sp.strideW == 1 && g.outH == g.inH && g.outW == g.inW {
		// A 1×1 convolution without padding is a plain matrix product.
		gemmEp(ctx, kernelFor[T](), rows, o, c, mat[T]{data: x, ld: c, trans: false}, mat[T]{data: f, ld: o, trans: false}, out, o, ep)
		return nil
	}
	// The lowered matrix is never stored: gemm packs its panels straight
	// from the image (see im2colSrc). Chunks of rows bound the work
	// between checks for a caller that has given up.
	chunk := max(1, min(rows, im2colBudget/max(kdim, 1)))
	for r0 := 0; r0 < rows; r0 += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		nr := min(chunk, rows-r0)
		for gi := 0; gi < groups; gi++ {
			l := im2colSrcs[T]()
			src := l.get()
			*src = im2colSrc[T]{x: x, c: c, c0: gi * fc, cn: fc, sp: sp, g: g, r0: r0}
			gemmEp(ctx, kernelFor[T](), nr, og, kdim, mat[T]{im: src}, mat[T]{data: f[gi*og:], ld: o, trans: false}, out[r0*o+gi*og:], o, ep.shift(gi*og))
			l.put(src)
		}
	}
	return nil
}

// im2colSrcs returns the freeList of im2colSrc[T], which gemm's parallel
// parts may hold while they run.
func im2colSrcs[T Float]() *freeList[im2colSrc[T]] {
	if l, ok := any(&im2colSrcs32).(*freeList[im2colSrc[T]]); ok {
		return l
	}
	return any(&im2colSrcs64).(*freeList[im2colSrc[T]])
}

var (
	im2colSrcs32 freeList[im2colSrc[float32]]
	im2colSrcs64 freeList[im2colSrc[float64]]
)

// im2colSrc is the lowered input of a convolution as gemm's A: row r is
// the receptive field of output pixel r0+r (counted over batch, rows and
// columns), kH·kW·cn values ordered by kernel row, kernel column and
// channel, taken from channels c0..c0+cn of an NHWC input x with c
// channels, zero where the window falls in the padding.
type im2colSrc[T Float] struct {
	x         []T
	c, c0, cn int
	sp        spatial
	g         geometry
	r0        int
}

// pack writes rows ic..ic+mc, columns pc..pc+kc of the lowered matrix into
// panels of mr rows stored column by column, as packPanelsA does, reading
// each run of channels from the image in order.
func (s *im2colSrc[T]) pack(ic, mc, pc, kc, mr int, dst []T) {
	g, sp, cn := s.g, s.sp, s.cn
	rowLen := g.kW * cn
	o := 0
	for i := 0; i < mc; i += mr {
		h := min(mr, mc-i)
		panel := dst[o : o+kc*mr]
		for r := 0; r < mr; r++ {
			if r >= h {
				for p := 0; p < kc; p++ {
					panel[p*mr+r] = 0
				}
				continue
			}
			px := s.r0 + ic + i + r
			ox := px % g.outW
			oy := (px / g.outW) % g.outH
			b := px / (g.outW * g.outH)
			ky, kx, ch := pc/rowLen, (pc%rowLen)/cn, pc%cn
			for q := pc; q < pc+kc; {
				run := min(cn-ch, pc+kc-q)
				d := (q - pc) * mr
				iy := oy*sp.strideH - g.padTop + ky*sp.dilH
				ix := ox*sp.strideW - g.padLeft + kx*sp.dilW
				if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
					for t := 0; t < run; t++ {
						panel[d+t*mr+r] = 0
					}
				} else {
					src := s.x[((b*g.inH+iy)*g.inW+ix)*s.c+s.c0+ch:][:run]
					for t, v := range src {
						panel[d+t*mr+r] = v
					}
				}
				q += run
				// Step to the next channel run: the next kernel column,
				// or row.
				ch = 0
				if kx++; kx == g.kW {
					kx = 0
					ky++
				}
			}
		}
		o += kc * mr
	}
}

// convOperands checks a convolution's input and filter: float tensors of
// one dtype, both of rank 4, the filter not empty.
func convOperands(n Node, in []*tensor.Tensor) (x, f *tensor.Tensor, err error) {
	if err := checkBinary(n, in, floatTypes); err != nil {
		return nil, nil, err
	}
	x, f = in[0], in[1]
	if x.Rank() != 4 || f.Rank() != 4 {
		return nil, nil, n.Errorf(ErrInvalidArgument, "input %v and filter %v must have rank 4", x.Shape(), f.Shape())
	}
	if f.Len() == 0 {
		return nil, nil, n.Errorf(ErrInvalidArgument, "filter %v must not have zero elements", f.Shape())
	}
	return x, f, nil
}

func buildDepthwise(n Node) (Kernel, error) {
	return buildDepthwiseWith(n, epilogue[float32]{}, epilogue[float64]{}, nil)
}

// buildDepthwiseWith makes DepthwiseConv2dNative finishing its output with
// ep32 or ep64 (by the input dtype), after checkBias, when set, accepts the
// output depth.
func buildDepthwiseWith(n Node, ep32 epilogue[float32], ep64 epilogue[float64], checkBias func(int) error) (Kernel, error) {
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	sp, err := parseSpatial(n, true)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, f, err := convOperands(n, in)
		if err != nil {
			return nil, err
		}
		xs, fs := x.Shape(), f.Shape()
		if fs[2] != xs[3] {
			return nil, n.Errorf(ErrInvalidArgument, "input depth %d does not match filter depth %d", xs[3], fs[2])
		}
		g, err := sp.geometry(xs[1], xs[2], fs[0], fs[1])
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if checkBias != nil {
			if err := checkBias(xs[3] * fs[3]); err != nil {
				return nil, err
			}
		}
		out := Alloc(ctx, x.DType(), tensor.Shape{xs[0], g.outH, g.outW, xs[3] * fs[3]})
		if x.DType() == tensor.Float32 {
			depthwise(ctx, Slice[float32](x), xs[0], xs[3], Slice[float32](f), fs[3], sp, g, Slice[float32](out), ep32)
		} else {
			depthwise(ctx, Slice[float64](x), xs[0], xs[3], Slice[float64](f), fs[3], sp, g, Slice[float64](out), ep64)
		}
		return Result(ctx, out), nil
	}), nil
}

// depthwise convolves each input channel with its own mult filters;
// output channel ch·mult+m comes from input channel ch and filter
// [.., .., ch, m]. Each output pixel is finished with ep.
func depthwise[T Float](ctx context.Context, x []T, batch, c int, f []T, mult int, sp spatial, g geometry, out []T, ep epilogue[T]) {
	oc := c * mult
	rows := batch * g.outH
	parallelFor(ctx, rows, rows*g.outW*g.kH*g.kW*oc, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			b, oy := r/g.outH, r%g.outH
			for ox := 0; ox < g.outW; ox++ {
				dst := out[((r*g.outW)+ox)*oc : ((r*g.outW)+ox+1)*oc]
				clear(dst)
				for ky := 0; ky < g.kH; ky++ {
					iy := oy*sp.strideH - g.padTop + ky*sp.dilH
					if iy < 0 || iy >= g.inH {
						continue
					}
					for kx := 0; kx < g.kW; kx++ {
						ix := ox*sp.strideW - g.padLeft + kx*sp.dilW
						if ix < 0 || ix >= g.inW {
							continue
						}
						src := x[((b*g.inH+iy)*g.inW+ix)*c:][:c]
						fk := f[(ky*g.kW+kx)*oc:][:oc]
						if mult == 1 {
							fmaInto(dst, src, fk)
							continue
						}
						for ch, v := range src {
							d := dst[ch*mult : (ch+1)*mult]
							fm := fk[ch*mult : (ch+1)*mult]
							for m := range d {
								d[m] += v * fm[m]
							}
						}
					}
				}
				ep.apply(dst, 0)
			}
		}
	})
}

func buildConv2DBackpropInput(n Node) (Kernel, error) {
	if err := checkTypeAttr(n, "T", floatTypes...); err != nil {
		return nil, err
	}
	sp, err := parseSpatial(n, true)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		sizes, f, dy := in[0], in[1], in[2]
		if err := checkBinary(n, in[1:], floatTypes); err != nil {
			return nil, err
		}
		if f.Rank() != 4 || dy.Rank() != 4 {
			return nil, n.Errorf(ErrInvalidArgument, "filter %v and out_backprop %v must have rank 4", f.Shape(), dy.Shape())
		}
		fs, ds := f.Shape(), dy.Shape()
		if fs.NumElements() == 0 {
			return nil, n.Errorf(ErrInvalidArgument, "filter %v must not have zero elements", fs)
		}
		sz, ok := IntValues(sizes)
		if !ok || sizes.Rank() != 1 || (len(sz) != 4 && len(sz) != 2) {
			return nil, n.Errorf(ErrInvalidArgument, "input_sizes must be an int32 vector of 4 (or 2) elements, got %v", sizes)
		}
		if len(sz) == 2 {
			sz = []int64{int64(ds[0]), sz[0], sz[1], int64(fs[2])}
		}
		for _, v := range sz {
			if v < 0 {
				return nil, n.Errorf(ErrInvalidArgument, "negative input_sizes %v", sz)
			}
		}
		xs := tensor.Shape{int(sz[0]), int(sz[1]), int(sz[2]), int(sz[3])}
		if xs[0] != ds[0] || xs[3] != fs[2] || ds[3] != fs[3] {
			return nil, n.Errorf(ErrInvalidArgument, "input_sizes %v, filter %v and out_backprop %v disagree", xs, fs, ds)
		}
		g, err := sp.geometry(xs[1], xs[2], fs[0], fs[1])
		if err != nil {
			return nil, n.Errorf(ErrInvalidArgument, "%v", err)
		}
		if g.outH != ds[1] || g.outW != ds[2] {
			return nil, n.Errorf(ErrInvalidArgument, "out_backprop %v does not match the convolution of input %v (output %dx%d)", ds, xs, g.outH, g.outW)
		}
		// The gradient is accumulated, so it starts at zero.
		out := AllocZeroed(ctx, f.DType(), xs)
		if f.DType() == tensor.Float32 {
			err = convBackpropInput(ctx, Slice[float32](dy), xs[0], xs[3], Slice[float32](f), fs[3], sp, g, Slice[float32](out))
		} else {
			err = convBackpropInput(ctx, Slice[float64](dy), xs[0], xs[3], Slice[float64](f), fs[3], sp, g, Slice[float64](out))
		}
		if err != nil {
			return nil, err
		}
		return Result(ctx, out), nil
	}), nil
}

// convBackpropInput computes the gradient of a convolution with respect to
// its input (the transposed convolution): each output pixel's gradient
// times the transposed filter gives kH·kW·C contributions, which col2im
// adds back at the input positions its receptive field covered.
func convBackpropInput[T Float](ctx context.Context, dy []T, batch, c int, f []T, o int, sp spatial, g geometry, dx []T) error {
	rows := batch * g.outH * g.outW
	kdim := g.kH * g.kW * c
	if rows == 0 || kdim == 0 {
		return nil
	}
	chunk := max(1, min(rows, im2colBudget/kdim))
	col := scratch[T](ctx, chunk*kdim)
	ft := mat[T]{data: f, ld: o, trans: true}
	for r0 := 0; r0 < rows; r0 += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		nr := min(chunk, rows-r0)
		gemm(ctx, nr, kdim, o, mat[T]{data: dy[r0*o:], ld: o, trans: false}, ft, col, kdim)
		for r := 0; r < nr; r++ {
			p := r0 + r
			ox := p % g.outW
			oy := (p / g.outW) % g.outH
			b := p / (g.outW * g.outH)
			src := col[r*kdim : (r+1)*kdim]
			for ky := 0; ky < g.kH; ky++ {
				iy := oy*sp.strideH - g.padTop + ky*sp.dilH
				if iy < 0 || iy >= g.inH {
					continue
				}
				for kx := 0; kx < g.kW; kx++ {
					ix := ox*sp.strideW - g.padLeft + kx*sp.dilW
					if ix < 0 || ix >= g.inW {
						continue
					}
					d := dx[((b*g.inH+iy)*g.inW+ix)*c:][:c]
					s := src[(ky*g.kW+kx)*c:][:c]
					for i := range d {
						d[i] += s[i]
					}
				}
			}
		}
	}
	return nil
}
