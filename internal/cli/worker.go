package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"inferd/internal/worker"
)

func init() {
	register("worker", "serve one model over the SageMaker container contract (started by the fleet, or as a container)", runWorker)
}

func runWorker(ctx context.Context, env Env, args []string) int {
	started := time.Now()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	cfg := worker.Config{Getenv: os.Getenv, Started: started}
	fs.StringVar(&cfg.ModelDir, "model-dir", worker.DefaultModelDir, "model data `directory`: an unpacked artifact, a SavedModel directory or a directory holding an ONNX model (.onnx); the model may sit at any depth")
	fs.StringVar(&cfg.Socket, "socket", "", "unix socket `path` to serve on")
	fs.StringVar(&cfg.Listen, "listen", "", "TCP `address` to serve on (default :$"+worker.EnvPort+", else :"+worker.DefaultPort+", when --socket is not given either)")
	fs.StringVar(&cfg.ModelName, "model-name", "", "`name` to serve the model under (default $"+worker.EnvDefaultModelName+", else its directory name, as the TensorFlow Serving container names it)")
	readyFD := fs.Int("ready-fd", -1, "file `descriptor` to write READY or ERROR <message> to, one line, once started")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(env.Stderr, "usage: inferd worker [--model-dir DIR] [--socket PATH] [--listen ADDR] [--model-name NAME] [--ready-fd N] [serve]\n\n"+
			"Loads one model (a SavedModel or an ONNX model), then serves GET /ping, POST /invocations and\n"+
			"the TensorFlow Serving REST API as the SageMaker TensorFlow Serving container does. Stops on\n"+
			"SIGTERM once in-flight requests end.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// A container is started as "<image> serve".
	if rest := fs.Args(); len(rest) > 1 || len(rest) == 1 && rest[0] != "serve" {
		fmt.Fprintf(env.Stderr, "inferd worker: unexpected arguments %q\n", rest)
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(env.Stderr, "inferd worker: --log-level: %v\n", err)
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	if *readyFD >= 0 {
		ready := os.NewFile(uintptr(*readyFD), "ready")
		if ready == nil {
			fmt.Fprintf(env.Stderr, "inferd worker: --ready-fd %d is not a file descriptor\n", *readyFD)
			return 2
		}
		defer ready.Close()
		cfg.Ready = ready
	}
	if err := worker.Run(ctx, cfg); err != nil {
		fmt.Fprintf(env.Stderr, "inferd worker: %v\n", err)
		return 1
	}
	return 0
}
