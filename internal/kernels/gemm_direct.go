package kernels

import "context"

// packDirectPanelsMat lays the k×o matrix b (row-major or, with b.trans,
// stored transposed) out into dst for the direct micro-kernels, as
// packDirectPanels does.
func packDirectPanelsMat(b mat[float32], k, o int, dst []float32) convPanels {
	for col := 0; col < o; col += 32 {
		col, nr := directPanel(col/32, o)
		w := min(nr, o-col)
		panel := dst[col*k : col*k+k*nr]
		for q := 0; q < k; q++ {
			row := panel[q*nr : q*nr+nr]
			if b.trans {
				for j := range w {
					row[j] = b.data[(col+j)*b.ld+q]
				}
			} else {
				copy(row, b.data[q*b.ld+col:q*b.ld+col+w])
			}
			clear(row[w:])
		}
	}
	return convPanels{k: k, o: o, data: dst[:directPanelsLen(k, o)]}
}

// gemmDirect32 sets C = A·B and finishes it with ep, for a row-major
// float32 A (m×k, rows lda apart, m ≥ 1) and B laid out in pf, through the
// direct micro-kernels: each tile of directMR rows of A is read in place as
// one segment of k steps. When m is below directMR the rows are first
// copied into a zero-padded block; otherwise the last tile ends at row m,
// overlapping the one before, and writes only its new rows. Tiles and
// column panels are shared out among Threads(ctx) goroutines.
func gemmDirect32(ctx context.Context, dk directKernels, m int, a []float32, lda int, pf convPanels, c []float32, ldc int, ep epilogue[float32]) {
	k, n := pf.k, pf.o
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			clear(row)
			ep.apply(row, 0)
		}
		return
	}
	if m < directMR {
		pad := scratch[float32](ctx, directMR*k)
		for i := 0; i < directMR; i++ {
			if i < m {
				copy(pad[i*k:i*k+k], a[i*lda:i*lda+k])
			} else {
				clear(pad[i*k : i*k+k])
			}
		}
		a, lda = pad, k
	}
	j := directJob{k: dk, mr: directMR, x: a, c: lda, count: m, nseg: 1, kseg: k, pf: pf, out: c, outW: ldc, ep: ep}
	j.setFlags()
	j.tiles = (m + directMR - 1) / directMR
	items, work := j.tiles*((n+31)/32), 2*m*n*k
	if work < directParallelFlops || serial(ctx, items, work) {
		j.rangeGemm(0, items)
		return
	}
	jp := directJobs.get()
	*jp = j
	parallelTiles(ctx, items, (*productTiles)(jp))
	directJobs.put(jp)
}

// productTiles is a directJob's product items as a ranger.
type productTiles directJob

func (j *productTiles) run(lo, hi int) { (*directJob)(j).rangeGemm(lo, hi) }

// rangeGemm computes items lo..hi-1 of the product, each one tile of rows
// by one column panel; j.c is the stride between rows of A (j.x) and
// j.outW that between rows of C (j.out).
func (j *directJob) rangeGemm(lo, hi int) {
	var tile [directMR * 32]float32
	m, n, k, lda, ldc := j.count, j.pf.o, j.pf.k, j.c, j.outW
	offs := j.offsBuf[:1]
	npanels := (n + 31) / 32
	for it := lo; it < hi; it++ {
		t, pi := it/npanels, it%npanels
		r0, skip := t*directMR, 0
		if m >= directMR && r0+directMR > m {
			skip = r0 - (m - directMR)
			r0 = m - directMR
		}
		rows := min(directMR, m-r0)
		col, nr := directPanel(pi, n)
		pa := j.x[r0*lda:]
		pb := j.pf.data[col*k:]
		if skip == 0 && rows == directMR && col+nr <= n {
			cd := j.out[r0*ldc+col:]
			var bias []float32
			if j.flags&directBias != 0 {
				bias = j.ep.bias[col:]
			}
			j.k.run(directMR, nr, 1, k, pa, lda, offs, pb, nr, cd, ldc, bias, j.flags)
			if !j.asmEp {
				for i := 0; i < directMR; i++ {
					j.ep.apply(cd[i*ldc:i*ldc+nr], col)
				}
			}
			continue
		}
		j.k.run(directMR, nr, 1, k, pa, lda, offs, pb, nr, tile[:], nr, nil, 0)
		w := min(nr, n-col)
		for i := skip; i < rows; i++ {
			row := j.out[(r0+i)*ldc+col:][:w]
			copy(row, tile[i*nr:])
			j.ep.apply(row, col)
		}
	}
}
