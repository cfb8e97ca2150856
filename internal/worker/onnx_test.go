package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferd/internal/artifact"
	"inferd/internal/engine"
	"inferd/internal/onnx"
	"inferd/internal/testutil"
)

// writeTarGz writes files into a gzipped tar archive at path.
func writeTarGz(t testing.TB, path string, files map[string][]byte) {
	t.Helper()
	if err := os.WriteFile(path, testutil.TarGz(t, nil, files), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRunServesONNX serves ONNX models laid out as model data is, over
// the container contract and the TF Serving REST API, with input and
// output names holding ':', '.' and '/'.
func TestRunServesONNX(t *testing.T) {
	multi := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Relu", In: "x:0", Out: "y/relu", Rank: 2}, testutil.ONNXUnary{Op: "Neg", In: "b.in", Out: "neg.out", Rank: 1})
	single := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Abs", In: "pixels", Out: "abs", Rank: 2})
	negate := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Neg", In: "pixels", Out: "abs", Rank: 2})
	type call struct {
		name, path, ctype, attrs, body string
		status                         int
		want                           string // JSON compared by value, or an error substring
	}
	tests := []struct {
		name    string
		files   map[string][]byte
		env     string
		model   string // the name the worker reports
		version int64
		calls   []call
	}{
		{
			name:  "bare model.onnx at the root",
			files: map[string][]byte{"model.onnx": multi, "code/inference.py": []byte("#")},
			model: "model", version: 1,
			calls: []call{
				{"instances", "/invocations", "application/json", "",
					`{"instances": [{"x:0": [-1, 2], "b.in": 3}, {"x:0": [4, -5], "b.in": -6}]}`, 200,
					`{"predictions": [{"y/relu": [0, 2], "neg.out": -3}, {"y/relu": [4, 0], "neg.out": 6}]}`},
				{"inputs", "/v1/models/model:predict", "application/json", "",
					`{"inputs": {"x:0": [[-1, 2]], "b.in": [7]}}`, 200,
					`{"outputs": {"y/relu": [[0, 2]], "neg.out": [-7]}}`},
				{"version 1", "/v1/models/model/versions/1:predict", "application/json", "",
					`{"inputs": {"x:0": [[1, 1]], "b.in": [0.5]}}`, 200,
					`{"outputs": {"y/relu": [[1, 1]], "neg.out": [-0.5]}}`},
				{"tfs-model-version", "/invocations", "application/json", "tfs-model-version=1",
					`{"instances": [{"x:0": [-3, 3], "b.in": 1}]}`, 200,
					`{"predictions": [{"y/relu": [0, 3], "neg.out": -1}]}`},
				{"missing input", "/invocations", "application/json", "",
					`{"instances": [{"x:0": [1, 2]}]}`, 400, "b.in"},
				{"no version 2", "/v1/models/model/versions/2:predict", "application/json", "",
					`{"inputs": {"x:0": [[1, 1]], "b.in": [1]}}`, 404, "Servable not found"},
			},
		},
		{
			name:  "single input takes bare instances",
			files: map[string][]byte{"export/net.onnx": single},
			model: "export", version: 1,
			calls: []call{
				{"bare list", "/invocations", "application/json", "", `[[-1.5, 2], [3, -4]]`, 200,
					`{"predictions": [[1.5, 2], [3, 4]]}`},
				{"instances", "/v1/models/export:predict", "application/json", "", `{"instances": [[-1, -2]]}`, 200,
					`{"predictions": [[1, 2]]}`},
				{"csv", "/invocations", "text/csv", "", "-1,-2\n3,-4", 200,
					`{"predictions": [[1, 2], [3, 4]]}`},
			},
		},
		{
			name: "version directories",
			files: map[string][]byte{
				"resnet/1/model.onnx": negate,
				"resnet/7/model.onnx": single,
			},
			model: "resnet", version: 7,
			calls: []call{
				{"latest", "/invocations", "application/json", "", `{"instances": [[-1, 2]]}`, 200,
					`{"predictions": [[1, 2]]}`},
				{"older version on demand", "/v1/models/resnet/versions/1:predict", "application/json", "",
					`{"instances": [[-1, 2]]}`, 200, `{"predictions": [[1, -2]]}`},
				{"by custom attributes", "/invocations", "application/json", "tfs-model-name=resnet,tfs-model-version=1",
					`{"instances": [[5, 6]]}`, 200, `{"predictions": [[-5, -6]]}`},
			},
		},
		{
			name: "SAGEMAKER_TFS_DEFAULT_MODEL_NAME picks among models",
			files: map[string][]byte{
				"a/1/model.onnx": negate,
				"b/1/model.onnx": single,
			},
			env:   "b",
			model: "b", version: 1,
			calls: []call{
				{"default", "/invocations", "application/json", "", `{"instances": [[-1, 2]]}`, 200,
					`{"predictions": [[1, 2]]}`},
				{"the other model", "/invocations", "application/json", "tfs-model-name=a",
					`{"instances": [[-1, 2]]}`, 200, `{"predictions": [[1, -2]]}`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// t.TempDir's name is numeric, which a model directory's
			// name must not be here.
			root := filepath.Join(t.TempDir(), "ml-model")
			testutil.WriteTree(t, root, tt.files)
			sock := socketPath(t)
			w := startWorker(t, Config{ModelDir: root, Socket: sock, Getenv: func(k string) string {
				if k == EnvDefaultModelName {
					return tt.env
				}
				return ""
			}})
			if w.ready != "READY" {
				t.Fatalf("readiness line %q, want READY", w.ready)
			}
			c := unixClient(sock)
			resp, err := c.Get("http://worker/v1/models/" + tt.model)
			if err != nil {
				t.Fatal(err)
			}
			var status struct {
				Versions []struct {
					Version string `json:"version"`
					State   string `json:"state"`
				} `json:"model_version_status"`
			}
			err = json.NewDecoder(resp.Body).Decode(&status)
			resp.Body.Close()
			if err != nil || len(status.Versions) == 0 || status.Versions[0].Version != itoa(tt.version) || status.Versions[0].State != "AVAILABLE" {
				t.Errorf("model status of %s = %+v, %v; want version %d AVAILABLE", tt.model, status, err, tt.version)
			}
			for _, tc := range tt.calls {
				t.Run(tc.name, func(t *testing.T) {
					code, body := post(t, c, tc.path, tc.ctype, tc.attrs, tc.body)
					if code != tc.status {
						t.Fatalf("status %d, want %d: %s", code, tc.status, body)
					}
					if tc.status == 200 && !testutil.SameJSON(t, body, tc.want) || tc.status != 200 && !strings.Contains(body, tc.want) {
						t.Errorf("got %s, want %s", body, tc.want)
					}
				})
			}
		})
	}
}

func itoa(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestRunONNXArtifact serves a model.tar.gz holding only a .onnx file, as
// the data plane does: fetched and unpacked by the artifact cache, then
// handed to the worker.
func TestRunONNXArtifact(t *testing.T) {
	src := t.TempDir()
	tarball := filepath.Join(src, "model.tar.gz")
	writeTarGz(t, tarball, map[string][]byte{"model.onnx": testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Relu", In: "input_1", Out: "dense", Rank: 2})})
	cache, err := artifact.New(artifact.Config{Dir: filepath.Join(t.TempDir(), "cache")})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := cache.Fetch(context.Background(), "file://"+tarball, false)
	if err != nil {
		t.Fatal(err)
	}
	sock := socketPath(t)
	w := startWorker(t, Config{ModelDir: dir, Socket: sock})
	if w.ready != "READY" {
		t.Fatalf("readiness line %q, want READY", w.ready)
	}
	code, body := post(t, unixClient(sock), "/invocations", "application/json", "", `{"instances": [[-0.25, 0.75]]}`)
	if want := `{"predictions": [[0, 0.75]]}`; code != 200 || !testutil.SameJSON(t, body, want) {
		t.Errorf("got %d %s, want 200 %s", code, body, want)
	}
}

// TestRunPrefersSavedModel serves the SavedModel of model data that also
// holds a .onnx file, as the TensorFlow Serving container would.
func TestRunPrefersSavedModel(t *testing.T) {
	root := t.TempDir()
	src := testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu")
	files := map[string][]byte{"model.onnx": testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Neg", In: "x", Out: "y", Rank: 1})}
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(src, p)
		files["half_plus_two/"+filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	testutil.WriteTree(t, root, files)
	sock := socketPath(t)
	w := startWorker(t, Config{ModelDir: root, Socket: sock})
	if w.ready != "READY" {
		t.Fatalf("readiness line %q, want READY", w.ready)
	}
	code, body := post(t, unixClient(sock), "/v1/models/half_plus_two:predict", "application/json", "", `{"instances": [1.0, 3.0]}`)
	if want := `{"predictions": [2.5, 3.5]}`; code != 200 || !testutil.SameJSON(t, body, want) {
		t.Errorf("got %d %s, want 200 %s", code, body, want)
	}
}

// TestRunONNXStartErrors: a model the importer cannot load fails the
// start, and the readiness line says why.
func TestRunONNXStartErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"unsupported op", map[string][]byte{"model.onnx": testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "NoSuchOpForInferd", In: "x", Out: "y", Rank: 1})}, "NoSuchOpForInferd"},
		{"not ONNX", map[string][]byte{"model.onnx": []byte("\xff\xff\xff not protobuf")}, "not an ONNX model"},
		{"ambiguous", map[string][]byte{"a.onnx": testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Neg", In: "x", Out: "y", Rank: 1}), "b.onnx": testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Neg", In: "x", Out: "y", Rank: 1})}, "model.onnx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			testutil.WriteTree(t, root, tt.files)
			w := startWorker(t, Config{ModelDir: root, Socket: socketPath(t)})
			if !strings.HasPrefix(w.ready, "ERROR ") || !strings.Contains(w.ready, tt.want) {
				t.Errorf("readiness line %q, want an ERROR naming %q", w.ready, tt.want)
			}
		})
	}
}

func TestONNXVersion(t *testing.T) {
	tests := []struct {
		file string
		want int64
	}{
		{"/m/model.onnx", 1},
		{"/m/resnet/00000123/model.onnx", 123},
		{"/m/export/net.onnx", 1},
		{"/m/99999999999999999999999/model.onnx", 1},
	}
	for _, tt := range tests {
		if got := onnxVersion(tt.file); got != tt.want {
			t.Errorf("onnxVersion(%q) = %d, want %d", tt.file, got, tt.want)
		}
	}
}

// TestRunServesConvertedCNN serves CNN fixtures exported to ONNX by
// internal/onnx and checks that the worker answers a request on the ONNX
// model as it answers it on the SavedModel. It needs the importer's
// Conv/MaxPool/MatMul/... converters: a missing one fails the start with
// the op's name.
func TestRunServesConvertedCNN(t *testing.T) {
	tests := []struct {
		name, fixture string
		h, w, c       int
	}{
		{"mnist_cnn_egekaan", "mnist_cnn_egekaan/model", 28, 28, 1},
		{"rps_cnn_hyuto", "rps_cnn_hyuto/saved_model", 128, 128, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := filepath.Join(testutil.FixturesDir(t), filepath.FromSlash(tt.fixture))
			if _, err := os.Stat(sm); err != nil {
				t.Skipf("fixture missing: %v", err)
			}
			eg, err := engine.Export(context.Background(), sm, "serving_default", engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			data, err := onnx.Marshal(eg)
			if err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(t.TempDir(), "ml-model")
			testutil.WriteTree(t, root, map[string][]byte{"cnn/1/model.onnx": data})
			req := imageRequest(2, tt.h, tt.w, tt.c)
			answers := map[string]string{}
			for kind, dir := range map[string]string{"onnx": root, "savedmodel": sm} {
				sock := socketPath(t)
				w := startWorker(t, Config{ModelDir: dir, Socket: sock})
				if w.ready != "READY" {
					t.Fatalf("%s: readiness line %q, want READY", kind, w.ready)
				}
				code, body := post(t, unixClient(sock), "/invocations", "application/json", "", req)
				if code != 200 {
					t.Fatalf("%s: status %d: %s", kind, code, body)
				}
				answers[kind] = body
			}
			got, want := testutil.JSONNumbers(t, answers["onnx"]), testutil.JSONNumbers(t, answers["savedmodel"])
			if len(got) != len(want) || len(got) == 0 {
				t.Fatalf("ONNX answered %d numbers, the SavedModel %d", len(got), len(want))
			}
			for i := range got {
				if d := got[i] - want[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("number %d: ONNX %v, SavedModel %v", i, got[i], want[i])
				}
			}
		})
	}
}

// imageRequest is an instances request of n h×w×c images whose pixels
// follow a fixed pattern in [0, 1).
func imageRequest(n, h, w, c int) string {
	var b strings.Builder
	b.WriteString(`{"instances": [`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for y := range h {
			if y > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for x := range w {
				if x > 0 {
					b.WriteByte(',')
				}
				b.WriteByte('[')
				for k := range c {
					if k > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%.3f", float64((i*7919+y*131+x*31+k*17)%997)/997)
				}
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	}
	b.WriteString(`]}`)
	return b.String()
}
