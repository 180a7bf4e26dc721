# imagegate — top-level tasks. `make test` is what CI runs (through .ci/run).
SHELL := /bin/bash
CARGO ?= cargo
SHARED ?= $(abspath ../shared)
VECTORS := $(SHARED)/vectors/notation
IMAGEGATE := target/release/imagegate

.PHONY: all build test fmt-check lint unit demo bench fuzz fuzz-smoke clean

all: build

build:
	$(CARGO) build --workspace --release

## test: formatting, lints and every test (what CI runs)
test: fmt-check lint unit

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

unit:
	$(CARGO) test --workspace --all-features

## demo: verify the real Notation e2e signature shipped in ../shared/vectors (see README)
demo:
	@scripts/demo.sh

## bench: criterion benchmarks with their floors measured in the same run (see BENCHMARKS.md)
bench:
	$(CARGO) bench --workspace -- --warm-up-time 1 --measurement-time 5

## fuzz: run every cargo-fuzz target (FUZZ_SECONDS each, default 60) on stable via RUSTC_BOOTSTRAP
fuzz:
	@scripts/fuzz.sh $${FUZZ_SECONDS:-60}

clean:
	$(CARGO) clean
