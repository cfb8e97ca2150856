package kernels

import (
	"fmt"
	"sync"

	"inferd/internal/tensor"
)

// BroadcastShape returns the shape that a and b broadcast to under NumPy
// (and TensorFlow) rules: shapes align on the right, and each pair of
// dimensions must be equal or one of them 1.
// The result is a or b itself when that is the broadcast shape (the usual
// case: equal shapes, a bias, a scalar), so callers must not modify it.
func BroadcastShape(a, b tensor.Shape) (tensor.Shape, error) {
	if broadcastsInto(b, a) {
		return a[:len(a):len(a)], nil
	}
	if broadcastsInto(a, b) {
		return b[:len(b):len(b)], nil
	}
	n := max(len(a), len(b))
	out := make(tensor.Shape, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, fmt.Errorf("incompatible shapes %v and %v: %w", a, b, ErrInvalidArgument)
		}
	}
	return out, nil
}

// broadcastsInto reports whether s broadcasts to exactly to: it has no
// more dimensions, and each is 1 or to's.
func broadcastsInto(s, to tensor.Shape) bool {
	if len(s) > len(to) {
		return false
	}
	off := len(to) - len(s)
	for i, d := range s {
		if d != 1 && d != to[off+i] {
			return false
		}
	}
	return true
}

// BroadcastShapes folds BroadcastShape over all the shapes.
func BroadcastShapes(shapes ...tensor.Shape) (tensor.Shape, error) {
	out := tensor.Shape{}
	for _, s := range shapes {
		var err error
		if out, err = BroadcastShape(out, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// BroadcastStrides returns, for each dimension of out, the element stride
// of a row-major tensor of shape in aligned on the right, with 0 where in
// is broadcast along that dimension (its extent is 1 or it is missing).
// in must broadcast to out.
func BroadcastStrides(in, out tensor.Shape) []int {
	return broadcastStridesInto(make([]int, len(out)), in, out)
}

// broadcastStridesInto is BroadcastStrides writing into st, which has
// len(out) elements.
func broadcastStridesInto(st []int, in, out tensor.Shape) []int {
	clear(st)
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := len(in) - len(out) + i
		if j < 0 {
			continue
		}
		if in[j] != 1 {
			st[i] = s
		}
		s *= in[j]
	}
	return st
}

// forEachRun walks a tensor of shape out in row-major order in runs along
// its last (merged) dimension. For each run it calls f with the flat offset
// into the output, the flat offset into each input (whose shapes in must
// broadcast to out), the run length, and the per-element step of each input
// within the run (0 for a broadcast input, otherwise its stride).
// Dimensions are merged first where every input allows, so that same-shape
// inputs give a single run. offs and steps are reused between calls.
func forEachRun(out tensor.Shape, in []tensor.Shape, f func(outOff int, offs []int, n int, steps []int)) {
	total := out.NumElements()
	if total == 0 {
		return
	}
	k := len(in)
	w := getWalk(k, len(out))
	defer putWalk(w)
	strides := w.strides
	for i, s := range in {
		broadcastStridesInto(strides[i], s, out)
	}
	// Drop size-1 dimensions and merge dimension d into d+1 when every
	// input is contiguous (or uniformly broadcast) across the pair.
	dims := w.dims[:0]
	mst := w.mst
	for d := 0; d < len(out); d++ {
		if out[d] == 1 {
			continue
		}
		if m := len(dims); m > 0 {
			ok := true
			for i := 0; i < k; i++ {
				if mst[i][m-1] != strides[i][d]*out[d] {
					ok = false
					break
				}
			}
			if ok {
				dims[m-1] *= out[d]
				for i := 0; i < k; i++ {
					mst[i][m-1] = strides[i][d]
				}
				continue
			}
		}
		dims = append(dims, out[d])
		for i := 0; i < k; i++ {
			mst[i][len(dims)-1] = strides[i][d]
		}
	}
	offs, steps := w.offs, w.steps
	if len(dims) == 0 {
		f(0, offs, 1, steps)
		return
	}
	last := len(dims) - 1
	inner := dims[last]
	for i := 0; i < k; i++ {
		steps[i] = mst[i][last]
	}
	idx, base := w.idx[:last], w.base
	for o := 0; o < total; o += inner {
		copy(offs, base)
		f(o, offs, inner, steps)
		// Advance the odometer over the outer dimensions.
		for d := last - 1; d >= 0; d-- {
			idx[d]++
			for i := 0; i < k; i++ {
				base[i] += mst[i][d]
			}
			if idx[d] < dims[d] {
				break
			}
			for i := 0; i < k; i++ {
				base[i] -= mst[i][d] * dims[d]
			}
			idx[d] = 0
		}
	}
}

// walk is forEachRun's working memory, kept on a free list so that a walk
// allocates nothing once warm: f's offs and steps would otherwise escape.
type walk struct {
	flat              []int
	strides, mst      [][]int
	dims, idx         []int
	offs, steps, base []int
}

var walks struct {
	sync.Mutex
	free []*walk
}

// getWalk returns a walk for k inputs of rank dimensions, zeroed.
func getWalk(k, rank int) *walk {
	walks.Lock()
	var w *walk
	if n := len(walks.free); n > 0 {
		w = walks.free[n-1]
		walks.free = walks.free[:n-1]
	}
	walks.Unlock()
	if w == nil {
		w = &walk{}
	}
	need := 2*k*rank + 2*rank + 3*k
	if cap(w.flat) < need {
		w.flat = make([]int, need)
	}
	flat := w.flat[:need]
	clear(flat)
	if cap(w.strides) < k {
		w.strides, w.mst = make([][]int, k), make([][]int, k)
	}
	w.strides, w.mst = w.strides[:k], w.mst[:k]
	for i := range k {
		w.strides[i], flat = flat[:rank:rank], flat[rank:]
		w.mst[i], flat = flat[:rank:rank], flat[rank:]
	}
	w.dims, flat = flat[:0:rank], flat[rank:]
	w.idx, flat = flat[:rank:rank], flat[rank:]
	w.offs, flat = flat[:k:k], flat[k:]
	w.steps, flat = flat[:k:k], flat[k:]
	w.base = flat[:k:k]
	return w
}

func putWalk(w *walk) {
	walks.Lock()
	walks.free = append(walks.free, w)
	walks.Unlock()
}

// broadcastBinary sets o[i] = f(a[ia], b[ib]) over out, the broadcast of
// shapes as and bs.
func broadcastBinary[A, B, O any](out, as, bs tensor.Shape, a []A, b []B, o []O, f func(A, B) O) {
	forEachRun(out, []tensor.Shape{as, bs}, func(oo int, offs []int, n int, steps []int) {
		ia, ib := offs[0], offs[1]
		sa, sb := steps[0], steps[1]
		dst := o[oo : oo+n]
		switch {
		case sa == 1 && sb == 1:
			av, bv := a[ia:ia+n], b[ib:ib+n]
			for j := range dst {
				dst[j] = f(av[j], bv[j])
			}
		case sa == 0 && sb == 1:
			x, bv := a[ia], b[ib:ib+n]
			for j := range dst {
				dst[j] = f(x, bv[j])
			}
		case sa == 1 && sb == 0:
			av, y := a[ia:ia+n], b[ib]
			for j := range dst {
				dst[j] = f(av[j], y)
			}
		default:
			for j := range dst {
				dst[j] = f(a[ia], b[ib])
				ia += sa
				ib += sb
			}
		}
	})
}

// broadcastTernary sets o[i] = f(a[ia], b[ib], c[ic]) over out, the
// broadcast of shapes as, bs and cs.
func broadcastTernary[A, B, C, O any](out, as, bs, cs tensor.Shape, a []A, b []B, c []C, o []O, f func(A, B, C) O) {
	forEachRun(out, []tensor.Shape{as, bs, cs}, func(oo int, offs []int, n int, steps []int) {
		ia, ib, ic := offs[0], offs[1], offs[2]
		for j := 0; j < n; j++ {
			o[oo+j] = f(a[ia], b[ib], c[ic])
			ia += steps[0]
			ib += steps[1]
			ic += steps[2]
		}
	})
}

// BroadcastTo copies src (of shape from) into dst (of shape to), repeating
// it along broadcast dimensions; from must broadcast to to.
func BroadcastTo[T any](dst []T, to tensor.Shape, src []T, from tensor.Shape) {
	forEachRun(to, []tensor.Shape{from}, func(oo int, offs []int, n int, steps []int) {
		i, s := offs[0], steps[0]
		if s == 1 {
			copy(dst[oo:oo+n], src[i:i+n])
			return
		}
		for j := 0; j < n; j++ {
			dst[oo+j] = src[i]
			i += s
		}
	})
}
