//go:build amd64 && !noasm

package kernels

// haveConvAsm reports whether the CPU and OS support AVX-512F (with the
// ZMM state saved across context switches), which the direct-convolution
// micro-kernels need.
var haveConvAsm = haveSgemmAsm && detectAVX512F()

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
func sconv12x32(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

//go:noescape
func sconv12x16(nseg, kseg int, a *float32, lda int, offs *int, pb *float32, ldb int, c *float32, ldc int, bias *float32, flags int)

// directAsm32 and directAsm16 are the AVX-512 direct-convolution
// micro-kernels of width 32 and 16; their pure-Go counterpart is
// directTileGo. The slice checks keep the assembly inside its operands.
func directAsm32(nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(32, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	sconv12x32(nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, biasPtr(bias, flags), flags)
}

func directAsm16(nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	checkDirectTile(16, nseg, kseg, a, lda, offs, b, ldb, c, ldc, bias, flags)
	sconv12x16(nseg, kseg, &a[0], lda, &offs[0], &b[0], ldb, &c[0], ldc, biasPtr(bias, flags), flags)
}

func biasPtr(bias []float32, flags int) *float32 {
	if flags&directBias != 0 {
		return &bias[0]
	}
	return nil
}

// directKernelsFor returns the AVX-512 direct micro-kernels, or ok false
// where the CPU lacks them.
func directKernelsFor() (k directKernels, ok bool) {
	if !haveConvAsm {
		return directKernels{}, false
	}
	return directKernels{k16: directAsm16, k32: directAsm32}, true
}
