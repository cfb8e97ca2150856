//go:build amd64 && !noasm

package kernels

import (
	"os"
	"testing"
)

// TestCPUForced checks that INFERD_CPU narrows the kernels chosen: avx2
// leaves the AVX-512 ones unused and generic all assembly.
func TestCPUForced(t *testing.T) {
	env := os.Getenv("INFERD_CPU")
	if env != cpuForced {
		t.Fatalf("cpuForced = %q, the environment has %q", cpuForced, env)
	}
	k, ok := directKernelsFor()
	switch env {
	case "avx2":
		if haveConv512 {
			t.Error("INFERD_CPU=avx2 left the AVX-512 kernels in use")
		}
		if haveSgemmAsm && (!ok || k.isa != directAVX2) {
			t.Errorf("INFERD_CPU=avx2 chose direct kernels %v (ok %v), want avx2", k, ok)
		}
		for _, s := range directKernelSets() {
			if s.isa == directAVX512 {
				t.Error("INFERD_CPU=avx2 offers the AVX-512 direct kernels")
			}
		}
	case "generic":
		if haveSgemmAsm || haveConvAsm || haveConv512 {
			t.Errorf("INFERD_CPU=generic left assembly in use: sgemm %v, conv %v, conv512 %v", haveSgemmAsm, haveConvAsm, haveConv512)
		}
		if ok || len(directKernelSets()) != 0 {
			t.Error("INFERD_CPU=generic chose direct micro-kernels")
		}
	default:
		if haveSgemmAsm != (ok && k.isa != directGo) {
			t.Errorf("AVX2 %v, but direct kernels %v (ok %v)", haveSgemmAsm, k, ok)
		}
	}
	t.Logf("INFERD_CPU=%q: AVX2 %v, AVX-512 direct %v, direct kernels %v", env, haveSgemmAsm, haveConv512, k)
}
