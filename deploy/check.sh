#!/usr/bin/env bash
# Renders every overlay with `kubectl kustomize` into a temporary directory (or $1) and
# fails if any render fails. e2e/tests/deploy_render.rs validates the rendered objects.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kubectl="${KUBECTL:-kubectl}"
command -v "$kubectl" >/dev/null || { echo "check.sh needs kubectl (Debian: apt-get install kubernetes-client)" >&2; exit 1; }
out="${1:-$(mktemp -d)}"
mkdir -p "$out"
for overlay in "$here"/overlays/*/; do
  name="$(basename "$overlay")"
  "$kubectl" kustomize "$overlay" > "$out/$name.yaml"
  echo "rendered $name: $(grep -c '^kind:' "$out/$name.yaml") objects -> $out/$name.yaml"
done
