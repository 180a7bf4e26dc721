#!/usr/bin/env bash
# make demo: verify real Notation signatures (from ../shared/vectors/notation) with imagegate.
# Builds the release binary, lays out a trust store in a temp dir, verifies a valid signature,
# an expired one and one from an untrusted identity, and prints what imagegate decided and why.
set -euo pipefail
cd "$(dirname "$0")/.."
vectors=${SHARED:-../shared}/vectors/notation
if [ ! -d "$vectors" ]; then
  echo "demo: $vectors not found; run from a checkout with ../shared beside it" >&2
  exit 2
fi
cargo build --release -q -p imagegate-cli
bin=target/release/imagegate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/x509/ca/e2e"
cp "$vectors/cert-e2e.crt" "$work/x509/ca/e2e/"

subject=sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9
verify() { # envelope policy
  "$bin" verify-envelope --envelope "$vectors/$1" --media-type application/jose+json \
    --artifact-digest "$subject" --artifact-media-type application/vnd.oci.image.manifest.v1+json \
    --artifact-size 517 --reference "registry.example/e2e@$subject" \
    --trust-policy "$vectors/$2" --trust-store "$work"
}

printf '%-34s %-40s %s\n' "signature" "trust policy" "decision"
for case in "jws-e2e-valid.json trustpolicy-strict.json" \
            "jws-e2e-expired-signature.json trustpolicy-strict.json" \
            "jws-e2e-expired-signature.json trustpolicy-permissive.json" \
            "jws-e2e-valid.json trustpolicy-trusted-identity-mismatch.json"; do
  set -- $case
  if out=$(verify "$1" "$2"); then decision=ALLOWED; else decision=DENIED; fi
  reason=$(printf '%s\n' "$out" | sed -n 's/^  \(error\|warning\): //p' | head -1)
  printf '%-34s %-40s %s%s\n' "$1" "$2" "$decision" "${reason:+  ($reason)}"
done
echo
echo "Full report for the valid signature:"
verify jws-e2e-valid.json trustpolicy-strict.json
