//go:build !amd64 || noasm

package kernels

// haveConvAsm is false where there is no assembly direct-convolution
// micro-kernel.
const haveConvAsm = false

// directKernelsFor reports false: this build has no direct micro-kernels
// in assembly, and convolutions go through im2col and gemm.
func directKernelsFor() (k directKernels, ok bool) { return directKernels{}, false }

// directAsm is never called without the assembly micro-kernels.
func directAsm(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}

// directKernelSets returns no sets: this build has no assembly.
func directKernelSets() []directKernels { return nil }

// directAsmAVX2 is never called without the assembly micro-kernels.
func directAsmAVX2(t directRun, mr, nr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}
