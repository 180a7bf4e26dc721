#!/usr/bin/env bash
# Add seeds derived from the real Notation test vectors (<repo>/testdata/notation) to the
# git-ignored run corpus fuzz/corpus/<target>/. The vectors are read in place and not copied into
# fuzz/seeds/; the committed, self-made seeds are in fuzz/seeds/.
#
#   fuzz/make-seeds.sh [VECTORS_DIR]
#
# Envelopes, trust policies and manifests are copied as they are; certificate chains and
# RFC 3161 tokens are re-framed (python3) into the input layout of the cert_chain and
# timestamp_token targets. Missing vectors or python3 are not an error: fewer seeds.
set -euo pipefail
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
vectors="${1:-$fuzz_dir/../testdata/notation}"
corpus="$fuzz_dir/corpus"

if [ ! -d "$vectors" ]; then
  echo "make-seeds: no vectors at $vectors; using the committed seeds only" >&2
  exit 0
fi

copy() { # copy <target> <files...>: copy existing files into corpus/<target>/ as vector-<name>
  local target="$1" file
  shift
  mkdir -p "$corpus/$target"
  for file in "$@"; do
    [ -f "$file" ] && cp "$file" "$corpus/$target/vector-$(basename "$file")"
  done
  return 0
}

shopt -s nullglob
copy jws_envelope "$vectors"/jws-*.json "$vectors"/jws-*.sig
copy cose_envelope "$vectors"/cose-*.sig
copy trust_policy "$vectors"/trustpolicy-*.json
copy oci_manifest "$vectors"/oci-*.json
copy timestamp_token "$vectors"/cert-*.pem "$vectors"/cert-*.crt "$vectors"/cert-*.cer

if ! command -v python3 >/dev/null 2>&1; then
  echo "make-seeds: python3 not found; skipping the re-framed cert_chain/timestamp_token seeds" >&2
  exit 0
fi

python3 - "$vectors" "$corpus" <<'EOF'
"""Re-frame x5c chains and timestamp tokens of the JWS vectors for two fuzz targets."""
import base64, binascii, json, pathlib, re, struct, sys

vectors, corpus = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
chains, tokens = corpus / "cert_chain", corpus / "timestamp_token"
chains.mkdir(parents=True, exist_ok=True)
tokens.mkdir(parents=True, exist_ok=True)

def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

def framed(certs):
    return b"".join(struct.pack(">H", len(c)) + c for c in certs[:4] if len(c) < 1 << 16)

for path in sorted(vectors.glob("jws-*")):
    try:
        envelope = json.loads(path.read_bytes())
        header = envelope.get("header", {})
        chain = [base64.b64decode(c) for c in header.get("x5c", [])]
        signature = b64url(envelope.get("signature", ""))
        token = base64.b64decode(header.get("io.cncf.notary.timestampSignature", ""))
    except (ValueError, binascii.Error, AttributeError, TypeError):
        continue
    if chain:
        (chains / f"vector-{path.stem}.bin").write_bytes(framed(chain))
    if token:
        (tokens / f"vector-{path.stem}.bin").write_bytes(struct.pack(">H", len(signature)) + signature + token)

for path in sorted(vectors.glob("cert-*")):
    data = path.read_bytes()
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", data, re.S)
    certs = [base64.b64decode(b"".join(b.split())) for b in blocks] if blocks else [data]
    (chains / f"vector-{path.stem}.bin").write_bytes(framed(certs))
EOF
echo "make-seeds: corpus seeded from $vectors" >&2
