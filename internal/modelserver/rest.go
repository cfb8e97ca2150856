package modelserver

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"inferd/internal/codec"
	"inferd/internal/engine"
	"inferd/internal/savedmodel"
	"inferd/internal/savedmodel/pb"
	"inferd/internal/tensor"
)

// statusPath is TF Serving's REST path for model status and metadata
// (http_rest_api_util.cc), matched whole and case-insensitively, as
// RE2::FullMatch matches it. Inference paths are matched by
// parseInferencePath.
var statusPath = regexp.MustCompile(`(?i)^/v1/models(?:/([^/:]+))?(?:/versions/(\d+)|/labels/([^/:]+))?(?:/(metadata))?$`)

// parseInferencePath matches path whole against TF Serving's inference
// path, the regular expression
//
//	(?i)^/v1/models/([^/:]+)(?:/versions/(\d+)|/labels/([^/:]+))?:(classify|regress|predict)$
//
// as RE2::FullMatch does, and returns its captures, without the
// allocations of a regexp match. Case is folded as RE2 folds it, so that
// "ſ" (U+017F) matches an 's' and "K" (U+212A) a 'k'.
func parseInferencePath(path string) (name, version, label, method string, ok bool) {
	rest, ok := foldPrefix(path, "/v1/models/")
	if !ok {
		return "", "", "", "", false
	}
	i := strings.IndexAny(rest, "/:")
	if i <= 0 {
		return "", "", "", "", false
	}
	name, rest = rest[:i], rest[i:]
	if rest[0] == '/' {
		if r, ok := foldPrefix(rest, "/versions/"); ok {
			j := 0
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			version, rest = r[:j], r[j:]
			if j == 0 {
				return "", "", "", "", false
			}
		} else if r, ok := foldPrefix(rest, "/labels/"); ok {
			j := strings.IndexAny(r, "/:")
			if j <= 0 {
				return "", "", "", "", false
			}
			label, rest = r[:j], r[j:]
		} else {
			return "", "", "", "", false
		}
	}
	if rest == "" || rest[0] != ':' {
		return "", "", "", "", false
	}
	method = rest[1:]
	for _, m := range [...]Method{Classify, Regress, Predict} {
		if r, ok := foldPrefix(method, string(m)); ok && r == "" {
			return name, version, label, method, true
		}
	}
	return "", "", "", "", false
}

// foldPrefix reports whether s begins with lit, a lower-case ASCII
// string, with case folded as RE2's (?i) folds it, and returns the rest.
func foldPrefix(s, lit string) (rest string, ok bool) {
	for i := 0; i < len(lit); i++ {
		c := lit[i]
		switch {
		case s != "" && (s[0] == c || 'a' <= c && c <= 'z' && s[0] == c-'a'+'A'):
			s = s[1:]
		case c == 's' && strings.HasPrefix(s, "\u017f"):
			s = s[len("\u017f"):]
		case c == 'k' && strings.HasPrefix(s, "\u212a"):
			s = s[len("\u212a"):]
		default:
			return "", false
		}
	}
	return s, true
}

// modelSpec names a servable as a TF Serving request does.
type modelSpec struct {
	name    string
	version *int64 // nil: the latest
	label   string
}

// String is the servable request as TF Serving's error messages print it.
func (s modelSpec) String() string {
	if s.version != nil {
		return fmt.Sprintf("Specific(%s, %d)", s.name, *s.version)
	}
	return fmt.Sprintf("Latest(%s)", s.name)
}

func malformed(method, path string) error {
	return codec.Errorf(codec.InvalidArgument, "Malformed request: %s %s", method, path)
}

// parseSpec builds a modelSpec from a REST path's captures, decoding the
// name and label as TF Serving does.
func parseSpec(name, version, label string) (modelSpec, error) {
	spec := modelSpec{}
	if name != "" {
		n, err := url.PathUnescape(name)
		if err != nil {
			return spec, codec.Errorf(codec.InvalidArgument, "Failed to decode model name:%s", name)
		}
		spec.name = n
	}
	if version != "" {
		v, err := strconv.ParseInt(version, 10, 64)
		if err != nil {
			return spec, codec.Errorf(codec.InvalidArgument, "Failed to convert version: %s to numeric.", version)
		}
		spec.version = &v
	}
	if label != "" {
		l, err := url.PathUnescape(label)
		if err != nil {
			return spec, codec.Errorf(codec.InvalidArgument, "Failed to decode model version label:%s", label)
		}
		spec.label = l
	}
	return spec, nil
}

// lookup finds the servable a request names. Version labels are a TF
// Serving model-config feature that a worker never has.
func (s *Server) lookup(ctx context.Context, spec modelSpec) (Model, error) {
	if spec.label != "" {
		return nil, codec.Errorf(codec.InvalidArgument, "Unrecognized servable version label: %s", spec.label)
	}
	m, err := s.resolve(ctx, spec.name, spec.version)
	if err != nil {
		return nil, &codec.Error{Code: codec.NotFound, Message: "Servable not found for request: " + spec.String(), Err: err}
	}
	return m, nil
}

// post answers a TF Serving REST POST (an inference request). When sc is
// not nil, out is its buffer, to be put back once written.
func (s *Server) post(ctx context.Context, path string, body []byte) (out []byte, sc *scratch, err error) {
	name, version, label, m, ok := parseInferencePath(path)
	if !ok {
		return nil, nil, malformed("POST", path)
	}
	spec, err := parseSpec(name, version, label)
	if err != nil {
		return nil, nil, err
	}
	method := Method(m)
	if !method.Valid() {
		return nil, nil, malformed("POST", path)
	}
	return answer(ctx, &s.scratch, method, body, "", func() (Runner, error) { return s.lookup(ctx, spec) })
}

// get answers a TF Serving REST GET: model status or metadata.
func (s *Server) get(ctx context.Context, path string) ([]byte, error) {
	sub := statusPath.FindStringSubmatch(path)
	if sub == nil {
		return nil, malformed("GET", path)
	}
	spec, err := parseSpec(sub[1], sub[2], sub[3])
	if err != nil {
		return nil, err
	}
	if spec.name == "" {
		return nil, codec.Errorf(codec.InvalidArgument, "Missing model name in request.")
	}
	if sub[4] == "metadata" {
		m, err := s.lookup(ctx, spec)
		if err != nil {
			return nil, err
		}
		return s.metadata(spec.name, m)
	}
	return s.status(ctx, spec)
}

// status answers GetModelStatus: every loaded version is AVAILABLE.
func (s *Server) status(ctx context.Context, spec modelSpec) ([]byte, error) {
	if spec.label != "" {
		return nil, codec.Errorf(codec.InvalidArgument, "Unrecognized servable version label: %s", spec.label)
	}
	var versions []int64
	if _, err := s.resolve(ctx, spec.name, spec.version); err != nil {
		msg := "Could not find any versions of model " + spec.name
		if spec.version != nil {
			msg = fmt.Sprintf("Could not find version %d of model %s", *spec.version, spec.name)
		}
		return nil, &codec.Error{Code: codec.NotFound, Message: msg, Err: err}
	}
	if spec.version != nil {
		versions = []int64{*spec.version}
	} else {
		versions = s.loadedVersions(spec.name)
	}
	b := []byte("{\n \"model_version_status\": [")
	for i, v := range versions {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "\n  {\n   \"version\": \"%d\",\n   \"state\": \"AVAILABLE\",\n"+
			"   \"status\": {\n    \"error_code\": \"OK\",\n    \"error_message\": \"\"\n   }\n  }", v)
	}
	return append(b, "\n ]\n}\n"...), nil
}

// metadata answers GetModelMetadata for the signature_def field, laid out
// as TF Serving concatenates it from two printed messages.
func (s *Server) metadata(name string, m Model) ([]byte, error) {
	defs := s.signatureDefs(name, m)
	b := []byte("{\n\"model_spec\":{\n \"name\": ")
	b = appendJSONString(b, name)
	b = fmt.Appendf(b, ",\n \"signature_name\": \"\",\n \"version\": \"%d\"\n}\n,\n", m.Version())
	b = append(b, "\"metadata\": {\"signature_def\": "...)
	b = append(b, defs...)
	return append(b, "}\n}\n"...), nil
}

// metaEntry caches one model's printed SignatureDefMap.
type metaEntry struct {
	once sync.Once
	json []byte
}

// signatureDefs prints the model's SignatureDefMap once and caches it. It
// reads the SavedModel again, so that the answer shows every signature
// with its tensor names, as TF Serving's does; a model that does not say
// where it came from is described from its servable signatures.
func (s *Server) signatureDefs(name string, m Model) []byte {
	e, _ := s.meta.LoadOrStore(versionKey{s.canonicalName(name), m.Version()}, &metaEntry{})
	entry := e.(*metaEntry)
	entry.once.Do(func() {
		defs, err := readSignatureDefs(m)
		if err != nil {
			s.log.Warn("modelserver: cannot read the SavedModel's signatures for metadata; describing the servable ones", "err", err)
			defs = servableSignatureDefs(m.Signatures())
		}
		p := protoJSON{}
		p.b = append(p.b, '{')
		p.key("signature_def", 1)
		sdm := &pb.MetaGraphDef{SignatureDef: defs}
		fd := sdm.ProtoReflect().Descriptor().Fields().ByName("signature_def")
		p.field(sdm.ProtoReflect().Get(fd), fd, 1)
		p.newline(0)
		p.b = append(p.b, '}', '\n')
		entry.json = p.b
	})
	return entry.json
}

// dirModel is a model that knows its SavedModel directory, as
// *engine.Model does.
type dirModel interface {
	Dir() string
}

func readSignatureDefs(m Model) (map[string]*pb.SignatureDef, error) {
	dm, ok := m.(dirModel)
	if !ok || dm.Dir() == "" {
		return nil, fmt.Errorf("modelserver: model has no SavedModel directory")
	}
	sm, err := savedmodel.Read(dm.Dir())
	if err != nil {
		return nil, err
	}
	mg, err := savedmodel.MetaGraph(sm, nil)
	if err != nil {
		return nil, err
	}
	return mg.GetSignatureDef(), nil
}

// dataTypes maps the engine's element types to TensorFlow's.
var dataTypes = map[tensor.DType]pb.DataType{
	tensor.Float32:  pb.DataType_DT_FLOAT,
	tensor.Float64:  pb.DataType_DT_DOUBLE,
	tensor.Int8:     pb.DataType_DT_INT8,
	tensor.Uint8:    pb.DataType_DT_UINT8,
	tensor.Int32:    pb.DataType_DT_INT32,
	tensor.Int64:    pb.DataType_DT_INT64,
	tensor.Bool:     pb.DataType_DT_BOOL,
	tensor.String:   pb.DataType_DT_STRING,
	tensor.Int16:    pb.DataType_DT_INT16,
	tensor.Uint16:   pb.DataType_DT_UINT16,
	tensor.Uint32:   pb.DataType_DT_UINT32,
	tensor.Uint64:   pb.DataType_DT_UINT64,
	tensor.Float16:  pb.DataType_DT_HALF,
	tensor.BFloat16: pb.DataType_DT_BFLOAT16,
}

// servableSignatureDefs rebuilds SignatureDefs from the engine's view of
// the signatures; tensor names are unknown there and left empty.
func servableSignatureDefs(sigs []engine.Signature) map[string]*pb.SignatureDef {
	infos := func(specs []engine.TensorSpec) map[string]*pb.TensorInfo {
		out := make(map[string]*pb.TensorInfo, len(specs))
		for _, s := range specs {
			shape := &pb.TensorShapeProto{UnknownRank: s.Shape == nil}
			for _, d := range s.Shape {
				shape.Dim = append(shape.Dim, &pb.TensorShapeProto_Dim{Size: d})
			}
			out[s.Name] = &pb.TensorInfo{Dtype: dataTypes[s.DType], TensorShape: shape}
		}
		return out
	}
	defs := make(map[string]*pb.SignatureDef, len(sigs))
	for _, sig := range sigs {
		defs[sig.Name] = &pb.SignatureDef{MethodName: sig.MethodName, Inputs: infos(sig.Inputs), Outputs: infos(sig.Outputs)}
	}
	return defs
}
