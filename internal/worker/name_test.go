package worker

import (
	"inferd/internal/testutil"
	"path/filepath"
	"testing"
)

func TestContainerName(t *testing.T) {
	tests := []struct {
		name, root, dir, want string
	}{
		{"SavedModel at the root", "/c/x", "/c/x", "model"},
		{"version directory at the root", "/c/x", "/c/x/1", "model"},
		{"exported under a folder", "/c/x", "/c/x/export/1", "export"},
		{"deeper, without a version", "/c/x", "/c/x/a/saved", "saved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContainerName(tt.root, tt.dir); got != tt.want {
				t.Errorf("ContainerName(%q, %q) = %q, want %q", tt.root, tt.dir, got, tt.want)
			}
		})
	}
}

func TestDefaultName(t *testing.T) {
	onnxModel := testutil.ONNXUnaryModel(t, testutil.ONNXUnary{Op: "Neg", In: "x", Out: "y", Rank: 1})
	tests := []struct {
		name  string
		files map[string][]byte
		env   string
		want  string // "" for an error
	}{
		{"ONNX at the root", map[string][]byte{"model.onnx": onnxModel}, "", "model"},
		{"ONNX in a version directory", map[string][]byte{"resnet/1/model.onnx": onnxModel}, "", "resnet"},
		{"SavedModel", map[string][]byte{"export/2/saved_model.pb": nil}, "", "export"},
		{"the environment's name", map[string][]byte{"resnet/1/model.onnx": onnxModel}, "other", "other"},
		{"no model", map[string][]byte{"readme": nil}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "ml-model")
			testutil.WriteTree(t, root, tt.files)
			got, err := DefaultName(root, tt.env)
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("DefaultName = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
