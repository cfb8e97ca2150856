package importer

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"inferd/internal/engine"
	"inferd/internal/onnx"
	"inferd/internal/onnx/pb"
	"inferd/internal/tensor"
	"inferd/internal/testutil"
)

// nnRoundTrips are the CNN SavedModels exported to ONNX (as inferd
// convert does) and imported back. The exporter's NHWC->NCHW at the input
// and NCHW->NHWC before Flatten must cancel with the Conv converter's, so
// that the imported graph runs no transpose at all.
var nnRoundTrips = []struct {
	name, dir string
}{
	{"rps_cnn_hyuto", "rps_cnn_hyuto/saved_model"},
	{"mnist_cnn_egekaan", "mnist_cnn_egekaan/model"},
	{"cats_dogs_flintlouis", "cats_dogs_flintlouis/64x3-CNN.model"},
	{"insight_cat_dog", "insight_cat_dog/cat_dog"},
}

// nnExport writes the fixture's serving_default as an ONNX file in a
// temporary directory and returns its path and the SavedModel loaded.
func nnExport(tb testing.TB, rel string) (string, *engine.Model) {
	tb.Helper()
	dir := filepath.Join(testutil.FixturesDir(tb), filepath.FromSlash(rel))
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("fixture missing: %v", err)
	}
	ctx := context.Background()
	eg, err := engine.Export(ctx, dir, "serving_default", engine.Options{})
	if err != nil {
		tb.Fatalf("Export: %v", err)
	}
	data, err := onnx.Marshal(eg)
	if err != nil {
		tb.Fatalf("Marshal: %v", err)
	}
	path := filepath.Join(tb.TempDir(), "model.onnx")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	sm, err := engine.Load(ctx, dir, engine.Options{})
	if err != nil {
		tb.Fatalf("engine.Load: %v", err)
	}
	return path, sm
}

// nnRandomInputs fills each input of sig with seeded values in [0, 1),
// unknown dimensions set to batch.
func nnRandomInputs(sig engine.Signature, batch int, seed uint64) map[string]*tensor.Tensor {
	r := rand.New(rand.NewPCG(seed, 11))
	in := map[string]*tensor.Tensor{}
	for _, s := range sig.Inputs {
		shape := tensor.Shape{}
		for _, d := range s.Shape {
			if d < 0 {
				d = int64(batch)
			}
			shape = append(shape, int(d))
		}
		vals := make([]float32, shape.NumElements())
		for i := range vals {
			vals[i] = r.Float32()
		}
		in[s.Name] = tensor.MustFromSlice(shape, vals)
	}
	return in
}

// nnTransposes counts the Transpose nodes the imported graph runs (those
// its outputs depend on).
func nnTransposes(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var mp pb.ModelProto
	if err := proto.Unmarshal(data, &mp); err != nil {
		t.Fatal(err)
	}
	spec, err := Import(&mp, filepath.Dir(path))
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	ops := liveOps(t, spec)
	return ops["Transpose"] + ops["OnnxTranspose"]
}

// TestRoundTripCNN exports each CNN to ONNX, imports it back and checks
// that the ONNX model gives the SavedModel's outputs within 1e-4 at batch
// 1 and 3, with the layout transposes between its layers cancelled.
func TestRoundTripCNN(t *testing.T) {
	ctx := context.Background()
	for _, f := range nnRoundTrips {
		t.Run(f.name, func(t *testing.T) {
			path, sm := nnExport(t, f.dir)
			om, err := Load(ctx, path, engine.Options{})
			if err != nil {
				t.Fatalf("importer.Load: %v", err)
			}
			sig, _ := sm.Signature("serving_default")
			osig, ok := om.Signature(Signature)
			if !ok || len(osig.Inputs) != len(sig.Inputs) || len(osig.Outputs) != len(sig.Outputs) {
				t.Fatalf("ONNX signature %+v does not match the SavedModel's %+v", osig, sig)
			}
			for _, batch := range []int{1, 3} {
				in := nnRandomInputs(sig, batch, uint64(batch))
				want, err := sm.Run(ctx, "serving_default", in)
				if err != nil {
					t.Fatalf("SavedModel run: %v", err)
				}
				got, err := om.Run(ctx, Signature, in)
				if err != nil {
					t.Fatalf("ONNX run: %v", err)
				}
				for key, w := range want {
					g, ok := got[key]
					if !ok {
						t.Fatalf("batch %d: output %q missing from the ONNX run (%v)", batch, key, slices.Collect(mapKeys(got)))
					}
					if !g.Shape().Equal(w.Shape()) {
						t.Fatalf("batch %d: output %q shape %v, want %v", batch, key, g.Shape(), w.Shape())
					}
					worst := 0.0
					for i, v := range w.Float32s() {
						d := math.Abs(float64(g.Float32s()[i]) - float64(v))
						if !(d <= 1e-4) {
							t.Fatalf("batch %d: output %q[%d] = %v, SavedModel %v", batch, key, i, g.Float32s()[i], v)
						}
						worst = max(worst, d)
					}
					t.Logf("batch %d: %s: %d values, max |diff| %.2g", batch, key, w.Len(), worst)
				}
			}
			n := nnTransposes(t, path)
			if n != 0 {
				t.Errorf("the imported graph still runs %d transposes, want none", n)
			}
		})
	}
}

func mapKeys(m map[string]*tensor.Tensor) func(func(string) bool) {
	return func(yield func(string) bool) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !yield(k) {
				return
			}
		}
	}
}

// BenchmarkRoundTrip compares, per CNN at batch 1, the SavedModel's run
// with the re-imported ONNX model's; each reports its median ns/run as
// the metrics savedmodel-ns and onnx-ns.
func BenchmarkRoundTrip(b *testing.B) {
	ctx := context.Background()
	for _, f := range nnRoundTrips {
		b.Run(f.name, func(b *testing.B) {
			path, sm := nnExport(b, f.dir)
			om, err := Load(ctx, path, engine.Options{})
			if err != nil {
				b.Fatalf("importer.Load: %v", err)
			}
			sig, _ := sm.Signature("serving_default")
			in := nnRandomInputs(sig, 1, 1)
			once := func(m *engine.Model, name string) time.Duration {
				t0 := time.Now()
				if _, err := m.Run(ctx, name, in); err != nil {
					b.Fatal(err)
				}
				return time.Since(t0)
			}
			for i := 0; i < 3; i++ { // warm up
				once(sm, "serving_default")
				once(om, Signature)
			}
			// The two models run alternately, so that a change in the
			// machine's load affects both alike.
			var sd, od []time.Duration
			b.ResetTimer()
			for i := 0; i < max(b.N, 5); i++ {
				sd = append(sd, once(sm, "serving_default"))
				od = append(od, once(om, Signature))
			}
			median := func(d []time.Duration) time.Duration {
				slices.Sort(d)
				return d[len(d)/2]
			}
			smd, odd := median(sd), median(od)
			b.ReportMetric(float64(smd.Nanoseconds()), "savedmodel-ns")
			b.ReportMetric(float64(odd.Nanoseconds()), "onnx-ns")
		})
	}
}
