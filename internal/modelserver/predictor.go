package modelserver

import (
	"context"
	"errors"
	"strings"

	"inferd/internal/codec"
	"inferd/internal/engine"
	"inferd/internal/kernels"
	"inferd/internal/tensor"
)

// Runner is what answering a request needs of a loaded model;
// *engine.Model is one.
type Runner interface {
	// Signature returns the servable signature called name.
	Signature(name string) (engine.Signature, bool)
	// Run runs a signature; it must be safe for concurrent use.
	Run(ctx context.Context, signature string, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error)
}

var _ Runner = (*engine.Model)(nil)

// Method is a TF Serving inference API.
type Method string

// The TF Serving methods, as they appear after the ':' of a REST path and
// in the tfs-method custom attribute.
const (
	Predict  Method = "predict"
	Classify Method = "classify"
	Regress  Method = "regress"
)

// Valid reports whether m is one of the TF Serving methods.
func (m Method) Valid() bool {
	return m == Predict || m == Classify || m == Regress
}

// Predictor answers TF Serving request bodies against one model, as TF
// Serving does.
type Predictor struct {
	// Model runs the requests.
	Model Runner
	// DefaultSignature is used when a request names no signature. If
	// empty, "serving_default" is used.
	DefaultSignature string
}

// Do answers a TF Serving JSON request body (not a SageMaker
// /invocations body: see codec.ContainerRequest) with TF Serving's JSON
// answer. Its errors are *codec.Error, whose message is TF Serving's.
func (p Predictor) Do(ctx context.Context, method Method, body []byte) ([]byte, error) {
	out, _, err := answer(ctx, nil, method, body, p.DefaultSignature, func() (Runner, error) { return p.Model, nil })
	return out, err
}

// answer runs one request. lookup finds the model; it is called at the
// point where TF Serving looks the servable up, so that a malformed body
// is reported before an unknown model, as TF Serving reports them. With
// pools, a model that can run into reused outputs does so, and the answer
// is written into the scratch's buffer: out then belongs to sc, which the
// caller puts back once out is written, and not before. sc is nil when
// out is the caller's.
func answer(ctx context.Context, pools *scratchPools, method Method, body []byte, defaultSig string, lookup func() (Runner, error)) (out []byte, sc *scratch, err error) {
	switch {
	case !method.Valid():
		return nil, nil, codec.Errorf(codec.InvalidArgument, "unknown method %q", method)
	case method != Predict:
		return examples(ctx, pools, method, body, defaultSig, lookup)
	}
	var (
		model Runner
		sig   engine.Signature
		pool  *scratchPool
	)
	req, err := codec.DecodePredict(body, func(name string) ([]codec.Input, error) {
		m, err := lookup()
		if err != nil {
			return nil, err
		}
		s, err := signature(m, name, defaultSig)
		if err != nil {
			return nil, err
		}
		model, sig = m, s
		if pool = pools.pool(m, s); pool != nil {
			return pool.inputs, nil
		}
		return codecInputs(s), nil
	})
	if err != nil {
		return nil, nil, err
	}
	if sc = pool.get(); sc == nil {
		outputs, err := run(ctx, model, sig.Name, req.Inputs)
		if err != nil {
			return nil, nil, err
		}
		out, err = codec.EncodePredict(req.Format, outputs, codec.EncodeOptions{})
		return out, nil, err
	}
	if err := runInto(ctx, model.(intoRunner), sig.Name, req.Inputs, &sc.outs); err != nil {
		sc.put()
		return nil, nil, err
	}
	out, err = codec.AppendPredict(sc.buf[:0], req.Format, sc.outs.Map(), codec.EncodeOptions{})
	if err != nil {
		sc.put()
		return nil, nil, err
	}
	sc.buf = out
	return out, sc, nil
}

// signature resolves a request's signature name.
func signature(m Runner, name, defaultSig string) (engine.Signature, error) {
	if name == "" {
		name = defaultSig
	}
	if name == "" {
		name = codec.DefaultSignature
	}
	sig, ok := m.Signature(name)
	if !ok {
		return sig, codec.ErrSignatureNotFound(name)
	}
	return sig, nil
}

// examples answers a classify or regress request. With pools, the outputs
// are a scratch's, given back once the answer, which copies them, is
// encoded.
func examples(ctx context.Context, pools *scratchPools, method Method, body []byte, defaultSig string, lookup func() (Runner, error)) ([]byte, *scratch, error) {
	req, err := codec.DecodeExamples(body)
	if err != nil {
		return nil, nil, err
	}
	m, err := lookup()
	if err != nil {
		return nil, nil, err
	}
	sig, err := signature(m, req.SignatureName, defaultSig)
	if err != nil {
		return nil, nil, err
	}
	wantMethod := "tensorflow/serving/" + string(method)
	if sig.MethodName != wantMethod {
		kind := map[Method]string{Classify: "classification", Regress: "regression"}[method]
		return nil, nil, codec.Errorf(codec.InvalidArgument, "Expected %s signature method_name to be %s. Was: %s", kind, wantMethod, sig.MethodName)
	}
	if len(sig.Inputs) != 1 {
		return nil, nil, codec.Errorf(codec.InvalidArgument, "Expected one input Tensor.")
	}
	inputs := map[string]*tensor.Tensor{sig.Inputs[0].Name: req.Tensor()}
	var outputs map[string]*tensor.Tensor
	if sc := pools.pool(m, sig).get(); sc != nil {
		defer sc.put()
		err = runInto(ctx, m.(intoRunner), sig.Name, inputs, &sc.outs)
		outputs = sc.outs.Map()
	} else {
		outputs, err = run(ctx, m, sig.Name, inputs)
	}
	if err != nil {
		return nil, nil, err
	}
	var out []byte
	if method == Classify {
		out, err = codec.EncodeClassify(outputs, len(req.Examples))
	} else {
		out, err = codec.EncodeRegress(outputs, len(req.Examples))
	}
	return out, nil, err
}

// run runs the model, with its error translated by runError.
func run(ctx context.Context, m Runner, signature string, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	out, err := m.Run(ctx, signature, inputs)
	if err != nil {
		return nil, runError(err)
	}
	return out, nil
}

// runInto is run writing the outputs into out.
func runInto(ctx context.Context, m intoRunner, signature string, inputs map[string]*tensor.Tensor, out *engine.Outputs) error {
	if err := m.RunInto(ctx, signature, inputs, out); err != nil {
		return runError(err)
	}
	return nil
}

// runError translates a run's error to TF Serving's: a caller's mistake
// is INVALID_ARGUMENT, an expired or cancelled request has its own code,
// and anything else is INTERNAL.
func runError(err error) error {
	msg := err.Error()
	code := codec.Internal
	switch {
	case errors.Is(err, engine.ErrInvalidInput):
		msg = strings.TrimPrefix(msg, engine.ErrInvalidInput.Error()+": ")
		code = codec.InvalidArgument
	case errors.Is(err, kernels.ErrInvalidArgument):
		// An op that refuses its operands (a CNN fed a tensor of the wrong
		// rank) is the caller's mistake too: TensorFlow returns the
		// kernel's INVALID_ARGUMENT status, which TF Serving answers with 400.
		code = codec.InvalidArgument
	case errors.Is(err, context.DeadlineExceeded):
		code = codec.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codec.Cancelled
	}
	return &codec.Error{Code: code, Message: msg, Err: err}
}
