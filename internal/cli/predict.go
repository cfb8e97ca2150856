package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"inferd/internal/codec"
	"inferd/internal/engine"
	"inferd/internal/modelserver"
)

func init() {
	register("predict", "run one TF Serving request against a SavedModel or an ONNX model and print the answer", runPredict)
}

func runPredict(ctx context.Context, env Env, args []string) int {
	fs := flag.NewFlagSet("predict", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	model := fs.String("model", "", modelFlagHelp)
	signature := fs.String("signature", "", "signature `name` used when the request names none (default serving_default)")
	input := fs.String("input", "-", "request body `file`; - reads standard input")
	contentType := fs.String("content-type", "", "request content `type`: application/json, application/jsonlines or text/csv (default from the file extension, else application/json)")
	method := fs.String("method", "predict", "TF Serving `method`: predict, classify or regress")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: inferd predict --model DIR [--signature NAME] [--input FILE] [--content-type TYPE] [--method METHOD]\n\n"+
			"Reads one request, runs it as the SageMaker TensorFlow Serving container would, and prints\n"+
			"TensorFlow Serving's JSON answer. A bad request prints TF Serving's error JSON and exits 1.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(env, fs, args); !ok {
		return code
	}
	switch {
	case *model == "":
		fmt.Fprintln(env.Stderr, "inferd predict: --model is required")
		fs.Usage()
		return 2
	case !modelserver.Method(*method).Valid():
		fmt.Fprintln(env.Stderr, "inferd predict: --method must be one of predict, classify, regress")
		return 2
	}
	ct := *contentType
	if ct == "" {
		ct = contentTypeFor(*input)
	}

	body, err := readInput(env.Stdin, *input)
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd predict: %v\n", err)
		return 1
	}
	m, err := loadModel(ctx, *model, engine.Options{})
	if err != nil {
		fmt.Fprintf(env.Stderr, "inferd predict: loading %s: %v\n", *model, err)
		return 1
	}
	p := modelserver.Predictor{Model: m, DefaultSignature: *signature}
	out, err := codec.ContainerRequest(ct, body)
	if err == nil {
		out, err = p.Do(ctx, modelserver.Method(*method), out)
	}
	if err != nil {
		var media *codec.UnsupportedMediaTypeError
		if errors.As(err, &media) {
			fmt.Fprintf(env.Stdout, "%s\n", media.Body())
		} else {
			fmt.Fprintf(env.Stdout, "%s\n", codec.ErrorJSON(err))
		}
		return 1
	}
	fmt.Fprintf(env.Stdout, "%s\n", out)
	return 0
}

// contentTypeFor guesses a request's content type from its file name.
func contentTypeFor(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return codec.ContentTypeCSV
	case ".jsonl", ".jsons", ".jsonlines":
		return codec.ContentTypeJSONLines
	}
	return codec.ContentTypeJSON
}

func readInput(stdin io.Reader, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}
