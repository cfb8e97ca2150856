//go:build amd64 && !noasm

package kernels

import "os"

// cpuForced is the environment variable INFERD_CPU, read once at start:
// "avx2" keeps the kernels off AVX-512 and "generic" off assembly
// altogether, so that the paths of CPUs without them can be run and
// tested on one that has them; any other value changes nothing.
var cpuForced = os.Getenv("INFERD_CPU")

// haveSgemmAsm reports whether the CPU and OS support AVX2 and FMA, which
// the float32 assembly micro-kernel needs, and INFERD_CPU allows them.
var haveSgemmAsm = cpuForced != "generic" && detectAVX2FMA()

func detectAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	// The OS must save the XMM and YMM state across context switches.
	if xcr0, _ := xgetbv(); xcr0&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2 = 1 << 5
	return ebx7&avx2 != 0
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax, edx uint32)

//go:noescape
func sgemm6x16(kc int, pa, pb, c *float32, ldc int, accumulate bool)

// sgemmMicroAsm is the 6×16 float32 micro-kernel in assembly; its pure-Go
// counterpart is microKernelGo. The slice checks keep the assembly inside
// its operands.
func sgemmMicroAsm(kc int, pa, pb []float32, c []float32, ldc int, first bool) {
	_ = pa[kc*6-1]
	_ = pb[kc*16-1]
	_ = c[5*ldc+15]
	sgemm6x16(kc, &pa[0], &pb[0], &c[0], ldc, !first)
}

//go:noescape
func fmaVV(dst, a, b *float32, n int)

// fmaInto32 sets dst[i] += a[i]*b[i] over len(dst), which a and b must
// cover.
func fmaInto32(dst, a, b []float32) {
	if len(dst) == 0 {
		return
	}
	if !haveSgemmAsm {
		fmaInto32Go(dst, a, b)
		return
	}
	_ = a[len(dst)-1]
	_ = b[len(dst)-1]
	fmaVV(&dst[0], &a[0], &b[0], len(dst))
}

//go:noescape
func maxVV(dst, src *float32, n int)

// maxInto32 sets dst[i] = src[i] where src[i] > dst[i], over len(dst),
// which src must cover.
func maxInto32(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	if !haveSgemmAsm {
		maxInto32Go(dst, src)
		return
	}
	_ = src[len(dst)-1]
	maxVV(&dst[0], &src[0], len(dst))
}

//go:noescape
func biasReluVV(dst, bias *float32, n int, relu bool)

// biasRelu32 adds bias to dst over len(dst), which bias must cover, and
// then, with relu, clamps it below at 0 as max(x, 0) does. It reports
// false, doing nothing, where there is no vector loop.
func biasRelu32(dst, bias []float32, relu bool) bool {
	if !haveSgemmAsm {
		return false
	}
	if len(dst) == 0 {
		return true
	}
	_ = bias[len(dst)-1]
	biasReluVV(&dst[0], &bias[0], len(dst), relu)
	return true
}

//go:noescape
func maxPoolPixels(dst, src *float32, c, npix, dstStep, srcStep int, offs *int, noffs int)

// maxPool32 is maxPool32Go through the vector loop where the CPU has
// AVX2.
func maxPool32(dst, src []float32, c, npix, dstStep, srcStep int, offs []int) {
	if npix == 0 || c == 0 {
		return
	}
	if !haveSgemmAsm || len(offs) == 0 {
		maxPool32Go(dst, src, c, npix, dstStep, srcStep, offs)
		return
	}
	checkMaxPool32(dst, src, c, npix, dstStep, srcStep, offs)
	if haveConv512 && c%16 == 0 {
		maxPoolPixels512(&dst[0], &src[0], c, npix, dstStep, srcStep, &offs[0], len(offs))
		return
	}
	maxPoolPixels(&dst[0], &src[0], c, npix, dstStep, srcStep, &offs[0], len(offs))
}

//go:noescape
func maxNaNVV(dst, src *float32, n int)

// maxNaNInto32 sets dst[i] = src[i] where src[i] > dst[i] or src[i] is
// NaN, over len(dst), which src must cover.
func maxNaNInto32(dst, src []float32) {
	if len(dst) == 0 {
		return
	}
	if !haveSgemmAsm {
		maxNaNInto32Go(dst, src)
		return
	}
	_ = src[len(dst)-1]
	maxNaNVV(&dst[0], &src[0], len(dst))
}

//go:noescape
func sgemv(k int, a, b *float32, ldb int, c *float32, n int)

// sgemv32 sets c[j] = Σ_p a[p]·b[p·ldb+j] for j < len(c), p < len(a),
// through the vector loop where the CPU has AVX2 and FMA.
func sgemv32(a, b []float32, ldb int, c []float32) {
	k, n := len(a), len(c)
	if n == 0 {
		return
	}
	if !haveSgemmAsm || k == 0 {
		sgemv32Go(a, b, ldb, c)
		return
	}
	_ = b[(k-1)*ldb+n-1]
	sgemv(k, &a[0], &b[0], ldb, &c[0], n)
}
