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
	switch env {
	case "avx2":
		if haveConvAsm {
			t.Error("INFERD_CPU=avx2 left the AVX-512 kernels in use")
		}
	case "generic":
		if haveSgemmAsm || haveConvAsm {
			t.Errorf("INFERD_CPU=generic left assembly in use: sgemm %v, conv %v", haveSgemmAsm, haveConvAsm)
		}
		if _, ok := directKernelsFor(); ok {
			t.Error("INFERD_CPU=generic chose direct micro-kernels")
		}
	}
	t.Logf("INFERD_CPU=%q: AVX2 sgemm %v, AVX-512 direct %v", env, haveSgemmAsm, haveConvAsm)
}
