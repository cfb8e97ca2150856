//go:build !amd64 || noasm

package kernels

// haveSgemmAsm is false where there is no assembly micro-kernel.
const haveSgemmAsm = false

// sgemmMicroAsm is never called without the assembly micro-kernel.
func sgemmMicroAsm(kc int, pa, pb []float32, c []float32, ldc int, first bool) {
	panic("kernels: no assembly micro-kernel in this build")
}

// fmaInto32 sets dst[i] += a[i]*b[i] over len(dst).
func fmaInto32(dst, a, b []float32) { fmaInto32Go(dst, a, b) }

// maxInto32 sets dst[i] = src[i] where src[i] > dst[i], over len(dst).
func maxInto32(dst, src []float32) { maxInto32Go(dst, src) }

// biasRelu32 reports false: there is no vector loop in this build.
func biasRelu32(dst, bias []float32, relu bool) bool { return false }

// maxPool32 is maxPool32Go in this build.
func maxPool32(dst, src []float32, c, npix, dstStep, srcStep int, offs []int) {
	maxPool32Go(dst, src, c, npix, dstStep, srcStep, offs)
}

// maxNaNInto32 is maxNaNInto32Go in this build.
func maxNaNInto32(dst, src []float32) { maxNaNInto32Go(dst, src) }

// sgemv32 is sgemv32Go in this build.
func sgemv32(a, b []float32, ldb int, c []float32) { sgemv32Go(a, b, ldb, c) }
