# imagegate — top-level tasks. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test fmt-check lint unit fuzz-check demo demo-files demo-kube demo-azure bench soak fuzz deploy-check clean

all: build

build:
	$(CARGO) build --workspace --release

## test: formatting, lints and every test (what CI runs)
test: fmt-check lint unit fuzz-check

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

unit:
	IMAGEGATE_BIN=$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/imagegate $(CARGO) test --workspace --all-features --no-fail-fast

## fuzz-check: compile the fuzz targets (outside the workspace) so a refactor cannot break them;
## shares the workspace's target directory, runs nothing
fuzz-check:
	cd fuzz && $(CARGO) check --bins --target-dir $(abspath $(or $(CARGO_TARGET_DIR),target))

## demo: verify the real Notation e2e signature shipped in testdata/notation (see README)
## demo: the seed's story three ways — files, Ratify CRDs through a Kubernetes API server,
## Key Vault + ACR with workload identity (each part alone: demo-files, demo-kube, demo-azure)
demo: demo-files demo-kube demo-azure

demo-files:
	@scripts/demo.sh

## demo-kube: the same story configured through Ratify CRDs in an in-test Kubernetes API server
demo-kube:
	@scripts/demo-kube.sh

## demo-azure: Key Vault certificate + ACR with workload identity, against local emulators
demo-azure:
	@scripts/demo-azure.sh

## bench: every benchmark against a floor measured in the same run (results: BENCHMARKS.md)
bench:
	@scripts/bench.sh $(BENCH_ARGS)

## soak: faults under load for SOAK_SECONDS (default 600); not part of `make test`
soak:
	@scripts/soak.sh

## deploy-check: render every kustomize overlay in deploy/ with kubectl kustomize
deploy-check:
	@deploy/check.sh

## fuzz: run every cargo-fuzz target (FUZZ_SECONDS each, default 60) on stable via RUSTC_BOOTSTRAP
fuzz:
	@scripts/fuzz.sh $${FUZZ_SECONDS:-60}

clean:
	$(CARGO) clean
