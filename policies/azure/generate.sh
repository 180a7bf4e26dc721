#!/usr/bin/env bash
# Embeds each ConstraintTemplate into its Azure Policy definition as Base64Encoded content.
# The template a definition carries is named by properties.metadata.imagegate.template.
# Run after editing policies/templates/*.yaml; e2e/tests/azure_defs.rs fails until you do.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v jq >/dev/null || { echo "generate.sh needs jq (apt-get install jq)" >&2; exit 1; }
for def in "$here"/*.json; do
  template="$(jq -r '.properties.metadata.imagegate.template // empty' "$def")"
  [ -n "$template" ] || continue
  content="$(base64 -w0 < "$root/$template")"
  tmp="$(mktemp)"
  jq --indent 2 --arg c "$content" '.properties.policyRule.then.details.templateInfo.content = $c' "$def" > "$tmp"
  mv "$tmp" "$def"
  echo "embedded $template into $(basename "$def")"
done
