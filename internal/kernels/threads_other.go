//go:build !linux

package kernels

// yieldThread does nothing where the OS thread cannot be yielded portably;
// runtime.Gosched still yields the goroutine.
func yieldThread() {}
