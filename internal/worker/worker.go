package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"inferd/internal/artifact"
	"inferd/internal/engine"
	"inferd/internal/modelserver"
	"inferd/internal/onnx/importer"
)

// The SageMaker container conventions a worker follows when it runs as a
// real container.
const (
	// DefaultModelDir is where SageMaker unpacks the model data.
	DefaultModelDir = "/opt/ml/model"
	// DefaultPort is the port a SageMaker container serves on.
	DefaultPort = "8080"
	// EnvPort overrides DefaultPort, as in the TensorFlow Serving container.
	EnvPort = "SAGEMAKER_BIND_TO_PORT"
	// EnvDefaultModelName names the model to serve, and the model
	// /invocations answers for, as in the TensorFlow Serving container.
	EnvDefaultModelName = "SAGEMAKER_TFS_DEFAULT_MODEL_NAME"
	// containerModelName is what the TensorFlow Serving container calls a
	// model whose version directories sit at the top of the model data:
	// the name of /opt/ml/model.
	containerModelName = "model"
)

// DefaultShutdownGrace bounds how long a stopping worker waits for
// in-flight requests when Config.ShutdownGrace is 0.
const DefaultShutdownGrace = 60 * time.Second

// Config configures Run.
type Config struct {
	// ModelDir is the unpacked model data, or a SavedModel directory. The
	// SavedModel may sit at any depth. A tree that holds a .onnx file and
	// no SavedModel is served as an ONNX model (artifact.Detect), at the
	// version of the numeric directory holding the file, else 1. If empty,
	// DefaultModelDir is used.
	ModelDir string
	// ModelName is the name the model is served under, the default of
	// /invocations. If empty, SAGEMAKER_TFS_DEFAULT_MODEL_NAME is used,
	// else the name the TensorFlow Serving container gives it: the
	// directory that holds its numeric version directories ("model" when
	// that is ModelDir itself). That name answers too, and the other
	// models and versions in ModelDir load when a request first names
	// them (tfs-model-name, tfs-model-version).
	ModelName string
	// Socket is a unix socket path to serve on. A stale socket file there
	// is replaced.
	Socket string
	// Listen is a TCP address to serve on, e.g. ":8080". If both Socket
	// and Listen are empty, the worker listens on ":" plus
	// SAGEMAKER_BIND_TO_PORT, else DefaultPort, like a SageMaker container.
	Listen string
	// Ready, if not nil, receives the line "READY\n" once the worker
	// serves, or "ERROR <message>\n" when it cannot start; it is written
	// once.
	Ready io.Writer
	// Getenv reads the container environment. If nil, os.Getenv is used.
	Getenv func(string) string
	// Logger receives the worker's log. If nil, nothing is logged.
	Logger *slog.Logger
	// Now is the clock used to time the start. If nil, time.Now is used.
	Now func() time.Time
	// Started is when the process started, for the start-to-ready time
	// the worker logs. If zero, the time Run is called is used.
	Started time.Time
	// ShutdownGrace bounds how long a stopping worker waits for in-flight
	// requests before it closes their connections. If 0,
	// DefaultShutdownGrace is used.
	ShutdownGrace time.Duration
}

// ErrStart marks a worker that could not start: no model, a model that
// does not load, an address it cannot listen on.
var ErrStart = errors.New("worker: cannot start")

// Run loads the model, listens, reports readiness and serves until ctx
// ends; then it stops accepting connections, waits for in-flight requests
// (up to ShutdownGrace) and returns nil. A failure to start is reported to
// Ready and returned, wrapping ErrStart.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	log := cfg.Logger
	started := cfg.Started
	if started.IsZero() {
		started = cfg.Now()
	}
	srv, listeners, err := start(ctx, &cfg)
	if err != nil {
		report(cfg.Ready, "ERROR "+oneLine(err.Error()))
		log.Error("worker: cannot start", "err", err)
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	if err := report(cfg.Ready, "READY"); err != nil {
		closeAll(listeners)
		return fmt.Errorf("%w: reporting readiness: %w", ErrStart, err)
	}
	log.Info("worker: ready", "model", srv.name, "version", srv.version, "dir", srv.dir,
		"listen", addrs(listeners), "load", srv.loaded, "start_to_ready", cfg.Now().Sub(started))

	hs := &http.Server{
		Handler:           srv.handler,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		go func() { errc <- hs.Serve(l) }()
	}
	// wait collects the Serve goroutines, which return once hs is shut
	// down or closed.
	wait := func(n int) {
		for range n {
			<-errc
		}
	}
	select {
	case <-ctx.Done():
		log.Info("worker: stopping", "reason", context.Cause(ctx))
	case err := <-errc:
		hs.Close()
		wait(len(listeners) - 1)
		return fmt.Errorf("worker: serving: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		log.Warn("worker: in-flight requests cut off", "grace", cfg.ShutdownGrace, "err", err)
	}
	wait(len(listeners))
	log.Info("worker: stopped")
	return nil
}

func (c *Config) defaults() {
	if c.ModelDir == "" {
		c.ModelDir = DefaultModelDir
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.Socket == "" && c.Listen == "" {
		port := c.Getenv(EnvPort)
		if port == "" {
			port = DefaultPort
		}
		c.Listen = ":" + port
	}
}

// served is what start prepared.
type served struct {
	handler http.Handler
	name    string
	version int64
	dir     string
	loaded  time.Duration
}

// start finds and loads the model, then listens. The model is loaded
// first so that nothing connects to a worker that cannot answer.
func start(ctx context.Context, cfg *Config) (*served, []net.Listener, error) {
	envName := cfg.Getenv(EnvDefaultModelName)
	path, err := findModel(cfg.ModelDir, envName)
	if err != nil {
		return nil, nil, err
	}
	dir := modelDir(path)
	t0 := cfg.Now()
	m, err := loadModel(ctx, path, cfg.Logger)
	if err != nil {
		return nil, nil, fmt.Errorf("loading the model in %s: %w", path, err)
	}
	loaded := cfg.Now().Sub(t0)

	models := map[string]modelserver.Model{}
	dirName := ContainerName(cfg.ModelDir, dir)
	models[dirName] = m
	name := cfg.ModelName
	if name == "" {
		name = envName
	}
	if name == "" {
		name = dirName
	}
	models[name] = m

	var listeners []net.Listener
	if cfg.Socket != "" {
		l, err := listenUnix(cfg.Socket)
		if err != nil {
			return nil, nil, err
		}
		listeners = append(listeners, l)
	}
	if cfg.Listen != "" {
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			closeAll(listeners)
			return nil, nil, fmt.Errorf("listening on %s: %w", cfg.Listen, err)
		}
		listeners = append(listeners, l)
	}
	h := modelserver.New(modelserver.Config{
		Models:       models,
		DefaultModel: name,
		Load:         newCatalog(cfg.ModelDir, dir, slices.Compact([]string{dirName, name}), cfg.Logger).load,
		Logger:       cfg.Logger,
		Now:          cfg.Now,
	})
	return &served{handler: h, name: name, version: m.Version(), dir: path, loaded: loaded}, listeners, nil
}

// DefaultName is the name a worker serves the model data in root under
// when Config.ModelName is empty: envName (SAGEMAKER_TFS_DEFAULT_MODEL_NAME)
// when set, else the ContainerName of the model it finds there, a
// SavedModel or an ONNX model.
func DefaultName(root, envName string) (string, error) {
	if envName != "" {
		return envName, nil
	}
	path, err := findModel(root, "")
	if err != nil {
		return "", err
	}
	return ContainerName(root, modelDir(path)), nil
}

// modelDir is the directory of the model at path, which names it: the
// SavedModel directory, or the one holding the .onnx file.
func modelDir(path string) string {
	if artifact.IsONNXFile(path) {
		return filepath.Dir(path)
	}
	return path
}

// findModel returns the model the worker serves from root: a SavedModel
// directory, or, when the tree holds a .onnx file and no SavedModel (told
// by content, whatever the image), the .onnx file.
func findModel(root, envName string) (string, error) {
	if artifact.Detect(root) == artifact.ONNX {
		return artifact.FindONNX(root, envName)
	}
	path, err := artifact.FindSavedModel(root, envName)
	if errors.Is(err, artifact.ErrNoSavedModel) && !holdsModelFile(root) {
		// Neither format is there: say that either would do.
		return "", fmt.Errorf("%w: no saved_model.pb, saved_model.pbtxt or .onnx file under %s", artifact.ErrNoSavedModel, root)
	}
	return path, err
}

// holdsModelFile reports whether the tree under root holds a SavedModel's
// or an ONNX model's file.
func holdsModelFile(root string) bool {
	found := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && (d.Name() == "saved_model.pb" || d.Name() == "saved_model.pbtxt" || artifact.IsONNXFile(d.Name())) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// loadModel loads the SavedModel directory or the .onnx file at path.
func loadModel(ctx context.Context, path string, log *slog.Logger) (modelserver.Model, error) {
	opts := engine.Options{Logger: log}
	if !artifact.IsONNXFile(path) {
		return engine.Load(ctx, path, opts)
	}
	m, err := importer.Load(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return onnxModel{m, onnxVersion(path)}, nil
}

// onnxModel is an ONNX model served at the version its place in the
// model data gives it.
type onnxModel struct {
	*engine.Model
	version int64
}

// Version is the model's numeric version.
func (m onnxModel) Version() int64 { return m.version }

// onnxVersion is the version of the ONNX model in file: the numeric
// directory that holds it (model/1/model.onnx), else 1, since an ONNX
// file carries no version TF Serving could report.
func onnxVersion(file string) int64 {
	if base := filepath.Base(filepath.Dir(file)); artifact.IsVersion(base) {
		if v, err := strconv.ParseInt(base, 10, 64); err == nil {
			return v
		}
	}
	return 1
}

// catalog loads the models in the model data on demand, as the
// TensorFlow Serving container serves them all: a model is a directory of
// numeric version directories, each holding a SavedModel or a .onnx file,
// named after that directory ("model" for the root), and every version is
// served.
type catalog struct {
	root   string
	served map[string]string // a name the worker serves -> its model directory
	log    *slog.Logger

	once   sync.Once
	models map[string]string // container name -> model directory, scanned on first need
}

// newCatalog returns the catalog of the model data in root, where the
// SavedModel in dir is served under names.
func newCatalog(root, dir string, names []string, log *slog.Logger) *catalog {
	c := &catalog{root: root, served: map[string]string{}, log: log}
	if artifact.IsVersion(filepath.Base(dir)) {
		for _, n := range names {
			c.served[n] = filepath.Dir(dir)
		}
	}
	return c
}

// load loads a version (modelserver.Latest: the highest) of the model
// called name.
func (c *catalog) load(ctx context.Context, name string, version int64) (modelserver.Model, error) {
	base, ok := c.served[name]
	if !ok {
		c.once.Do(c.scan)
		base, ok = c.models[name]
	}
	if !ok {
		return nil, modelserver.ErrNotFound
	}
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, err
	}
	dir, best := "", int64(-1)
	for _, e := range entries {
		v, err := strconv.ParseInt(e.Name(), 10, 64)
		if !e.IsDir() || !artifact.IsVersion(e.Name()) || err != nil || !hasModel(filepath.Join(base, e.Name())) {
			continue
		}
		if version == v || version == modelserver.Latest && v > best {
			dir, best = filepath.Join(base, e.Name()), v
		}
	}
	if dir == "" {
		return nil, modelserver.ErrNotFound
	}
	if !hasSavedModel(dir) {
		file, err := artifact.FindONNX(dir, "")
		if err != nil {
			return nil, err
		}
		dir = file
	}
	return loadModel(ctx, dir, c.log)
}

// scan finds every model in the model data. Symbolic links are not
// followed.
func (c *catalog) scan() {
	c.models = map[string]string{}
	filepath.WalkDir(c.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || d.Name() != "saved_model.pb" && d.Name() != "saved_model.pbtxt" && !artifact.IsONNXFile(d.Name()) {
			return nil
		}
		vdir := filepath.Dir(path)
		if !artifact.IsVersion(filepath.Base(vdir)) {
			return nil
		}
		name := ContainerName(c.root, vdir)
		if _, dup := c.models[name]; !dup {
			c.models[name] = filepath.Dir(vdir)
		}
		return nil
	})
}

// hasModel reports whether dir directly holds a SavedModel or a .onnx
// file.
func hasModel(dir string) bool {
	if hasSavedModel(dir) {
		return true
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type().IsRegular() && artifact.IsONNXFile(e.Name()) {
			return true
		}
	}
	return false
}

func hasSavedModel(dir string) bool {
	for _, name := range []string{"saved_model.pb", "saved_model.pbtxt"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// ContainerName is the name the TensorFlow Serving container gives the
// SavedModel in dir under root: its version directory's parent, which is
// "model" when that parent is root (/opt/ml/model in a container). A
// SavedModel outside a numeric version directory, which the container
// would not find, is named after its own directory.
func ContainerName(root, dir string) string {
	root, dir = filepath.Clean(root), filepath.Clean(dir)
	base := filepath.Base(dir)
	if artifact.IsVersion(base) {
		dir = filepath.Dir(dir)
	}
	if dir == root || dir == "." || dir == string(filepath.Separator) {
		return containerModelName
	}
	return filepath.Base(dir)
}

// listenUnix listens on a unix socket, replacing a stale socket file but
// nothing else.
func listenUnix(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("listening on %s: the path exists and is not a socket", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("listening on %s: removing the stale socket: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	return l, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		l.Close()
	}
}

func addrs(ls []net.Listener) string {
	var s []string
	for _, l := range ls {
		s = append(s, l.Addr().String())
	}
	return strings.Join(s, ",")
}

// report writes one readiness line.
func report(w io.Writer, line string) error {
	if w == nil {
		return nil
	}
	_, err := io.WriteString(w, line+"\n")
	return err
}

// oneLine folds a message onto one line for the readiness protocol.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
