package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"inferd/internal/fleet"
	"inferd/internal/runtime"
	"inferd/internal/sagemaker"
)

// workerFleet is what the data plane needs of the fleet.
type workerFleet interface {
	Apply(ctx context.Context, spec fleet.WorkerSpec) error
	Remove(ctx context.Context, endpoint string) error
	RemoveVariant(ctx context.Context, endpoint, variant string) error
	Do(ctx context.Context, endpoint, variant string, r *http.Request) (*http.Response, error)
	Stats(endpoint, variant string) (fleet.Stats, bool)
}

// artifactFetcher makes a model's data available locally.
type artifactFetcher interface {
	Fetch(ctx context.Context, rawURL string, uncompressed bool) (string, error)
}

// dataPlane joins the control plane to the fleet: it deploys endpoint
// configurations onto worker pools (sagemaker.Deployer), serves
// invocations through them (runtime.Invoker), brings back the pools of
// InService endpoints on first use after a restart, and removes the pools
// of deleted endpoints.
type dataPlane struct {
	fleet     workerFleet
	artifacts artifactFetcher
	views     endpointViewer
	now       func() time.Time
	log       *slog.Logger
	// forget, if not nil, drops a deleted endpoint's metrics.
	forget func(endpoint string)
	// removeTimeout bounds the drain of a deleted endpoint's requests.
	removeTimeout time.Duration

	mu    sync.Mutex
	locks map[string]chan struct{} // per endpoint: serialises deploys and removals
	// pools holds the spec each variant's pool was applied with, per
	// endpoint, so a deployment that changes nothing of a variant (new
	// weights) keeps its workers, and the variants an update dropped can
	// be retired.
	pools map[string]map[string]fleet.WorkerSpec
	wg    sync.WaitGroup // removals in flight
}

var (
	_ sagemaker.Deployer = (*dataPlane)(nil)
	_ runtime.Invoker    = (*dataPlane)(nil)
)

// lock serialises the data plane's changes to one endpoint. It gives up
// with ctx's error when ctx is done first, so a request never waits past
// its deadline for a deployment to finish.
func (d *dataPlane) lock(ctx context.Context, endpoint string) (unlock func(), err error) {
	d.mu.Lock()
	if d.locks == nil {
		d.locks = map[string]chan struct{}{}
	}
	sem := d.locks[endpoint]
	if sem == nil {
		sem = make(chan struct{}, 1)
		d.locks[endpoint] = sem
	}
	d.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Deploy implements sagemaker.Deployer: it fetches each variant's model
// data and applies its pool, which loads the model in a worker before the
// pool takes traffic; variants the configuration no longer has are then
// drained and stopped. The error text becomes the endpoint's
// FailureReason.
func (d *dataPlane) Deploy(ctx context.Context, v sagemaker.EndpointView) error {
	unlock, err := d.lock(ctx, v.Name)
	if err != nil {
		return err
	}
	defer unlock()
	specs := make([]fleet.WorkerSpec, 0, len(v.Variants))
	for _, vv := range v.Variants {
		spec, err := d.spec(ctx, v.Name, vv)
		if err != nil {
			return err
		}
		specs = append(specs, spec)
	}
	for _, spec := range specs {
		if d.unchanged(spec) {
			continue
		}
		if err := d.fleet.Apply(ctx, spec); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("Variant %s could not load its model: %s", spec.Variant, loaderMessage(err))
		}
		d.applied(spec)
	}
	return nil
}

// applied notes the spec of a variant's new pool.
func (d *dataPlane) applied(spec fleet.WorkerSpec) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pools == nil {
		d.pools = map[string]map[string]fleet.WorkerSpec{}
	}
	if d.pools[spec.Endpoint] == nil {
		d.pools[spec.Endpoint] = map[string]fleet.WorkerSpec{}
	}
	d.pools[spec.Endpoint][spec.Variant] = spec
}

// unchanged reports whether the variant's pool runs spec already (the
// model directory is content-addressed, so the same data is the same
// directory).
func (d *dataPlane) unchanged(spec fleet.WorkerSpec) bool {
	d.mu.Lock()
	last, ok := d.pools[spec.Endpoint][spec.Variant]
	d.mu.Unlock()
	if !ok || !reflect.DeepEqual(last, spec) {
		return false
	}
	_, live := d.fleet.Stats(spec.Endpoint, spec.Variant)
	return live
}

// retire drains and stops the pools of endpoint's variants that the
// deployed view v no longer has.
func (d *dataPlane) retire(ctx context.Context, endpoint string, v sagemaker.EndpointView) {
	keep := map[string]bool{}
	for _, vv := range v.Variants {
		keep[vv.VariantName] = true
	}
	d.mu.Lock()
	var gone []string
	for name := range d.pools[endpoint] {
		if !keep[name] {
			gone = append(gone, name)
			delete(d.pools[endpoint], name)
		}
	}
	d.mu.Unlock()
	for _, name := range gone {
		if err := d.fleet.RemoveVariant(ctx, endpoint, name); err != nil {
			d.log.Warn("app: removing retired variant", "endpoint", endpoint, "variant", name, "err", err)
		}
		d.log.Info("app: retired variant removed", "endpoint", endpoint, "variant", name)
	}
}

// spec makes the worker spec of one variant, fetching its model data.
func (d *dataPlane) spec(ctx context.Context, endpoint string, vv sagemaker.VariantView) (fleet.WorkerSpec, error) {
	if len(vv.Containers) != 1 {
		return fleet.WorkerSpec{}, fmt.Errorf("Variant %s has %d containers; inferd serves models of exactly one container.", vv.VariantName, len(vv.Containers))
	}
	c := vv.Containers[0]
	if c.ModelDataURL == "" {
		return fleet.WorkerSpec{}, fmt.Errorf("Variant %s: model %s has no model data (ModelDataUrl); inferd needs a SavedModel or an ONNX model.", vv.VariantName, vv.ModelName)
	}
	dir, err := d.artifacts.Fetch(ctx, c.ModelDataURL, c.Uncompressed)
	if err != nil {
		if ctx.Err() != nil {
			return fleet.WorkerSpec{}, ctx.Err()
		}
		return fleet.WorkerSpec{}, fmt.Errorf("Variant %s could not fetch its model data: %v", vv.VariantName, err)
	}
	spec := fleet.WorkerSpec{Endpoint: endpoint, Variant: vv.VariantName, ModelDir: dir, Env: c.Environment}
	if sc := vv.Serverless; sc != nil {
		spec.MemoryMB, spec.MaxConcurrency, spec.Provisioned = sc.MemorySizeInMB, sc.MaxConcurrency, sc.ProvisionedConcurrency
	} else {
		spec.MinWorkers = vv.InstanceCount
	}
	return spec, nil
}

// loaderMessage is a start error without the fleet's sentinel words, so
// the client reads what the loader said.
func loaderMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{fleet.ErrSetup.Error() + ": ", fleet.ErrInvalidSpec.Error() + ": "} {
		if i := strings.LastIndex(msg, prefix); i >= 0 {
			msg = msg[i+len(prefix):]
		}
	}
	return msg
}

// endpointChanged is the control plane's change hook: once an endpoint is
// gone, its pools are drained and stopped in the background.
func (d *dataPlane) endpointChanged(name string) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.removeIfGone(name)
	}()
}

func (d *dataPlane) removeIfGone(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), d.removeTimeout)
	defer cancel()
	unlock, err := d.lock(ctx, name)
	if err != nil {
		d.log.Warn("app: endpoint change not handled", "endpoint", name, "err", err)
		return
	}
	defer unlock()
	v, err := d.views.Endpoint(ctx, name)
	switch {
	case errors.Is(err, sagemaker.ErrNotFound):
		d.mu.Lock()
		delete(d.pools, name)
		d.mu.Unlock()
		if err := d.fleet.Remove(ctx, name); err != nil {
			d.log.Warn("app: removing a deleted endpoint's workers", "endpoint", name, "err", err)
		}
		if d.forget != nil {
			d.forget(name)
		}
		d.log.Info("app: endpoint workers removed", "endpoint", name)
	case err != nil:
		d.log.Warn("app: endpoint change", "endpoint", name, "err", err)
	case v.Status == sagemaker.StatusInService:
		// An update finished: stop variants the new configuration dropped.
		d.retire(ctx, name, v)
	}
}

// wait waits for removals in flight.
func (d *dataPlane) wait() { d.wg.Wait() }

// ensure registers the pool of an InService endpoint's variant that has
// none, as after a restart; the Apply is the request's cold start.
func (d *dataPlane) ensure(ctx context.Context, endpoint, variant string) error {
	unlock, err := d.lock(ctx, endpoint)
	if err != nil {
		return err
	}
	defer unlock()
	if _, ok := d.fleet.Stats(endpoint, variant); ok {
		return nil // another request brought it back meanwhile
	}
	v, err := d.views.Endpoint(ctx, endpoint)
	if err != nil {
		return err
	}
	if v.Status != sagemaker.StatusInService {
		return fmt.Errorf("%w: Endpoint %s is %s; its workers are not registered yet.", runtime.ErrModelNotReady, endpoint, v.Status)
	}
	for _, vv := range v.Variants {
		if vv.VariantName != variant && variant != "" {
			continue
		}
		spec, err := d.spec(ctx, endpoint, vv)
		if err != nil {
			return &runtime.ModelError{OriginalStatusCode: 0, OriginalMessage: err.Error()}
		}
		d.log.Info("app: registering the pool of an InService endpoint", "endpoint", endpoint, "variant", vv.VariantName)
		if err := d.fleet.Apply(ctx, spec); err != nil {
			return err
		}
		d.applied(spec)
		return nil
	}
	return fmt.Errorf("%w: Endpoint %s has no variant %s.", runtime.ErrValidation, endpoint, variant)
}

// restore registers, in the background, the pools of InService endpoints
// that keep capacity warm (ProvisionedConcurrency, instance variants);
// the others come back on their first request.
func (d *dataPlane) restore(ctx context.Context, names []string) {
	for _, name := range names {
		v, err := d.views.Endpoint(ctx, name)
		if err != nil || v.Status != sagemaker.StatusInService {
			continue
		}
		for _, vv := range v.Variants {
			if vv.Serverless != nil && vv.Serverless.ProvisionedConcurrency == 0 {
				continue
			}
			if err := d.ensure(ctx, name, vv.VariantName); err != nil {
				if ctx.Err() != nil {
					return
				}
				d.log.Warn("app: restoring warm capacity", "endpoint", name, "variant", vv.VariantName, "err", err)
			}
		}
	}
}

// maxResponse bounds a worker's answer: SageMaker's 6 MB response limit,
// with room to spare for a model error's text.
const maxResponse = 6<<20 + 1

// Invoke implements runtime.Invoker: it forwards the request to a worker
// of the chosen variant over the SageMaker container contract.
//
// The model latency reported runs from the moment the request was written
// to a worker to the end of its answer, so a cold start and the wait for a
// place count as overhead, as SageMaker counts them.
func (d *dataPlane) Invoke(ctx context.Context, ep runtime.Endpoint, req *runtime.Request) (*runtime.Response, error) {
	var wrote atomic.Int64 // d.now() in Unix nanoseconds when the request reached a worker
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(d.now().UnixNano()) },
	})
	start := d.now()
	resp, err := d.do(ctx, ep.Name, req)
	if errors.Is(err, fleet.ErrNoPool) && ctx.Err() == nil {
		if eerr := d.ensure(ctx, ep.Name, req.Variant); eerr != nil {
			return nil, invokeError(ep.Name, req.Variant, eerr)
		}
		resp, err = d.do(ctx, ep.Name, req)
	}
	if err != nil {
		return nil, invokeError(ep.Name, req.Variant, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, invokeError(ep.Name, req.Variant, fmt.Errorf("%w: reading the answer: %v", fleet.ErrWorkerFailed, err))
	}
	end := d.now()
	latency := end.Sub(start)
	if w := wrote.Load(); w != 0 && w >= start.UnixNano() {
		latency = end.Sub(time.Unix(0, w))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &runtime.ModelError{OriginalStatusCode: resp.StatusCode, OriginalMessage: string(body)}
	}
	if len(body) >= maxResponse {
		return nil, &runtime.ModelError{OriginalStatusCode: resp.StatusCode, OriginalMessage: "The model's response is larger than the 6 MB limit."}
	}
	return &runtime.Response{
		Variant:          req.Variant,
		ContentType:      resp.Header.Get("Content-Type"),
		CustomAttributes: resp.Header.Get("X-Amzn-SageMaker-Custom-Attributes"),
		Body:             body,
		ModelLatency:     latency,
	}, nil
}

func (d *dataPlane) do(ctx context.Context, endpoint string, req *runtime.Request) (*http.Response, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://worker/invocations", bytes.NewReader(req.Body))
	if err != nil {
		return nil, err
	}
	for k, v := range map[string]string{
		"Content-Type":                       req.ContentType,
		"Accept":                             req.Accept,
		"X-Amzn-SageMaker-Custom-Attributes": req.CustomAttributes,
		"X-Amzn-SageMaker-Inference-Id":      req.InferenceID,
		"X-Amzn-SageMaker-Target-Variant":    req.TargetVariant,
	} {
		if v != "" {
			hr.Header.Set(k, v)
		}
	}
	return d.fleet.Do(ctx, endpoint, req.Variant, hr)
}

// invokeError translates the fleet's errors into the runtime's.
func invokeError(endpoint, variant string, err error) error {
	var me *runtime.ModelError
	switch {
	case errors.As(err, &me):
		return err
	case errors.Is(err, fleet.ErrThrottled):
		return fmt.Errorf("%w: Endpoint %s variant %s is at its MaxConcurrency; slow down and retry.", runtime.ErrThrottled, endpoint, variant)
	case errors.Is(err, fleet.ErrWorkerFailed):
		return &runtime.ModelError{OriginalStatusCode: 0, OriginalMessage: "The model server failed while serving the request: " + workerReason(err)}
	case errors.Is(err, fleet.ErrSetup):
		return &runtime.ModelError{OriginalStatusCode: 0, OriginalMessage: "The model server could not start: " + loaderMessage(err)}
	case errors.Is(err, fleet.ErrNoPool), errors.Is(err, fleet.ErrClosed):
		return fmt.Errorf("%w: Endpoint %s variant %s has no workers registered; try again.", runtime.ErrModelNotReady, endpoint, variant)
	case errors.Is(err, runtime.ErrModelNotReady), errors.Is(err, runtime.ErrValidation), errors.Is(err, sagemaker.ErrNotFound):
		return err
	}
	return err // context errors: the runtime reports a timeout; else InternalFailure
}

// workerReason is the *fleet.ExitError's reason when there is one.
func workerReason(err error) string {
	var ee *fleet.ExitError
	if errors.As(err, &ee) {
		return ee.Reason
	}
	msg := err.Error()
	if i := strings.Index(msg, fleet.ErrWorkerFailed.Error()+": "); i >= 0 {
		msg = msg[i+len(fleet.ErrWorkerFailed.Error())+2:]
	}
	return msg
}
