package artifact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeFiles creates each slash-separated path under root with a body.
func writeFiles(t *testing.T, root string, files ...string) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  Format
	}{
		{"bare model.onnx", []string{"model.onnx"}, ONNX},
		{"any name, any case", []string{"deep/er/Net.ONNX"}, ONNX},
		{"version directory", []string{"resnet/1/model.onnx", "code/inference.py"}, ONNX},
		{"SavedModel", []string{"1/saved_model.pb", "1/variables/variables.index"}, SavedModel},
		{"pbtxt", []string{"export/saved_model.pbtxt"}, SavedModel},
		{"both: the SavedModel wins", []string{"model.onnx", "tf/1/saved_model.pb"}, SavedModel},
		{"neither", []string{"model.h5"}, SavedModel},
		{"a directory named like a model", []string{"model.onnx/readme"}, SavedModel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files...)
			if got := Detect(root); got != tt.want {
				t.Errorf("Detect = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("a file", func(t *testing.T) {
		root := t.TempDir()
		writeFiles(t, root, "m.onnx")
		if got := Detect(filepath.Join(root, "m.onnx")); got != ONNX {
			t.Errorf("Detect(file) = %q, want %q", got, ONNX)
		}
	})
}

func TestFindONNX(t *testing.T) {
	tests := []struct {
		name      string
		files     []string
		modelName string
		want      string // slash-separated, relative to root; "" with wantErr
		wantErr   bool
	}{
		{name: "at the root", files: []string{"model.onnx"}, want: "model.onnx"},
		{name: "any name", files: []string{"export/net.onnx", "export/labels.txt"}, want: "export/net.onnx"},
		{name: "version directory", files: []string{"resnet/1/model.onnx"}, want: "resnet/1/model.onnx"},
		{name: "highest version by number", files: []string{"m/9/model.onnx", "m/10/model.onnx", "m/0008/model.onnx"}, want: "m/10/model.onnx"},
		{name: "named among models", files: []string{"a/1/model.onnx", "b/1/model.onnx", "b/2/model.onnx"}, modelName: "b", want: "b/2/model.onnx"},
		{name: "model.onnx among several files", files: []string{"x/other.onnx", "x/model.onnx"}, want: "x/model.onnx"},
		{name: "several files, none model.onnx", files: []string{"a.onnx", "b.onnx"}, wantErr: true},
		{name: "two models no name", files: []string{"a/1/model.onnx", "b/1/model.onnx"}, wantErr: true},
		{name: "name matches none", files: []string{"a/1/model.onnx", "b/1/model.onnx"}, modelName: "c", wantErr: true},
		{name: "nothing", files: []string{"saved_model.pb"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeFiles(t, root, tt.files...)
			got, err := FindONNX(root, tt.modelName)
			if tt.wantErr {
				if !errors.Is(err, ErrNoONNX) {
					t.Fatalf("FindONNX = %q, %v; want ErrNoONNX", got, err)
				}
				return
			}
			if want := filepath.Join(root, filepath.FromSlash(tt.want)); err != nil || got != want {
				t.Fatalf("FindONNX = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// TestFetchONNXArchive unpacks a model.tar.gz holding an ONNX model, as
// tarfile writes one for "resnet/1/model.onnx", and finds the model in it.
func TestFetchONNXArchive(t *testing.T) {
	e := newEnv(t, Config{})
	e.src.put("bucket", "onnx/model.tar.gz", gz(t, makeTar(t,
		entry{name: "resnet/", typ: '5', mode: 0o755},
		entry{name: "resnet/1/model.onnx", body: "onnx bytes"},
		entry{name: "code/requirements.txt", body: "numpy"},
	)))
	dir, err := e.cache.Fetch(context.Background(), "s3://bucket/onnx/model.tar.gz", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := Detect(dir); got != ONNX {
		t.Fatalf("Detect = %q, want %q", got, ONNX)
	}
	f, err := FindONNX(dir, "")
	if want := filepath.Join(dir, "resnet", "1", "model.onnx"); err != nil || f != want {
		t.Fatalf("FindONNX = %q, %v; want %q", f, err, want)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "onnx bytes" {
		t.Errorf("model.onnx = %q, %v", b, err)
	}
}
