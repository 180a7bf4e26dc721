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
# shellcheck source=scripts/demo-prereqs.sh
source scripts/demo-prereqs.sh
demo_prereqs demo

echo "demo: building imagegate and the harness (first run takes a few minutes)..."
cargo build -q -p imagegate-cli -p imagegate-e2e --bin imagegate --bin demo
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/demo"
