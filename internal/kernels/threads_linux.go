//go:build linux

package kernels

import "syscall"

// yieldThread offers the calling OS thread's CPU to the other threads the
// OS has ready to run, among them a pool worker it preempted in the middle
// of a part that a spinning caller waits for.
func yieldThread() {
	syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0)
}
