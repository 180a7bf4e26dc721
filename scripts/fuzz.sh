#!/usr/bin/env bash
# Run every cargo-fuzz target for N seconds each (default 60).
# Stable toolchain only here: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1
cd fuzz
for target in $(cargo fuzz list); do
  seeds="seeds/$target"
  corpus="corpus/$target"
  mkdir -p "$corpus"
  echo "== fuzz $target for ${secs}s"
  if [ -d "$seeds" ]; then
    cargo fuzz run "$target" "$corpus" "$seeds" -- -max_total_time="$secs" -rss_limit_mb=2048
  else
    cargo fuzz run "$target" "$corpus" -- -max_total_time="$secs" -rss_limit_mb=2048
  fi
done
