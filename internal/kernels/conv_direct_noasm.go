//go:build !amd64 || noasm

package kernels

// directRowsAsm is never called without the assembly micro-kernels.
func directRowsAsm(mr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}

// directRowsAsmAVX2 is never called without the assembly micro-kernels.
func directRowsAsmAVX2(mr, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}

// directRowPartsAsm is never called without the assembly micro-kernels.
func directRowPartsAsm(rows, parts, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}

// directRowPartsAsmAVX2 is never called without the assembly
// micro-kernels.
func directRowPartsAsmAVX2(rows, parts, nseg, kseg int, a []float32, lda int, offs []int, b []float32, ldb int, c []float32, ldc int, bias []float32, flags int) {
	panic("kernels: no assembly direct micro-kernel in this build")
}
