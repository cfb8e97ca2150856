package testutil

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// WriteTree writes files (slash-separated paths under root) with their
// bodies, making the directories they need.
func WriteTree(t testing.TB, root string, files map[string][]byte) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TarGz returns a gzipped tar archive of files, with the member names as
// given (relative, as Python's tarfile writes them), in the order of names,
// or sorted when names is nil.
func TarGz(t testing.TB, names []string, files map[string][]byte) []byte {
	t.Helper()
	if names == nil {
		names = slices.Sorted(maps.Keys(files))
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// SameJSON reports whether two JSON documents hold the same values; got
// that is not JSON is not the same, want that is not JSON fails the test.
func SameJSON(t testing.TB, got, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

// JSONNumbers returns every number of a JSON document in document order
// (object members sorted by key); a document that is not JSON, or holds
// anything but numbers, arrays and objects, fails the test.
func JSONNumbers(t testing.TB, doc string) []float64 {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("%.200q: %v", doc, err)
	}
	var out []float64
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case float64:
			out = append(out, v)
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(v)) {
				walk(v[k])
			}
		default:
			t.Fatalf("%.200q: %v (%T) is not a number", doc, v, v)
		}
	}
	walk(v)
	return out
}
