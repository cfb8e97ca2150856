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
// GFLOP/s per CPU-second of one thread (cpu-GFLOP/s), and, for the sets
// that compute tiles a row at a time, the same with tiles across the
// padded width only (flat).
func BenchmarkConvDirectThreadCPU(b *testing.B) {
	sets := directKernelSets()
	if len(sets) == 0 {
		b.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, k := range sets {
		b.Run(k.String(), func(b *testing.B) { benchConvDirectThreadCPU(b, k) })
		if k.rowTiles() {
			flat := k
			flat.flat = true
			b.Run(k.String()+"/flat", func(b *testing.B) { benchConvDirectThreadCPU(b, flat) })
		}
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

// BenchmarkConvDirectPoolThreadCPU times convDirectPool (3×3 VALID, bias,
// Relu, 2×2 pool, batch 8, one thread) on the fixtures' pooled layers,
// with tiles across the padded width (flat) and, where the set has them,
// a row at a time as directRowsBetter picks (auto), in the CPU time of
// the benchmark's thread: cpu-GFLOP/s counts the convolution the pool
// reads.
func BenchmarkConvDirectPoolThreadCPU(b *testing.B) {
	sets := directKernelSets()
	if len(sets) == 0 {
		b.Skip("no assembly direct micro-kernels on this CPU or build")
	}
	for _, k := range sets {
		flat := k
		flat.flat = true
		for _, m := range []struct {
			name string
			k    directKernels
		}{{"flat", flat}, {"auto", k}} {
			b.Run(k.String()+"/"+m.name, func(b *testing.B) { benchConvDirectPoolThreadCPU(b, m.k) })
		}
	}
}

func benchConvDirectPoolThreadCPU(b *testing.B, k directKernels) {
	const batch = 8
	for _, s := range []struct{ h, w, c, o int }{
		{28, 28, 1, 64}, {13, 13, 64, 64}, {5, 5, 64, 64},
		{16, 16, 64, 64}, {6, 6, 64, 64}, {34, 34, 64, 64},
		{62, 62, 32, 32}, {30, 30, 32, 64},
	} {
		c := convCase{batch, s.h, s.w, s.c, 3, 3, s.o, 1, 1, 1, 1, "VALID", nil}
		b.Run(fmt.Sprintf("%dx%dx%d_o%d", s.h, s.w, s.c, s.o), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			sp, _ := parseSpatial(Node{Name: "n", Op: "Conv2D", Attrs: c.attrs()}, true)
			g, _ := sp.geometry(c.h, c.w, c.kh, c.kw)
			p := convPool{kh: 2, kw: 2}
			if !directPoolApplies(k, 1, sp, g, c.o, p) {
				b.Skip("not a direct fused convolution for this set")
			}
			r := newRand(1)
			x := randF32(r, batch, c.h, c.w, c.c).Float32s()
			kk := 9 * c.c
			pf := packDirectPanels(randF32(r, kk, c.o).Float32s(), kk, c.o, make([]float32, directPanelsLen(kk, c.o)))
			ph, pw := g.outH/2, g.outW/2
			out := make([]float32, batch*ph*pw*c.o)
			ep := epilogue[float32]{bias: randF32(r, c.o).Float32s(), relu: true, vec32: true}
			ctx := WithThreads(context.Background(), 1)
			t0 := threadCPU()
			for b.Loop() {
				convDirectPool(ctx, k, x, batch, c.c, pf, sp, g, p, out, ep)
			}
			if cpu := threadCPU() - t0; cpu > 0 {
				b.ReportMetric(float64(2*batch*4*ph*pw*kk*c.o)*float64(b.N)/cpu.Seconds()/1e9, "cpu-GFLOP/s")
				b.ReportMetric(cpu.Seconds()*1e6/float64(b.N), "cpu-µs/op")
			}
		})
	}
}
