//go:build linux

package kernels

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// TestPoolIdleCPU checks that a process whose parallel calls have stopped
// spends next to no CPU time: its workers sleep instead of polling.
func TestPoolIdleCPU(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	busyThenIdle(t)
	before := processCPU(t)
	time.Sleep(200 * time.Millisecond)
	// One worker polling throughout would use the whole 200ms.
	used := processCPU(t) - before
	t.Logf("idle for 200ms, the process used %v of CPU", used)
	if used > 40*time.Millisecond {
		t.Errorf("idle for 200ms, the process used %v of CPU, want about none", used)
	}
}

// processCPU returns the user and system CPU time the process has used.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
