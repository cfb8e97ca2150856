package artifact

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Format is a model format inferd serves.
type Format string

// The formats Detect tells apart.
const (
	// SavedModel is a TensorFlow SavedModel directory.
	SavedModel Format = "savedmodel"
	// ONNX is an ONNX model file (.onnx).
	ONNX Format = "onnx"
)

// ErrNoONNX: a tree holds no .onnx file, or several with no way to choose
// between them.
var ErrNoONNX = errors.New("artifact: no unambiguous ONNX model")

// ModelFile is the file name FindONNX prefers when a directory holds
// several .onnx files.
const ModelFile = "model.onnx"

var onnxKind = modelKind{
	noun: "ONNX model", nouns: "ONNX models",
	files: ".onnx file",
	err:   ErrNoONNX,
	marks: IsONNXFile,
}

// IsONNXFile reports whether a file name is an ONNX model's: it ends in
// .onnx, in any case.
func IsONNXFile(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".onnx")
}

// Detect tells by content which format the model under root is in: ONNX
// when the tree (at any depth, or root itself when it is a file) holds a
// .onnx file and no SavedModel, SavedModel otherwise. A tree holding both
// is served as a SavedModel, as the TensorFlow Serving container would;
// a tree holding neither is reported as SavedModel, so that
// FindSavedModel explains what is missing. Symlinked directories are not
// followed.
func Detect(root string) Format {
	onnx := false
	saved := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable parts are FindSavedModel's to report
		}
		switch {
		case !d.Type().IsRegular():
		case isSavedModelFile(d.Name()):
			saved = true
			return filepath.SkipAll
		case IsONNXFile(d.Name()):
			onnx = true
		}
		return nil
	})
	if onnx && !saved {
		return ONNX
	}
	return SavedModel
}

// FindONNX returns the .onnx file under root (at any depth) to serve. The
// directory that holds it is chosen among those holding .onnx files as
// FindSavedModel chooses among SavedModels: the one directory, else those
// with a path component equal to modelName, else the highest numeric
// version directory of one model. In that directory the one .onnx file is
// taken, or ModelFile when there are several. Otherwise the error wraps
// ErrNoONNX and lists the candidates.
func FindONNX(root, modelName string) (string, error) {
	dir, err := onnxKind.find(root, modelName)
	if err != nil {
		return "", err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("artifact: looking for an ONNX model: %w", err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && IsONNXFile(e.Name()) {
			files = append(files, e.Name())
		}
	}
	switch {
	case len(files) == 1:
		return filepath.Join(dir, files[0]), nil
	case slices.Contains(files, ModelFile):
		return filepath.Join(dir, ModelFile), nil
	}
	return "", fmt.Errorf("%w: %s holds %d .onnx files (%s) and none is called %s", ErrNoONNX, dir, len(files), strings.Join(files, ", "), ModelFile)
}
