package modelserver

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkInvocations measures one /invocations request through the
// handler (decode, run, encode), without a network, by content type.
func BenchmarkInvocations(b *testing.B) {
	s := New(Config{Models: map[string]Model{"m": load(b, "tfserving/saved_model_half_plus_two_cpu")}})
	for _, bc := range []struct{ name, ctype, body string }{
		{"json", "application/json", `{"instances": [1.0, 2.0, 5.0]}`},
		{"csv", "text/csv", "1.0\n2.0\n5.0\n"},
		{"jsonlines", "application/jsonlines", "[1.0]\n[2.0]\n[5.0]\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/invocations", strings.NewReader(bc.body))
				req.Header.Set("Content-Type", bc.ctype)
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("got %d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// discardWriter is an http.ResponseWriter that keeps nothing, so that a
// benchmark counts the handler's allocations and not a recorder's.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) WriteHeader(status int)      { w.status = status }
func (w *discardWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// gradientImage is a JSON batch of n h×w×c images with values in [0, 1]
// that differ by seed; c = 0 leaves the channel dimension out.
func gradientImage(n, h, w, c, seed int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for y := range h {
			if y > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for x := range w {
				if x > 0 {
					b.WriteByte(',')
				}
				if c == 0 {
					fmt.Fprintf(&b, "%.4g", float64((x*7+y*3+i+seed)%255)/255)
					continue
				}
				b.WriteByte('[')
				for k := range c {
					if k > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, "%.4g", float64((x*7+y*3+k*11+i+seed)%255)/255)
				}
				b.WriteByte(']')
			}
			b.WriteByte(']')
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	return b.String()
}

// BenchmarkHandler measures one request through ServeHTTP (routing, body
// read, decode, run, encode, write) by model, with a writer that keeps
// nothing and one request value reused, so that allocs/op is the server's
// own (and the codec's and engine's under it).
func BenchmarkHandler(b *testing.B) {
	hp2 := load(b, "tfserving/saved_model_half_plus_two_cpu")
	for _, bc := range []struct {
		name, model, path, ctype, accept, body string
	}{
		{name: "half_plus_two/rest", model: "tfserving/saved_model_half_plus_two_cpu", path: "/v1/models/m:predict",
			body: `{"instances": [1.0, 2.0, 5.0]}`},
		{name: "half_plus_two/invocations", model: "tfserving/saved_model_half_plus_two_cpu", path: "/invocations",
			ctype: "application/json", body: `{"instances": [1.0, 2.0, 5.0]}`},
		{name: "half_plus_two/accept", model: "tfserving/saved_model_half_plus_two_cpu", path: "/invocations",
			ctype: "text/csv", accept: "application/json", body: "1.0\n2.0\n5.0\n"},
		{name: "mnist_mlp/b8", model: "mnist_mlp_aiano/model", path: "/v1/models/m:predict",
			body: `{"instances": ` + gradientImage(8, 32, 32, 0, 0) + `}`},
		{name: "cnn70x70/b1", model: "cats_dogs_chris_sle/64x3-CNN.model", path: "/invocations",
			ctype: "application/json", body: `{"instances": ` + gradientImage(1, 70, 70, 1, 0) + `}`},
		{name: "mnist_cnn/b4", model: "mnist_cnn_egekaan/model", path: "/v1/models/m:predict",
			body: `{"instances": ` + gradientImage(4, 28, 28, 1, 0) + `}`},
	} {
		m := hp2
		if bc.model != "tfserving/saved_model_half_plus_two_cpu" {
			m = load(b, bc.model)
		}
		s := New(Config{Models: map[string]Model{"m": m}})
		body := []byte(bc.body)
		b.Run(bc.name, func(b *testing.B) {
			rd := bytes.NewReader(body)
			req := httptest.NewRequest(http.MethodPost, bc.path, rd)
			if bc.ctype != "" {
				req.Header.Set("Content-Type", bc.ctype)
			}
			if bc.accept != "" {
				req.Header.Set("Accept", bc.accept)
			}
			w := &discardWriter{header: http.Header{}}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				rd.Reset(body)
				clear(w.header)
				s.ServeHTTP(w, req)
				if w.status != http.StatusOK {
					b.Fatalf("got %d", w.status)
				}
			}
		})
	}
}
