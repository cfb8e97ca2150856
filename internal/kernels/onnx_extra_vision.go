package kernels

import (
	"context"
	"math"
	"sort"

	"inferd/internal/tensor"
)

// This file holds ONNX's detection and sampling ops: NonMaxSuppression,
// RoiAlign and GridSample.

func init() {
	Register("OnnxNonMaxSuppression", xtBuildNMS)
	Register("OnnxRoiAlign", xtBuildRoiAlign)
	Register("OnnxGridSample", xtBuildGridSample)
}

// xtBuildNMS makes NonMaxSuppression: per batch and class, boxes are taken
// greedily by descending score (ties by index) and every later box whose
// IoU with a taken one exceeds iou_threshold is dropped. The output lists
// [batch, class, box] triples in the order taken.
func xtBuildNMS(n Node) (Kernel, error) {
	center := attrInt(n, "center_point_box", 0) != 0
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		boxes, scores := in[0], in[1]
		if boxes.Rank() != 3 || boxes.Shape()[2] != 4 || scores.Rank() != 3 ||
			scores.Shape()[0] != boxes.Shape()[0] || scores.Shape()[2] != boxes.Shape()[1] {
			return nil, n.Errorf(ErrInvalidArgument, "boxes %v and scores %v do not match [batch, boxes, 4] and [batch, classes, boxes]", boxes.Shape(), scores.Shape())
		}
		var maxOut int64
		if !xtAbsent(in, 2) {
			v, ok := scalarInt(in[2])
			if !ok {
				return nil, n.Errorf(ErrInvalidArgument, "max_output_boxes_per_class must be one integer, got %v", in[2])
			}
			maxOut = v
		}
		iouTh, scoreTh, useScore := 0.0, 0.0, false
		if !xtAbsent(in, 3) {
			iouTh = xtFloat64s(in[3])[0]
		}
		if !xtAbsent(in, 4) {
			scoreTh, useScore = xtFloat64s(in[4])[0], true
		}
		bv, sv := xtFloat64s(boxes), xtFloat64s(scores)
		nb, nc, ns := scores.Shape()[0], scores.Shape()[1], scores.Shape()[2]
		var sel []int64
		type cand struct {
			idx   int
			score float64
		}
		for b := range nb {
			for c := range nc {
				if maxOut <= 0 {
					continue
				}
				var cands []cand
				for i := range ns {
					s := sv[(b*nc+c)*ns+i]
					if useScore && !(s > scoreTh) {
						continue
					}
					cands = append(cands, cand{i, s})
				}
				sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
				var taken []int
				for _, cd := range cands {
					if int64(len(taken)) >= maxOut {
						break
					}
					keep := true
					for _, t := range taken {
						if xtIoUOver(bv[(b*ns+cd.idx)*4:][:4], bv[(b*ns+t)*4:][:4], center, iouTh) {
							keep = false
							break
						}
					}
					if keep {
						taken = append(taken, cd.idx)
						sel = append(sel, int64(b), int64(c), int64(cd.idx))
					}
				}
			}
		}
		out := Alloc(ctx, tensor.Int64, tensor.Shape{len(sel) / 3, 3})
		copy(out.Int64s(), sel)
		return []*tensor.Tensor{out}, nil
	}), nil
}

// xtIoUOver reports whether boxes a and b overlap by more than th
// (intersection over union). Boxes are [y1, x1, y2, x2] with either
// corner first, or [x_center, y_center, width, height] when center is set.
func xtIoUOver(a, b []float64, center bool, th float64) bool {
	corners := func(v []float64) (x0, y0, x1, y1 float64) {
		if center {
			return v[0] - v[2]/2, v[1] - v[3]/2, v[0] + v[2]/2, v[1] + v[3]/2
		}
		return math.Min(v[1], v[3]), math.Min(v[0], v[2]), math.Max(v[1], v[3]), math.Max(v[0], v[2])
	}
	ax0, ay0, ax1, ay1 := corners(a)
	bx0, by0, bx1, by1 := corners(b)
	ix0, ix1 := math.Max(ax0, bx0), math.Min(ax1, bx1)
	iy0, iy1 := math.Max(ay0, by0), math.Min(ay1, by1)
	if ix1 <= ix0 || iy1 <= iy0 {
		return false
	}
	areaA, areaB := (ax1-ax0)*(ay1-ay0), (bx1-bx0)*(by1-by0)
	if areaA <= 0 || areaB <= 0 {
		return false
	}
	inter := (ix1 - ix0) * (iy1 - iy0)
	union := areaA + areaB - inter
	if union <= 0 {
		return false
	}
	return inter/union > th
}

// xtBuildRoiAlign makes RoiAlign: each region of interest is split into
// output_height × output_width bins, each bin averages (or takes the max
// of) bilinear samples on a regular grid, as ONNX Runtime computes them.
func xtBuildRoiAlign(n Node) (Kernel, error) {
	mode := attrString(n, "mode", "avg")
	if mode != "avg" && mode != "max" {
		return nil, n.Errorf(ErrUnsupported, "mode %q", mode)
	}
	defCoord := "half_pixel"
	if attrInt(n, "_opset", 16) < 16 {
		defCoord = "output_half_pixel"
	}
	coord := attrString(n, "coordinate_transformation_mode", defCoord)
	if coord != "half_pixel" && coord != "output_half_pixel" {
		return nil, n.Errorf(ErrUnsupported, "coordinate_transformation_mode %q", coord)
	}
	ph, pw := int(attrInt(n, "output_height", 1)), int(attrInt(n, "output_width", 1))
	ratio := int(attrInt(n, "sampling_ratio", 0))
	// Bins and samples a hostile model sets huge would exhaust memory or
	// hang the request.
	if ph < 1 || pw < 1 || ph > nnMaxWindow/pw {
		return nil, n.Errorf(ErrInvalidArgument, "output_height %d and output_width %d must be positive and their product at most %d", ph, pw, nnMaxWindow)
	}
	if ratio < 0 || ratio > 1<<10 {
		return nil, n.Errorf(ErrInvalidArgument, "sampling_ratio %d must be in [0, 1024]", ratio)
	}
	scale := float64(attrFloat(n, "spatial_scale", 1))
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		x, rois := in[0], in[1]
		if err := checkDType(n, "X", x, floatTypes...); err != nil {
			return nil, err
		}
		idx, ok := IntValues(in[2])
		if x.Rank() != 4 || rois.Rank() != 2 || rois.Shape()[1] != 4 || !ok || len(idx) != rois.Shape()[0] {
			return nil, n.Errorf(ErrInvalidArgument, "X %v, rois %v and batch_indices %v do not match", x.Shape(), rois.Shape(), in[2].Shape())
		}
		nb, ch, h, w := x.Shape()[0], x.Shape()[1], x.Shape()[2], x.Shape()[3]
		xv, rv := xtFloat64s(x), xtFloat64s(rois)
		nr := rois.Shape()[0]
		out := make([]float64, nr*ch*ph*pw)
		off := 0.0
		if coord == "half_pixel" {
			off = 0.5
		}
		for r := range nr {
			bi := int(idx[r])
			if bi < 0 || bi >= nb {
				return nil, n.Errorf(ErrInvalidArgument, "batch index %d is outside [0, %d)", bi, nb)
			}
			x0, y0 := rv[r*4]*scale-off, rv[r*4+1]*scale-off
			x1, y1 := rv[r*4+2]*scale-off, rv[r*4+3]*scale-off
			rw, rh := x1-x0, y1-y0
			if coord == "output_half_pixel" {
				rw, rh = math.Max(rw, 1), math.Max(rh, 1)
			}
			bh, bw := rh/float64(ph), rw/float64(pw)
			gh, gw := ratio, ratio
			if ratio <= 0 {
				gh, gw = int(math.Ceil(rh/float64(ph))), int(math.Ceil(rw/float64(pw)))
			}
			count := float64(max(gh*gw, 1))
			for c := range ch {
				img := xv[(bi*ch+c)*h*w : (bi*ch+c+1)*h*w]
				for py := range ph {
					for px := range pw {
						acc, first := 0.0, true
						for iy := range gh {
							yy := y0 + float64(py)*bh + (float64(iy)+0.5)*bh/float64(gh)
							for ix := range gw {
								xx := x0 + float64(px)*bw + (float64(ix)+0.5)*bw/float64(gw)
								v := xtRoiSample(img, h, w, yy, xx, mode == "max")
								switch {
								case mode == "avg":
									acc += v
								case first || v > acc:
									acc = v
								}
								first = false
							}
						}
						if mode == "avg" {
							acc /= count
						}
						out[((r*ch+c)*ph+py)*pw+px] = acc
					}
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), tensor.Shape{nr, ch, ph, pw}, out)}, nil
	}), nil
}

// xtRoiSample is RoiAlign's bilinear sample of img at (y, x); with max it
// is the largest of the four weighted corners, as ONNX Runtime's max mode
// takes it.
func xtRoiSample(img []float64, h, w int, y, x float64, max bool) float64 {
	if y < -1 || y > float64(h) || x < -1 || x > float64(w) {
		return 0
	}
	y, x = math.Max(y, 0), math.Max(x, 0)
	yl, xl := int(y), int(x)
	var yh, xh int
	if yl >= h-1 {
		yl, yh, y = h-1, h-1, float64(h-1)
	} else {
		yh = yl + 1
	}
	if xl >= w-1 {
		xl, xh, x = w-1, w-1, float64(w-1)
	} else {
		xh = xl + 1
	}
	ly, lx := y-float64(yl), x-float64(xl)
	hy, hx := 1-ly, 1-lx
	v1, v2, v3, v4 := hy*hx*img[yl*w+xl], hy*lx*img[yl*w+xh], ly*hx*img[yh*w+xl], ly*lx*img[yh*w+xh]
	if max {
		return math.Max(math.Max(v1, v2), math.Max(v3, v4))
	}
	return v1 + v2 + v3 + v4
}

// xtBuildGridSample makes GridSample (opset 16): X [N, C, H, W] sampled at
// grid [N, Ho, Wo, 2] of normalised (x, y) in [-1, 1], with PyTorch's
// bilinear, nearest (round half to even) and bicubic (A = -0.75) modes and
// zeros, border and reflection padding.
func xtBuildGridSample(n Node) (Kernel, error) {
	mode := attrString(n, "mode", "bilinear")
	pad := attrString(n, "padding_mode", "zeros")
	align := attrInt(n, "align_corners", 0) != 0
	switch mode {
	case "bilinear", "nearest", "bicubic", "linear", "cubic":
	default:
		return nil, n.Errorf(ErrUnsupported, "mode %q", mode)
	}
	switch pad {
	case "zeros", "border", "reflection":
	default:
		return nil, n.Errorf(ErrUnsupported, "padding_mode %q", pad)
	}
	return KernelFunc(func(ctx context.Context, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		x, grid := in[0], in[1]
		if err := checkDType(n, "X", x, floatTypes...); err != nil {
			return nil, err
		}
		if x.Rank() != 4 || grid.Rank() != 4 || grid.Shape()[3] != 2 || grid.Shape()[0] != x.Shape()[0] {
			return nil, n.Errorf(ErrUnsupported, "X %v and grid %v are not [N, C, H, W] and [N, Ho, Wo, 2]", x.Shape(), grid.Shape())
		}
		nb, ch, h, w := x.Shape()[0], x.Shape()[1], x.Shape()[2], x.Shape()[3]
		ho, wo := grid.Shape()[1], grid.Shape()[2]
		xv, gv := xtFloat64s(x), xtFloat64s(grid)
		out := make([]float64, nb*ch*ho*wo)
		for b := range nb {
			for oy := range ho {
				for ox := range wo {
					g := gv[((b*ho+oy)*wo+ox)*2:]
					for c := range ch {
						img := xv[(b*ch+c)*h*w : (b*ch+c+1)*h*w]
						out[((b*ch+c)*ho+oy)*wo+ox] = xtGridSample(img, h, w, g[0], g[1], mode, pad, align)
					}
				}
			}
		}
		return []*tensor.Tensor{rdStore(ctx, x.DType(), tensor.Shape{nb, ch, ho, wo}, out)}, nil
	}), nil
}

// xtUnnormalize maps a grid coordinate in [-1, 1] onto pixel coordinates.
func xtUnnormalize(c float64, size int, align bool) float64 {
	if align {
		return (c + 1) / 2 * float64(size-1)
	}
	return ((c+1)*float64(size) - 1) / 2
}

// xtReflect folds c into [lo2/2, hi2/2] by reflection at the bounds.
func xtReflect(c float64, lo2, hi2 int) float64 {
	if lo2 == hi2 {
		return 0
	}
	lo := float64(lo2) / 2
	span := float64(hi2-lo2) / 2
	c = math.Abs(c - lo)
	extra := math.Mod(c, span)
	if int(math.Floor(c/span))%2 == 0 {
		return extra + lo
	}
	return span - extra + lo
}

// xtPadCoord applies border or reflection padding to a pixel coordinate.
func xtPadCoord(c float64, size int, pad string, align bool) float64 {
	switch pad {
	case "border":
		return math.Min(float64(size-1), math.Max(c, 0))
	case "reflection":
		if align {
			c = xtReflect(c, 0, 2*(size-1))
		} else {
			c = xtReflect(c, -1, 2*size-1)
		}
		return math.Min(float64(size-1), math.Max(c, 0))
	}
	return c
}

func xtGridSample(img []float64, h, w int, gx, gy float64, mode, pad string, align bool) float64 {
	at := func(y, x int) float64 {
		if y < 0 || y >= h || x < 0 || x >= w {
			return 0
		}
		return img[y*w+x]
	}
	ix, iy := xtUnnormalize(gx, w, align), xtUnnormalize(gy, h, align)
	switch mode {
	case "nearest":
		ix, iy = xtPadCoord(ix, w, pad, align), xtPadCoord(iy, h, pad, align)
		return at(int(math.RoundToEven(iy)), int(math.RoundToEven(ix)))
	case "bicubic", "cubic":
		x0, y0 := math.Floor(ix), math.Floor(iy)
		tx, ty := ix-x0, iy-y0
		cx, cy := xtCubicCoeffs(tx), xtCubicCoeffs(ty)
		bounded := func(y, x int) float64 {
			if pad != "zeros" {
				x = int(xtPadCoord(float64(x), w, pad, align))
				y = int(xtPadCoord(float64(y), h, pad, align))
			}
			return at(y, x)
		}
		sum := 0.0
		for j := range 4 {
			row := 0.0
			for i := range 4 {
				row += cx[i] * bounded(int(y0)-1+j, int(x0)-1+i)
			}
			sum += cy[j] * row
		}
		return sum
	}
	ix, iy = xtPadCoord(ix, w, pad, align), xtPadCoord(iy, h, pad, align)
	x0, y0 := math.Floor(ix), math.Floor(iy)
	lx, ly := ix-x0, iy-y0
	xi, yi := int(x0), int(y0)
	return (1-ly)*((1-lx)*at(yi, xi)+lx*at(yi, xi+1)) + ly*((1-lx)*at(yi+1, xi)+lx*at(yi+1, xi+1))
}

// xtCubicCoeffs are the cubic convolution weights (A = -0.75) of the four
// neighbours at distances t+1, t, 1-t and 2-t.
func xtCubicCoeffs(t float64) [4]float64 {
	const a = -0.75
	c1 := func(x float64) float64 { return ((a+2)*x-(a+3))*x*x + 1 }
	c2 := func(x float64) float64 { return ((a*x-5*a)*x+8*a)*x - 4*a }
	return [4]float64{c2(t + 1), c1(t), c1(1 - t), c2(2 - t)}
}
