package worker

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"inferd/internal/testutil"
)

// socketPath returns a short unix socket path (sun_path is 108 bytes).
func socketPath(t testing.TB) string {
	dir, err := os.MkdirTemp("", "w")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// unixClient is an HTTP client that dials the socket whatever the URL.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
}

func post(t testing.TB, c *http.Client, path, ctype, attrs, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://worker"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if attrs != "" {
		req.Header.Set("X-Amzn-SageMaker-Custom-Attributes", attrs)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// started is a worker running in this process.
type started struct {
	ready string     // the readiness line, without its newline
	done  chan error // Run's result
	stop  func()     // cancels Run's context
}

// startWorker runs Run until the test ends and waits for its readiness
// line.
func startWorker(t *testing.T, cfg Config) *started {
	t.Helper()
	r, w := io.Pipe()
	cfg.Ready = w
	if cfg.Getenv == nil {
		cfg.Getenv = func(string) string { return "" }
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{done: make(chan error, 1), stop: cancel}
	go func() {
		err := Run(ctx, cfg)
		w.Close()
		s.done <- err
	}()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the readiness line: %v", err)
	}
	go io.Copy(io.Discard, r)
	s.ready = strings.TrimSuffix(line, "\n")
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

func TestRunServesOverUnixSocket(t *testing.T) {
	sock := socketPath(t)
	w := startWorker(t, Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu"), Socket: sock})
	if w.ready != "READY" {
		t.Fatalf("readiness line %q, want READY", w.ready)
	}
	c := unixClient(sock)
	resp, err := c.Get("http://worker/ping")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("ping: %v %v", resp, err)
	}
	resp.Body.Close()
	tests := []struct {
		name, path, ctype, attrs, body string
		status                         int
		want                           string
	}{
		{"invocations", "/invocations", "text/csv", "", "1.0\n5.0", 200, "{\n    \"predictions\": [2.5, 4.5\n    ]\n}"},
		{"named as the container names it", "/invocations", "application/json", "tfs-model-name=model", "[1.0]", 200, "{\n    \"predictions\": [[2.5]\n    ]\n}"},
		{"REST", "/v1/models/model/versions/123:predict", "application/json", "", `{"instances": [2.0]}`, 200, "{\n    \"predictions\": [3.0\n    ]\n}"},
		{"no such version", "/invocations", "text/csv", "tfs-model-version=1", "1.0", 404,
			"{\n    \"error\": \"Servable not found for request: Specific(model, 1)\"\n}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, c, tc.path, tc.ctype, tc.attrs, tc.body)
			if status != tc.status || body != tc.want {
				t.Errorf("got %d %s, want %d %s", status, body, tc.status, tc.want)
			}
		})
	}
	w.stop()
	if err := <-w.done; err != nil {
		t.Errorf("Run returned %v after its context ended, want nil", err)
	}
	w.done <- nil // for the cleanup
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left behind: %v", err)
	}
}

// TestRunFinishesInFlightRequests stops a worker while a request is in
// its handler: the handler has asked for the body (the server sent
// "100 Continue"), so the request is in flight for certain, and it must
// still be answered.
func TestRunFinishesInFlightRequests(t *testing.T) {
	sock := socketPath(t)
	w := startWorker(t, Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu"), Socket: sock})
	if w.ready != "READY" {
		t.Fatalf("readiness line %q", w.ready)
	}
	answer := inFlight(t, sock, w.stop)
	if !strings.HasPrefix(answer, "HTTP/1.1 200 OK") || !strings.Contains(answer, "\"predictions\": [2.5") {
		t.Errorf("in-flight request answered\n%s", answer)
	}
	select {
	case err := <-w.done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
		w.done <- nil
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its in-flight request ended")
	}
}

// inFlight sends a request's headers with Expect: 100-continue, waits for
// the server's 100 Continue, calls stop, then sends the body and returns
// the raw answer.
func inFlight(t testing.TB, sock string, stop func()) string {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "1.0"
	_, err = io.WriteString(conn, "POST /invocations HTTP/1.1\r\nHost: worker\r\nContent-Type: text/csv\r\n"+
		"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 Continue") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line after it
		t.Fatal(err)
	}
	stop()
	if _, err := io.WriteString(conn, body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return "HTTP/1.1 " + resp.Status + "\n" + string(b)
}

func TestRunStartErrors(t *testing.T) {
	empty := t.TempDir()
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "model", "1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "model", "1", "saved_model.pb"), []byte("not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	notSocket := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notSocket, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu")
	tests := []struct {
		name string
		cfg  Config
		env  map[string]string
		want []string // substrings of the ERROR line
	}{
		{"no model", Config{ModelDir: empty}, nil, []string{"ERROR artifact: no unambiguous SavedModel: no saved_model.pb, saved_model.pbtxt or .onnx file under " + empty}},
		{"missing dir", Config{ModelDir: filepath.Join(empty, "nope")}, nil, []string{"ERROR ", "no such file or directory"}},
		{"broken SavedModel", Config{ModelDir: broken}, nil, []string{"ERROR loading the model in " + filepath.Join(broken, "model", "1"), "engine: invalid model"}},
		{"several models, none named", Config{ModelDir: testutil.Fixture(t, "sagemaker_tfs/test/resources/mme")}, nil,
			[]string{"ERROR artifact: no unambiguous SavedModel", "SAGEMAKER_TFS_DEFAULT_MODEL_NAME"}},
		{"the named model is not among several", Config{ModelDir: testutil.Fixture(t, "sagemaker_tfs/test/resources/mme")}, map[string]string{EnvDefaultModelName: "other"},
			[]string{"ERROR artifact: no unambiguous SavedModel", `"other"`}},
		{"socket path is a file", Config{ModelDir: good, Socket: notSocket}, nil, []string{"ERROR listening on " + notSocket + ": the path exists and is not a socket"}},
		{"bad TCP address", Config{ModelDir: good, Listen: "nope:nope"}, nil, []string{"ERROR listening on nope:nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ready strings.Builder
			tc.cfg.Ready = &ready
			tc.cfg.Getenv = func(k string) string { return tc.env[k] }
			if tc.cfg.Socket == "" && tc.cfg.Listen == "" {
				tc.cfg.Socket = socketPath(t)
			}
			// A worker that starts after all serves until this guard ends it.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := Run(ctx, tc.cfg)
			if !errors.Is(err, ErrStart) {
				t.Errorf("Run = %v, want ErrStart", err)
			}
			line := ready.String()
			if strings.Count(line, "\n") != 1 || !strings.HasSuffix(line, "\n") {
				t.Errorf("readiness %q is not one line", line)
			}
			for _, want := range tc.want {
				if !strings.Contains(line, want) {
					t.Errorf("readiness %q lacks %q", line, want)
				}
			}
		})
	}
}

// TestModelNaming checks which model a worker loads and the names it
// serves it under.
func TestModelNaming(t *testing.T) {
	mme := testutil.Fixture(t, "sagemaker_tfs/test/resources/mme")
	tests := []struct {
		name    string
		cfg     Config
		env     map[string]string
		names   []string // names that answer
		version string
		want    string // the default model's answer to 1.0
	}{
		{"version dirs at the top are model", Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu")}, nil,
			[]string{"model"}, "123", "2.5"},
		{"the SavedModel dir itself", Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu/00000123")}, nil,
			[]string{"saved_model_half_plus_two_cpu"}, "123", "2.5"},
		{"SAGEMAKER_TFS_DEFAULT_MODEL_NAME picks the model, highest version", Config{ModelDir: mme},
			map[string]string{EnvDefaultModelName: "half_plus_three"}, []string{"half_plus_three"}, "124", "3.5"},
		{"--model-name renames, the directory name still answers", Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_three"), ModelName: "three"}, nil,
			[]string{"three", "model"}, "123", "3.5"},
		{"another version loads on demand", Config{ModelDir: testutil.Fixture(t, "sagemaker_tfs/test/resources/models")}, nil,
			[]string{"half_plus_three/versions/123"}, "123", "3.5"},
		{"the only model takes the environment's name", Config{ModelDir: testutil.Fixture(t, "tfserving/saved_model_half_plus_two_cpu")},
			map[string]string{EnvDefaultModelName: "other"}, []string{"other", "model"}, "123", "2.5"},
		{"a name from the environment is kept with the directory's", Config{ModelDir: testutil.Fixture(t, "sagemaker_sdk_tf_iris")},
			map[string]string{EnvDefaultModelName: "export"}, []string{"export", "Servo"}, "1507144001", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Socket = socketPath(t)
			tc.cfg.Getenv = func(k string) string { return tc.env[k] }
			w := startWorker(t, tc.cfg)
			if w.ready != "READY" {
				t.Fatalf("readiness %q", w.ready)
			}
			c := unixClient(tc.cfg.Socket)
			for _, name := range tc.names {
				resp, err := c.Get("http://worker/v1/models/" + name)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"version": "`+tc.version+`"`) {
					t.Errorf("status of %s: %d %s, want version %s", name, resp.StatusCode, b, tc.version)
				}
			}
			if tc.want != "" {
				status, body := post(t, c, "/invocations", "text/csv", "", "1.0")
				if status != http.StatusOK || !strings.Contains(body, "["+tc.want+"\n") {
					t.Errorf("invocation: %d %s, want %s", status, body, tc.want)
				}
			}
		})
	}
}

func TestDefaultListen(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		port       string
		wantListen string
		wantDir    string
	}{
		{"container defaults", Config{}, "", ":8080", DefaultModelDir},
		{"SAGEMAKER_BIND_TO_PORT", Config{ModelDir: "/m"}, "9090", ":9090", "/m"},
		{"a socket alone", Config{Socket: "/s"}, "9090", "", DefaultModelDir},
		{"an explicit address", Config{Listen: "127.0.0.1:1"}, "9090", "127.0.0.1:1", DefaultModelDir},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Getenv = func(k string) string {
				if k == EnvPort {
					return tc.port
				}
				return ""
			}
			cfg.defaults()
			if cfg.Listen != tc.wantListen || cfg.ModelDir != tc.wantDir {
				t.Errorf("Listen %q ModelDir %q, want %q %q", cfg.Listen, cfg.ModelDir, tc.wantListen, tc.wantDir)
			}
		})
	}
}

// TestOtherModelsLoadOnDemand starts on one model of several, as the
// TensorFlow Serving container's default model, and serves the others
// when a request names them.
func TestOtherModelsLoadOnDemand(t *testing.T) {
	sock := socketPath(t)
	w := startWorker(t, Config{ModelDir: testutil.Fixture(t, "sagemaker_tfs/test/resources/mme"), Socket: sock,
		Getenv: func(k string) string { return map[string]string{EnvDefaultModelName: "half_plus_three"}[k] }})
	if w.ready != "READY" {
		t.Fatalf("readiness %q", w.ready)
	}
	c := unixClient(sock)
	tests := []struct {
		name, attrs string
		status      int
		want        string
	}{
		{"the default model", "", 200, "[3.5"},
		{"another model", "tfs-model-name=half_plus_two", 200, "[2.5"},
		{"another version of the default", "tfs-model-version=123", 200, "[3.5"},
		{"no such model", "tfs-model-name=nope", 404, "Servable not found for request: Latest(nope)"},
		{"no such version of another model", "tfs-model-name=half_plus_two,tfs-model-version=124", 404,
			"Servable not found for request: Specific(half_plus_two, 124)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, c, "/invocations", "text/csv", tc.attrs, "1.0")
			if status != tc.status || !strings.Contains(body, tc.want) {
				t.Errorf("got %d %s, want %d containing %q", status, body, tc.status, tc.want)
			}
		})
	}
}
