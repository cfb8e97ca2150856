package modelserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"inferd/internal/codec"
	"inferd/internal/engine"
	"inferd/internal/tensor"
)

// pooledCase is one request to a model, answered by the server through
// its pools and by the reference path: Predictor.Do, which runs the model
// with Run and encodes with EncodePredict, as the server did before it
// pooled outputs and buffers.
type pooledCase struct {
	name   string
	path   string // "/invocations" or a REST path to model "m"
	ctype  string // for /invocations
	accept string
	attrs  string // custom attributes for /invocations
	method Method // the TF Serving method the request reaches; default Predict
	body   string
}

// referenceAnswer is what the server answered to c before the pools: the
// container's rewriting around Predictor.Do, and errorResponse for a
// failure.
func referenceAnswer(t *testing.T, m Model, c pooledCase) reply {
	t.Helper()
	method := c.method
	if method == "" {
		method = Predict
	}
	body := []byte(c.body)
	if c.path == "/invocations" {
		var err error
		if body, err = codec.ContainerRequest(c.ctype, body); err != nil {
			t.Fatalf("ContainerRequest: %v", err)
		}
	}
	out, err := Predictor{Model: m}.Do(context.Background(), method, body)
	resp := response{status: http.StatusOK, contentType: jsonType, body: out}
	if err != nil {
		resp = errorResponse(err)
	}
	if c.path == "/invocations" {
		if b, ct := codec.ContainerResponse(c.accept, resp.body); ct != "" {
			resp.body, resp.contentType = b, ct
		}
	}
	return reply{status: resp.status, ctype: resp.contentType, body: string(resp.body)}
}

// pooledCases are requests over half_plus_two, the MNIST MLP and two
// CNNs, in every format the server speaks, with batch sizes that change
// the outputs' shapes from one request to the next.
func pooledCases(t testing.TB) map[string][]pooledCase {
	hp2 := []pooledCase{
		{name: "instances", path: "/v1/models/m:predict", body: `{"instances": [1.0, 2.0, 5.0]}`},
		{name: "instances of one", path: "/v1/models/m:predict", body: `{"instances": [7.5]}`},
		{name: "columnar", path: "/v1/models/m:predict", body: `{"inputs": {"x": [1.0, 2.0]}}`},
		{name: "signature", path: "/v1/models/m:predict", body: `{"signature_name": "regress_x2_to_y3", "instances": [1.0, -3.25]}`},
		{name: "csv", path: "/invocations", ctype: "text/csv", body: "1.0\n2.0\n5.0\n"},
		{name: "json lines", path: "/invocations", ctype: "application/jsonlines", body: "[1.0]\n[2.0]\n[5.0]\n"},
		{name: "accept json lines", path: "/invocations", ctype: "application/json", accept: "application/jsonlines", body: `[1.0, 2.0]`},
		{name: "accept json, rows", path: "/invocations", ctype: "application/json", accept: "text/csv, application/json", body: `[[1.0], [2.0], [3.0], [4.0]]`},
		{name: "regress", path: "/v1/models/m:regress", method: Regress,
			body: `{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}, {"x": 5.0}]}`},
		{name: "classify", path: "/v1/models/m:classify", method: Classify,
			body: `{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}`},
		{name: "bad value", path: "/v1/models/m:predict", body: `{"instances": ["a"]}`},
		{name: "error with accept", path: "/invocations", ctype: "application/json", accept: "application/json", body: `{"instances": 5}`},
	}
	images := func(n, h, w, c int) []pooledCase {
		var cs []pooledCase
		for batch := range n {
			img := gradientImage(batch+1, h, w, c, batch*13)
			cs = append(cs,
				pooledCase{name: fmt.Sprintf("rest b%d", batch+1), path: "/v1/models/m:predict", body: `{"instances": ` + img + `}`},
				pooledCase{name: fmt.Sprintf("invocations b%d", batch+1), path: "/invocations", ctype: "application/json", body: img},
				pooledCase{name: fmt.Sprintf("accept b%d", batch+1), path: "/invocations", ctype: "application/json",
					accept: "application/json", body: `{"instances": ` + img + `}`},
			)
		}
		return append(cs,
			pooledCase{name: "columnar", path: "/v1/models/m:predict", body: `{"inputs": ` + gradientImage(2, h, w, c, 5) + `}`},
			pooledCase{name: "wrong rank", path: "/invocations", ctype: "text/csv", body: "1.0,2.0"},
		)
	}
	return map[string][]pooledCase{
		"tfserving/saved_model_half_plus_two_cpu": hp2,
		"mnist_mlp_aiano/model":                   images(3, 32, 32, 0),
		"cats_dogs_chris_sle/64x3-CNN.model":      images(2, 70, 70, 1),
		"mnist_cnn_egekaan/model":                 images(3, 28, 28, 1),
	}
}

// TestPooledAnswersMatch checks that the answers written through the
// pooled outputs and buffers are byte for byte those of Run and
// EncodePredict, for each model and format, in a sequence that reuses
// every pooled scratch with other shapes, and twice over.
func TestPooledAnswersMatch(t *testing.T) {
	for rel, cases := range pooledCases(t) {
		m := load(t, rel)
		s := New(Config{Models: map[string]Model{"m": m}})
		for round := range 2 {
			for _, c := range cases {
				t.Run(fmt.Sprintf("%s/%d/%s", rel, round, c.name), func(t *testing.T) {
					want := referenceAnswer(t, m, c)
					got := do(t, s, request{path: c.path, ctype: c.ctype, accept: c.accept, attrs: c.attrs, body: c.body})
					if got != want {
						t.Errorf("got %d %s\n%.300s\nwant %d %s\n%.300s", got.status, got.ctype, got.body, want.status, want.ctype, want.body)
					}
				})
			}
		}
	}
}

// TestPooledConcurrent sends the requests of every model at once, many
// times over, so that pooled scratches pass from request to request while
// others are in flight; each answer must be its own request's. Run it with
// -race.
func TestPooledConcurrent(t *testing.T) {
	type job struct {
		s    *Server
		c    pooledCase
		want reply
	}
	var jobs []job
	for rel, cases := range pooledCases(t) {
		m := load(t, rel)
		s := New(Config{Models: map[string]Model{"m": m}})
		for _, c := range cases {
			jobs = append(jobs, job{s, c, referenceAnswer(t, m, c)})
		}
	}
	const rounds = 4
	var wg sync.WaitGroup
	errs := make(chan error, rounds*len(jobs))
	for r := range rounds {
		for i := range jobs {
			j := jobs[(i+r*7)%len(jobs)]
			wg.Go(func() {
				got := do(t, j.s, request{path: j.c.path, ctype: j.c.ctype, accept: j.c.accept, attrs: j.c.attrs, body: j.c.body})
				if got != j.want {
					errs <- fmt.Errorf("%s: got %d %.200s, want %d %.200s", j.c.name, got.status, got.body, j.want.status, j.want.body)
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestScratchTrim checks what a scratch keeps when it goes back to its
// pool: a buffer or outputs over maxPooledBytes are dropped, smaller
// ones kept.
func TestScratchTrim(t *testing.T) {
	m := load(t, "tfserving/saved_model_half_plus_two_cpu")
	run := func(t *testing.T, sc *scratch, n int) {
		t.Helper()
		x := tensor.New(tensor.Float32, tensor.Shape{n})
		if err := m.RunInto(context.Background(), "serving_default", map[string]*tensor.Tensor{"x": x}, &sc.outs); err != nil {
			t.Fatal(err)
		}
	}
	const big = maxPooledBytes/4 + 1 // float32s
	tests := []struct {
		name              string
		bufCap, batch     int
		keepBuf, keepOuts bool
	}{
		{"small", 1 << 10, 3, true, true},
		{"at the limit", maxPooledBytes, maxPooledBytes / 4, true, true},
		{"big buffer", maxPooledBytes + 1, 3, false, true},
		{"big outputs", 1 << 10, big, true, false},
		{"both big", 8 << 20, big, false, false},
	}
	var pools scratchPools
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, _ := m.Signature("serving_default")
			sc := pools.pool(m, sig).get()
			if sc == nil {
				t.Fatal("no scratch for an *engine.Model")
			}
			sc.buf = make([]byte, 0, tc.bufCap)
			run(t, sc, tc.batch)
			sc.trim()
			if gotBuf := sc.buf != nil; gotBuf != tc.keepBuf {
				t.Errorf("buffer of cap %d kept = %v, want %v", tc.bufCap, gotBuf, tc.keepBuf)
			}
			if gotOuts := sc.outs.Get("y") != nil; gotOuts != tc.keepOuts {
				t.Errorf("outputs of %d float32s kept = %v, want %v", tc.batch, gotOuts, tc.keepOuts)
			}
		})
	}
}

// runOnly is a Runner without RunInto: its own RunInto, of another
// signature, hides the model's.
type runOnly struct{ *engine.Model }

func (r runOnly) RunInto() {}

// uncomparable is an intoRunner whose type cannot key a map.
type uncomparable struct {
	*engine.Model
	tags []string
}

// TestScratchPoolsGet checks which models get a scratch, and that the
// pools are by model and signature.
func TestScratchPoolsGet(t *testing.T) {
	m := load(t, "tfserving/saved_model_half_plus_two_cpu")
	var pools scratchPools
	tests := []struct {
		name  string
		pools *scratchPools
		model Runner
		want  bool
	}{
		{"engine model", &pools, m, true},
		{"no pools", nil, m, false},
		{"no RunInto", &pools, runOnly{m}, false},
		{"not comparable", &pools, uncomparable{Model: m}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sig, _ := m.Signature("serving_default")
			sc := tc.pools.pool(tc.model, sig).get()
			if got := sc != nil; got != tc.want {
				t.Errorf("get gave a scratch: %v, want %v", got, tc.want)
			}
			sc.put()
		})
	}
	def, _ := m.Signature("serving_default")
	reg, _ := m.Signature("regress_x_to_y")
	a, b := pools.pool(m, def), pools.pool(m, reg)
	if a == b {
		t.Error("two signatures share a pool")
	}
	if c := pools.pool(m, def); c != a {
		t.Error("one signature has two pools")
	}
	if want := []codec.Input{{Name: "x", DType: tensor.Float32}}; !slices.Equal(a.inputs, want) {
		t.Errorf("pool inputs = %v, want %v", a.inputs, want)
	}
}

func TestRemoveNewlines(t *testing.T) {
	for _, in := range []string{"", "\n", "\n\n", "a", "a\nb", "\na\n\nb\n", "{\n    \"predictions\": [2.5\n    ]\n}", strings.Repeat("xy\n", 100)} {
		want := bytes.ReplaceAll([]byte(in), []byte{'\n'}, nil)
		if got := removeNewlines([]byte(in)); !bytes.Equal(got, want) {
			t.Errorf("removeNewlines(%q) = %q, want %q", in, got, want)
		}
	}
}

// errorModel is an *engine.Model whose RunInto fails, to check that a
// failed run gives its scratch back and answers as Run's failure does.
type errorModel struct{ *engine.Model }

func (errorModel) RunInto(context.Context, string, map[string]*tensor.Tensor, *engine.Outputs) error {
	return fmt.Errorf("engine: node \"y\" (op Foo): %w", errors.New("boom"))
}

func TestRunIntoError(t *testing.T) {
	s := New(Config{Models: map[string]Model{"m": errorModel{load(t, "tfserving/saved_model_half_plus_two_cpu")}}})
	got := do(t, s, request{path: "/v1/models/m:predict", body: `{"instances": [1.0]}`})
	want := "{\n    \"error\": \"engine: node \\\"y\\\" (op Foo): boom\"\n}"
	if got.status != http.StatusInternalServerError || got.body != want {
		t.Errorf("got %d %s, want 500 %s", got.status, got.body, want)
	}
}

// chunkedReader hides its length, so that a request built on it has no
// Content-Length, and reads at most 7 bytes at a time.
type chunkedReader struct{ r *strings.Reader }

func (c chunkedReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), 7)]) }

// TestReadBody checks that a body is read whole into the pooled buffer,
// whatever its length, with or without a Content-Length, from a fresh or
// a reused buffer.
func TestReadBody(t *testing.T) {
	s := New(Config{MaxBodyBytes: 1 << 20})
	for _, n := range []int{0, 1, 7, 511, 512, 513, 4096, 70000} {
		body := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", n/36+1)[:n]
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("%d bytes, length known %v", n, known), func(t *testing.T) {
				for range 2 {
					var rd io.Reader = strings.NewReader(body)
					if !known {
						rd = chunkedReader{strings.NewReader(body)}
					}
					req := httptest.NewRequest(http.MethodPost, "/invocations", rd)
					got, rb, err := s.readBody(httptest.NewRecorder(), req)
					if err != nil || string(got) != body {
						t.Fatalf("readBody = %d bytes %.40q, %v; want %d bytes %.40q", len(got), got, err, n, body)
					}
					s.putBody(rb)
				}
			})
		}
	}
}

func TestPutBody(t *testing.T) {
	var s Server
	tests := []struct {
		name string
		cap  int
		kept bool
	}{
		{"small", 1 << 10, true},
		{"at the limit", maxPooledBytes, true},
		{"over the limit", maxPooledBytes + 1, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rb := &requestBody{b: make([]byte, 0, tc.cap)}
			s.putBody(rb)
			// The pool may drop what it is given, so only a kept buffer
			// can be seen again; a dropped one must never be.
			got, _ := s.bodies.Get().(*requestBody)
			if got == rb && !tc.kept {
				t.Errorf("a buffer of cap %d went back to the pool", tc.cap)
			}
		})
	}
	s.putBody(nil) // must not panic
}

// TestLogLevels checks that requests are logged at their level, and that
// a logger above it gets nothing.
func TestLogLevels(t *testing.T) {
	m := load(t, "tfserving/saved_model_half_plus_two_cpu")
	tests := []struct {
		name  string
		level slog.Level
		body  string
		want  []string // "" when nothing is logged
	}{
		{"success at debug", slog.LevelDebug, "[1.0]", []string{"level=DEBUG", `msg="modelserver: request"`, "status=200"}},
		{"refusal at debug", slog.LevelDebug, "[\"a\"]", []string{"level=DEBUG", `msg="modelserver: request refused"`, "status=400", "err="}},
		{"success at info", slog.LevelInfo, "[1.0]", nil},
		{"refusal at info", slog.LevelInfo, "[\"a\"]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			s := New(Config{Models: map[string]Model{"m": m}, Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level}))})
			do(t, s, request{path: "/invocations", ctype: "application/json", body: tc.body})
			if tc.want == nil && buf.Len() != 0 {
				t.Errorf("logged %q, want nothing", buf.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("log %q lacks %q", buf.String(), w)
				}
			}
		})
	}
}

func TestCustomAttributesKey(t *testing.T) {
	if want := textproto.CanonicalMIMEHeaderKey(CustomAttributesHeader); customAttributesKey != want {
		t.Errorf("customAttributesKey = %q, want %q", customAttributesKey, want)
	}
}

// TestHandlerAllocs asserts what one warm predict request through
// ServeHTTP allocates at most, with the writer of BenchmarkHandler. The
// server's own share is none: the floors are the codec's decoding (the
// parsed document, the request, its input tensors) and encoding
// (AppendPredict's writer state), which the pools cannot reach. A change
// that brings an allocation back to the serving path fails here.
func TestHandlerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates and drops pooled values")
	}
	tests := []struct {
		name, model, path, ctype, body string
		floor                          float64
	}{
		{"half_plus_two REST", "tfserving/saved_model_half_plus_two_cpu", "/v1/models/m:predict", "",
			`{"instances": [1.0, 2.0, 5.0]}`, 13},
		{"half_plus_two invocations", "tfserving/saved_model_half_plus_two_cpu", "/invocations", "application/json",
			`{"instances": [1.0, 2.0, 5.0]}`, 13},
		{"CNN invocations", "cats_dogs_chris_sle/64x3-CNN.model", "/invocations", "application/json",
			`{"instances": ` + gradientImage(1, 70, 70, 1, 0) + `}`, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Config{Models: map[string]Model{"m": load(t, tc.model)}})
			body := []byte(tc.body)
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, tc.path, rd)
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			w := &discardWriter{header: http.Header{}}
			serve := func() {
				rd.Reset(body)
				s.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					t.Fatalf("status %d", w.status)
				}
			}
			for range 5 {
				serve()
			}
			if got := testing.AllocsPerRun(50, serve); got > tc.floor {
				t.Errorf("a request allocates %v times, want at most %v", got, tc.floor)
			}
		})
	}
}

// wrapped holds a model in an interface, which makes its type comparable
// whatever the model: only its value says whether == would panic.
type wrapped struct {
	Model
}

func TestHashable(t *testing.T) {
	m := load(t, "tfserving/saved_model_half_plus_two_cpu")
	tests := []struct {
		name string
		v    any
		want bool
	}{
		{"pointer", m, true},
		{"struct of a pointer", runOnly{m}, true},
		{"slice field", uncomparable{Model: m}, false},
		{"interface of a pointer", wrapped{m}, true},
		{"interface of a map holder", wrapped{fakeModel{}}, false},
		{"nil interface", wrapped{}, true},
		{"array of interfaces", [2]any{1, []int{}}, false},
		{"array of ints", [2]int{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hashable(reflect.ValueOf(tc.v)); got != tc.want {
				t.Errorf("hashable(%T) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
	// A server with such a model serves it, and aliases of it, without
	// a panic.
	s := New(Config{Models: map[string]Model{"a": wrapped{fakeModel{}}, "b": wrapped{fakeModel{}}}})
	if got := s.canonicalName("b"); got != "b" {
		t.Errorf("canonicalName(b) = %q, want b", got)
	}
}
