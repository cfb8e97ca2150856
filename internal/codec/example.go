package codec

import (
	"math"
	"strings"

	"google.golang.org/protobuf/proto"

	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// ExamplesRequest is a decoded classify or regress request: the tf.Example
// records the signature's single string input is fed.
type ExamplesRequest struct {
	SignatureName string // as the request gave it; "" when absent
	// Examples are serialized tf.Example records. With a "context", each is
	// the context's serialization followed by the example's, as TF Serving
	// builds them, so the example's features override the context's.
	Examples [][]byte
}

// Tensor returns the examples as the rank-1 string tensor TF Serving feeds.
func (r *ExamplesRequest) Tensor() *tensor.Tensor {
	return tensor.MustFromSlice(tensor.Shape{len(r.Examples)}, r.Examples)
}

// DecodeExamples decodes a TF Serving classify or regress request body
// ({"signature_name", "context", "examples": [{feature: value}]}), as
// json_tensor.cc FillClassifyRegressRequestFromJson does. Errors are *Error.
func DecodeExamples(body []byte) (*ExamplesRequest, error) {
	d, perr := parseJSON(body)
	if perr != nil {
		return nil, perr
	}
	defer d.release()
	root := int32(0)
	if d.nodes[root].kind != kObject {
		return nil, formatError(d, root, "Is not object")
	}
	req := &ExamplesRequest{}
	if i := d.member(root, "signature_name"); i >= 0 {
		if d.nodes[i].kind != kString {
			return nil, formatError(d, root, "not formatted correctly. 'signature_name' key must be a string value.")
		}
		req.SignatureName = string(d.text(i))
	}
	opts := proto.MarshalOptions{Deterministic: true}
	var context []byte
	if i := d.member(root, "context"); i >= 0 {
		ex, err := d.example(i)
		if err != nil {
			return nil, err
		}
		b, merr := opts.Marshal(ex)
		if merr != nil {
			return nil, Errorf(Internal, "context: %v", merr)
		}
		context = b
	}
	ex := d.member(root, "examples")
	if ex < 0 {
		return nil, formatError(d, root, "When method is classify, key 'examples' is expected and was not found")
	}
	if d.nodes[ex].kind != kArray {
		return nil, formatError(d, root, "Expecting 'examples' value to be an list/array")
	}
	if d.nodes[ex].count == 0 {
		return nil, formatError(d, root, "'examples' value is an empty array")
	}
	j := ex + 1
	for range d.nodes[ex].count {
		e, err := d.example(j)
		if err != nil {
			return nil, err
		}
		b, merr := opts.MarshalAppend(append([]byte(nil), context...), e)
		if merr != nil {
			return nil, Errorf(Internal, "example: %v", merr)
		}
		req.Examples = append(req.Examples, b)
		j = d.nodes[j].next
	}
	return req, nil
}

// example is TF Serving's MakeExampleFromJsonObject.
func (d *document) example(i int32) (*pb.Example, *Error) {
	n := &d.nodes[i]
	if n.kind != kObject {
		return nil, Errorf(InvalidArgument, "Example must be JSON object but got JSON %s", jsonTypeNames[n.kind])
	}
	features := map[string]*pb.Feature{}
	k := i + 1
	for range n.count {
		name := string(d.text(k))
		v := k + 1
		f := &pb.Feature{}
		if d.nodes[v].kind == kArray {
			e := v + 1
			for range d.nodes[v].count {
				if err := d.addFeatureValue(e, name, f); err != nil {
					return nil, err
				}
				e = d.nodes[e].next
			}
		} else if err := d.addFeatureValue(v, name, f); err != nil {
			return nil, err
		}
		features[name] = f
		k = d.nodes[v].next
	}
	return &pb.Example{Features: &pb.Features{Feature: features}}, nil
}

// featureKind names a feature's current kind as TF Serving does.
func featureKind(f *pb.Feature) string {
	switch f.Kind.(type) {
	case *pb.Feature_BytesList:
		return "bytes"
	case *pb.Feature_FloatList:
		return "float"
	case *pb.Feature_Int64List:
		return "int64"
	}
	return "UNKNOWN"
}

func kindError(name string, f *pb.Feature) *Error {
	return Errorf(InvalidArgument, "Unexpected element type in feature: %s expecting type: %s", name, featureKind(f))
}

func (d *document) appendInt64(name string, f *pb.Feature, v int64) *Error {
	switch k := f.Kind.(type) {
	case nil:
		f.Kind = &pb.Feature_Int64List{Int64List: &pb.Int64List{Value: []int64{v}}}
	case *pb.Feature_Int64List:
		k.Int64List.Value = append(k.Int64List.Value, v)
	default:
		return kindError(name, f)
	}
	return nil
}

func (d *document) appendBytes(name string, f *pb.Feature, v []byte) *Error {
	switch k := f.Kind.(type) {
	case nil:
		f.Kind = &pb.Feature_BytesList{BytesList: &pb.BytesList{Value: [][]byte{v}}}
	case *pb.Feature_BytesList:
		k.BytesList.Value = append(k.BytesList.Value, v)
	default:
		return kindError(name, f)
	}
	return nil
}

// addFeatureValue is TF Serving's AddValueToFeature.
func (d *document) addFeatureValue(i int32, name string, f *pb.Feature) *Error {
	n := &d.nodes[i]
	unexpected := func() *Error {
		return Errorf(InvalidArgument, "Feature: %s has element with unexpected JSON type: %s", name, jsonTypeNames[n.kind])
	}
	switch n.kind {
	case kNull, kArray:
		return unexpected()
	case kFalse, kTrue:
		v := int64(0)
		if n.kind == kTrue {
			v = 1
		}
		return d.appendInt64(name, f, v)
	case kObject:
		if !d.isBase64Object(i) {
			return unexpected()
		}
		if _, ok := f.Kind.(*pb.Feature_BytesList); f.Kind != nil && !ok {
			return kindError(name, f)
		}
		b, ok := decodeBase64(d.text(i + 2))
		if !ok {
			return Errorf(InvalidArgument, "Unable to base64 decode")
		}
		return d.appendBytes(name, f, b)
	case kString:
		return d.appendBytes(name, f, append([]byte(nil), d.text(i)...))
	}
	// A number.
	if n.isDouble() {
		switch k := f.Kind.(type) {
		case nil, *pb.Feature_FloatList:
			if !lossless(n, 24, math.MaxFloat32) {
				return Errorf(InvalidArgument, "Cannot convert JSON value: %s to float without loss of precision.", d.valueString(i))
			}
			v := float32(n.float64())
			if k == nil {
				f.Kind = &pb.Feature_FloatList{FloatList: &pb.FloatList{Value: []float32{v}}}
			} else {
				k.(*pb.Feature_FloatList).FloatList.Value = append(k.(*pb.Feature_FloatList).FloatList.Value, v)
			}
			return nil
		}
		return kindError(name, f)
	}
	if _, ok := f.Kind.(*pb.Feature_Int64List); f.Kind != nil && !ok {
		return kindError(name, f)
	}
	if !n.isInt64() {
		return Errorf(InvalidArgument, "Feature: %s has uint64 element. Only int64 is supported.", name)
	}
	return d.appendInt64(name, f, int64(n.bits))
}

// TF Serving's names for the tensors of classify and regress signatures.
const (
	ClassifyInputs  = "inputs"
	ClassifyClasses = "classes"
	ClassifyScores  = "scores"
	RegressInputs   = "inputs"
	RegressOutputs  = "outputs"
)

// dtypeEnumNames are TensorFlow's DataType_Name names.
var dtypeEnumNames = map[tensor.DType]string{
	tensor.Float32: "DT_FLOAT", tensor.Float64: "DT_DOUBLE", tensor.Int8: "DT_INT8", tensor.Uint8: "DT_UINT8",
	tensor.Int32: "DT_INT32", tensor.Int64: "DT_INT64", tensor.Bool: "DT_BOOL", tensor.String: "DT_STRING",
	tensor.Int16: "DT_INT16", tensor.Uint16: "DT_UINT16", tensor.Uint32: "DT_UINT32", tensor.Uint64: "DT_UINT64",
	tensor.Float16: "DT_HALF", tensor.BFloat16: "DT_BFLOAT16",
}

// debugShape prints a shape as TensorShape::DebugString does: "[2,3]".
func debugShape(s tensor.Shape) string { return shapeString(s) }

// EncodeClassify validates a classify signature's outputs ("classes",
// string [batch, n], and/or "scores", float [batch, n]) as TF Serving's
// PostProcessClassificationResult does and writes its JSON answer:
// {"results": [[["label", score], ...], ...]}.
func EncodeClassify(outputs map[string]*tensor.Tensor, numExamples int) ([]byte, error) {
	classes, scores := outputs[ClassifyClasses], outputs[ClassifyScores]
	if classes == nil && scores == nil {
		return nil, Errorf(InvalidArgument, "Expected classification signature outputs to contain at least one of \"classes\" or \"scores\".")
	}
	check := func(t *tensor.Tensor, what string, dt tensor.DType) error {
		if t.Rank() != 2 {
			return Errorf(InvalidArgument, "Expected Tensor shape: [batch_size num_classes] but got %s", debugShape(t.Shape()))
		}
		if t.DType() != dt {
			return Errorf(InvalidArgument, "Expected %s Tensor of %s. Got: %s", what, dtypeEnumNames[dt], dtypeEnumNames[t.DType()])
		}
		if t.Shape()[0] != numExamples {
			return Errorf(InvalidArgument, "Expected %s output batch size of %d. Got: %d", what, numExamples, t.Shape()[0])
		}
		return nil
	}
	numClasses := 0
	if classes != nil {
		if err := check(classes, "classes", tensor.String); err != nil {
			return nil, err
		}
		numClasses = classes.Shape()[1]
	}
	if scores != nil {
		if err := check(scores, "scores", tensor.Float32); err != nil {
			return nil, err
		}
		if classes != nil && classes.Shape()[1] != scores.Shape()[1] {
			return nil, Errorf(InvalidArgument, "Tensors class and score should match in dim_size(1). Got %d vs. %d", classes.Shape()[1], scores.Shape()[1])
		}
		numClasses = scores.Shape()[1]
	}
	if numExamples == 0 {
		return nil, Errorf(InvalidArgument, "Cannot convert empty ClassificationResults to JSON")
	}
	w := prettyWriter{}
	w.startObject()
	w.key("results")
	w.startArray()
	for i := range numExamples {
		w.singleLine = true
		w.startArray()
		for c := range numClasses {
			w.startArray()
			var label []byte
			if classes != nil {
				label = classes.Strings()[i*numClasses+c]
			}
			w.str(label)
			var score float32
			if scores != nil {
				score = scores.Float32s()[i*numClasses+c]
			}
			w.float32(score)
			w.endArray()
		}
		w.endArray()
		w.singleLine = false
	}
	w.endArray()
	w.endObject()
	return w.buf, nil
}

// EncodeRegress validates a regress signature's "outputs" tensor (float,
// [batch] or [batch, 1]) as TF Serving's PostProcessRegressionResult does
// and writes its JSON answer: {"results": [v, ...]}.
func EncodeRegress(outputs map[string]*tensor.Tensor, numExamples int) ([]byte, error) {
	t := outputs[RegressOutputs]
	if t == nil {
		names := make([]string, 0, len(outputs))
		for n := range outputs {
			names = append(names, n)
		}
		return nil, Errorf(FailedPrecondition, "No regression outputs found in SignatureDef: outputs %s", strings.Join(names, ","))
	}
	s := t.Shape()
	if !(len(s) == 1 || len(s) == 2 && s[1] == 1) {
		return nil, Errorf(InvalidArgument, "Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got %s", debugShape(s))
	}
	if numExamples != s[0] {
		return nil, Errorf(InvalidArgument, "Input batch size did not match output batch size: %d vs. %d", numExamples, s[0])
	}
	if t.DType() != tensor.Float32 {
		return nil, Errorf(InvalidArgument, "Expected output Tensor of DT_FLOAT.  Got: %s", dtypeEnumNames[t.DType()])
	}
	if numExamples == 0 {
		return nil, Errorf(InvalidArgument, "Cannot convert empty RegressionResults to JSON")
	}
	w := prettyWriter{}
	w.startObject()
	w.key("results")
	w.singleLine = true
	w.startArray()
	for _, v := range t.Float32s() {
		w.float32(v)
	}
	w.endArray()
	w.endObject()
	return w.buf, nil
}
