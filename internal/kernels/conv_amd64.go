//go:build amd64 && !noasm

package kernels

// haveConvAsm reports whether there are direct-convolution micro-kernels
// in assembly for this CPU: the AVX2 and FMA ones at least.
var haveConvAsm = haveSgemmAsm

// haveConv512 reports whether the CPU and OS support AVX-512F (with the
// ZMM state saved across context switches), which the AVX-512
// direct-convolution micro-kernels need, and INFERD_CPU allows it.
var haveConv512 = haveConvAsm && cpuForced != "avx2" && detectAVX512F()

func detectAVX512F() bool {
	// The OS must save the opmask and the upper halves of the ZMM
	// registers (XCR0 bits 5 to 7) besides the XMM and YMM state.
	if xcr0, _ := xgetbv(); xcr0&0xe6 != 0xe6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx512f = 1 << 16
	return ebx7&avx512f != 0
}

//go:noescape
func sconv12x32(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)

//go:noescape
func sconv24x16(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)

//go:noescape
func sconv12x16(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, ntiles, strideA, strideC, segs int)

// directAsm runs the AVX-512 direct-convolution micro-kernel of mr rows
// (12, or 24 when nr is 16) and width nr (32, else 16); its pure-Go counterpart is directTileGo. The slice checks
// keep the assembly inside its operands.
func directAsm(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(t, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	var pbias *float32
	if flags&directBias != 0 {
		pbias = &bias[0]
	}
	if mr == directMR16 {
		if nr != 16 {
			panic("kernels: no direct micro-kernel of 24 rows by 32")
		}
		sconv24x16(nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, pbias, flags, t.n, t.strideA, t.strideC, 0)
		return
	}
	if nr == 32 {
		sconv12x32(nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, pbias, flags, t.n, t.strideA, t.strideC, 0)
		return
	}
	sconv12x16(nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, pbias, flags, t.n, t.strideA, t.strideC, 0)
}

// directKernelsFor returns the fastest direct micro-kernels in assembly
// that the CPU runs, AVX-512 else AVX2, or ok false where it has neither.
func directKernelsFor() (k directKernels, ok bool) {
	switch {
	case haveConv512:
		return directKernels{isa: directAVX512}, true
	case haveConvAsm:
		return directKernels{isa: directAVX2}, true
	}
	return directKernels{}, false
}

// directKernelSets returns every set of direct micro-kernels in assembly
// that the CPU runs, for tests and benchmarks to compare.
func directKernelSets() []directKernels {
	var sets []directKernels
	if haveConvAsm {
		sets = append(sets, directKernels{isa: directAVX2})
	}
	if haveConv512 {
		sets = append(sets, directKernels{isa: directAVX512})
	}
	return sets
}

//go:noescape
func sconvavx2(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags, rowblocks, ntiles, strideA, strideC int)

// directAsmAVX2 runs the AVX2 direct micro-kernel, which computes blocks
// of 6 rows by 16 columns, over the mr×nr tiles of t (mr a multiple of 6,
// nr of 16): one call for each 16 columns. Its pure-Go counterpart is
// directTileGo. The slice checks keep the assembly inside its operands.
func directAsmAVX2(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(t, mr, nr, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	if mr%6 != 0 || nr%16 != 0 {
		panic("kernels: no AVX2 direct micro-kernel of this tile")
	}
	for j := 0; j < nr; j += 16 {
		var pbias *float32
		if flags&directBias != 0 {
			pbias = &bias[j]
		}
		sconvavx2(nseg, kseg, &a[0], lda, &offs[0], &b[j], ldb, &c[j], ldc, pbias, flags, mr/6, t.n, t.strideA, t.strideC)
	}
}

//go:noescape
func maxPoolPixels512(dst, src *float32, c, npix, dstStep, srcStep int, offs *int, noffs int)

//go:noescape
func sconvrows32(mr, nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

// directRowsAsm runs the AVX-512 micro-kernel of mr rows (1 to 12) by 32
// columns, one tile; its pure-Go counterpart is directTileGo. The slice
// checks keep the assembly inside its operands.
func directRowsAsm(mr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(directRun{n: 1}, mr, 32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	if mr < 1 || mr > directMR {
		panic("kernels: no direct row micro-kernel of this height")
	}
	var pbias *float32
	if flags&directBias != 0 {
		pbias = &bias[0]
	}
	sconvrows32(mr, nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, pbias, flags)
}

//go:noescape
func sconvavx2rows(mr, nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

// directRowsAsmAVX2 runs the AVX2 micro-kernels over one tile of mr rows
// (1 to 12) by 32 columns: for each 16 columns, sconvavx2 over its blocks
// of 6 rows and sconvavx2rows over the rows left. Its pure-Go
// counterpart is directTileGo. The slice checks keep the assembly inside
// its operands.
func directRowsAsmAVX2(mr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(directRun{n: 1}, mr, 32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	if mr < 1 || mr > directMR {
		panic("kernels: no direct row micro-kernel of this height")
	}
	q, r := mr/6, mr%6
	for j := 0; j < 32; j += 16 {
		var pbias *float32
		if flags&directBias != 0 {
			pbias = &bias[j]
		}
		if q > 0 {
			sconvavx2(nseg, kseg, &a[0], lda, &offs[0], &b[j], ldb, &c[j], ldc, pbias, flags, q, 1, 0, 0)
		}
		if r > 0 {
			sconvavx2rows(r, nseg, kseg, &a[6*q*lda], lda, &offs[0], &b[j], ldb, &c[6*q*ldc+j], ldc, pbias, flags)
		}
	}
}

// directRowPartsAsm is runRowParts for AVX-512: the slices are checked
// once, for the first and the last of the rows, and each tile is one call
// of sconvrows32.
func directRowPartsAsm(rows, parts, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	if parts < 1 || rows < parts || rows > parts*directMR {
		panic("kernels: no direct row micro-kernel of this height")
	}
	// Rows 0 and rows-1 as a run of two one-row tiles.
	checkDirectTile(directRun{n: 2, strideA: (rows - 1) * lda, strideC: (rows - 1) * ldc}, 1, 32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	var pbias *float32
	if flags&directBias != 0 {
		pbias = &bias[0]
	}
	x0 := 0
	for part := 1; part <= parts; part++ {
		mr := rows*part/parts - x0
		sconvrows32(mr, nseg, kseg, &a[x0*lda], lda, &offs[0], &b[0], ldb, &c[x0*ldc], ldc, pbias, flags)
		x0 += mr
	}
}

// directRowPartsAsmAVX2 is runRowParts for AVX2: the slices are checked
// once, for the first and the last of the rows, and each tile is, for
// each 16 columns, a call of sconvavx2 for its blocks of 6 rows and one of
// sconvavx2rows for the rows left.
func directRowPartsAsmAVX2(rows, parts, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	if parts < 1 || rows < parts || rows > parts*directMR {
		panic("kernels: no direct row micro-kernel of this height")
	}
	// Rows 0 and rows-1 as a run of two one-row tiles.
	checkDirectTile(directRun{n: 2, strideA: (rows - 1) * lda, strideC: (rows - 1) * ldc}, 1, 32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	x0 := 0
	for part := 1; part <= parts; part++ {
		mr := rows*part/parts - x0
		q, r := mr/6, mr%6
		for j := 0; j < 32; j += 16 {
			var pbias *float32
			if flags&directBias != 0 {
				pbias = &bias[j]
			}
			if q > 0 {
				sconvavx2(nseg, kseg, &a[x0*lda], lda, &offs[0], &b[j], ldb, &c[x0*ldc+j], ldc, pbias, flags, q, 1, 0, 0)
			}
			if r > 0 {
				sconvavx2rows(r, nseg, kseg, &a[(x0+6*q)*lda], lda, &offs[0], &b[j], ldb, &c[(x0+6*q)*ldc+j], ldc, pbias, flags)
			}
		}
		x0 += mr
	}
}
