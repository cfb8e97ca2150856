//go:build linux

package kernels

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConvDirectThreadCPU is BenchmarkConvDirect measured in the CPU
// time of the benchmark's thread rather than wall time: on a machine
// whose cores are shared with other work, the wall clock counts the time
// the thread waits to be scheduled, and this does not. It reports
// GFLOP/s per CPU-second of one thread (cpu-GFLOP/s).
func BenchmarkConvDirectThreadCPU(b *testing.B) {
	sets := directKernelSets()
	if len(sets) == 0 {
		b.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, k := range sets {
		b.Run(k.String(), func(b *testing.B) { benchConvDirectThreadCPU(b, k) })
	}
}

func benchConvDirectThreadCPU(b *testing.B, k directKernels) {
	for _, s := range []struct{ h, w, c, o int }{
		{128, 128, 3, 16}, {63, 63, 16, 32}, {30, 30, 32, 64},
		{70, 70, 1, 64}, {34, 34, 64, 64}, {16, 16, 64, 64},
		{120, 120, 1, 64}, {59, 59, 64, 64},
	} {
		c := convCase{1, s.h, s.w, s.c, 3, 3, s.o, 1, 1, 1, 1, "VALID", nil}
		b.Run(fmt.Sprintf("%dx%dx%d_o%d", s.h, s.w, s.c, s.o), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			sp, _ := parseSpatial(Node{Name: "n", Op: "Conv2D", Attrs: c.attrs()}, true)
			g, _ := sp.geometry(c.h, c.w, c.kh, c.kw)
			r := newRand(1)
			x := randF32(r, 1, c.h, c.w, c.c).Float32s()
			kk := 9 * c.c
			pf := packDirectPanels(randF32(r, kk, c.o).Float32s(), kk, c.o, make([]float32, directPanelsLen(kk, c.o)))
			out := make([]float32, g.outH*g.outW*c.o)
			ep := epilogue[float32]{bias: randF32(r, c.o).Float32s(), relu: true, vec32: true}
			ctx := WithThreads(context.Background(), 1)
			t0 := threadCPU()
			for b.Loop() {
				convDirect(ctx, k, x, 1, c.c, pf, sp, g, out, ep)
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(float64(2*g.outH*g.outW*kk*c.o)*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOP/s")
			}
		})
	}
}
