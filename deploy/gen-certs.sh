#!/usr/bin/env bash
# Creates a CA and imagegate's serving certificate (SAN imagegate.<namespace>, the host of
# the Provider URL), writes them to OUT_DIR (default ./imagegate-certs), prints the
# Secret manifest to apply and the caBundle for the Provider objects.
#   deploy/gen-certs.sh [OUT_DIR] [NAMESPACE]
# For production, issue the serving certificate from your own PKI (e.g. cert-manager)
# with the same SAN and key usage serverAuth.
set -euo pipefail
out="${1:-./imagegate-certs}"
ns="${2:-gatekeeper-system}"
host="imagegate.${ns}"
command -v openssl >/dev/null || { echo "gen-certs.sh needs openssl" >&2; exit 1; }
mkdir -p "$out"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
  -subj "/O=imagegate/CN=imagegate root CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$out/ca.key" -out "$out/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/O=imagegate/CN=${host}" \
  -keyout "$out/tls.key" -out "$out/tls.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,DNS:%s.svc\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\nbasicConstraints=CA:FALSE\n' \
  "$host" "$host" > "$out/ext.cnf"
openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -days 365 -extfile "$out/ext.cnf" -out "$out/tls.crt" 2>/dev/null
rm -f "$out/tls.csr" "$out/ext.cnf"
echo "# kubectl apply -f - <<'EOF'"
kubectl create secret tls imagegate-tls -n "$ns" --cert "$out/tls.crt" --key "$out/tls.key" \
  --dry-run=client -o yaml
echo "# EOF"
echo "# caBundle for the Provider objects (imagegate, imagegate-mutation, ratify-provider):"
echo "# $(base64 -w0 < "$out/ca.crt")"
