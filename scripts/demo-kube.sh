#!/usr/bin/env bash
# make demo-kube: the seed's story configured through the Kubernetes API (e2e/src/bin/demo_kube.rs):
# a registry with a signed and an unsigned image, the testkit Kubernetes API server, the seed's
# Ratify objects applied to it with Debian's `kubectl apply --validate=false` (the emulator
# serves discovery but no OpenAPI; without kubectl they go through its HTTP API),
# `imagegate serve --kubernetes` picking them up, the two `kubectl run` admissions, and
# `kubectl get verifiers` (and stores, policies, keymanagementproviders) with Ratify's columns. Everything
# the demo starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/demo-prereqs.sh
source scripts/demo-prereqs.sh
demo_prereqs demo-kube

echo "demo-kube: building imagegate and the harness (first run takes a few minutes)..."
cargo build -q -p imagegate-cli -p imagegate-e2e --bin imagegate --bin demo-kube
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/demo-kube"
