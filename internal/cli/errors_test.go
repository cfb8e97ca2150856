package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"
)

// TestClientErrors checks the one-line errors and exit codes of the client
// commands against a live server.
func TestClientErrors(t *testing.T) {
	hp2 := sharedFixture(t, "savedmodels/tfserving/saved_model_half_plus_two_cpu")
	s := startServer(t)
	if out, errOut, rc := s.run(t, "deploy", hp2, "--name", "hp2"); rc != 0 {
		t.Fatalf("deploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badReq := write("bad.json", `{"instances": 5}`)
	notImage := write("not.png", "hello")
	empty := filepath.Dir(write("empty/readme.txt", "no model here"))
	broken := filepath.Dir(write("broken/saved_model.pb", "this is not a protobuf"))

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		rc      int
		wantErr string
	}{
		{name: "unreachable", args: []string{"ls", "--url", "http://127.0.0.1:1"}, rc: exitUnreachable,
			wantErr: "inferd ls: cannot reach http://127.0.0.1:1: is `inferd serve` running?"},
		{name: "wrong keys", env: map[string]string{"INFERD_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "INFERD_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
			args: []string{"ls"}, rc: exitAuth, wantErr: "refused the credentials (UnrecognizedClientException"},
		{name: "half the keys", env: map[string]string{"INFERD_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE"},
			args: []string{"describe", "hp2"}, rc: exitAuth, wantErr: "INFERD_ACCESS_KEY_ID and INFERD_SECRET_ACCESS_KEY must be set together"},
		{name: "no credentials", args: []string{"ls", "--data-dir", t.TempDir()}, rc: exitAuth, wantErr: "inferd ls: no credentials"},
		{name: "unknown endpoint", args: []string{"describe", "nope"}, rc: exitNotFound, wantErr: "inferd describe: endpoint nope not found: run `inferd ls`\n"},
		{name: "model rejects the request", args: []string{"invoke", "hp2", "--json", badReq}, rc: exitFailed, wantErr: "ModelError"},
		{name: "missing json file", args: []string{"invoke", "hp2", "--json", filepath.Join(dir, "nope.json")}, rc: exitNotFound, wantErr: "no such file"},
		{name: "missing image", args: []string{"invoke", "hp2", "--image", filepath.Join(dir, "nope.png")}, rc: exitNotFound, wantErr: "no such file"},
		{name: "image for a model without an image input", args: []string{"invoke", "hp2", "--image", write("px.png", string(onePixelPNG(t)))}, rc: exitOK,
			wantErr: "inferd invoke: note: sending 224x224 RGB; the model's input size is unknown"},
		{name: "image for a missing endpoint", args: []string{"invoke", "nope", "--image", write("px2.png", string(onePixelPNG(t)))}, rc: exitNotFound,
			wantErr: "inferd invoke: endpoint nope not found: run `inferd ls`\n"},
		{name: "not an image", args: []string{"invoke", "hp2", "--image", notImage}, rc: exitFailed, wantErr: "PNG and JPEG are supported"},
		{name: "deploy a folder without a model", args: []string{"deploy", empty, "--name", "x"}, rc: exitUsage, wantErr: "no saved_model.pb or .onnx file under"},
		{name: "deploy a missing path", args: []string{"deploy", filepath.Join(dir, "gone"), "--name", "x"}, rc: exitNotFound, wantErr: "no such file"},
		{name: "deploy a plain file", args: []string{"deploy", badReq, "--name", "x"}, rc: exitUsage, wantErr: "is neither a folder, a .onnx file nor a .tar.gz"},
		{name: "deploy a broken model", args: []string{"deploy", broken, "--name", "broken", "--timeout", "30s"}, rc: exitFailed, wantErr: "inferd deploy: endpoint broken failed:"},
		{name: "ls extra argument", args: []string{"ls", "x"}, rc: exitUsage, wantErr: `unexpected arguments ["x"]`},
		{name: "deploy without name", args: []string{"deploy", hp2}, rc: exitUsage, wantErr: "--name is required"},
		{name: "deploy without path", args: []string{"deploy", "--name", "x"}, rc: exitUsage, wantErr: "need exactly one PATH"},
		{name: "deploy bad memory", args: []string{"deploy", hp2, "--name", "x", "--memory", "1000"}, rc: exitUsage, wantErr: "--memory 1000: must be one of"},
		{name: "deploy bad concurrency", args: []string{"deploy", hp2, "--name", "x", "--max-concurrency", "201"}, rc: exitUsage, wantErr: "--max-concurrency 201"},
		{name: "deploy provisioned over max", args: []string{"deploy", hp2, "--name", "x", "--max-concurrency", "2", "--provisioned", "3"}, rc: exitUsage, wantErr: "--provisioned 3: must be 0-2"},
		{name: "deploy bad name", args: []string{"deploy", hp2, "--name", "my_model"}, rc: exitUsage, wantErr: `--name "my_model"`},
		{name: "invoke without input", args: []string{"invoke", "hp2"}, rc: exitUsage, wantErr: "give one of --json FILE or --image FILE"},
		{name: "invoke with both inputs", args: []string{"invoke", "hp2", "--json", badReq, "--image", notImage}, rc: exitUsage, wantErr: "give one of"},
		{name: "invoke bad size", args: []string{"invoke", "hp2", "--image", notImage, "--size", "128"}, rc: exitUsage, wantErr: `--size "128": want WIDTHxHEIGHT`},
		{name: "invoke without name", args: []string{"invoke", "--json", badReq}, rc: exitUsage, wantErr: "need exactly one endpoint NAME"},
		{name: "rm without name", args: []string{"rm"}, rc: exitUsage, wantErr: "need exactly one endpoint NAME"},
		{name: "unknown flag", args: []string{"rm", "hp2", "--force"}, rc: exitUsage, wantErr: "flag provided but not defined: -force"},
		{name: "help", args: []string{"deploy", "-h"}, rc: exitOK, wantErr: "usage: inferd deploy PATH --name NAME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, errOut, rc := s.run(t, tc.args...)
			if rc != tc.rc || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("rc %d stderr %q, want rc %d containing %q", rc, errOut, tc.rc, tc.wantErr)
			}
		})
	}
}

// TestRedeployFailed deploys a broken model, then a good one under the
// same name: the failed endpoint is made again and serves.
func TestRedeployFailed(t *testing.T) {
	hp2 := sharedFixture(t, "savedmodels/tfserving/saved_model_half_plus_two_cpu")
	s := startServer(t)
	broken := filepath.Join(t.TempDir(), "saved_model.pb")
	if err := os.WriteFile(broken, []byte("not a protobuf"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, rc := s.run(t, "deploy", filepath.Dir(broken), "--name", "m"); rc != exitFailed {
		t.Fatalf("deploy of a broken model: rc %d, want %d; stderr:\n%s", rc, exitFailed, errOut)
	}
	out, errOut, rc := s.run(t, "deploy", hp2, "--name", "m")
	if rc != 0 || !strings.Contains(errOut, "endpoint m had failed: deleted it, creating it again") {
		t.Fatalf("redeploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	req := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(req, []byte(`[[1.0], [3.0]]`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, rc = s.run(t, "invoke", "m", "--json", req)
	if want := `{"predictions":[[2.5],[3.5]]}` + "\n"; out != want {
		t.Errorf("invoke printed %q, want %q", out, want)
	}
	// --raw prints TF Serving's own layout.
	if out, _, _ := s.run(t, "invoke", "m", "--json", req, "--raw"); !strings.Contains(out, "\n    \"predictions\": [[2.5], [3.5]\n") {
		t.Errorf("invoke --raw printed %q", out)
	}
	var resp struct{ Predictions [][]float64 }
	if err := json.Unmarshal([]byte(out), &resp); rc != 0 || err != nil || fmt.Sprint(resp.Predictions) != "[[2.5] [3.5]]" {
		t.Errorf("invoke rc %d stdout %q stderr %q, want predictions [[2.5] [3.5]]", rc, out, errOut)
	}
	// The broken version's model and config are gone.
	out, _, _ = s.run(t, "ls")
	if want := regexp.MustCompile(`(?m)^m\s+InService\s+m-\d{8}-\d{6}\s+m-\d{8}-\d{6}\s`); !want.MatchString(out) {
		t.Errorf("ls:\n%s\nwant a row matching %s", out, want)
	}
	models, err := s.sagemaker(t).ListModels(context.Background(), &sagemaker.ListModelsInput{})
	if err != nil || len(models.Models) != 1 {
		t.Errorf("models %+v (err %v), want only the new one", models, err)
	}

	// An update to a broken model fails, and the endpoint keeps serving
	// the good one; the broken model and config are removed.
	_, errOut, rc = s.run(t, "deploy", filepath.Dir(broken), "--name", "m")
	if want := regexp.MustCompile("inferd deploy: update of endpoint m failed: .+; it still serves config m-\\d{8}-\\d{6} \\(see `inferd logs m`\\)\n$"); rc != exitFailed || !want.MatchString(errOut) {
		t.Errorf("update to a broken model: rc %d stderr:\n%s\nwant rc %d matching %s", rc, errOut, exitFailed, want)
	}
	out, errOut, rc = s.run(t, "invoke", "m", "--json", req)
	if want := `{"predictions":[[2.5],[3.5]]}` + "\n"; rc != 0 || out != want {
		t.Errorf("invoke after the failed update: rc %d stdout %q stderr %q, want %q", rc, out, errOut, want)
	}
	models, err = s.sagemaker(t).ListModels(context.Background(), &sagemaker.ListModelsInput{})
	if err != nil || len(models.Models) != 1 {
		t.Errorf("models after the failed update %+v (err %v), want only the serving one", models, err)
	}
	configs, err := s.sagemaker(t).ListEndpointConfigs(context.Background(), &sagemaker.ListEndpointConfigsInput{})
	if err != nil || len(configs.EndpointConfigs) != 1 {
		t.Errorf("configs after the failed update %+v (err %v), want only the serving one", configs, err)
	}
}

// TestURLFromEnvironment checks that AWS_ENDPOINT_URL names the server
// when --url is not given.
func TestURLFromEnvironment(t *testing.T) {
	isolateEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:2")
	var out, errb bytes.Buffer
	rc := Main(context.Background(), []string{"ls", "--data-dir", t.TempDir()}, nil, &out, &errb)
	// No credentials in that data dir: the error names the missing
	// credentials before any request; with keys it names the URL.
	if rc != exitAuth {
		t.Fatalf("rc %d stderr %q, want %d", rc, errb.String(), exitAuth)
	}
	t.Setenv("INFERD_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
	t.Setenv("INFERD_SECRET_ACCESS_KEY", "secret")
	errb.Reset()
	rc = Main(context.Background(), []string{"ls"}, nil, &out, &errb)
	if want := "cannot reach http://127.0.0.1:2:"; rc != exitUnreachable || !strings.Contains(errb.String(), want) {
		t.Errorf("rc %d stderr %q, want %d containing %q", rc, errb.String(), exitUnreachable, want)
	}
}

func TestIsNotFound(t *testing.T) {
	tests := []struct {
		code, msg string
		want      bool
	}{
		{"ValidationException", `Could not find endpoint "arn:aws:sagemaker:us-east-1:000000000000:endpoint/x".`, true},
		{"ValidationException", `Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/x".`, true},
		{"ValidationError", "Endpoint x of account 000000000000 not found.", true},
		{"NotFound", "", true},
		{"NoSuchBucket", "The specified bucket does not exist", true},
		{"ValidationException", "Cannot update in-progress endpoint", false},
		{"ModelError", "not found.", false},
	}
	for _, tc := range tests {
		err := &smithy.GenericAPIError{Code: tc.code, Message: tc.msg}
		if got := isNotFound(err); got != tc.want {
			t.Errorf("isNotFound(%s: %s) = %v, want %v", tc.code, tc.msg, got, tc.want)
		}
	}
}

// onePixelPNG returns a 1×1 PNG.
func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
