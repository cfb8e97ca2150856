package console

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
)

// deployImage is the image deployed models name: a TensorFlow Serving
// image, which inferd maps to its TensorFlow runtime.
const deployImage = "763104351884.dkr.ecr.%s.amazonaws.com/tensorflow-inference:2.6.0-cpu-py38-ubuntu20.04"

// deployForm is the deploy form's values, echoed back on an error.
type deployForm struct {
	Name, Memory, MaxConcurrency, Provisioned string
	Bucket                                    string
	Memories                                  []int
}

var memorySizes = []int{1024, 2048, 3072, 4096, 5120, 6144}

func (c *Console) bucketName() string { return "sagemaker-" + c.cfg.Region + "-" + c.cfg.AccountID }

func (c *Console) deployPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.page(w, r, s, "deploy", "Deploy a model", deployForm{Memory: "2048", MaxConcurrency: "20", Bucket: c.bucketName(), Memories: memorySizes}, nil)
}

// deploy uploads a model.tar.gz (or packs a SavedModel or ONNX folder) into the
// bucket sagemaker-{region}-{account} and creates a model, an endpoint
// configuration with one serverless variant and an endpoint, all named
// after the form's name, through the control plane's own API.
func (c *Console) deploy(w http.ResponseWriter, r *http.Request, s *session) {
	f := deployForm{
		Name: strings.TrimSpace(r.FormValue("name")), Memory: strings.TrimSpace(r.FormValue("memory")),
		MaxConcurrency: strings.TrimSpace(r.FormValue("max_concurrency")), Provisioned: strings.TrimSpace(r.FormValue("provisioned")),
		Bucket: c.bucketName(), Memories: memorySizes,
	}
	fail := func(status int, err error) {
		d := pageData{Title: "Deploy a model", Nav: "deploy", CSRF: s.csrf, Error: err.Error(), Data: f}
		c.render(w, status, "deploy", d)
	}
	if f.Name == "" {
		fail(http.StatusBadRequest, errors.New("Name the endpoint."))
		return
	}
	memory, err1 := strconv.Atoi(f.Memory)
	maxConc, err2 := strconv.Atoi(f.MaxConcurrency)
	if err1 != nil || err2 != nil {
		fail(http.StatusBadRequest, errors.New("Memory and max concurrency must be whole numbers."))
		return
	}
	sc := serverlessConfig{MemorySizeInMB: memory, MaxConcurrency: maxConc}
	if f.Provisioned != "" {
		p, err := strconv.Atoi(f.Provisioned)
		if err != nil {
			fail(http.StatusBadRequest, errors.New("Provisioned concurrency must be a whole number."))
			return
		}
		sc.ProvisionedConcurrency = p
	}
	body, size, cleanup, err := modelArchive(r.MultipartForm)
	if err != nil {
		fail(http.StatusBadRequest, err)
		return
	}
	defer cleanup()
	if err := c.createEndpoint(r.Context(), s, f.Name, body, size, sc); err != nil {
		status := http.StatusBadRequest
		var ae *APIError
		if errors.As(err, &ae) && ae.Status >= 500 {
			status = ae.Status
		}
		fail(status, err)
		return
	}
	// No notice in the URL: the page's status shows Creating, and the
	// endpoint page keeps a stable address.
	back(w, r, "/console/endpoints/"+url.PathEscape(f.Name), "")
}

// createEndpoint stores the model data and creates the three resources.
func (c *Console) createEndpoint(ctx context.Context, s *session, name string, body io.Reader, size int64, sc serverlessConfig) error {
	bucket := c.bucketName()
	if _, err := c.s3Call(ctx, s, http.MethodPut, "/"+bucket, nil, nil, 0, ""); err != nil {
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
	}
	key := name + "/model.tar.gz"
	if _, err := c.s3Call(ctx, s, http.MethodPut, objectPath(bucket, key), nil, body, size, "application/gzip"); err != nil {
		return fmt.Errorf("uploading s3://%s/%s: %w", bucket, key, err)
	}
	model := map[string]any{
		"ModelName":        name,
		"ExecutionRoleArn": "arn:aws:iam::" + c.cfg.AccountID + ":role/inferd-console",
		"PrimaryContainer": containerDef{Image: fmt.Sprintf(deployImage, c.cfg.Region), Mode: "SingleModel",
			ModelDataUrl: "s3://" + bucket + "/" + key},
	}
	if err := c.sageMaker(ctx, s, "CreateModel", model, nil); err != nil {
		return fmt.Errorf("CreateModel: %w", err)
	}
	config := map[string]any{
		"EndpointConfigName": name,
		"ProductionVariants": []productionVariant{{VariantName: "AllTraffic", ModelName: name, ServerlessConfig: &sc}},
	}
	if err := c.sageMaker(ctx, s, "CreateEndpointConfig", config, nil); err != nil {
		return fmt.Errorf("CreateEndpointConfig (model %s was created): %w", name, err)
	}
	if err := c.sageMaker(ctx, s, "CreateEndpoint", map[string]string{"EndpointName": name, "EndpointConfigName": name}, nil); err != nil {
		return fmt.Errorf("CreateEndpoint (model and configuration %s were created): %w", name, err)
	}
	return nil
}

// modelArchive returns the model.tar.gz of the form: the uploaded
// archive, or the uploaded folder packed into one. The folder's relative
// paths come in the fields "paths", in file order, as the browser's
// multipart encoding keeps only base names.
func modelArchive(form *multipart.Form) (body io.Reader, size int64, cleanup func(), err error) {
	if form == nil {
		return nil, 0, nil, errors.New("Choose a model.tar.gz, or a folder holding a SavedModel or an ONNX model.")
	}
	if fhs := form.File["model"]; len(fhs) > 0 && fhs[0].Size > 0 {
		f, err := fhs[0].Open()
		if err != nil {
			return nil, 0, nil, err
		}
		return f, fhs[0].Size, func() { f.Close() }, nil
	}
	files := form.File["folder"]
	if len(files) == 0 {
		return nil, 0, nil, errors.New("Choose a model.tar.gz, or a folder holding a SavedModel or an ONNX model.")
	}
	paths := form.Value["paths"]
	tmp, err := os.CreateTemp("", "inferd-console-*.tar.gz")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup = func() { tmp.Close(); os.Remove(tmp.Name()) }
	if err := packFolder(tmp, files, paths); err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	st, err := tmp.Stat()
	if err == nil {
		_, err = tmp.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return tmp, st.Size(), cleanup, nil
}

// packFolder writes the files as a gzipped tar. The first path element
// (the folder the user chose) is dropped, so the archive holds what the
// folder holds.
func packFolder(w io.Writer, files []*multipart.FileHeader, paths []string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for i, fh := range files {
		name := fh.Filename
		if i < len(paths) && paths[i] != "" {
			name = paths[i]
		}
		name = path.Clean(strings.ReplaceAll(name, "\\", "/"))
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") || name == "." {
			return fmt.Errorf("The folder holds a file with an unsafe name %q.", name)
		}
		if _, rest, ok := strings.Cut(name, "/"); ok && len(paths) == len(files) {
			name = rest
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: fh.Size, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
