#!/usr/bin/env bash
# make demo: the user story end to end on one machine, through the Gatekeeper-in-a-box harness
# (e2e/src/bin/demo.rs): a registry with a signed and an unsigned image, `imagegate serve` behind
# mutual TLS, the ImagegateVerification policy, the two `kubectl run demo --image=...` admissions
# (allowed / denied with the reason) and the audit's compliance table. Everything the demo starts
# is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f testdata/notation/jws-e2e-valid.json ]; then
  echo "demo: testdata/notation/jws-e2e-valid.json not found; run from a complete checkout" >&2
  exit 2
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "demo: cargo not found; install Rust (https://rustup.rs) and run make demo again" >&2
  exit 2
fi
# Debian's docker-registry (distribution 2.8), as .ci/run installs it.
if [ ! -x /usr/bin/docker-registry ]; then
  echo "demo: installing docker-registry (apt)..."
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "demo: run as root or install docker-registry: apt-get install -y docker-registry" >&2
      exit 2
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq docker-registry >/dev/null
fi

echo "demo: building imagegate and the harness (first run takes a few minutes)..."
cargo build -q -p imagegate-cli -p imagegate-e2e --bin imagegate --bin demo
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/demo"
