package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"google.golang.org/protobuf/proto"

	"inferd/internal/artifact"
	"inferd/internal/engine"
	"inferd/internal/onnx/pb"
	"inferd/internal/testutil"
)

// testValueInfo describes a float tensor; a dim of -1 is symbolic.
func testValueInfo(name string, dims ...int64) *pb.ValueInfoProto {
	return testutil.ONNXValueInfo(name, pb.TensorProto_FLOAT, dims...)
}

// externalTensor is a float initializer whose data lies in location.
func externalTensor(name, location string, dims ...int64) *pb.TensorProto {
	return &pb.TensorProto{Name: name, Dims: dims, DataType: int32(pb.TensorProto_FLOAT),
		DataLocation: pb.TensorProto_EXTERNAL,
		ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: location}, {Key: "offset", Value: "0"}}}
}

// channelMeans is an ONNX model whose input "image" is (N, c, h, w) and
// whose output "scaled" is each channel's mean times weights, read from
// the external file weightsFile (relative to the model) when it is not "".
func channelMeans(t testing.TB, c, h, w int64, weightsFile string) []byte {
	t.Helper()
	g := &pb.GraphProto{
		Name:   "means",
		Input:  []*pb.ValueInfoProto{testValueInfo("image", -1, c, h, w)},
		Output: []*pb.ValueInfoProto{testValueInfo("scaled", -1, c, 1, 1)},
		Node: []*pb.NodeProto{
			{OpType: "GlobalAveragePool", Input: []string{"image"}, Output: []string{"mean"}, Name: "pool"},
			{OpType: "Mul", Input: []string{"mean", "w"}, Output: []string{"scaled"}, Name: "scale"},
		},
	}
	if weightsFile != "" {
		g.Initializer = []*pb.TensorProto{externalTensor("w", weightsFile, 1, c, 1, 1)}
	} else {
		g.Initializer = []*pb.TensorProto{{Name: "w", Dims: []int64{1, c, 1, 1}, DataType: int32(pb.TensorProto_FLOAT), FloatData: make([]float32, c)}}
	}
	return testutil.ONNXModel(t, g)
}

// float32LE is the little-endian bytes of vs, as ONNX raw data.
func float32LE(vs ...float32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func TestScanONNX(t *testing.T) {
	subgraph := &pb.GraphProto{
		Name:        "then",
		Initializer: []*pb.TensorProto{externalTensor("sub_w", "sub/w.bin", 2)},
		Input:       []*pb.ValueInfoProto{testValueInfo("sub_in", 2)}, // not the main graph's
		Output:      []*pb.ValueInfoProto{testValueInfo("sub_w", 2)},
	}
	full := testutil.ONNXModel(t, &pb.GraphProto{
		Name: "g",
		// An IR-3 habit: initializers listed as inputs too.
		Input: []*pb.ValueInfoProto{testValueInfo("w1", 2), testValueInfo("x:0", -1, 2), testValueInfo("cond")},
		Initializer: []*pb.TensorProto{
			externalTensor("w1", "weights.bin", 2),
			{Name: "w2", Dims: []int64{2}, DataType: int32(pb.TensorProto_FLOAT), RawData: float32LE(1, 2)},
			externalTensor("w3", "weights.bin", 2), // the same file again
		},
		Node: []*pb.NodeProto{
			{OpType: "Constant", Output: []string{"k"}, Attribute: []*pb.AttributeProto{{Name: "value", Type: pb.AttributeProto_TENSOR,
				T: externalTensor("", "const.bin", 2)}}},
			{OpType: "If", Input: []string{"cond"}, Output: []string{"y"}, Attribute: []*pb.AttributeProto{
				{Name: "then_branch", Type: pb.AttributeProto_GRAPH, G: subgraph},
				{Name: "else_branch", Type: pb.AttributeProto_GRAPH, G: subgraph}}},
		},
		Output: []*pb.ValueInfoProto{testValueInfo("y", 2)},
	})
	// deep nests If nodes in then-branches 101 deep.
	deepGraph := &pb.GraphProto{Name: "leaf"}
	for range maxONNXGraphDepth + 1 {
		deepGraph = &pb.GraphProto{Name: "g", Node: []*pb.NodeProto{{OpType: "If", Attribute: []*pb.AttributeProto{
			{Name: "then_branch", Type: pb.AttributeProto_GRAPH, G: deepGraph}}}}}
	}
	deep := testutil.ONNXModel(t, deepGraph)
	noGraph, err := proto.Marshal(&pb.ModelProto{IrVersion: 8, ProducerName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		data         []byte
		wantInputs   []string
		wantExternal []string
		wantErr      string
	}{
		{name: "inputs and external data", data: full, wantInputs: []string{"x:0", "cond"},
			wantExternal: []string{"const.bin", "sub/w.bin", "weights.bin"}}, // nodes come first in the file
		{name: "no external data", data: channelMeans(t, 3, 8, 8, ""), wantInputs: []string{"image"}},
		{name: "truncated", data: full[:len(full)-3], wantErr: "truncated or malformed"},
		{name: "not protobuf", data: []byte("\x08\x08\x12\xff\xff\xff\xff\x0fnot a model"), wantErr: "not an ONNX model"},
		{name: "no graph", data: noGraph, wantErr: "has no graph"},
		{name: "too deep", data: deep, wantErr: "sub-graphs nested more than 100 deep"},
		{name: "empty", data: nil, wantErr: "has no graph"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, err := scanONNX(bytes.NewReader(tc.data), int64(len(tc.data)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("scanONNX error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, vi := range info.inputs {
				names = append(names, vi.GetName())
			}
			if !slices.Equal(names, tc.wantInputs) || !slices.Equal(info.external, tc.wantExternal) {
				t.Errorf("inputs %q external %q, want %q and %q", names, info.external, tc.wantInputs, tc.wantExternal)
			}
		})
	}
	// The inputs keep their types.
	info, err := scanONNX(bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	if d := info.inputs[0].GetType().GetTensorType().GetShape().GetDim(); len(d) != 2 || d[1].GetDimValue() != 2 || d[0].GetDimParam() != testutil.ONNXBatchDim {
		t.Errorf("input x:0 dims %v, want [%s 2]", d, testutil.ONNXBatchDim)
	}
}

func TestONNXImageInput(t *testing.T) {
	one := func(dims ...int64) onnxInfo {
		return onnxInfo{inputs: []*pb.ValueInfoProto{testValueInfo("x", dims...)}}
	}
	tests := []struct {
		name    string
		info    onnxInfo
		want    imageShape
		wantErr string
	}{
		{"NCHW RGB", one(-1, 3, 224, 192), imageShape{h: 224, w: 192, c: 3, chw: true}, ""},
		{"NCHW gray, batch fixed", one(1, 1, 28, 28), imageShape{h: 28, w: 28, c: 1, chw: true}, ""},
		{"NHWC RGB", one(-1, 128, 96, 3), imageShape{h: 128, w: 96, c: 3}, ""},
		{"NHWC gray", one(-1, 28, 28, 1), imageShape{h: 28, w: 28, c: 1}, ""},
		{"NCHW any size", one(-1, 3, -1, -1), imageShape{c: 3, chw: true}, "not fixed: input x has shape [-1 3 -1 -1]"},
		{"NHWC any size", one(-1, -1, -1, 1), imageShape{c: 1}, "not fixed"},
		{"no channel axis", one(-1, 5, 5, 5), imageShape{}, "no channel axis of 1 or 3"},
		{"rank 2", one(-1, 2), imageShape{}, "input x is not of rank 4"},
		{"no inputs", onnxInfo{}, imageShape{}, "has 0 inputs, not one image"},
		{"uint8 NCHW", onnxInfo{inputs: []*pb.ValueInfoProto{testutil.ONNXValueInfo("x", pb.TensorProto_UINT8, -1, 3, 8, 8)}}, imageShape{h: 8, w: 8, c: 3, chw: true, integer: true}, ""},
		{"int64 NHWC", onnxInfo{inputs: []*pb.ValueInfoProto{testutil.ONNXValueInfo("x", pb.TensorProto_INT64, -1, 8, 8, 1)}}, imageShape{h: 8, w: 8, c: 1, integer: true}, ""},
		{"double", onnxInfo{inputs: []*pb.ValueInfoProto{testutil.ONNXValueInfo("x", pb.TensorProto_DOUBLE, -1, 8, 8, 1)}}, imageShape{h: 8, w: 8, c: 1}, ""},
		{"two inputs", onnxInfo{inputs: []*pb.ValueInfoProto{testValueInfo("a", 1, 3, 2, 2), testValueInfo("b", 1)}}, imageShape{}, "has 2 inputs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := onnxImageInput(tc.info)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("onnxImageInput = %+v, %v; want %+v, error %q", got, err, tc.want, tc.wantErr)
			}
			if strings.Contains(tc.wantErr, "not fixed") && !errors.Is(err, errImageSize) {
				t.Errorf("error %v does not wrap errImageSize", err)
			}
		})
	}
}

// TestArchiveImageInputONNX reads the input of the ONNX model a worker
// would serve from archives laid out as model data is.
func TestArchiveImageInputONNX(t *testing.T) {
	v1 := channelMeans(t, 3, 32, 32, "")
	v2 := channelMeans(t, 1, 64, 48, "")
	savedModel, err := os.ReadFile(filepath.Join(sharedFixture(t, "savedmodels/rps_cnn_hyuto/saved_model"), "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		names   []string
		files   map[string][]byte
		env     string
		want    imageShape
		wantErr string
	}{
		{name: "bare file", names: []string{"model.onnx"}, files: map[string][]byte{"model.onnx": v1},
			want: imageShape{h: 32, w: 32, c: 3, chw: true}},
		{name: "the highest version, names as Python writes them", names: []string{"../m/2/model.onnx", "../m/1/model.onnx"},
			files: map[string][]byte{"../m/1/model.onnx": v1, "../m/2/model.onnx": v2}, want: imageShape{h: 64, w: 48, c: 1, chw: true}},
		{name: "model.onnx among several", names: []string{"1/aux.onnx", "1/model.onnx"},
			files: map[string][]byte{"1/aux.onnx": v2, "1/model.onnx": v1}, want: imageShape{h: 32, w: 32, c: 3, chw: true}},
		{name: "named by SAGEMAKER_TFS_DEFAULT_MODEL_NAME", names: []string{"a/1/model.onnx", "b/1/model.onnx"},
			files: map[string][]byte{"a/1/model.onnx": v1, "b/1/model.onnx": v2}, env: "b", want: imageShape{h: 64, w: 48, c: 1, chw: true}},
		{name: "a SavedModel wins", names: []string{"x/model.onnx", "1/saved_model.pb"},
			files: map[string][]byte{"x/model.onnx": v1, "1/saved_model.pb": savedModel}, want: imageShape{h: 128, w: 128, c: 3}},
		{name: "ambiguous", names: []string{"a.onnx", "b.onnx"}, files: map[string][]byte{"a.onnx": v1, "b.onnx": v2},
			wantErr: "the archive holds 2 .onnx files (a.onnx, b.onnx) and none is called model.onnx"},
		{name: "corrupt", names: []string{"1/model.onnx"}, files: map[string][]byte{"1/model.onnx": []byte("\x3a\x05abc")},
			wantErr: "1/model.onnx: not an ONNX model"},
		{name: "a broken file beside the one served", names: []string{"1/model.onnx", "1/broken.onnx"},
			files: map[string][]byte{"1/model.onnx": v1, "1/broken.onnx": []byte("\x3a\x05abc")}, want: imageShape{h: 32, w: 32, c: 3, chw: true}},
		{name: "no model", names: []string{"code/inference.py"}, files: map[string][]byte{"code/inference.py": []byte("#")},
			wantErr: "no saved_model.pb or .onnx file in the archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := archiveImageInput(bytes.NewReader(testutil.TarGz(t, tc.names, tc.files)), tc.env)
			if got != tc.want || (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("archiveImageInput = %+v, %v; want %+v, error %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestImageJSONChannelsFirst(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 51, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 102, 255})
	tests := []struct {
		name  string
		shape imageShape
		scale float64
		want  string
	}{
		{"RGB", imageShape{h: 1, w: 2, c: 3, chw: true}, 1, `{"instances": [[[[1,0]],[[0,1]],[[0.2,0.4]]]]}`},
		{"gray", imageShape{h: 1, w: 2, c: 1, chw: true}, 1, `{"instances": [[[[0.3218,0.6326]]]]}`},
		{"channels last", imageShape{h: 1, w: 2, c: 3}, 1, `{"instances": [[[[1,0,0.2],[0,1,0.4]]]]}`},
		{"integers", imageShape{h: 1, w: 2, c: 3, chw: true, integer: true}, 255, `{"instances": [[[[255,0]],[[0,255]],[[51,102]]]]}`},
		// 0.299·255 + 0.114·51 = 82.059; 0.587·255 + 0.114·102 = 161.313.
		{"gray integers, rounded", imageShape{h: 1, w: 2, c: 1, integer: true}, 255, `{"instances": [[[[82],[161]]]]}`},
		{"integers at scale 1", imageShape{h: 1, w: 2, c: 1, integer: true}, 1, `{"instances": [[[[0],[1]]]]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(imageJSON(img, tc.shape, tc.scale)); got != tc.want {
				t.Errorf("imageJSON = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestPackONNX packs ONNX models as deploy does: a .onnx file with its
// external data under 1/, folders as SavedModel folders are packed, and
// refuses what a worker could not serve.
func TestPackONNX(t *testing.T) {
	root := t.TempDir()
	means := channelMeans(t, 3, 4, 4, "weights/w.bin")
	testutil.WriteTree(t, root, map[string][]byte{
		"file/net.onnx":            means,
		"file/weights/w.bin":       float32LE(1, 2, 3),
		"file/unrelated.txt":       []byte("not packed"),
		"flat/model.onnx":          channelMeans(t, 3, 4, 4, ""),
		"flat/notes.txt":           []byte("packed with the folder"),
		"versions/mlp/1/net.onnx":  channelMeans(t, 3, 4, 4, ""),
		"two/a.onnx":               channelMeans(t, 3, 4, 4, ""),
		"two/b.onnx":               channelMeans(t, 3, 4, 4, ""),
		"corrupt/model.onnx":       []byte("\x3a\x05abc"),
		"missing/model.onnx":       means,
		"escape/model.onnx":        channelMeans(t, 3, 4, 4, "../w.bin"),
		"tgz/onnx.tar.gz":          testutil.TarGz(t, []string{"m/1/model.onnx"}, map[string][]byte{"m/1/model.onnx": means}),
		"tgz/savedmodel.tar.gz":    testutil.TarGz(t, []string{"1/saved_model.pb", "1/x.onnx"}, map[string][]byte{"1/saved_model.pb": nil, "1/x.onnx": means}),
		"tgz/neither.tar.gz":       []byte("not gzip"),
		"empty/readme.txt":         nil,
		"versions/mlp/1/readme.md": nil,
	})
	tests := []struct {
		name       string
		path       string
		wantFormat artifact.Format
		want       []string // members; nil for an archive deployed as it is
		wantCode   int      // the cliError code when it is refused
		wantErr    string
	}{
		{name: "a file and its external data", path: "file/net.onnx", wantFormat: artifact.ONNX,
			want: []string{"1/", "1/net.onnx", "1/weights/", "1/weights/w.bin"}},
		{name: "a folder holding the model", path: "flat", wantFormat: artifact.ONNX,
			want: []string{"1/", "1/model.onnx", "1/notes.txt"}},
		{name: "a folder of versions", path: "versions", wantFormat: artifact.ONNX,
			want: []string{"mlp/", "mlp/1/", "mlp/1/net.onnx", "mlp/1/readme.md"}},
		{name: "two models", path: "two", wantCode: exitUsage,
			wantErr: "holds 2 .onnx files (a.onnx, b.onnx) and none is called model.onnx"},
		{name: "corrupt", path: "corrupt/model.onnx", wantCode: exitUsage, wantErr: "corrupt/model.onnx: not an ONNX model"},
		{name: "external data missing", path: "missing/model.onnx", wantCode: exitNotFound,
			wantErr: "reads external data from weights/w.bin, which is not a file next to it"},
		{name: "external data outside", path: "escape/model.onnx", wantCode: exitUsage,
			wantErr: `external data location "../w.bin" is not a relative path inside the model's folder`},
		{name: "neither", path: "empty", wantCode: exitUsage, wantErr: "no saved_model.pb or .onnx file under"},
		{name: "an ONNX archive", path: "tgz/onnx.tar.gz", wantFormat: artifact.ONNX},
		{name: "a SavedModel archive", path: "tgz/savedmodel.tar.gz", wantFormat: artifact.SavedModel},
		{name: "an unreadable archive", path: "tgz/neither.tar.gz", wantFormat: artifact.SavedModel},
		{name: "another file", path: "file/unrelated.txt", wantCode: exitUsage, wantErr: "is neither a folder, a .onnx file nor a .tar.gz"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(root, filepath.FromSlash(tc.path))
			archive, format, cleanup, err := modelArchive(path)
			if tc.wantErr != "" {
				var ce *cliError
				if !errors.As(err, &ce) || ce.code != tc.wantCode || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("modelArchive error %v, want code %d and %q", err, tc.wantCode, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup()
			if format != tc.wantFormat {
				t.Errorf("format %s, want %s", format, tc.wantFormat)
			}
			if tc.want == nil {
				if archive != path {
					t.Errorf("archive %s, want %s itself", archive, path)
				}
				return
			}
			got, sizes := tarNames(t, archive)
			if !slices.Equal(got, tc.want) {
				t.Errorf("members %q, want %q", got, tc.want)
			}
			if w := "1/weights/w.bin"; slices.Contains(tc.want, w) && sizes[w] != 12 {
				t.Errorf("%s is %d bytes, want 12", w, sizes[w])
			}
			// Packing again gives the same bytes, so the upload is skipped.
			again, _, cleanup2, err := modelArchive(path)
			if err != nil {
				t.Fatal(err)
			}
			defer cleanup2()
			d1, _, _ := fileDigest(archive)
			d2, _, _ := fileDigest(again)
			if d1 != d2 {
				t.Errorf("two packings differ: %s, %s", d1, d2)
			}
		})
	}
}

// TestDeployInvokeONNX deploys a .onnx file with external data, invokes
// it with an image sent channels first, as its input is laid out, and
// checks the values; then a JSON request with the wrong input name gets
// the model's 400 as a ModelError.
func TestDeployInvokeONNX(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, map[string][]byte{
		"net.onnx":      channelMeans(t, 3, 8, 8, "weights/w.bin"),
		"weights/w.bin": float32LE(1, 2, 3),
		"other.onnx":    channelMeans(t, 3, 8, 8, ""), // not packed: deploy takes the file it is given
	})
	img := image.NewNRGBA(image.Rect(0, 0, 20, 10))
	for y := range 10 {
		for x := range 20 {
			img.SetNRGBA(x, y, color.NRGBA{255, 0, 51, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	imgPath := filepath.Join(dir, "solid.png")
	testutil.WriteTree(t, dir, map[string][]byte{"solid.png": buf.Bytes(), "bad.json": []byte(`{"inputs": {"pixels": [[1]]}}`)})

	s := startServer(t)
	out, errOut, rc := s.run(t, "deploy", filepath.Join(dir, "net.onnx"), "--name", "means")
	if rc != 0 {
		t.Fatalf("deploy rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	wantImage := "000000000000.dkr.ecr.us-east-1.amazonaws.com/onnxruntime-inference:1.17-cpu"
	if !strings.Contains(out, "endpoint means is InService") || !strings.Contains(errOut, "created model means (image "+wantImage+")") {
		t.Errorf("deploy stdout:\n%s\nstderr:\n%s\nwant InService and the model's image %s", out, errOut, wantImage)
	}
	md, err := s.sagemaker(t).DescribeModel(context.Background(), &sagemaker.DescribeModelInput{ModelName: aws.String("means")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(md.Containers[0].Image); got != wantImage {
		t.Errorf("model image %s, want %s", got, wantImage)
	}

	// (255, 0, 51) scaled to [0, 1], each channel's mean times 1, 2, 3.
	out, errOut, rc = s.run(t, "invoke", "means", "--image", imgPath)
	var resp struct{ Predictions [][][][]float64 }
	if err := json.Unmarshal([]byte(out), &resp); rc != 0 || err != nil {
		t.Fatalf("invoke rc %d stdout %q stderr %q (json err %v)", rc, out, errOut, err)
	}
	if got, want := fmt.Sprint(resp.Predictions), "[[[[1]] [[0]] [[0.6]]]]"; got != want {
		t.Errorf("predictions %s, want %s", got, want)
	}
	if errOut != "" {
		t.Errorf("invoke stderr %q, want nothing (the size is the model's)", errOut)
	}

	// A model of any image size: 224x224 is sent, channels first, with a
	// note, unless --size says otherwise.
	testutil.WriteTree(t, filepath.Join(dir, "anysize"), map[string][]byte{"model.onnx": channelMeans(t, 3, -1, -1, "weights/w.bin"), "weights/w.bin": float32LE(1, 2, 3)})
	if out, errOut, rc := s.run(t, "deploy", filepath.Join(dir, "anysize"), "--name", "anysize"); rc != 0 {
		t.Fatalf("deploy anysize rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	for _, args := range [][]string{{}, {"--size", "16x8"}} {
		out, errOut, rc = s.run(t, append([]string{"invoke", "anysize", "--image", imgPath}, args...)...)
		resp.Predictions = nil
		if err := json.Unmarshal([]byte(out), &resp); rc != 0 || err != nil {
			t.Fatalf("invoke anysize %q: rc %d stdout %q stderr %q (json err %v)", args, rc, out, errOut, err)
		}
		if got, want := fmt.Sprint(resp.Predictions), "[[[[1]] [[0]] [[0.6]]]]"; got != want {
			t.Errorf("invoke anysize %q: predictions %s, want %s", args, got, want)
		}
		wantNote := "note: sending 224x224 RGB (channels first); the model's input size is unknown (the input's height and width are not fixed: input image has shape [-1 3 -1 -1]): pass --size WxH"
		if len(args) > 0 {
			wantNote = ""
		}
		if (wantNote == "") != (errOut == "") || !strings.Contains(errOut, wantNote) {
			t.Errorf("invoke anysize %q: stderr %q, want %q", args, errOut, wantNote)
		}
	}

	// A model of uint8 pixels gets whole numbers in 0-255.
	pixels := testutil.ONNXModel(t, &pb.GraphProto{
		Name:   "pixels",
		Input:  []*pb.ValueInfoProto{testutil.ONNXValueInfo("pixels", pb.TensorProto_UINT8, -1, 3, 6, 6)},
		Output: []*pb.ValueInfoProto{testValueInfo("mean", -1, 3, 1, 1)},
		Node: []*pb.NodeProto{
			{OpType: "Cast", Input: []string{"pixels"}, Output: []string{"f"}, Name: "cast",
				Attribute: []*pb.AttributeProto{{Name: "to", Type: pb.AttributeProto_INT, I: int64(pb.TensorProto_FLOAT)}}},
			{OpType: "GlobalAveragePool", Input: []string{"f"}, Output: []string{"mean"}, Name: "pool"},
		},
	})
	testutil.WriteTree(t, filepath.Join(dir, "uint8"), map[string][]byte{"pixels.onnx": pixels})
	if out, errOut, rc := s.run(t, "deploy", filepath.Join(dir, "uint8", "pixels.onnx"), "--name", "pixels"); rc != 0 {
		t.Fatalf("deploy pixels rc %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	out, errOut, rc = s.run(t, "invoke", "pixels", "--image", imgPath)
	resp.Predictions = nil
	if err := json.Unmarshal([]byte(out), &resp); rc != 0 || err != nil {
		t.Fatalf("invoke pixels: rc %d stdout %q stderr %q (json err %v)", rc, out, errOut, err)
	}
	if got, want := fmt.Sprint(resp.Predictions), "[[[[255]] [[0]] [[51]]]]"; got != want {
		t.Errorf("invoke pixels: predictions %s, want %s", got, want)
	}

	out, errOut, rc = s.run(t, "invoke", "means", "--json", filepath.Join(dir, "bad.json"))
	if rc != exitFailed || !strings.Contains(errOut, "Missing named input: image") {
		t.Errorf("invoke with a wrong input name: rc %d stdout %q stderr %q, want rc %d and the model's error", rc, out, errOut, exitFailed)
	}

	// A folder of two models with none called model.onnx is refused
	// before anything is uploaded.
	testutil.WriteTree(t, filepath.Join(dir, "two"), map[string][]byte{"a.onnx": channelMeans(t, 3, 8, 8, ""), "b.onnx": channelMeans(t, 3, 8, 8, "")})
	out, errOut, rc = s.run(t, "deploy", filepath.Join(dir, "two"), "--name", "two")
	if rc != exitUsage || !strings.Contains(errOut, "none is called model.onnx") || strings.Contains(errOut, "uploading") {
		t.Errorf("deploy of two models: rc %d stdout %q stderr %q, want rc %d naming model.onnx", rc, out, errOut, exitUsage)
	}
}

// TestLoadModelNeither loads, as predict and bench do, a folder holding
// no model: the error says that a SavedModel or an ONNX model would do.
func TestLoadModelNeither(t *testing.T) {
	dir := t.TempDir()
	testutil.WriteTree(t, dir, map[string][]byte{"code/inference.py": []byte("#")})
	_, err := loadModel(context.Background(), dir, engine.Options{})
	if !errors.Is(err, engine.ErrInvalidModel) || !strings.Contains(err.Error(), "no saved_model.pb or .onnx file under "+dir) {
		t.Errorf("loadModel(%s) = %v, want ErrInvalidModel naming both formats", dir, err)
	}
	// A broken SavedModel keeps the engine's own error.
	testutil.WriteTree(t, dir, map[string][]byte{"1/saved_model.pb": []byte("not a protobuf")})
	if _, err := loadModel(context.Background(), dir, engine.Options{}); err == nil || strings.Contains(err.Error(), ".onnx") {
		t.Errorf("loadModel of a broken SavedModel = %v, want the engine's error", err)
	}
}
