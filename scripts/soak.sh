#!/usr/bin/env bash
# Faults under load (issue 6): drive a real `imagegate serve` (TLS + mTLS) at a steady rate
# while the registry is restarted, slowed down, the TLS material rotated and the trust store
# reloaded; report counts, errors by kind, latency percentiles per phase and the provider's
# RSS trend. Loopback only; not part of `make test`.
#
#   scripts/soak.sh                 (make soak)           10 minutes
#   SOAK_SECONDS=60 scripts/soak.sh (make soak SOAK_SECONDS=60)  short check
#
# Settings (environment): SOAK_SECONDS (default 600), SOAK_RATE requests/s (20),
# SOAK_SLOW_MS added registry delay in the slow phase (1500), SOAK_IMAGES signed images (120),
# SOAK_REPORT Markdown report path (<target>/soak-report.md), IMAGEGATE_BIN (the release build).
# Needs /usr/bin/docker-registry (apt-get install docker-registry).
# Exit status: 0 passed, 1 violations or RSS growth, 2 could not run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo=${CARGO:-cargo}
target=${CARGO_TARGET_DIR:-target}
case "${SOAK_SECONDS:-600}" in
  '' | *[!0-9]*) echo "soak.sh: SOAK_SECONDS must be a whole number of seconds" >&2; exit 2 ;;
esac
if [ "${SOAK_SECONDS:-600}" -lt 30 ] || [ "${SOAK_SECONDS:-600}" -gt 86400 ]; then
  echo "soak.sh: SOAK_SECONDS must be between 30 and 86400 (got ${SOAK_SECONDS})" >&2
  exit 2
fi
if [ ! -x /usr/bin/docker-registry ]; then
  echo "soak.sh: /usr/bin/docker-registry is missing: apt-get install -y docker-registry" >&2
  exit 2
fi
"$cargo" build --release -p imagegate-cli -p imagegate-soak
export IMAGEGATE_BIN=${IMAGEGATE_BIN:-$target/release/imagegate}
export SOAK_REPORT=${SOAK_REPORT:-$target/soak-report.md}
exec "$target/release/soak"
