#!/usr/bin/env bash
# make bench: imagegate's benchmarks, each against a floor measured in the same run
# (see BENCHMARKS.md). Loopback only; needs /usr/bin/docker-registry.
#
#   scripts/bench.sh [imagegate-bench options]      e.g. scripts/bench.sh --only warm,cold
#
# Results go to stdout and to <target dir>/bench/: end-to-end.md (the Markdown tables of
# imagegate-bench), notation_verify.txt and registry_fetch.txt (criterion output), machine.txt.
# BENCH_CRITERION=0 skips the two criterion benches.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
if [ ! -x /usr/bin/docker-registry ]; then
  echo "bench: /usr/bin/docker-registry not found; install it with apt-get install -y docker-registry" >&2
  exit 2
fi

target_dir=$("$CARGO" metadata --no-deps --format-version 1 |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
out="$target_dir/bench"
mkdir -p "$out"

{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "machine: $(nproc) CPU(s), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
  echo "kernel:  $(uname -sr)"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
  echo "rustc:   $(rustc -V)"
  echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
} | tee "$out/machine.txt"

echo "== building (release): imagegate-bench, imagegate"
"$CARGO" build --release -p imagegate-bench -p imagegate-cli

echo "== end to end: warm, cold, stampede, memory"
"$target_dir/release/imagegate-bench" --imagegate "$target_dir/release/imagegate" \
  --markdown "$out/end-to-end.md" "$@"

if [[ "${BENCH_CRITERION:-1}" != 0 ]]; then
  echo "== notation_verify (criterion)"
  "$CARGO" bench -p imagegate-notation --bench notation_verify -- \
    --warm-up-time 1 --measurement-time 3 | tee "$out/notation_verify.txt"
  echo "== registry_fetch (criterion)"
  "$CARGO" bench -p imagegate-oci --bench registry_fetch | tee "$out/registry_fetch.txt"
fi
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) at the end" | tee -a "$out/machine.txt"
echo "results in $out"
