package cli

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"inferd/internal/engine"
	"inferd/internal/tensor"
)

func init() {
	register("bench", "time a SavedModel signature or an ONNX model on seeded random inputs and print one JSON line", runBench)
}

// benchResult is the one JSON line inferd bench prints; bench/engine/ort.js
// prints the same shape for ONNX Runtime.
type benchResult struct {
	Model        string  `json:"model"`
	Batch        int     `json:"batch"`
	Threads      int     `json:"threads"`
	MedianMS     float64 `json:"median_ms"`
	P90MS        float64 `json:"p90_ms"`
	AllocsPerRun float64 `json:"allocs_per_run"`
}

// benchConfig is what one bench measures. now is the clock the runs are
// timed with; time.Now outside tests.
type benchConfig struct {
	signature string
	batch     int
	iters     int
	warmup    int
	seed      uint64
	now       func() time.Time
}

func runBench(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	model := fs.String("model", "", modelFlagHelp)
	signature := fs.String("signature", "serving_default", "signature `name` to run")
	batch := fs.Int("batch", 1, "batch `size`: the inputs' unknown first dimension")
	threads := fs.Int("threads", runtime.NumCPU(), "`number` of threads (GOMAXPROCS) the runs may use")
	iters := fs.Int("iters", 20, "`number` of timed runs")
	warmup := fs.Int("warmup", 3, "`number` of untimed runs before the timed ones")
	seed := fs.Uint64("seed", 1, "`seed` of the random inputs")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to this `file`")
	dump := fs.String("dump", "", "also write the inputs and the outputs of one run to this JSON `file` (bench/engine/ort.js --check reads it)")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: inferd bench --model DIR [--signature NAME] --batch N --threads T [--iters K] [--dump FILE]\n\n"+
			"Runs a signature on seeded random inputs (uniform in [0, 1) for floats), after warm-up runs,\n"+
			"and prints one JSON line: model, batch, threads, median_ms, p90_ms, allocs_per_run.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(env, fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		fmt.Fprintln(env.Stderr, "inferd bench: --model is required")
		fs.Usage()
		return 2
	case *batch < 1, *threads < 1, *iters < 1, *warmup < 0:
		fmt.Fprintln(env.Stderr, "inferd bench: --batch, --threads and --iters must be at least 1, --warmup at least 0")
		return 2
	}

	// GOMAXPROCS bounds the whole process (the garbage collector too) and
	// Options.Threads each kernel; GOMAXPROCS is put back so that a bench
	// inside a longer-lived process (a test) leaves no trace.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(*threads))

	m, err := loadModel(ctx, *model, engine.Options{Threads: *threads})
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd bench: loading %s: %v\n", *model, err)
		return 1
	}
	cfg := benchConfig{signature: *signature, batch: *batch, iters: *iters, warmup: *warmup, seed: *seed, now: time.Now}
	inputs, err := benchInputs(m, cfg)
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd bench: %v\n", err)
		return 1
	}
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(env.Stderr, "inferd bench: --cpuprofile: %v\n", err)
			return 1
		}
		defer stop()
	}
	res, err := benchRuns(ctx, m, cfg, inputs)
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd bench: %v\n", err)
		return 1
	}
	if *dump != "" {
		if err := dumpRun(ctx, m, cfg.signature, inputs, *dump); err != nil {
			fmt.Fprintf(env.Stderr, "inferd bench: --dump: %v\n", err)
			return 1
		}
	}
	res.Model, res.Batch, res.Threads = *model, *batch, *threads
	line, err := json.Marshal(res)
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s\n", line)
	return 0
}

// benchInputs makes one seeded random tensor per input of the signature.
// The first unknown dimension is the batch; any other unknown dimension is
// 1, and an input of unknown rank is a vector of batch elements. Floats are
// uniform in [0, 1), like an image scaled by 1/255; integers are in [0, 10).
func benchInputs(m *engine.Model, cfg benchConfig) (map[string]*tensor.Tensor, error) {
	sig, ok := m.Signature(cfg.signature)
	if !ok {
		return nil, fmt.Errorf("the model has no signature %q", cfg.signature)
	}
	rng := rand.New(rand.NewPCG(cfg.seed, 0x5eed))
	inputs := make(map[string]*tensor.Tensor, len(sig.Inputs))
	for _, spec := range sig.Inputs {
		shape := tensor.Shape{cfg.batch}
		if spec.Shape != nil {
			shape = make(tensor.Shape, len(spec.Shape))
			for i, d := range spec.Shape {
				switch {
				case d >= 0:
					shape[i] = int(d)
				case i == 0:
					shape[i] = cfg.batch
				default:
					shape[i] = 1
				}
			}
		}
		t := tensor.New(spec.DType, shape)
		switch spec.DType {
		case tensor.Float32:
			for i, d := 0, t.Float32s(); i < len(d); i++ {
				d[i] = rng.Float32()
			}
		case tensor.Float64:
			for i, d := 0, t.Float64s(); i < len(d); i++ {
				d[i] = rng.Float64()
			}
		case tensor.Int32:
			for i, d := 0, t.Int32s(); i < len(d); i++ {
				d[i] = int32(rng.IntN(10))
			}
		case tensor.Int64:
			for i, d := 0, t.Int64s(); i < len(d); i++ {
				d[i] = int64(rng.IntN(10))
			}
		case tensor.Uint8:
			for i, d := 0, t.Uint8s(); i < len(d); i++ {
				d[i] = uint8(rng.IntN(10))
			}
		default:
			return nil, fmt.Errorf("input %s: random %v inputs are not supported", spec.Name, spec.DType)
		}
		inputs[spec.Name] = t
	}
	return inputs, nil
}

// benchRuns runs the signature cfg.warmup times untimed, then cfg.iters
// times timed, and summarizes the timed runs. The runs go through
// RunInto with one reused engine.Outputs, as a server that keeps its
// output tensors would, so allocs_per_run is the engine's steady state.
// The allocation count covers the timed runs only.
func benchRuns(ctx context.Context, m *engine.Model, cfg benchConfig, inputs map[string]*tensor.Tensor) (benchResult, error) {
	// The load's garbage is collected before the warm-up rather than
	// after it: a collection empties the runtime's shared caches (of the
	// records a goroutine parks with), which the warm-up then refills
	// instead of the timed runs.
	runtime.GC()
	var out engine.Outputs
	for range cfg.warmup {
		if err := m.RunInto(ctx, cfg.signature, inputs, &out); err != nil {
			return benchResult{}, err
		}
	}
	took := make([]time.Duration, cfg.iters)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range took {
		start := cfg.now()
		if err := m.RunInto(ctx, cfg.signature, inputs, &out); err != nil {
			return benchResult{}, err
		}
		took[i] = cfg.now().Sub(start)
	}
	runtime.ReadMemStats(&after)
	return benchResult{
		MedianMS:     ms(median(took)),
		P90MS:        ms(percentile(took, 0.9)),
		AllocsPerRun: float64(after.Mallocs-before.Mallocs) / float64(cfg.iters),
	}, nil
}

// startCPUProfile starts profiling the process into file; stop ends the
// profile and closes the file.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// median is the middle of d, or the mean of the two middle values when
// len(d) is even. It sorts d.
func median(d []time.Duration) time.Duration {
	slices.Sort(d)
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

// percentile is the nearest-rank q-quantile of d (0 < q <= 1). It sorts d.
func percentile(d []time.Duration, q float64) time.Duration {
	slices.Sort(d)
	i := int(math.Ceil(q*float64(len(d)))) - 1
	return d[max(i, 0)]
}

// dumpedTensor is one tensor in a --dump file: its little-endian bytes in
// base64, so that both sides see the exact same bits.
type dumpedTensor struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Data  string `json:"data"`
}

// dumpRun runs the signature once more and writes its inputs and outputs to
// file as {"inputs": {name: tensor}, "outputs": {name: tensor}}.
func dumpRun(ctx context.Context, m *engine.Model, signature string, inputs map[string]*tensor.Tensor, file string) error {
	outputs, err := m.Run(ctx, signature, inputs)
	if err != nil {
		return err
	}
	doc := map[string]map[string]dumpedTensor{"inputs": {}, "outputs": {}}
	for part, ts := range map[string]map[string]*tensor.Tensor{"inputs": inputs, "outputs": outputs} {
		for name, t := range ts {
			dt, err := dumpTensor(t)
			if err != nil {
				return fmt.Errorf("%s %s: %w", part, name, err)
			}
			doc[part][name] = dt
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

func dumpTensor(t *tensor.Tensor) (dumpedTensor, error) {
	var b []byte
	switch t.DType() {
	case tensor.Float32:
		for _, v := range t.Float32s() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case tensor.Float64:
		for _, v := range t.Float64s() {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	case tensor.Int32:
		for _, v := range t.Int32s() {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	case tensor.Int64:
		for _, v := range t.Int64s() {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	case tensor.Uint8:
		b = append(b, t.Uint8s()...)
	default:
		return dumpedTensor{}, fmt.Errorf("%v tensors cannot be dumped", t.DType())
	}
	return dumpedTensor{DType: t.DType().String(), Shape: append([]int{}, t.Shape()...), Data: base64.StdEncoding.EncodeToString(b)}, nil
}
