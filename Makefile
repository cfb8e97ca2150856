# The test command named in README.md. CI runs it through .ci/run.
GO ?= go

.PHONY: test unit conformance e2e build

test: unit conformance e2e

unit:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 12m ./...
	$(GO) test -count=1 -tags noasm ./internal/kernels ./internal/engine
	INFERD_CPU=avx2 $(GO) test -count=1 ./internal/kernels ./internal/engine

# conformance prints the ONNX backend-test summary line; the test itself
# also runs (silently) as part of unit.
conformance:
	$(GO) test -count=1 -run '^TestConformance$$' -v ./internal/onnx/importer | grep -E '^(onnx conformance|--- FAIL|FAIL|ok)'

e2e: build
	bash e2e/run.sh

build:
	$(GO) build -o bin/inferd ./cmd/inferd
