#!/usr/bin/env bash
# make demo-azure: the seed's Azure story end to end on one machine, against local emulators of
# Entra ID, Key Vault and the ACR token service (crates/testkit/src/azure) in front of Debian's
# docker-registry: a certificate in Key Vault, a signed and an unsigned image in the
# token-protected registry, `imagegate serve` with the AKS overlay's CRDs and workload-identity
# environment, and the two `kubectl run demo --image=...` admissions. Everything started is
# stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/demo-prereqs.sh
source scripts/demo-prereqs.sh
demo_prereqs demo-azure

echo "demo-azure: building imagegate and the demo (first run takes a few minutes)..."
cargo build -q -p imagegate-cli --bin imagegate
cargo build -q -p imagegate-azure --example demo-azure
target=${CARGO_TARGET_DIR:-target}
IMAGEGATE_BIN="$(cd "$target/debug" && pwd)/imagegate" exec "$target/debug/examples/demo-azure"
