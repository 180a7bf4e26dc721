#!/usr/bin/env bash
# make demo-azure: the seed's Azure story end to end on one machine, against local emulators of
# Entra ID, Key Vault and the ACR token service (crates/testkit/src/azure) in front of Debian's
# docker-registry: a certificate in Key Vault, a signed and an unsigned image in the
# token-protected registry, `imagegate serve` with the AKS overlay's CRDs and workload-identity
# environment, and the two `kubectl run demo --image=...` admissions. Everything started is
# stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "demo-azure: cargo not found; install Rust (https://rustup.rs) and run make demo-azure again" >&2
  exit 2
fi
if [ ! -x /usr/bin/docker-registry ]; then
  echo "demo-azure: installing docker-registry (apt)..."
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "demo-azure: run as root or install docker-registry: apt-get install -y docker-registry" >&2
      exit 2
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq docker-registry >/dev/null
fi

echo "demo-azure: building imagegate and the demo (first run takes a few minutes)..."
cargo build -q -p imagegate-cli --bin imagegate
cargo build -q -p imagegate-azure --example demo-azure
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/examples/demo-azure"
