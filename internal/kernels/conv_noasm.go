//go:build !amd64 || noasm

package kernels

// haveConvAsm is false where there is no assembly direct-convolution
// micro-kernel.
const haveConvAsm = false

// directKernelsFor reports false: this build has no direct micro-kernels
// in assembly, and convolutions go through im2col and gemm.
func directKernelsFor() (k directKernels, ok bool) { return directKernels{}, false }
