package cli

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"inferd/internal/artifact"
	"inferd/internal/engine"
	"inferd/internal/onnx/importer"
)

// modelFlagHelp describes the --model flag of the commands that load a
// model with loadModel.
const modelFlagHelp = "SavedModel `directory` (or a directory of numeric versions: the highest is used), or an ONNX model: a .onnx file or a directory holding one"

// loadModel loads the model at path for predict and bench. A file is an
// ONNX model; so is a directory whose tree holds a .onnx file and no
// SavedModel (artifact.Detect), the file chosen as a worker chooses it
// (artifact.FindONNX). Anything else is a SavedModel directory or a
// directory of numeric versions (engine.Load).
func loadModel(ctx context.Context, path string, opts engine.Options) (*engine.Model, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil || fi.IsDir() && artifact.Detect(path) != artifact.ONNX:
		m, lerr := engine.Load(ctx, path, opts)
		if lerr != nil && err == nil && !holdsSavedModel(path) {
			// Neither format is there: say that either would do.
			return nil, fmt.Errorf("%w: no saved_model.pb or .onnx file under %s", engine.ErrInvalidModel, path)
		}
		return m, lerr
	case fi.IsDir():
		if path, err = artifact.FindONNX(path, ""); err != nil {
			return nil, err
		}
	}
	return importer.Load(ctx, path, opts)
}

// holdsSavedModel reports whether the tree under dir holds a
// saved_model.pb or saved_model.pbtxt.
func holdsSavedModel(dir string) bool {
	found := false
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == "saved_model.pb" || d.Name() == "saved_model.pbtxt") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
