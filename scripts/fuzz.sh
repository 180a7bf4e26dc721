#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for N seconds each (default 60), one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]      (make fuzz FUZZ_SECONDS=300)
#
# Stable toolchain only: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags.
# Inputs: the committed seeds (fuzz/seeds/<target>/, read only) plus the run corpus
# (fuzz/corpus/<target>/, git-ignored, grows across runs), which fuzz/make-seeds.sh first fills
# with seeds derived from testdata/notation.
# Outputs: crashes in fuzz/artifacts/<target>/, the libFuzzer log in fuzz/artifacts/<target>.log,
# and one summary line per target. Exits non-zero if any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}
shift || true
case "$secs" in
  '' | *[!0-9]*) echo "fuzz.sh: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1

./make-seeds.sh

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

failed=()
summary=()
for target in "${targets[@]}"; do
  seeds="seeds/$target"
  corpus="corpus/$target"
  log="artifacts/$target.log"
  mkdir -p "$corpus" "artifacts/$target"
  dirs=("$corpus")
  [ -d "$seeds" ] && dirs+=("$seeds")
  echo "== fuzz $target for ${secs}s (log: fuzz/$log)"
  # One job (the machine is shared); a 25 s per-input timeout turns hangs into findings.
  if cargo fuzz run "$target" "${dirs[@]}" -- \
    -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$target")
    tail -n 40 "$log" >&2
  fi
  # libFuzzer's last status line and its run count, e.g. "#812345 DONE cov: 2101 ft: 6402 ...".
  last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|INITED|REDUCE|NEW|pulse)' "$log" | tail -n 1 || true)
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -n 1 || true)
  summary+=("$target: $status; ${done_line:-no Done line}; ${last:-no status line}")
done

echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashes or errors in: ${failed[*]} (inputs in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
