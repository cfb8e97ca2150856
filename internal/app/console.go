package app

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"inferd/internal/worker"
)

// modelMetadata answers the TF Serving metadata of the model an
// endpoint's first registered variant serves, through one of its
// workers, for the console's test panel. The model's name is the one the
// worker gives it (worker.DefaultName): the directory that holds its
// version directory, or "model" for the root of the model data.
func (d *dataPlane) modelMetadata(ctx context.Context, endpoint string) ([]byte, error) {
	d.mu.Lock()
	var variant, root, envName string
	for name, spec := range d.pools[endpoint] {
		if variant == "" || name < variant {
			variant, root, envName = name, spec.ModelDir, spec.Env[worker.EnvDefaultModelName]
		}
	}
	d.mu.Unlock()
	if variant == "" {
		return nil, fmt.Errorf("app: endpoint %s has no workers registered", endpoint)
	}
	name, err := worker.DefaultName(root, envName)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://worker/v1/models/"+name+"/metadata", nil)
	if err != nil {
		return nil, err
	}
	resp, err := d.fleet.Do(ctx, endpoint, variant, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("app: model metadata: status %d", resp.StatusCode)
	}
	return b, nil
}
