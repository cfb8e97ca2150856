package modelserver

import (
	"regexp"
	"testing"
)

// inferencePath is the regular expression parseInferencePath implements,
// TF Serving's (http_rest_api_util.cc).
var inferencePath = regexp.MustCompile(`(?i)^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)$`)

// checkInferencePath fails when parseInferencePath and inferencePath
// disagree on path.
func checkInferencePath(t *testing.T, path string) {
	t.Helper()
	name, version, label, method, ok := parseInferencePath(path)
	got := []string{path, name, version, label, method}
	want := inferencePath.FindStringSubmatch(path)
	if ok != (want != nil) {
		t.Fatalf("parseInferencePath(%q) matched = %v, the regexp %v", path, ok, want != nil)
	}
	if !ok {
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("parseInferencePath(%q) = %q, the regexp %q", path, got, want)
		}
	}
}

func TestParseInferencePath(t *testing.T) {
	paths := []string{
		"/v1/models/m:predict",
		"/v1/models/m:classify",
		"/v1/models/m:regress",
		"/V1/MODELS/Half_Plus_Two:PREDICT",
		"/v1/models/m/versions/123:predict",
		"/v1/models/m/VERSIONS/007:regress",
		"/v1/models/m/labels/stable:classify",
		"/v1/models/m/Labels/a%20b:predict",
		"/v1/models/%2Fm:predict",
		"/v1/modelſ/m:predict",
		"/v1/models/m/verſions/1:claſſify",
		"/v1/models/m:ClaSSify",
		"/v1/models/m:predictx",
		"/v1/models/m:predic",
		"/v1/models/m:",
		"/v1/models/m",
		"/v1/models/:predict",
		"/v1/models//versions/1:predict",
		"/v1/models/m/versions/:predict",
		"/v1/models/m/versions/1a:predict",
		"/v1/models/m/versions/-1:predict",
		"/v1/models/m/versions/1/labels/x:predict",
		"/v1/models/m/labels/:predict",
		"/v1/models/m/labels/a/b:predict",
		"/v1/models/m/other/1:predict",
		"/v1/models/m:predict:predict",
		"/v1/models/m\n:predict",
		"/v1/models/m:predict\n",
		"/v1/models/\xff\xfe:predict",
		"/v1/models/m/versions/\u0661:predict",
		"/v2/models/m:predict",
		"/v1/model/m:predict",
		"v1/models/m:predict",
		"/v1/models/m/ve\u212ar:predict",
		"",
	}
	for _, p := range paths {
		checkInferencePath(t, p)
	}
}

func FuzzParseInferencePath(f *testing.F) {
	for _, p := range []string{"/v1/models/m:predict", "/v1/models/m/versions/12:regress", "/v1/models/m/labels/l:classify", "/V1/modelſ/x:PREDICT"} {
		f.Add(p)
	}
	f.Fuzz(checkInferencePath)
}
