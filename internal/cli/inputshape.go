package cli

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"google.golang.org/protobuf/proto"

	"inferd/internal/artifact"
	onnxpb "inferd/internal/onnx/pb"
	"inferd/internal/savedmodel"
	"inferd/internal/savedmodel/pb"
	"inferd/internal/worker"
)

// maxSavedModelPB bounds how much of a saved_model.pb invoke reads to
// learn a model's input shape.
const maxSavedModelPB = 256 << 20

// imageShape is the height, width and channels of an image input, and
// its layout: channels last (NHWC, TensorFlow's) unless chw (NCHW, the
// usual ONNX layout). integer says the input takes integers (uint8
// pixels, say) rather than floats.
type imageShape struct {
	h, w, c int
	chw     bool
	integer bool
}

// errImageSize: the model's image input has a channel axis but no fixed
// height and width; the imageShape returned with it has c and chw set.
var errImageSize = errors.New("the input's height and width are not fixed")

// endpointImageShape finds the image input of endpoint name's model: the
// one input of its SavedModel's serving_default signature, of shape
// (-1, H, W, C) with C 1 or 3, or the one input of its ONNX model, of
// shape (N, C, H, W) or (N, H, W, C). It reads the model data through the
// S3 API, streaming the archive (until saved_model.pb for a SavedModel;
// an ONNX model's weights are skipped, not held). When H and W are not
// fixed, the error wraps errImageSize and the shape has C and the layout.
func endpointImageShape(ctx context.Context, c *clients, name string) (imageShape, error) {
	e, err := c.sm.DescribeEndpoint(ctx, &sagemaker.DescribeEndpointInput{EndpointName: &name})
	if err != nil {
		return imageShape{}, endpointNotFound(err, name)
	}
	cfg, err := c.sm.DescribeEndpointConfig(ctx, &sagemaker.DescribeEndpointConfigInput{EndpointConfigName: e.EndpointConfigName})
	if err != nil {
		return imageShape{}, err
	}
	if len(cfg.ProductionVariants) == 0 {
		return imageShape{}, errors.New("the endpoint config has no variants")
	}
	md, err := c.sm.DescribeModel(ctx, &sagemaker.DescribeModelInput{ModelName: cfg.ProductionVariants[0].ModelName})
	if err != nil {
		return imageShape{}, err
	}
	container := md.PrimaryContainer
	if len(md.Containers) > 0 {
		container = &md.Containers[0]
	}
	url := ""
	modelName := ""
	if container != nil {
		url = aws.ToString(container.ModelDataUrl)
		modelName = container.Environment[worker.EnvDefaultModelName]
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if !strings.HasPrefix(url, "s3://") || !ok || key == "" {
		return imageShape{}, fmt.Errorf("model data %q is not an s3:// archive", url)
	}
	obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return imageShape{}, err
	}
	defer obj.Body.Close()
	shape, err := archiveImageInput(obj.Body, modelName)
	if err != nil && !errors.Is(err, errImageSize) {
		return imageShape{}, fmt.Errorf("%s: %w", url, err)
	}
	return shape, err
}

// archiveImageInput returns the image input of the model in a gzipped
// tar: the first SavedModel's, else that of the .onnx file a worker
// would serve (artifact.FindONNX, with modelName as
// SAGEMAKER_TFS_DEFAULT_MODEL_NAME).
func archiveImageInput(r io.Reader, modelName string) (imageShape, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return imageShape{}, err
	}
	tr := tar.NewReader(gz)
	type scanned struct {
		info onnxInfo
		err  error
	}
	// onnxFiles maps each .onnx member's cleaned name to what scanONNX
	// said of it; a file the worker would not serve may be broken.
	onnxFiles := map[string]scanned{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return imageShape{}, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch base := path.Base(h.Name); {
		case base == "saved_model.pb":
			b, err := readSavedModelPB(tr, h)
			if err != nil {
				return imageShape{}, err
			}
			sm := new(pb.SavedModel)
			if err := proto.Unmarshal(b, sm); err != nil {
				return imageShape{}, fmt.Errorf("%s: %v", h.Name, err)
			}
			return imageInput(sm)
		case artifact.IsONNXFile(base):
			info, err := scanONNX(tr, h.Size)
			onnxFiles[memberPath(h.Name)] = scanned{info, err}
		}
	}
	if len(onnxFiles) == 0 {
		return imageShape{}, errors.New("no saved_model.pb or .onnx file in the archive")
	}
	chosen, err := chooseONNX(slices.Collect(maps.Keys(onnxFiles)), modelName)
	if err != nil {
		return imageShape{}, err
	}
	if err := onnxFiles[chosen].err; err != nil {
		return imageShape{}, fmt.Errorf("%s: %w", chosen, err)
	}
	shape, err := onnxImageInput(onnxFiles[chosen].info)
	if err != nil && !errors.Is(err, errImageSize) {
		return imageShape{}, fmt.Errorf("%s: %w", chosen, err)
	}
	return shape, err
}

// readSavedModelPB reads the saved_model.pb member h.
func readSavedModelPB(r io.Reader, h *tar.Header) ([]byte, error) {
	if h.Size > maxSavedModelPB {
		return nil, fmt.Errorf("%s is %d bytes, too large to read here", h.Name, h.Size)
	}
	return io.ReadAll(r)
}

// memberPath is where an archive member lands when a worker's model data
// is unpacked: leading "/", "./" and "../" are dropped, as GNU tar drops
// them.
func memberPath(name string) string {
	name = path.Clean("/" + name)
	return strings.TrimPrefix(name, "/")
}

// chooseONNX returns the one of the .onnx files names (slash-separated
// paths in an archive) that a worker serves: the choice is
// artifact.FindONNX's, made on a scratch tree of empty files of those
// names.
func chooseONNX(names []string, modelName string) (string, error) {
	if len(names) == 1 {
		return names[0], nil
	}
	root, err := os.MkdirTemp("", "inferd-onnx-names-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(root)
	for _, n := range names {
		p := filepath.Join(root, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			return "", err
		}
	}
	file, err := artifact.FindONNX(root, modelName)
	if err != nil {
		return "", errors.New(strings.ReplaceAll(err.Error(), root, "the archive"))
	}
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

// onnxImageInput returns the image shape of an ONNX model's single input:
// (N, C, H, W) when the second dimension is 1 or 3, else (N, H, W, C)
// when the last one is.
func onnxImageInput(info onnxInfo) (imageShape, error) {
	if n := len(info.inputs); n != 1 {
		return imageShape{}, fmt.Errorf("the ONNX model has %d inputs, not one image", n)
	}
	in := info.inputs[0]
	shape := in.GetType().GetTensorType().GetShape()
	integer := onnxIntegerTypes[onnxpb.TensorProto_DataType(in.GetType().GetTensorType().GetElemType())]
	if shape == nil || len(shape.GetDim()) != 4 {
		return imageShape{}, fmt.Errorf("input %s is not of rank 4 (batch, channels, height, width or batch, height, width, channels)", in.GetName())
	}
	dims := make([]int64, 4)
	for i, d := range shape.GetDim() {
		dims[i] = -1
		if v, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok {
			dims[i] = v.DimValue
		}
	}
	var s imageShape
	switch {
	case dims[1] == 1 || dims[1] == 3:
		s = imageShape{c: int(dims[1]), h: int(dims[2]), w: int(dims[3]), chw: true, integer: integer}
	case dims[3] == 1 || dims[3] == 3:
		s = imageShape{h: int(dims[1]), w: int(dims[2]), c: int(dims[3]), integer: integer}
	default:
		return imageShape{}, fmt.Errorf("input %s has shape %v, with no channel axis of 1 or 3 (N, C, H, W or N, H, W, C)", in.GetName(), dims)
	}
	if s.h <= 0 || s.w <= 0 {
		s.h, s.w = 0, 0
		return s, fmt.Errorf("%w: input %s has shape %v", errImageSize, in.GetName(), dims)
	}
	return s, nil
}

// imageInput returns the image shape of the serving_default signature's
// single input.
func imageInput(sm *pb.SavedModel) (imageShape, error) {
	mg, err := savedmodel.MetaGraph(sm, nil)
	if err != nil {
		return imageShape{}, err
	}
	sig, ok := mg.GetSignatureDef()["serving_default"]
	if !ok {
		return imageShape{}, errors.New("no serving_default signature")
	}
	if n := len(sig.GetInputs()); n != 1 {
		return imageShape{}, fmt.Errorf("serving_default has %d inputs, not one image", n)
	}
	for name, in := range sig.GetInputs() {
		dims := in.GetTensorShape().GetDim()
		if in.GetTensorShape().GetUnknownRank() || len(dims) != 4 {
			return imageShape{}, fmt.Errorf("input %s is not of rank 4 (batch, height, width, channels)", name)
		}
		s := imageShape{h: int(dims[1].GetSize()), w: int(dims[2].GetSize()), c: int(dims[3].GetSize()), integer: tfIntegerTypes[in.GetDtype()]}
		if s.c != 1 && s.c != 3 {
			return imageShape{}, fmt.Errorf("input %s has shape %v, not (-1, H, W, 1 or 3)", name, dimSizes(dims))
		}
		if s.h <= 0 || s.w <= 0 {
			s.h, s.w = 0, 0
			return s, fmt.Errorf("%w: input %s has shape %v", errImageSize, name, dimSizes(dims))
		}
		return s, nil
	}
	panic("unreachable")
}

// onnxIntegerTypes and tfIntegerTypes are the integer element types of
// ONNX and TensorFlow, which an image is sent to as whole numbers.
var (
	onnxIntegerTypes = map[onnxpb.TensorProto_DataType]bool{
		onnxpb.TensorProto_UINT8: true, onnxpb.TensorProto_INT8: true, onnxpb.TensorProto_UINT16: true, onnxpb.TensorProto_INT16: true,
		onnxpb.TensorProto_INT32: true, onnxpb.TensorProto_INT64: true, onnxpb.TensorProto_UINT32: true, onnxpb.TensorProto_UINT64: true,
	}
	tfIntegerTypes = map[pb.DataType]bool{
		pb.DataType_DT_UINT8: true, pb.DataType_DT_INT8: true, pb.DataType_DT_UINT16: true, pb.DataType_DT_INT16: true,
		pb.DataType_DT_INT32: true, pb.DataType_DT_INT64: true, pb.DataType_DT_UINT32: true, pb.DataType_DT_UINT64: true,
	}
)

func dimSizes(dims []*pb.TensorShapeProto_Dim) []int64 {
	out := make([]int64, len(dims))
	for i, d := range dims {
		out[i] = d.GetSize()
	}
	return out
}
