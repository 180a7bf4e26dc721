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

if ! command -v cargo >/dev/null 2>&1; then
  echo "demo-kube: cargo not found; install Rust (https://rustup.rs) and run make demo-kube again" >&2
  exit 2
fi
if [ ! -x /usr/bin/docker-registry ]; then
  echo "demo-kube: installing docker-registry (apt)..."
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "demo-kube: run as root or install docker-registry: apt-get install -y docker-registry" >&2
      exit 2
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq docker-registry >/dev/null
fi

echo "demo-kube: building imagegate and the harness (first run takes a few minutes)..."
cargo build -q -p imagegate-cli -p imagegate-e2e --bin imagegate --bin demo-kube
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/demo-kube"
