package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"inferd/internal/engine"
	"inferd/internal/testutil"
)

// writeModelFile writes body at the slash-separated path rel under a new
// temporary directory and returns the directory.
func writeModelFile(t *testing.T, rel string, body []byte) string {
	t.Helper()
	root := t.TempDir()
	testutil.WriteTree(t, root, map[string][]byte{rel: body})
	return root
}

// TestPredictONNX runs predict on ONNX models given as a file and as a
// directory, with input and output names holding ':', '.' and '/'.
func TestPredictONNX(t *testing.T) {
	multi := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Relu", In: "x:0", Out: "y/relu", Rank: 2}, testutil.ONNXUnary{Op: "Neg", In: "b.in", Out: "neg.out", Rank: 1})
	single := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Abs", In: "pixels", Out: "abs", Rank: 2})
	multiDir := writeModelFile(t, "model.onnx", multi)
	versions := writeModelFile(t, "m/3/model.onnx", single)
	if err := os.WriteFile(filepath.Join(versions, "m", "README"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, model, stdin string
		args               []string
		rc                 int
		want               string // JSON compared by value, or with rc 1 a substring
	}{
		{name: "file, instances", model: filepath.Join(multiDir, "model.onnx"),
			stdin: `{"instances": [{"x:0": [-1, 2], "b.in": 3}, {"x:0": [4, -5], "b.in": -6}]}`,
			want:  `{"predictions": [{"y/relu": [0, 2], "neg.out": -3}, {"y/relu": [4, 0], "neg.out": 6}]}`},
		{name: "directory, inputs", model: multiDir,
			stdin: `{"inputs": {"x:0": [[-1, 2]], "b.in": [7]}}`,
			want:  `{"outputs": {"y/relu": [[0, 2]], "neg.out": [-7]}}`},
		{name: "version directories, bare instances", model: versions,
			stdin: `[[-1.5, 2], [3, -4]]`, want: `{"predictions": [[1.5, 2], [3, 4]]}`},
		{name: "csv", model: versions, args: []string{"--content-type", "text/csv"},
			stdin: "-1,-2\n3,-4", want: `{"predictions": [[1, 2], [3, 4]]}`},
		{name: "missing input", model: multiDir, stdin: `{"instances": [{"x:0": [1, 2]}]}`, rc: 1, want: "b.in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, rc := predict(t, tc.stdin, append([]string{"--model", tc.model}, tc.args...)...)
			if rc != tc.rc {
				t.Fatalf("rc %d, want %d; stdout %s stderr %s", rc, tc.rc, out, errOut)
			}
			if rc == 0 && !testutil.SameJSON(t, out, tc.want) || rc != 0 && !strings.Contains(out, tc.want) {
				t.Errorf("stdout\n%s\nwant %s", out, tc.want)
			}
		})
	}
}

func TestLoadModelErrors(t *testing.T) {
	tests := []struct {
		name, rel string
		body      []byte
		want      string
	}{
		{"unsupported op names it", "model.onnx", testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "NoSuchOpForInferd", In: "x", Out: "y", Rank: 1}), "NoSuchOpForInferd"},
		{"not ONNX", "model.onnx", []byte("\xff\xff not protobuf"), "not an ONNX model"},
		{"no model at all", "notes.txt", []byte("x"), "saved_model.pb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeModelFile(t, tc.rel, tc.body)
			_, errOut, rc := predict(t, `[[1, 2]]`, "--model", dir)
			if rc != 1 || !strings.Contains(errOut, tc.want) {
				t.Errorf("rc %d stderr %q, want 1 and a message naming %q", rc, errOut, tc.want)
			}
		})
	}
}

func TestBenchONNX(t *testing.T) {
	dir := writeModelFile(t, "model.onnx", testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Relu", In: "x:0", Out: "y/relu", Rank: 3}))
	for _, model := range []string{filepath.Join(dir, "model.onnx"), dir} {
		out, errs, rc := bench(t, "--model", model, "--batch", "4", "--threads", "1", "--iters", "2", "--warmup", "0")
		if rc != 0 {
			t.Fatalf("bench %s: rc %d, stderr %q", model, rc, errs)
		}
		var res benchResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("stdout %q: %v", out, err)
		}
		if res.Model != model || res.Batch != 4 || !(res.MedianMS > 0) {
			t.Errorf("bench %s = %+v, want its model, batch 4 and a median", model, res)
		}
	}
}

// TestPredictConvertedONNX exports fixtures with convert, then checks
// that predict answers a seeded request on the ONNX model as it does on
// the SavedModel. It needs the importer to convert every op the exporter
// writes (Mul/Add for half_plus_two, MatMul/Add/Relu/Softmax for the MLP,
// Conv/MaxPool/... for the CNN): until those ops land it fails naming the
// op that is missing.
func TestPredictConvertedONNX(t *testing.T) {
	tests := []struct{ name, fixture string }{
		{"half_plus_two", "tfserving/saved_model_half_plus_two_cpu"},
		{"mlp", "mnist_mlp_aiano/model"},
		{"cnn", "mnist_cnn_egekaan/model"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sm := fixture(t, tc.fixture)
			file := filepath.Join(t.TempDir(), "model.onnx")
			var stdout, stderr bytes.Buffer
			if rc := Main(context.Background(), []string{"convert", "--model", sm, "--out", file}, strings.NewReader(""), &stdout, &stderr); rc != 0 {
				t.Fatalf("convert rc %d: %s", rc, stderr.String())
			}
			req := seededRequest(t, sm, 2)
			want, errOut, rc := predict(t, req, "--model", sm)
			if rc != 0 {
				t.Fatalf("predict on the SavedModel: rc %d %s %s", rc, want, errOut)
			}
			got, errOut, rc := predict(t, req, "--model", file)
			if rc != 0 {
				t.Fatalf("predict on the converted ONNX model: rc %d %s %s", rc, got, errOut)
			}
			g, w := testutil.JSONNumbers(t, got), testutil.JSONNumbers(t, want)
			if len(g) != len(w) || len(g) == 0 {
				t.Fatalf("ONNX answered %d numbers, the SavedModel %d:\n%s\n%s", len(g), len(w), got, want)
			}
			for i := range g {
				if math.Abs(g[i]-w[i]) > 1e-4+1e-4*math.Abs(w[i]) {
					t.Fatalf("number %d: ONNX %v, SavedModel %v", i, g[i], w[i])
				}
			}
		})
	}
}

// seededRequest is an instances request of batch rows of seeded values in
// [0, 1) for the one input of the SavedModel's serving_default.
func seededRequest(t *testing.T, dir string, batch int) string {
	t.Helper()
	m, err := engine.Load(context.Background(), dir, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := m.Signature("serving_default")
	if !ok || len(sig.Inputs) != 1 {
		t.Fatalf("serving_default = %+v, want one input", sig)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var row func(dims []int64) any
	row = func(dims []int64) any {
		if len(dims) == 0 {
			return math.Round(rng.Float64()*1000) / 1000
		}
		n := max(dims[0], 1)
		out := make([]any, n)
		for i := range out {
			out[i] = row(dims[1:])
		}
		return out
	}
	dims := sig.Inputs[0].Shape
	if len(dims) == 0 {
		t.Fatalf("input %s has no known rank", sig.Inputs[0].Name)
	}
	var rows []any
	for range batch {
		rows = append(rows, row(dims[1:]))
	}
	b, err := json.Marshal(map[string]any{"instances": rows})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
