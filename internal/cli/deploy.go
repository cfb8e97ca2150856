package cli

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"inferd/internal/artifact"
)

func init() {
	register("deploy", "deploy a SavedModel folder, an ONNX model or a model.tar.gz as a serverless endpoint", runDeploy)
}

// deployPollInterval is how often deploy asks whether the endpoint is up.
const deployPollInterval = 500 * time.Millisecond

// uploadPartSize is the part size of multipart uploads; smaller archives
// go up in one PutObject.
const uploadPartSize = 8 << 20

// defaultImage is the container image deploy names in the model of a
// SavedModel: the AWS TensorFlow inference image of the region, which
// inferd serves with its built-in runtime and which real SageMaker would
// run too.
const defaultImage = "763104351884.dkr.ecr.%s.amazonaws.com/tensorflow-inference:2.13-cpu"

// defaultONNXImage is the container image deploy names in the model of an
// ONNX model, given the account and the region: an ONNX Runtime inference
// image in the account's own registry (AWS publishes none), which inferd
// maps to its onnx runtime (internal/images: a repository named
// onnxruntime-inference).
const defaultONNXImage = "%s.dkr.ecr.%s.amazonaws.com/onnxruntime-inference:1.17-cpu"

// imageFor is the default image of a model in format.
func imageFor(format artifact.Format, account, region string) string {
	if format == artifact.ONNX {
		return fmt.Sprintf(defaultONNXImage, account, region)
	}
	return fmt.Sprintf(defaultImage, region)
}

// patResourceName is SageMaker's pattern for model, config and endpoint
// names.
var patResourceName = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

type deployOptions struct {
	path           string
	name           string
	memory         int
	maxConcurrency int
	provisioned    int
	image          string
	timeout        time.Duration
}

func runDeploy(ctx context.Context, env Env, args []string) int {
	fs, cf := newFlagSet(env, "deploy", "inferd deploy PATH --name NAME [--memory MB] [--max-concurrency N] [--provisioned N]\n\n"+
		"PATH is a SavedModel folder, an ONNX model (a .onnx file, packed with its external data\n"+
		"files, or a folder holding one) or a model.tar.gz. A folder is packed as model.tar.gz, under\n"+
		"version 1/ unless it has numeric version folders. Creates the endpoint NAME, or updates it\n"+
		"when it exists, and waits until it is InService.")
	var o deployOptions
	fs.StringVar(&o.name, "name", "", "endpoint `name` (also the model's and the config's name)")
	fs.IntVar(&o.memory, "memory", 2048, "serverless memory `MB`: 1024, 2048, 3072, 4096, 5120 or 6144")
	fs.IntVar(&o.maxConcurrency, "max-concurrency", 20, "serverless MaxConcurrency, 1-200")
	fs.IntVar(&o.provisioned, "provisioned", 0, "serverless ProvisionedConcurrency (workers kept warm), 0 for none")
	fs.StringVar(&o.image, "image", "", "container `image` named in the model (default the AWS tensorflow-inference image of the region; for an ONNX model, onnxruntime-inference in the account's registry)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "how long to wait for the endpoint to be InService")
	pos, code, ok := parseArgs(fs, args)
	if !ok {
		return code
	}
	if msg := o.validate(pos); msg != "" {
		fmt.Fprintf(env.Stderr, "inferd deploy: %s\n", msg)
		return exitUsage
	}
	o.path = pos[0]
	c, err := cf.connect(ctx)
	if err != nil {
		return (&clients{url: cf.url, dataDir: cf.dataDir}).fail(env, "deploy", err)
	}
	if err := deploy(ctx, env, c, o); err != nil {
		return c.fail(env, "deploy", err)
	}
	return exitOK
}

// validate returns what is wrong with the arguments, or "".
func (o *deployOptions) validate(pos []string) string {
	switch {
	case len(pos) != 1:
		return "need exactly one PATH (a SavedModel folder, an ONNX model or a model.tar.gz); see inferd deploy -h"
	case o.name == "":
		return "--name is required"
	case len(o.name) > 44 || !patResourceName.MatchString(o.name):
		return fmt.Sprintf("--name %q: use up to 44 letters, digits and hyphens, starting with a letter or digit", o.name)
	case o.memory < 1024 || o.memory > 6144 || o.memory%1024 != 0:
		return fmt.Sprintf("--memory %d: must be one of 1024, 2048, 3072, 4096, 5120, 6144", o.memory)
	case o.maxConcurrency < 1 || o.maxConcurrency > 200:
		return fmt.Sprintf("--max-concurrency %d: must be 1-200", o.maxConcurrency)
	case o.provisioned < 0 || o.provisioned > o.maxConcurrency:
		return fmt.Sprintf("--provisioned %d: must be 0-%d (at most --max-concurrency)", o.provisioned, o.maxConcurrency)
	case o.timeout <= 0:
		return "--timeout must be positive"
	}
	return ""
}

func deploy(ctx context.Context, env Env, c *clients, o deployOptions) error {
	archive, format, cleanup, err := modelArchive(o.path)
	if err != nil {
		return err
	}
	defer cleanup()

	// The endpoint as it is now; nil when it does not exist.
	old, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &o.name})
	switch {
	case gone(err):
		old = nil
	case err != nil:
		return err
	case old.EndpointStatus == smtypes.EndpointStatusCreating || old.EndpointStatus == smtypes.EndpointStatusUpdating:
		return failf(exitFailed, "endpoint %s is %s: wait until it is done (`inferd describe %s`), then deploy again", o.name, old.EndpointStatus, o.name)
	}

	id, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return err
	}
	account := aws.ToString(id.Account)
	if o.image == "" {
		o.image = imageFor(format, account, c.region)
	}
	bucket := fmt.Sprintf("sagemaker-%s-%s", c.region, account)
	if err := ensureBucket(ctx, c, bucket); err != nil {
		return err
	}
	sum, size, err := fileDigest(archive)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("inferd/%s/%s/model.tar.gz", o.name, sum[:16])
	if err := upload(ctx, env, c, archive, size, bucket, key); err != nil {
		return err
	}
	dataURL := "s3://" + bucket + "/" + key

	// Models and configs are immutable: a redeploy makes new ones, named
	// with a time suffix, and points the endpoint at them. Until the
	// endpoint is pointed at them, a failure removes what was made.
	var made []func() error
	defer func() {
		for i := len(made) - 1; i >= 0; i-- {
			made[i]()
		}
	}()
	suffix := "-" + time.Now().UTC().Format("20060102-150405")
	modelName, err := freeName(o.name, suffix, func(n string) error {
		_, err := c.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: &n})
		return err
	})
	if err != nil {
		return err
	}
	_, err = c.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
		ModelName:        &modelName,
		ExecutionRoleArn: aws.String(fmt.Sprintf("arn:aws:iam::%s:role/inferd", account)),
		Containers: []smtypes.ContainerDefinition{{
			Image: &o.image, Mode: smtypes.ContainerModeSingleModel, ModelDataUrl: &dataURL,
		}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "created model %s (image %s)\n", modelName, o.image)
	made = append(made, func() error {
		_, err := c.sm.DeleteModel(context.WithoutCancel(ctx), &sagemaker.DeleteModelInput{ModelName: &modelName})
		return err
	})

	configName, err := freeName(o.name, suffix, func(n string) error {
		_, err := c.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: &n})
		return err
	})
	if err != nil {
		return err
	}
	sc := &smtypes.ProductionVariantServerlessConfig{
		MemorySizeInMB: aws.Int32(int32(o.memory)), MaxConcurrency: aws.Int32(int32(o.maxConcurrency)),
	}
	if o.provisioned > 0 {
		sc.ProvisionedConcurrency = aws.Int32(int32(o.provisioned))
	}
	_, err = c.sm.CreateEndpointConfig(ctx, &sagemaker.CreateEndpointConfigInput{
		EndpointConfigName: &configName,
		ProductionVariants: []smtypes.ProductionVariant{{
			ModelName: &modelName, VariantName: aws.String("AllTraffic"), ServerlessConfig: sc,
		}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "created endpoint config %s\n", configName)
	made = append(made, func() error {
		_, err := c.sm.DeleteEndpointConfig(context.WithoutCancel(ctx), &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: &configName})
		return err
	})

	switch {
	case old == nil:
		if _, err := c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: &o.name, EndpointConfigName: &configName}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "creating endpoint %s\n", o.name)
	case old.EndpointStatus == smtypes.EndpointStatusFailed:
		// A failed endpoint cannot be updated: it is made again.
		if _, err := c.sm.DeleteEndpoint(ctx, &sagemaker.DeleteEndpointInput{EndpointName: &o.name}); err != nil {
			return err
		}
		if _, err := c.sm.CreateEndpoint(ctx, &sagemaker.CreateEndpointInput{EndpointName: &o.name, EndpointConfigName: &configName}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "endpoint %s had failed: deleted it, creating it again\n", o.name)
	default:
		if _, err := c.sm.UpdateEndpoint(ctx, &sagemaker.UpdateEndpointInput{EndpointName: &o.name, EndpointConfigName: &configName}); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "updating endpoint %s (was config %s)\n", o.name, aws.ToString(old.EndpointConfigName))
	}
	made = nil // the endpoint uses them now

	waitCtx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	serving, err := waitInService(waitCtx, env, c, o.name)
	if err != nil {
		return err
	}
	if got := aws.ToString(serving.EndpointConfigName); got != configName {
		// A failed update leaves the endpoint InService on its old config.
		removeOld(ctx, env, c, o.name, configName)
		return failf(exitFailed, "update of endpoint %s failed: %s; it still serves config %s (see `inferd logs %s`)",
			o.name, aws.ToString(serving.FailureReason), got, o.name)
	}
	if old != nil {
		removeOld(ctx, env, c, o.name, aws.ToString(old.EndpointConfigName))
	}
	fmt.Fprintf(env.Stdout, "endpoint %s is InService (model %s, config %s, %s)\n\n", o.name, modelName, configName, dataURL)
	fmt.Fprint(env.Stdout, boto3Snippet(c.url, c.region, o.name))
	return nil
}

// removeOld deletes a config that no longer serves (the one an update
// replaced, or one whose update failed) and its models, when their names
// show deploy made them for this endpoint. Failures are only reported.
func removeOld(ctx context.Context, env Env, c *clients, name, configName string) {
	ours := func(n string) bool { return n == name || strings.HasPrefix(n, name+"-") }
	if !ours(configName) {
		return
	}
	cfg, err := c.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: &configName})
	if err == nil {
		_, err = c.sm.DeleteEndpointConfig(ctx, &sagemaker.DeleteEndpointConfigInput{EndpointConfigName: &configName})
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "note: could not remove config %s: %v\n", configName, err)
		return
	}
	for _, v := range cfg.ProductionVariants {
		if m := aws.ToString(v.ModelName); ours(m) {
			if _, err := c.sm.DeleteModel(ctx, &sagemaker.DeleteModelInput{ModelName: &m}); err != nil {
				fmt.Fprintf(env.Stderr, "note: could not remove model %s: %v\n", m, err)
			}
		}
	}
}

// freeName returns the first of base, base+suffix, base+suffix+"-2", ...
// that describe says does not exist.
func freeName(base, suffix string, describe func(string) error) (string, error) {
	name := base
	for i := 1; i <= 10; i++ {
		err := describe(name)
		var api smithy.APIError
		switch {
		case errors.As(err, &api) && isNotFound(api):
			return name, nil
		case err != nil:
			return "", err
		}
		name = base + suffix
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
	}
	return "", failf(exitFailed, "no free name for %s%s: run `inferd ls` and remove old versions", base, suffix)
}

// waitInService polls the endpoint until it is InService, showing a
// spinner on a terminal and one line per status change elsewhere, and
// returns its last description.
func waitInService(ctx context.Context, env Env, c *clients, name string) (*sagemaker.DescribeEndpointOutput, error) {
	tty := isTerminal(env.Stderr)
	// endLine ends the spinner's line before anything else is printed.
	endLine := func() {
		if tty {
			fmt.Fprintln(env.Stderr)
		}
	}
	start := time.Now()
	status := ""
	timedOut := func() error {
		endLine()
		return failf(exitFailed, "endpoint %s is not InService after %s (status %s): see `inferd describe %s` and `inferd logs %s`",
			name, time.Since(start).Round(time.Second), status, name, name)
	}
	spin := spinner{w: env.Stderr}
	var nextPoll time.Time
	for {
		if now := time.Now(); !now.Before(nextPoll) {
			nextPoll = now.Add(deployPollInterval)
			out, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &name})
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, timedOut()
			}
			if err != nil {
				endLine()
				return nil, err
			}
			if s := string(out.EndpointStatus); s != status && !tty {
				fmt.Fprintf(env.Stderr, "endpoint %s: %s\n", name, s)
			}
			status = string(out.EndpointStatus)
			switch out.EndpointStatus {
			case smtypes.EndpointStatusInService:
				if tty {
					spin.draw(fmt.Sprintf("endpoint %s: %s (%s)", name, status, time.Since(start).Round(time.Second)))
				}
				endLine()
				return out, nil
			case smtypes.EndpointStatusFailed:
				endLine()
				return nil, failf(exitFailed, "endpoint %s failed: %s (see `inferd logs %s`)", name, aws.ToString(out.FailureReason), name)
			}
		}
		if tty {
			spin.draw(fmt.Sprintf("waiting for endpoint %s: %s (%s)", name, status, time.Since(start).Round(time.Second)))
		}
		wait := deployPollInterval
		if tty {
			wait = spinnerInterval
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, timedOut()
			}
			endLine()
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// spinnerInterval is how often a terminal spinner turns.
const spinnerInterval = 100 * time.Millisecond

// spinner redraws one terminal line with a turning mark in front.
type spinner struct {
	w     io.Writer
	frame int
	width int // of the last line drawn, to blank what a shorter one leaves
}

func (s *spinner) draw(msg string) {
	frames := `|/-\`
	line := fmt.Sprintf("%c %s", frames[s.frame%len(frames)], msg)
	s.frame++
	pad := max(0, s.width-len(line))
	s.width = len(line)
	fmt.Fprintf(s.w, "\r%s%s", line, strings.Repeat(" ", pad))
}

// boto3Snippet is the Python that invokes the endpoint, printed after a
// deploy for pasting.
func boto3Snippet(url, region, name string) string {
	return fmt.Sprintf(`# invoke it from Python (credentials: the export lines of `+"`inferd serve`"+`):
import json, boto3
rt = boto3.client("sagemaker-runtime", endpoint_url=%q, region_name=%q)
r = rt.invoke_endpoint(EndpointName=%q, ContentType="application/json",
                       Body=json.dumps({"instances": [[1.0]]}))  # rows in your model's input shape
print(json.loads(r["Body"].read()))
# or: inferd invoke %s --json request.json
`, url, region, name, name)
}

// ensureBucket creates bucket unless it exists.
func ensureBucket(ctx context.Context, c *clients, bucket string) error {
	_, err := c.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket})
	var api smithy.APIError
	if err == nil || !errors.As(err, &api) || !isNotFound(api) {
		return err
	}
	in := &s3.CreateBucketInput{Bucket: &bucket}
	if c.region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(c.region)}
	}
	_, err = c.s3.CreateBucket(ctx, in)
	var owned *s3types.BucketAlreadyOwnedByYou
	if errors.As(err, &owned) {
		return nil
	}
	return err
}

// upload puts the archive at bucket/key, skipping it when an object of
// the same size is already there (the key names the content's digest).
func upload(ctx context.Context, env Env, c *clients, path string, size int64, bucket, key string) error {
	head, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil && aws.ToInt64(head.ContentLength) == size {
		fmt.Fprintf(env.Stderr, "s3://%s/%s already uploaded (%s)\n", bucket, key, humanBytes(size))
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p := newProgress(env.Stderr, fmt.Sprintf("uploading %s to s3://%s/%s", humanBytes(size), bucket, key), size)
	if size <= uploadPartSize {
		_, err = c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: f, ContentLength: aws.Int64(size)})
		if err != nil {
			return err
		}
		p.done(size)
		return nil
	}
	mp, err := c.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return err
	}
	abort := func(err error) error {
		_, _ = c.s3.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: &key, UploadId: mp.UploadId})
		return err
	}
	var parts []s3types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+uploadPartSize {
		length := min(uploadPartSize, size-off)
		out, err := c.s3.UploadPart(ctx, &s3.UploadPartInput{
			Bucket: &bucket, Key: &key, UploadId: mp.UploadId, PartNumber: aws.Int32(n),
			Body: io.NewSectionReader(f, off, length), ContentLength: aws.Int64(length),
		})
		if err != nil {
			return abort(err)
		}
		parts = append(parts, s3types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
		p.done(off + length)
	}
	_, err = c.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &bucket, Key: &key, UploadId: mp.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(err)
	}
	return nil
}

// progress reports an upload: a redrawn bar on a terminal, a line at the
// start and one at the end elsewhere.
type progress struct {
	w     io.Writer
	tty   bool
	label string
	total int64
}

func newProgress(w io.Writer, label string, total int64) *progress {
	p := &progress{w: w, tty: isTerminal(w), label: label, total: total}
	if p.tty {
		p.draw(0)
	} else {
		fmt.Fprintln(w, label)
	}
	return p
}

func (p *progress) draw(n int64) {
	const width = 30
	frac := 1.0
	if p.total > 0 {
		frac = float64(n) / float64(p.total)
	}
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%%", p.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill), 100*frac)
}

// done records that n bytes are up.
func (p *progress) done(n int64) {
	if p.tty {
		p.draw(n)
		if n >= p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	if n >= p.total {
		fmt.Fprintln(p.w, "uploaded")
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// modelArchive returns the path of a model.tar.gz for path and the format
// of the model it holds: path itself when it is an archive, else a
// temporary archive, which cleanup removes, of the folder or of the .onnx
// file (under 1/, with the external data files it names).
func modelArchive(path string) (archive string, format artifact.Format, cleanup func(), err error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", nil, failf(exitNotFound, "%v", err)
	}
	var pack func(io.Writer) error
	switch {
	case !st.IsDir() && artifact.IsONNXFile(path):
		format = artifact.ONNX
		dir, names, err := onnxFiles(path)
		if err != nil {
			return "", "", nil, err
		}
		pack = func(w io.Writer) error { return packFiles(w, dir, "1/", names) }
	case !st.IsDir():
		if !strings.HasSuffix(path, ".tar.gz") && !strings.HasSuffix(path, ".tgz") {
			return "", "", nil, failf(exitUsage, "%s is neither a folder, a .onnx file nor a .tar.gz: point deploy at a SavedModel folder, an ONNX model or a model.tar.gz", path)
		}
		return path, archiveFormat(path), func() {}, nil
	default:
		format = artifact.Detect(path)
		prefix, err := archivePrefix(path, format)
		if err != nil {
			return "", "", nil, err
		}
		pack = func(w io.Writer) error { return packDir(w, path, prefix) }
	}
	f, err := os.CreateTemp("", "inferd-model-*.tar.gz")
	if err != nil {
		return "", "", nil, err
	}
	cleanup = func() { os.Remove(f.Name()) }
	if err := pack(f); err != nil {
		f.Close()
		cleanup()
		return "", "", nil, err
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", "", nil, err
	}
	return f.Name(), format, cleanup, nil
}

// onnxFiles returns what deploy packs for the ONNX model in file: its
// folder and the slash-separated names in it of the model and of the
// external data files the model reads.
func onnxFiles(file string) (dir string, names []string, err error) {
	info, err := readONNXInfo(file)
	if err != nil {
		return "", nil, failf(exitUsage, "%v", err)
	}
	dir = filepath.Dir(file)
	names = []string{filepath.Base(file)}
	for _, loc := range info.external {
		name, err := externalPath(loc)
		if err != nil {
			return "", nil, failf(exitUsage, "%s: %v", file, err)
		}
		if st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name))); err != nil || !st.Mode().IsRegular() {
			return "", nil, failf(exitNotFound, "%s reads external data from %s, which is not a file next to it", file, name)
		}
		names = append(names, name)
	}
	return dir, names, nil
}

// archiveFormat tells the format of the model in a model.tar.gz by its
// member names, as a worker tells it by content (artifact.Detect): ONNX
// when it holds a .onnx file and no SavedModel. An archive it cannot read
// is taken for a SavedModel; the server reports what is wrong with it.
func archiveFormat(archive string) artifact.Format {
	f, err := os.Open(archive)
	if err != nil {
		return artifact.SavedModel
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return artifact.SavedModel
	}
	tr := tar.NewReader(gz)
	onnx := false
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch base := path.Base(h.Name); {
		case base == "saved_model.pb" || base == "saved_model.pbtxt":
			return artifact.SavedModel
		case artifact.IsONNXFile(base):
			onnx = true
		}
	}
	if onnx {
		return artifact.ONNX
	}
	return artifact.SavedModel
}

// archivePrefix decides where dir's files go in the archive: under "1/"
// when dir is the model itself (a SavedModel, or a folder directly
// holding the .onnx file served; TF Serving wants numbered versions), at
// the root when it holds numeric version folders or deeper models. A
// folder of ONNX models a worker could not choose among is refused here.
func archivePrefix(dir string, format artifact.Format) (string, error) {
	if format == artifact.ONNX {
		file, err := artifact.FindONNX(dir, "")
		if err != nil {
			return "", failf(exitUsage, "%v", err)
		}
		if filepath.Clean(filepath.Dir(file)) == filepath.Clean(dir) {
			return "1/", nil
		}
		return "", nil
	}
	if exists(filepath.Join(dir, "saved_model.pb")) || exists(filepath.Join(dir, "saved_model.pbtxt")) {
		return "1/", nil
	}
	found := false
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (d.Name() == "saved_model.pb" || d.Name() == "saved_model.pbtxt") {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if !found {
		return "", failf(exitUsage, "no saved_model.pb or .onnx file under %s: point deploy at a SavedModel folder (saved_model.pb + variables/), an ONNX model (.onnx) or a model.tar.gz", dir)
	}
	return "", nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// packFiles writes the files names (slash-separated, relative to dir)
// as a gzipped tar, each under prefix, with the folders that hold them.
func packFiles(w io.Writer, dir, prefix string, names []string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	// The folder's own time, so that packing it again gives the same
	// bytes and deploy can skip the upload.
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix, Mode: 0o755, ModTime: st.ModTime()}); err != nil {
		return err
	}
	written := map[string]bool{}
	for _, name := range names {
		parts := strings.Split(name, "/")
		for i := 1; i < len(parts); i++ {
			sub := strings.Join(parts[:i], "/")
			if written[sub] {
				continue
			}
			written[sub] = true
			st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(sub)))
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix + sub + "/", Mode: 0o755, ModTime: st.ModTime()}); err != nil {
				return err
			}
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if err := writeTarFile(tw, prefix+name, p, info); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// writeTarFile writes the regular file at p as the member name.
func writeTarFile(tw *tar.Writer, name, p string, info fs.FileInfo) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: info.Size(), ModTime: info.ModTime()}); err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(tw, f)
	return err
}

// packDir writes dir's regular files and folders as a gzipped tar, each
// name prefixed with prefix.
func packDir(w io.Writer, dir, prefix string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	if prefix != "" {
		// The folder's own time, so that packing it again gives the same
		// bytes and deploy can skip the upload.
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: prefix, Mode: 0o755, ModTime: st.ModTime()}); err != nil {
			return err
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		name := prefix + filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: info.ModTime()})
		case !info.Mode().IsRegular():
			return nil // sockets, links: not model files
		}
		return writeTarFile(tw, name, p, info)
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
