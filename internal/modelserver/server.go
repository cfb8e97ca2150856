package modelserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"inferd/internal/codec"
	"inferd/internal/engine"
)

// Model is a loaded model as the server serves it; *engine.Model is one.
type Model interface {
	Runner
	// Signatures lists the servable signatures.
	Signatures() []engine.Signature
	// Version is the model's numeric version.
	Version() int64
}

var _ Model = (*engine.Model)(nil)

// CustomAttributesHeader carries SageMaker's custom attributes, through
// which the TensorFlow Serving container takes tfs-model-name,
// tfs-model-version and tfs-method.
const CustomAttributesHeader = "X-Amzn-SageMaker-Custom-Attributes"

// customAttributesKey is CustomAttributesHeader as http.Header keys it;
// looked up by it, the header needs no canonical key made per request.
const customAttributesKey = "X-Amzn-Sagemaker-Custom-Attributes"

// DefaultMaxBodyBytes bounds a request body when Config.MaxBodyBytes is 0;
// SageMaker's own limit (6 MB) is far below it.
const DefaultMaxBodyBytes = 64 << 20

// Config configures a Server.
type Config struct {
	// Models are the loaded models by name; usually one.
	Models map[string]Model
	// DefaultModel is the model /invocations and /ping use when the
	// request names none. If empty and there is exactly one model, that
	// model is the default.
	DefaultModel string
	// Load loads a model, or a version of one, that is not in Models the
	// first time a request names it: TF Serving serves every version of
	// every model it finds, where a worker starts with one. version is
	// Latest for the model's highest version. It returns ErrNotFound when
	// there is no such model or version. If nil, only Models are served.
	Load func(ctx context.Context, name string, version int64) (Model, error)
	// MaxBodyBytes bounds a request body. If 0, DefaultMaxBodyBytes is
	// used.
	MaxBodyBytes int64
	// Logger receives a debug line per request and a warning per failed
	// one. If nil, nothing is logged.
	Logger *slog.Logger
	// Now is the clock used to time requests. If nil, time.Now is used.
	Now func() time.Time
}

// Server is an http.Handler serving the SageMaker inference container
// contract (GET /ping, POST /invocations) and the TF Serving REST API
// (/v1/models/...), as the SageMaker TensorFlow Serving container does. It
// runs requests concurrently. A model that can run into reused outputs
// (*engine.Model) answers predict requests without allocating its outputs
// or the response: both come from a pool per model and signature, as the
// request bodies come from one of the server's.
type Server struct {
	models       map[string]Model
	canonical    map[string]string // name -> the first name serving the same model
	defaultModel string
	maxBody      int64
	log          *slog.Logger
	now          func() time.Time
	load         func(ctx context.Context, name string, version int64) (Model, error)
	versions     sync.Map // versionKey -> *versionEntry
	loadedMu     sync.Mutex
	loaded       map[versionKey]bool // versions Load loaded, by canonical name
	meta         sync.Map            // versionKey -> *metaEntry
	scratch      scratchPools
	bodies       sync.Pool // *requestBody
	defaultPath  string    // the TF Serving path of an /invocations without attributes
	jsonHeader   []string  // the Content-Type header's value for jsonType, shared by every response
}

var _ http.Handler = (*Server)(nil)

// New returns a Server for cfg.
func New(cfg Config) *Server {
	s := &Server{
		models:       make(map[string]Model, len(cfg.Models)),
		defaultModel: cfg.DefaultModel,
		maxBody:      cfg.MaxBodyBytes,
		load:         cfg.Load,
		loaded:       map[versionKey]bool{},
		log:          cfg.Logger,
		now:          cfg.Now,
	}
	for name, m := range cfg.Models {
		s.models[name] = m
	}
	s.canonical = canonicalNames(s.models)
	if s.defaultModel == "" && len(s.models) == 1 {
		for name := range s.models {
			s.defaultModel = name
		}
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.defaultPath = s.tfsPath(nil)
	s.jsonHeader = []string{jsonType}
	return s
}

// canonicalNames maps each name to the first name, in sort order, that
// serves the same model, so that aliases share the versions loaded on
// demand. Models that cannot be compared (see hashable) are their own.
func canonicalNames(models map[string]Model) map[string]string {
	names := slices.Sorted(maps.Keys(models))
	out := make(map[string]string, len(names))
	for i, name := range names {
		out[name] = name
		m := models[name]
		if !hashable(reflect.ValueOf(m)) {
			continue
		}
		for _, first := range names[:i] {
			if f := models[first]; reflect.TypeOf(f) == reflect.TypeOf(m) && hashable(reflect.ValueOf(f)) && f == m {
				out[name] = out[first]
				break
			}
		}
	}
	return out
}

// DefaultModel is the name of the model /invocations serves by default.
func (s *Server) DefaultModel() string { return s.defaultModel }

// response is one answer, written by ServeHTTP.
type response struct {
	status      int
	contentType string // "" writes no Content-Type
	body        []byte
	err         error        // the failure behind an error answer, for the log
	scratch     *scratch     // when not nil, body is its buffer, put back once written
	request     *requestBody // when not nil, the request's body, put back once answered
}

const jsonType = "application/json"

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	path := r.URL.EscapedPath()
	var resp response
	switch {
	case path == "/ping":
		resp = s.ping()
	case path == "/invocations":
		resp = s.invocations(w, r)
	case len(path) >= 4 && strings.EqualFold(path[:4], "/v1/"):
		resp = s.rest(w, r, path)
	default:
		resp = errorResponse(errNotFound)
	}
	switch resp.contentType {
	case "":
	case jsonType:
		// A shared value, full to its capacity, spares the slice that
		// Set makes; nothing writes into a header value in place.
		w.Header()["Content-Type"] = s.jsonHeader[:1:1]
	default:
		w.Header().Set("Content-Type", resp.contentType)
	}
	w.WriteHeader(resp.status)
	w.Write(resp.body)
	s.logRequest(r, path, start, resp)
	// Write does not retain the body (io.Writer's contract), so the
	// buffers can serve the next requests.
	resp.scratch.put()
	s.putBody(resp.request)
}

// logRequest logs an answered request, building the line only when the
// logger takes its level.
func (s *Server) logRequest(r *http.Request, path string, start time.Time, resp response) {
	level := slog.LevelDebug
	if resp.status >= 500 {
		level = slog.LevelWarn
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	attrs := []any{"method", r.Method, "path", path, "status", resp.status, "duration", s.now().Sub(start)}
	switch {
	case resp.status >= 500:
		s.log.Warn("modelserver: request failed", append(attrs, "err", resp.err)...)
	case resp.err != nil:
		s.log.Debug("modelserver: request refused", append(attrs, "err", resp.err)...)
	default:
		s.log.Debug("modelserver: request", attrs...)
	}
}

// ping answers the container health check: 200 once the default model
// is loaded, which a Server's models always are.
func (s *Server) ping() response {
	if _, ok := s.models[s.defaultModel]; !ok {
		return response{status: http.StatusBadGateway, err: errNoDefaultModel}
	}
	return response{status: http.StatusOK}
}

// invocations answers POST /invocations as the container's nginx script
// does: the body is rewritten into a TF Serving request for the model,
// version and method the custom attributes name, and the answer honours
// Accept.
func (s *Server) invocations(w http.ResponseWriter, r *http.Request) response {
	if r.Method != http.MethodPost {
		return errorResponse(errMethodNotAllowed)
	}
	body, rb, err := s.readBody(w, r)
	if err != nil {
		return errorResponse(err)
	}
	header := r.Header.Get(customAttributesKey)
	release, err := runTestHooks(r.Context(), header)
	if err != nil {
		return errorResponse(err)
	}
	defer release()

	tfs, err := codec.ContainerRequest(r.Header.Get("Content-Type"), body)
	if err != nil {
		return errorResponse(err)
	}
	path := s.defaultPath
	if header != "" {
		path = s.tfsPath(parseCustomAttributes(header))
	}
	out, sc, err := s.post(r.Context(), path, tfs)
	resp := response{status: http.StatusOK, contentType: jsonType, body: out, scratch: sc, request: rb}
	if err != nil {
		// The body is not reused after a failure, which may have left
		// the model's work on its inputs unfinished.
		resp = errorResponse(err)
	}
	accept := r.Header.Get("Accept")
	if resp.scratch == nil {
		if b, ct := codec.ContainerResponse(accept, resp.body); ct != "" {
			resp.body, resp.contentType = b, ct
		}
		return resp
	}
	// The body is this request's own buffer: the newlines go in place.
	// ContainerResponse of no body says whether they go.
	if _, ct := codec.ContainerResponse(accept, nil); ct != "" {
		resp.body, resp.contentType = removeNewlines(resp.body), ct
	}
	return resp
}

// removeNewlines removes every '\n' from b in place and returns what is
// left, as codec.ContainerResponse removes them from a copy.
func removeNewlines(b []byte) []byte {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b
	}
	out := b[:i]
	for rest := b[i+1:]; len(rest) > 0; {
		j := bytes.IndexByte(rest, '\n')
		if j < 0 {
			out = append(out, rest...)
			break
		}
		out = append(out, rest[:j]...)
		rest = rest[j+1:]
	}
	return out
}

// tfsAttribute matches one TF Serving custom attribute, as the
// container's script does: attributes are separated by commas only.
var tfsAttribute = regexp.MustCompile(`tfs-[a-z\-]+=[^,]+`)

// parseCustomAttributes returns the tfs-* custom attributes. As in the
// container, an attribute whose value holds another '=' is ignored.
func parseCustomAttributes(header string) map[string]string {
	attrs := map[string]string{}
	for _, kv := range tfsAttribute.FindAllString(header, -1) {
		if parts := strings.Split(kv, "="); len(parts) == 2 {
			attrs[parts[0]] = parts[1]
		}
	}
	return attrs
}

// tfsPath is the TF Serving REST path the container forwards an
// invocation to.
func (s *Server) tfsPath(attrs map[string]string) string {
	name := attrs["tfs-model-name"]
	if name == "" {
		name = s.defaultModel
	}
	path := "/v1/models/" + name
	if v, ok := attrs["tfs-model-version"]; ok {
		path += "/versions/" + v
	}
	method := attrs["tfs-method"]
	if method == "" {
		method = string(Predict)
	}
	return path + ":" + method
}

// rest answers the TF Serving REST API.
func (s *Server) rest(w http.ResponseWriter, r *http.Request, path string) response {
	var (
		out []byte
		err error
	)
	switch r.Method {
	case http.MethodPost:
		var (
			body []byte
			rb   *requestBody
			sc   *scratch
		)
		if body, rb, err = s.readBody(w, r); err == nil {
			if out, sc, err = s.post(r.Context(), path, body); err == nil {
				return response{status: http.StatusOK, contentType: jsonType, body: out, scratch: sc, request: rb}
			}
		}
	case http.MethodGet:
		out, err = s.get(r.Context(), path)
	default:
		err = malformed(r.Method, path)
	}
	if err != nil {
		return errorResponse(err)
	}
	return response{status: http.StatusOK, contentType: jsonType, body: out}
}

// requestBody is a buffer a request's body is read into, pooled by the
// server. The body's tensors may share its memory (codec.DecodePredict
// does with strings), so it goes back to the pool only once the request
// is answered, and only after a success.
type requestBody struct {
	b []byte
}

// readBody reads the request's body, at most Config.MaxBodyBytes, into a
// pooled buffer, which the caller puts back with putBody once done with
// body.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, rb *requestBody, err error) {
	rb, _ = s.bodies.Get().(*requestBody)
	if rb == nil {
		rb = &requestBody{}
	}
	buf := rb.b[:0]
	if n := r.ContentLength; n > 0 && n < s.maxBody && n < maxPooledBytes {
		// One byte more, so that the read that sees the end needs no
		// room of its own.
		buf = slices.Grow(buf, int(n)+1)
	}
	rd := http.MaxBytesReader(w, r.Body, s.maxBody)
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, 512)
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, nil, err
			}
			if ctxErr := r.Context().Err(); ctxErr != nil {
				return nil, nil, ctxErr
			}
			return nil, nil, codec.Errorf(codec.InvalidArgument, "cannot read the request body: %w", err)
		}
	}
	rb.b = buf
	return buf, rb, nil
}

// putBody gives a request's body buffer back to the pool, unless it is
// over maxPooledBytes. A nil rb is ignored.
func (s *Server) putBody(rb *requestBody) {
	if rb == nil || cap(rb.b) > maxPooledBytes {
		return
	}
	s.bodies.Put(rb)
}

// The server's own errors; TF Serving's are *codec.Error.
var (
	errNotFound         = errors.New("modelserver: no such path")
	errMethodNotAllowed = errors.New("modelserver: method not allowed")
	errNoDefaultModel   = errors.New("modelserver: the default model is not loaded")
)

// errorResponse is the one translation of an error to its HTTP answer:
// the container's 415 for a content type it does not take, TF Serving's
// status and {"error": ...} for everything else.
func errorResponse(err error) response {
	var (
		media    *codec.UnsupportedMediaTypeError
		tooLarge *http.MaxBytesError
		e        *codec.Error
	)
	switch {
	case errors.As(err, &media):
		return response{status: http.StatusUnsupportedMediaType, contentType: jsonType, body: media.Body(), err: err}
	case errors.As(err, &tooLarge):
		e = codec.Errorf(codec.InvalidArgument, "Request body is larger than %d bytes", tooLarge.Limit)
		return response{status: http.StatusRequestEntityTooLarge, contentType: jsonType, body: codec.ErrorJSON(e), err: err}
	case errors.As(err, &e):
	case errors.Is(err, errNotFound):
		e = &codec.Error{Code: codec.NotFound, Message: "Not Found", Err: err}
	case errors.Is(err, errMethodNotAllowed):
		return response{status: http.StatusMethodNotAllowed, contentType: jsonType,
			body: codec.ErrorJSON(errors.New("Method Not Allowed")), err: err}
	case errors.Is(err, context.DeadlineExceeded):
		e = &codec.Error{Code: codec.DeadlineExceeded, Message: "Deadline Exceeded", Err: err}
	case errors.Is(err, context.Canceled):
		e = &codec.Error{Code: codec.Cancelled, Message: "Cancelled", Err: err}
	default:
		e = &codec.Error{Code: codec.Internal, Message: err.Error(), Err: err}
	}
	return response{status: e.Code.HTTPStatus(), contentType: jsonType, body: codec.ErrorJSON(e), err: err}
}
