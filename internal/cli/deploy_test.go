package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go"

	"inferd/internal/artifact"
)

// TestDeployInvokeLsDescribeRm runs the whole client workflow against an
// in-process server with the half_plus_two fixture: deploy, invoke, ls,
// describe, a redeploy that updates the endpoint, then rm.
func TestDeployInvokeLsDescribeRm(t *testing.T) {
	model := sharedFixture(t, "savedmodels/tfserving/saved_model_half_plus_two_cpu")
	s := startServer(t)

	out, errOut, rc := s.run(t, "deploy", model, "--name", "hp2", "--memory", "1024")
	if rc != 0 {
		t.Fatalf("deploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	for _, want := range []string{"endpoint hp2 is InService", `boto3.client("sagemaker-runtime", endpoint_url="` + s.url + `"`, `EndpointName="hp2"`} {
		if !strings.Contains(out, want) {
			t.Errorf("deploy stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"uploading", "s3://sagemaker-us-east-1-000000000000/inferd/hp2/", "created model hp2", "creating endpoint hp2", "endpoint hp2: InService"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("deploy stderr lacks %q:\n%s", want, errOut)
		}
	}

	req := filepath.Join(t.TempDir(), "req.json")
	if err := os.WriteFile(req, []byte(`{"instances": [1.0, 2.0, 5.0]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, rc = s.run(t, "invoke", "hp2", "--json", req)
	if got := predictions(t, out); rc != 0 || !slices.Equal(got, []float64{2.5, 3.0, 4.5}) {
		t.Fatalf("invoke rc %d predictions %v, want [2.5 3 4.5]; stderr %s", rc, got, errOut)
	}

	out, errOut, rc = s.run(t, "ls")
	if want := regexp.MustCompile(`(?m)^hp2\s+InService\s+hp2\s+hp2\s+1024\s+20\s+-\s`); rc != 0 || !want.MatchString(out) {
		t.Errorf("ls rc %d, stdout:\n%s\nstderr %s\nwant a row matching %s", rc, out, errOut, want)
	}

	out, _, rc = s.run(t, "describe", "hp2")
	for _, want := range []string{`(?m)^Endpoint hp2$`, `Status:\s+InService\n`, `(?m)^Endpoint config hp2$`, `Memory:\s+1024 MB\n`,
		`(?m)^Model hp2$`, `Model data:\s+s3://sagemaker-us-east-1-000000000000/inferd/hp2/[0-9a-f]{16}/model.tar.gz\n`, `Image:\s+\S+/tensorflow-inference:`} {
		if rc != 0 || !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("describe rc %d lacks %s:\n%s", rc, want, out)
		}
	}

	// A redeploy of the same model: the upload is skipped, new model and
	// config names, the endpoint updated, the old ones removed.
	out, errOut, rc = s.run(t, "deploy", model, "--name", "hp2", "--memory", "2048", "--max-concurrency", "5", "--provisioned", "1")
	if rc != 0 {
		t.Fatalf("redeploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	for _, want := range []string{"already uploaded", "updating endpoint hp2 (was config hp2)", "created model hp2-"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("redeploy stderr lacks %q:\n%s", want, errOut)
		}
	}
	out, _, _ = s.run(t, "ls")
	if want := regexp.MustCompile(`(?m)^hp2\s+InService\s+hp2-\d{8}-\d{6}\s+hp2-\d{8}-\d{6}\s+2048\s+5\s+1\s`); !want.MatchString(out) {
		t.Errorf("ls after redeploy:\n%s\nwant a row matching %s", out, want)
	}
	sm := s.sagemaker(t)
	if _, err := sm.DescribeEndpointConfig(context.Background(), &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: aws.String("hp2")}); !gone(err) {
		t.Errorf("old config hp2 after redeploy: err %v, want not found", err)
	}
	out, _, rc = s.run(t, "invoke", "hp2", "--json", req)
	if got := predictions(t, out); rc != 0 || !slices.Equal(got, []float64{2.5, 3.0, 4.5}) {
		t.Errorf("invoke after redeploy rc %d predictions %v", rc, got)
	}

	out, errOut, rc = s.run(t, "rm", "hp2")
	if rc != 0 || !strings.Contains(out, "deleted endpoint hp2\n") || !strings.Contains(out, "deleted model hp2-") {
		t.Fatalf("rm rc %d stdout:\n%s\nstderr %s", rc, out, errOut)
	}
	models, err := sm.ListModels(context.Background(), &sagemaker.ListModelsInput{})
	if err != nil || len(models.Models) != 0 {
		t.Errorf("models after rm: %v (err %v), want none", models, err)
	}
	for _, args := range [][]string{{"invoke", "hp2", "--json", req}, {"describe", "hp2"}, {"rm", "hp2"}} {
		_, errOut, rc = s.run(t, args...)
		if want := "endpoint hp2 not found: run `inferd ls`"; rc != exitNotFound || !strings.Contains(errOut, want) {
			t.Errorf("%s after rm: rc %d stderr %q, want rc %d and %q", args[0], rc, errOut, exitNotFound, want)
		}
	}
	out, errOut, rc = s.run(t, "ls")
	if rc != 0 || out != "" || !strings.Contains(errOut, "no endpoints") {
		t.Errorf("ls after rm: rc %d stdout %q stderr %q", rc, out, errOut)
	}
}

// TestDeployImageCNN deploys the rock-paper-scissors CNN from a bare
// SavedModel folder (packed under 1/) and classifies a photo of paper.
func TestDeployImageCNN(t *testing.T) {
	model := sharedFixture(t, "savedmodels/rps_cnn_hyuto/saved_model")
	img := sharedFixture(t, "savedmodels/rps_cnn_hyuto/test/testpaper01-00.png")
	s := startServer(t)
	if out, errOut, rc := s.run(t, "deploy", model, "--name", "rps"); rc != 0 {
		t.Fatalf("deploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	// No --size: invoke reads 128x128x3 from the model's signature.
	out, errOut, rc := s.run(t, "invoke", "rps", "--image", img)
	var resp struct{ Predictions [][]float64 }
	if err := json.Unmarshal([]byte(out), &resp); rc != 0 || err != nil || len(resp.Predictions) != 1 || len(resp.Predictions[0]) != 3 {
		t.Fatalf("invoke rc %d stdout %q stderr %q (json err %v)", rc, out, errOut, err)
	}
	p := resp.Predictions[0]
	if best := slices.Index(p, slices.Max(p)); best != 1 {
		t.Errorf("predictions %v: class %d, want 1 (paper)", p, best)
	}
	// A --size other than the model's is sent as asked: the global max
	// pool takes any size, and the answer differs.
	out, errOut, rc = s.run(t, "invoke", "rps", "--image", img, "--size", "64x64")
	var small struct{ Predictions [][]float64 }
	if err := json.Unmarshal([]byte(out), &small); rc != 0 || err != nil || len(small.Predictions) != 1 || len(small.Predictions[0]) != 3 {
		t.Fatalf("invoke --size 64x64: rc %d stdout %q stderr %q (json err %v)", rc, out, errOut, err)
	}
	if q := small.Predictions[0]; slices.Equal(q, p) || slices.Index(q, slices.Max(q)) != 1 {
		t.Errorf("predictions at 64x64 %v, at 128x128 %v: want different numbers, both class 1", q, p)
	}

	out, errOut, rc = s.run(t, "rm", "rps", "--keep-model")
	if rc != 0 || !strings.Contains(out, "kept model rps\n") {
		t.Fatalf("rm --keep-model rc %d stdout %q stderr %q", rc, out, errOut)
	}
	if _, err := s.sagemaker(t).DescribeModel(context.Background(), &sagemaker.DescribeModelInput{ModelName: aws.String("rps")}); err != nil {
		t.Errorf("model rps after rm --keep-model: %v", err)
	}
	// The kept model's name is taken: a new deploy names its model with a suffix.
	// The folder packs to the same archive, which is not uploaded again.
	if out, errOut, rc := s.run(t, "deploy", model, "--name", "rps"); rc != 0 || !strings.Contains(errOut, "created model rps-") || !strings.Contains(errOut, "already uploaded") {
		t.Errorf("deploy over a kept model: rc %d stdout %q stderr %q", rc, out, errOut)
	}
}

// predictions returns the flat predictions of a TF Serving answer.
func predictions(t *testing.T, body string) []float64 {
	t.Helper()
	var resp struct{ Predictions []float64 }
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Errorf("response %q: %v", body, err)
	}
	return resp.Predictions
}

func TestPackDir(t *testing.T) {
	hp2 := sharedFixture(t, "savedmodels/tfserving/saved_model_half_plus_two_cpu")
	tests := []struct {
		name, dir string
		want      []string
	}{
		{"bare SavedModel goes under 1/", filepath.Join(hp2, "00000123"),
			[]string{"1/", "1/assets/", "1/assets/foo.txt", "1/saved_model.pb", "1/variables/", "1/variables/variables.data-00000-of-00001", "1/variables/variables.index"}},
		{"version folders kept", hp2,
			[]string{"00000123/", "00000123/assets/", "00000123/assets/foo.txt", "00000123/saved_model.pb", "00000123/variables/",
				"00000123/variables/variables.data-00000-of-00001", "00000123/variables/variables.index"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			archive, format, cleanup, err := modelArchive(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			if format != artifact.SavedModel {
				t.Errorf("format %s, want %s", format, artifact.SavedModel)
			}
			// Packing again gives the same bytes, so the upload is skipped.
			again, _, cleanup2, err := modelArchive(tc.dir)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup2()
			d1, _, err1 := fileDigest(archive)
			d2, _, err2 := fileDigest(again)
			if err1 != nil || err2 != nil || d1 != d2 {
				t.Errorf("two packings differ: %s (%v), %s (%v)", d1, err1, d2, err2)
			}
			got, sizes := tarNames(t, archive)
			if !slices.Equal(got, tc.want) {
				t.Errorf("members %q, want %q", got, tc.want)
			}
			st, err := os.Stat(filepath.Join(hp2, "00000123", "saved_model.pb"))
			if err != nil {
				t.Fatal(err)
			}
			if pb := tc.want[3]; sizes[pb] != st.Size() {
				t.Errorf("%s is %d bytes in the archive, want %d", pb, sizes[pb], st.Size())
			}
		})
	}
}

func tarNames(t *testing.T, path string) ([]string, map[string]int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var names []string
	sizes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names, sizes
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		n, _ := io.Copy(io.Discard, tr)
		sizes[h.Name] = n
	}
}

func TestFreeName(t *testing.T) {
	notFound := &smithy.GenericAPIError{Code: "ValidationException", Message: "Could not find model \"x\"."}
	tests := []struct {
		name    string
		taken   []string
		want    string
		wantErr string
	}{
		{"base free", nil, "m", ""},
		{"base taken", []string{"m"}, "m-t", ""},
		{"suffix taken too", []string{"m", "m-t"}, "m-t-2", ""},
		{"all taken", []string{"m", "m-t", "m-t-2", "m-t-3", "m-t-4", "m-t-5", "m-t-6", "m-t-7", "m-t-8", "m-t-9", "m-t-10"}, "", "no free name for m-t"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := freeName("m", "-t", func(n string) error {
				if slices.Contains(tc.taken, n) {
					return nil
				}
				return notFound
			})
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("freeName = %q, %v; want %q, error %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
	// Errors other than not-found stop the search.
	if _, err := freeName("m", "-t", func(string) error { return errors.New("boom") }); err == nil || err.Error() != "boom" {
		t.Errorf("freeName with a failing describe: %v, want boom", err)
	}
}

// TestUploadMultipart uploads a file larger than one part through the
// multipart path, then again (skipped), and reads it back.
func TestUploadMultipart(t *testing.T) {
	s := startServer(t)
	cf := clientFlags{url: s.url, region: "us-east-1", dataDir: s.dataDir}
	c, err := cf.connect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 2*uploadPartSize+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	path := filepath.Join(t.TempDir(), "model.tar.gz")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ensureBucket(ctx, c, "bkt"); err != nil {
		t.Fatal(err)
	}
	if err := ensureBucket(ctx, c, "bkt"); err != nil {
		t.Fatalf("ensureBucket on an existing bucket: %v", err)
	}
	for i, want := range []string{"uploading 16.0 MiB to s3://bkt/k\nuploaded\n", "s3://bkt/k already uploaded (16.0 MiB)\n"} {
		var errOut bytes.Buffer
		if err := upload(ctx, Env{Stderr: &errOut}, c, path, int64(len(data)), "bkt", "k"); err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		if errOut.String() != want {
			t.Errorf("upload %d printed %q, want %q", i, errOut.String(), want)
		}
	}
	obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("bkt"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Body.Close()
	got, err := io.ReadAll(obj.Body)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("object read back: %d bytes (err %v), want the %d bytes uploaded", len(got), err, len(data))
	}
	if etag := aws.ToString(obj.ETag); !strings.HasSuffix(etag, `-3"`) {
		t.Errorf("ETag %s, want a 3-part multipart ETag", etag)
	}
}
