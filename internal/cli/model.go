package cli

import (
	"context"
	"os"

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
		return engine.Load(ctx, path, opts)
	case fi.IsDir():
		if path, err = artifact.FindONNX(path, ""); err != nil {
			return nil, err
		}
	}
	return importer.Load(ctx, path, opts)
}
