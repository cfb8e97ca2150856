package app_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	smr "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	smrtypes "github.com/aws/aws-sdk-go-v2/service/sagemakerruntime/types"

	"inferd/internal/app"
	"inferd/internal/onnx/pb"
	"inferd/internal/testutil"
)

// onnxImage is an ONNX Runtime image name, which inferd maps to its onnx
// runtime.
const onnxImage = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnxruntime-inference:1.17-cpu"

// onnxModel is the bytes of a model of nodes over the graph input x and
// output y, both of elem type with dims, importing opsets.
func onnxModel(t *testing.T, elem pb.TensorProto_DataType, dims []int64, inits []*pb.TensorProto, opsets []*pb.OperatorSetIdProto, nodes ...*pb.NodeProto) []byte {
	t.Helper()
	return testutil.ONNXModel(t, &pb.GraphProto{
		Name: "qa", Node: nodes, Initializer: inits,
		Input:  []*pb.ValueInfoProto{testutil.ONNXValueInfo("x", elem, dims...)},
		Output: []*pb.ValueInfoProto{testutil.ONNXValueInfo("y", elem, dims[0], -1)},
	}, opsets...)
}

// TestONNXFailures deploys, through the SDK, ONNX model data a worker
// cannot serve, and an ONNX model fed bad requests. Each endpoint that
// cannot load goes Failed with a FailureReason that names the problem
// (the op and its domain), the others keep serving, and a request the
// model refuses is a ModelError carrying the worker's TF Serving error,
// as for a SavedModel.
func TestONNXFailures(t *testing.T) {
	a := startWith(t, app.Config{})
	c := rootClients(a)
	ctx := testCtx(t)

	// y = x·[[1], [2]] + 0.5: x must be (batch, 2) floats.
	affine := onnxModel(t, pb.TensorProto_FLOAT, []int64{-1, 2},
		[]*pb.TensorProto{
			{Name: "w", Dims: []int64{2, 1}, DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{1, 2}},
			{Name: "b", Dims: []int64{1}, DataType: int32(pb.TensorProto_FLOAT), FloatData: []float32{0.5}},
		}, nil,
		&pb.NodeProto{OpType: "MatMul", Input: []string{"x", "w"}, Output: []string{"xw"}, Name: "matmul"},
		&pb.NodeProto{OpType: "Add", Input: []string{"xw", "b"}, Output: []string{"y"}, Name: "add"})
	unary := func(op, domain string, opsets []*pb.OperatorSetIdProto) []byte {
		return onnxModel(t, pb.TensorProto_FLOAT, []int64{-1, 2}, nil, opsets,
			&pb.NodeProto{OpType: op, Domain: domain, Input: []string{"x"}, Output: []string{"y"}, Name: "mystery"})
	}
	half := onnxModel(t, pb.TensorProto_FLOAT16, []int64{-1, 2}, nil, nil,
		&pb.NodeProto{OpType: "Abs", Input: []string{"x"}, Output: []string{"y"}, Name: "abs"})
	models := []struct {
		name  string
		files map[string][]byte
		// wantReason are substrings of the FailureReason; none: InService.
		wantReason []string
	}{
		{"good", map[string][]byte{"model.onnx": affine}, nil},
		{"corrupt", map[string][]byte{"1/model.onnx": []byte("\x08\x08\x12\xff\xff\xff\xff\x0fnot a protobuf")},
			[]string{"is not an ONNX model"}},
		{"no-such-op", map[string][]byte{"model.onnx": unary("NoSuchOp", "", nil)},
			[]string{"node mystery: op NoSuchOp (domain ai.onnx, opset 17) is not supported"}},
		{"custom-domain", map[string][]byte{"model.onnx": unary("Relu", "com.example", []*pb.OperatorSetIdProto{{Version: 17}, {Domain: "com.example", Version: 1}})},
			[]string{`node mystery: op Relu of domain "com.example" is not supported`}},
		{"opset-99", map[string][]byte{"model.onnx": unary("Relu", "", []*pb.OperatorSetIdProto{{Version: 99}})},
			[]string{"ONNX opset 99 (inferd reads opsets 1 to 17)"}},
		{"two-models", map[string][]byte{"a.onnx": affine, "b.onnx": affine},
			[]string{"holds 2 .onnx files (a.onnx, b.onnx) and none is called model.onnx"}},
		{"float16", map[string][]byte{"model.onnx": half}, nil},
	}
	if _, err := c.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(region)}}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	for _, m := range models {
		key := "onnx-qa/" + m.name + "/model.tar.gz"
		if _, err := c.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(testutil.TarGz(t, nil, m.files))}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		if _, err := c.sm.CreateModel(ctx, &sagemaker.CreateModelInput{
			ModelName: aws.String(m.name), ExecutionRoleArn: aws.String("arn:aws:iam::" + account + ":role/SageMakerRole"),
			Containers: []smtypes.ContainerDefinition{{Image: aws.String(onnxImage), ModelDataUrl: aws.String("s3://" + bucket + "/" + key)}},
		}); err != nil {
			t.Fatalf("CreateModel %s: %v", m.name, err)
		}
		createConfig(t, c, m.name, nil, variant{"AllTraffic", m.name, 2})
		createEndpoint(t, c, m.name, m.name)
	}
	for _, m := range models {
		t.Run("status "+m.name, func(t *testing.T) {
			out := waitStatus(t, c, m.name)
			reason := aws.ToString(out.FailureReason)
			if m.wantReason == nil {
				if out.EndpointStatus != smtypes.EndpointStatusInService {
					t.Fatalf("endpoint %s is %s (%q), want InService", m.name, out.EndpointStatus, reason)
				}
				return
			}
			if out.EndpointStatus != smtypes.EndpointStatusFailed || !strings.HasPrefix(reason, "Variant AllTraffic could not load its model: ") {
				t.Fatalf("endpoint %s is %s (%q), want Failed with the loader's message", m.name, out.EndpointStatus, reason)
			}
			for _, want := range m.wantReason {
				if !strings.Contains(reason, want) {
					t.Errorf("FailureReason %q lacks %q", reason, want)
				}
			}
			_, err := c.rt.InvokeEndpoint(ctx, &smr.InvokeEndpointInput{EndpointName: aws.String(m.name), ContentType: aws.String("application/json"), Body: []byte(`[[1, 2]]`)})
			var invalid *smrtypes.ValidationError
			if !errors.As(err, &invalid) || !strings.Contains(aws.ToString(invalid.Message), "is in Failed status") {
				t.Errorf("InvokeEndpoint(%s) = %v, want a ValidationError saying it is Failed", m.name, err)
			}
		})
	}

	invoke := func(endpoint, body string) (*smr.InvokeEndpointOutput, error) {
		return c.rt.InvokeEndpoint(ctx, &smr.InvokeEndpointInput{EndpointName: aws.String(endpoint), ContentType: aws.String("application/json"), Body: []byte(body)})
	}
	t.Run("good input", func(t *testing.T) {
		out, err := invoke("good", `{"instances": [[1, 2], [-1, 0.25]]}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := results(t, out.Body, ""), []float64{5.5, 0}; !sameFloats(got, want, 1e-6) {
			t.Errorf("predictions %v, want %v", got, want)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		tests := []struct {
			name, body string
			wantError  string // in the model's {"error": ...}
		}{
			{"wrong input name, columns", `{"inputs": {"z": [[1, 2]]}}`, "Missing named input: x in 'inputs' object."},
			{"wrong input name, rows", `{"instances": [{"z": [1, 2]}]}`, "does not have named input: z"},
			{"wrong shape", `{"instances": [[1, 2, 3]]}`, "input \"x\" has shape [1,3], but signature \"serving_default\" expects [-1,2]"},
			{"ragged rows", `{"inputs": [[1, 2], [3]]}`, "Encountered list at unexpected size"},
			{"strings for floats", `{"instances": [["a", "b"]]}`, `JSON Value: "a" Type: String is not of expected type: float`},
			{"booleans for floats", `{"instances": [[true, false]]}`, "is not of expected type: float"},
			{"not JSON", `not json`, "JSON Parse error"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := invoke("good", tt.body)
				var me *smrtypes.ModelError
				if !errors.As(err, &me) {
					t.Fatalf("InvokeEndpoint = %v, want a ModelError", err)
				}
				var re *awshttp.ResponseError
				if !errors.As(err, &re) || re.HTTPStatusCode() != 424 {
					t.Errorf("HTTP status of %v, want 424", err)
				}
				if got := aws.ToInt32(me.OriginalStatusCode); got != 400 || aws.ToString(me.LogStreamArn) == "" {
					t.Errorf("OriginalStatusCode %d, LogStreamArn %q; want 400 and a log stream", got, aws.ToString(me.LogStreamArn))
				}
				var answer struct{ Error string }
				if err := json.Unmarshal([]byte(aws.ToString(me.OriginalMessage)), &answer); err != nil || !strings.Contains(answer.Error, tt.wantError) {
					t.Errorf("OriginalMessage %q (%v), want TF Serving's {\"error\": ...} containing %q", aws.ToString(me.OriginalMessage), err, tt.wantError)
				}
			})
		}
	})

	// A float16 input loads and is answered: the JSON numbers are rounded
	// to half precision, the answer written as their float32 values.
	t.Run("float16 input", func(t *testing.T) {
		out, err := invoke("float16", `{"instances": [[-1, 2.5], [0.1, -65504]]}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := results(t, out.Body, ""), []float64{1, 2.5, 0.0999755859375, 65504}; !sameFloats(got, want, 1e-7) {
			t.Errorf("predictions %v, want %v", got, want)
		}
	})

	// The failures took nothing else down.
	if out, err := invoke("good", `[[0, 1]]`); err != nil || !sameFloats(results(t, out.Body, ""), []float64{2.5}, 1e-6) {
		t.Errorf("good endpoint after the failures: %v", err)
	}
}
