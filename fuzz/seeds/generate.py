#!/usr/bin/env python3
"""Regenerate the committed seed corpus in fuzz/seeds/<target>/.

Every seed is made here from scratch: fresh ECDSA P-256 keys and certificates, envelopes signed
with them, and small hand-written JSON/CBOR/DER shapes. Nothing is copied from other projects or
from testdata/ (fuzz/make-seeds.sh adds those, at run time, to the git-ignored corpus).

Needs python3 with the `cryptography` package. Keys are random, so re-running changes the
binary seeds; that is fine, they only have to be well-formed.

    python3 fuzz/seeds/generate.py
"""

import base64
import datetime
import hashlib
import json
import pathlib
import struct

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SEEDS = pathlib.Path(__file__).resolve().parent
PAYLOAD_CTY = "application/vnd.cncf.notary.payload.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
NOTARY_SIGNATURE = "application/vnd.cncf.notary.signature"
SUBJECT_DIGEST = "sha256:" + hashlib.sha256(b"imagegate fuzz subject").hexdigest()
SIGNING_TIME = 1_760_000_000  # 2025-10-09T08:53:20Z
NOT_BEFORE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
NOT_AFTER = datetime.datetime(2035, 1, 1, tzinfo=datetime.timezone.utc)


def write(target: str, name: str, data) -> None:
    """Write one seed file (str is UTF-8 encoded)."""
    directory = SEEDS / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / name).write_bytes(data)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- certificates -------------------------------------------------------------------------


def name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "imagegate fuzz"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        ]
    )


def certificate(subject, issuer, key, issuer_key, ca: bool, eku=None) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    )
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), eku == ExtendedKeyUsageOID.TIME_STAMPING)
    return builder.sign(issuer_key, hashes.SHA256())


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def framed(*certs: bytes) -> bytes:
    """The cert_chain target's input: each DER certificate behind a 2-byte length."""
    return b"".join(struct.pack(">H", len(c)) + c for c in certs)


# --- signing ------------------------------------------------------------------------------


def es256(key, data: bytes) -> bytes:
    """Raw r||s ECDSA P-256 signature, as JWS and COSE carry it."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def payload() -> bytes:
    return json.dumps(
        {
            "targetArtifact": {
                "mediaType": OCI_MANIFEST,
                "digest": SUBJECT_DIGEST,
                "size": 517,
                "annotations": {"purpose": "fuzz"},
            }
        },
        separators=(",", ":"),
    ).encode()


def rfc3339(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def jws(key, chain, extra_protected=None, crit_extra=(), unprotected_extra=None) -> str:
    """A signed flattened JWS; an `extra_protected` value of None removes that header."""
    protected = {
        "alg": "ES256",
        "crit": ["io.cncf.notary.signingScheme", *crit_extra],
        "cty": PAYLOAD_CTY,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": rfc3339(SIGNING_TIME),
    }
    protected.update(extra_protected or {})
    protected = {k: v for k, v in protected.items() if v is not None}
    protected_b64 = b64url(json.dumps(protected, separators=(",", ":")).encode())
    payload_b64 = b64url(payload())
    signature = es256(key, f"{protected_b64}.{payload_b64}".encode())
    header = {
        "x5c": [base64.b64encode(c).decode() for c in chain],
        "io.cncf.notary.signingAgent": "imagegate-fuzz/0",
    }
    header.update(unprotected_extra or {})
    return json.dumps(
        {"payload": payload_b64, "protected": protected_b64, "header": header, "signature": b64url(signature)},
        indent=1,
    )


# --- a minimal CBOR encoder (enough for COSE_Sign1) ---------------------------------------


class Tag:
    def __init__(self, tag: int, value):
        self.tag, self.value = tag, value


def cbor_head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major << 5 | n])
    for info, fmt in ((24, ">B"), (25, ">H"), (26, ">I"), (27, ">Q")):
        if n < 1 << (8 * struct.calcsize(fmt)):
            return bytes([major << 5 | info]) + struct.pack(fmt, n)
    raise ValueError(n)


def cbor(value) -> bytes:
    if isinstance(value, Tag):
        return cbor_head(6, value.tag) + cbor(value.value)
    if isinstance(value, bool):
        return b"\xf5" if value else b"\xf4"
    if isinstance(value, int):
        return cbor_head(0, value) if value >= 0 else cbor_head(1, -1 - value)
    if isinstance(value, bytes):
        return cbor_head(2, len(value)) + value
    if isinstance(value, str):
        return cbor_head(3, len(value.encode())) + value.encode()
    if isinstance(value, list):
        return cbor_head(4, len(value)) + b"".join(cbor(v) for v in value)
    if isinstance(value, dict):
        return cbor_head(5, len(value)) + b"".join(cbor(k) + cbor(v) for k, v in value.items())
    raise TypeError(value)


def cose(key, chain, extra_protected=None, crit_extra=(), unprotected_extra=None) -> bytes:
    """A signed, tagged COSE_Sign1; an `extra_protected` value of None removes that header."""
    protected = {
        1: -7,  # ES256
        2: ["io.cncf.notary.signingScheme", *crit_extra],
        3: PAYLOAD_CTY,
        "io.cncf.notary.signingScheme": "notary.x509",
        "io.cncf.notary.signingTime": Tag(1, SIGNING_TIME),
    }
    protected.update(extra_protected or {})
    protected = {k: v for k, v in protected.items() if v is not None}
    protected_bytes = cbor(protected)
    body = payload()
    to_sign = cbor(["Signature1", protected_bytes, b"", body])
    unprotected = {33: chain if len(chain) > 1 else chain[0], "io.cncf.notary.signingAgent": "imagegate-fuzz/0"}
    unprotected.update(unprotected_extra or {})
    return cbor(Tag(18, [protected_bytes, unprotected, body, es256(key, to_sign)]))


# --- a minimal DER encoder (enough for a timestamp-token skeleton) ------------------------


def der_tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 128:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def der_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray([40 * parts[0] + parts[1]])
    for p in parts[2:]:
        chunk = [p & 0x7F]
        p >>= 7
        while p:
            chunk.append(0x80 | (p & 0x7F))
            p >>= 7
        out += bytes(reversed(chunk))
    return der_tlv(0x06, bytes(out))


def seq(*items: bytes) -> bytes:
    return der_tlv(0x30, b"".join(items))


def der_int(n: int) -> bytes:
    return der_tlv(0x02, n.to_bytes(max(1, (n.bit_length() + 8) // 8), "big"))


def timestamp_skeleton(signature: bytes, certs=()) -> bytes:
    """A ContentInfo/SignedData/TSTInfo with a matching imprint and no signer info."""
    sha256 = seq(der_oid("2.16.840.1.101.3.4.2.1"), der_tlv(0x05, b""))
    tst_info = seq(
        der_int(1),
        der_oid("1.3.6.1.4.1.4146.2.3"),
        seq(sha256, der_tlv(0x04, hashlib.sha256(signature).digest())),
        der_int(42),
        der_tlv(0x18, b"20251009085321Z"),
    )
    encap = seq(der_oid("1.2.840.113549.1.9.16.1.4"), der_tlv(0xA0, der_tlv(0x04, tst_info)))
    parts = [der_int(3), der_tlv(0x31, sha256), encap]
    if certs:
        parts.append(der_tlv(0xA0, b"".join(certs)))
    parts.append(der_tlv(0x31, b""))
    signed_data = seq(*parts)
    return seq(der_oid("1.2.840.113549.1.7.2"), der_tlv(0xA0, signed_data))


def with_signature(signature: bytes, token: bytes) -> bytes:
    """The timestamp_token target's input: 2-byte length, signature bytes, token."""
    return struct.pack(">H", len(signature)) + signature + token


# --- the seeds ----------------------------------------------------------------------------


def main() -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    self_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    root = certificate(name("fuzz root"), name("fuzz root"), root_key, root_key, ca=True)
    leaf = certificate(name("fuzz leaf"), name("fuzz root"), leaf_key, root_key, ca=False, eku=ExtendedKeyUsageOID.CODE_SIGNING)
    self_signed = certificate(name("fuzz self"), name("fuzz self"), self_key, self_key, ca=False, eku=ExtendedKeyUsageOID.CODE_SIGNING)
    tsa = certificate(name("fuzz tsa"), name("fuzz root"), tsa_key, root_key, ca=False, eku=ExtendedKeyUsageOID.TIME_STAMPING)
    chain = [der(leaf), der(root)]

    # cert_chain: framed DER chains.
    write("cert_chain", "leaf-root.bin", framed(*chain))
    write("cert_chain", "self-signed.bin", framed(der(self_signed)))
    write("cert_chain", "tsa-root.bin", framed(der(tsa), der(root)))
    write("cert_chain", "truncated.bin", framed(der(leaf)[:40]))

    # jws_envelope: signed ES256 envelopes and broken shapes.
    write("jws_envelope", "valid-chain.json", jws(leaf_key, chain))
    write("jws_envelope", "valid-self-signed.json", jws(self_key, [der(self_signed)]))
    write(
        "jws_envelope",
        "expiry-authentic-time.json",
        jws(
            leaf_key,
            chain,
            {
                "io.cncf.notary.signingScheme": "notary.x509.signingAuthority",
                "io.cncf.notary.signingTime": None,
                "io.cncf.notary.authenticSigningTime": rfc3339(SIGNING_TIME),
                "io.cncf.notary.expiry": rfc3339(SIGNING_TIME + 3600),
            },
            ("io.cncf.notary.authenticSigningTime", "io.cncf.notary.expiry"),
        ),
    )
    write(
        "jws_envelope",
        "timestamped.json",
        jws(
            leaf_key,
            chain,
            unprotected_extra={"io.cncf.notary.timestampSignature": base64.b64encode(timestamp_skeleton(b"x")).decode()},
        ),
    )
    write("jws_envelope", "empty-members.json", '{"payload":"","protected":"","header":{},"signature":""}')

    # cose_envelope: signed ES256 COSE_Sign1 and broken shapes.
    write("cose_envelope", "valid-chain.cose", cose(leaf_key, chain))
    write("cose_envelope", "valid-self-signed.cose", cose(self_key, [der(self_signed)]))
    write(
        "cose_envelope",
        "expiry-authentic-time.cose",
        cose(
            leaf_key,
            chain,
            {
                "io.cncf.notary.signingScheme": "notary.x509.signingAuthority",
                "io.cncf.notary.signingTime": None,
                "io.cncf.notary.authenticSigningTime": Tag(1, SIGNING_TIME),
                "io.cncf.notary.expiry": Tag(1, SIGNING_TIME + 3600),
            },
            ("io.cncf.notary.authenticSigningTime", "io.cncf.notary.expiry"),
        ),
    )
    write(
        "cose_envelope",
        "timestamped.cose",
        cose(leaf_key, chain, unprotected_extra={"io.cncf.notary.timestampSignature": timestamp_skeleton(b"x")}),
    )
    write("cose_envelope", "empty-sign1.cose", cbor(Tag(18, [b"", {}, b"", b""])))

    # timestamp_token: skeleton tokens whose imprint matches the signature in front of them.
    signature = es256(leaf_key, b"imagegate fuzz")
    write("timestamp_token", "skeleton.bin", with_signature(signature, timestamp_skeleton(signature)))
    write("timestamp_token", "skeleton-certs.bin", with_signature(signature, timestamp_skeleton(signature, [der(tsa), der(root)])))
    write("timestamp_token", "pem-certs.bin", "".join(
        c.public_bytes(serialization.Encoding.PEM).decode() for c in (tsa, root)
    ))

    # trust_policy: policy documents and distinguished names.
    statement = {
        "name": "fuzz",
        "registryScopes": ["registry.example/app", "localhost:5000/a/b"],
        "signatureVerification": {"level": "strict", "override": {"revocation": "log", "expiry": "skip"}, "verifyTimestamp": "afterCertExpiry"},
        "trustStores": ["ca:fuzz", "tsa:fuzz", "signingAuthority:fuzz"],
        "trustedIdentities": ["x509.subject: CN=fuzz leaf, O=imagegate fuzz, C=US"],
    }
    wildcard = {
        "name": "everything-else",
        "registryScopes": ["*"],
        "signatureVerification": {"level": "audit"},
        "trustStores": ["ca:fuzz"],
        "trustedIdentities": ["*"],
    }
    skip = {"name": "skip", "registryScopes": ["registry.example/skip"], "signatureVerification": {"level": "skip"}}
    write("trust_policy", "policy.json", json.dumps({"version": "1.0", "trustPolicies": [statement, wildcard, skip]}, indent=1))
    write("trust_policy", "permissive.json", json.dumps({"version": "1.0", "trustPolicies": [dict(wildcard, signatureVerification={"level": "permissive"})]}))
    write("trust_policy", "dn.txt", "CN=fuzz leaf,O=imagegate fuzz,L=Seattle,ST=WA,C=US")
    write("trust_policy", "dn-escaped.txt", 'CN=a\\,b+OU=x,O="quoted, org",C=US')

    # oci_reference: reference strings.
    for i, ref in enumerate(
        [
            "nginx",
            "user/app:1.25",
            "docker.io/library/nginx:latest",
            "127.0.0.1:5000/a/b:v1@" + SUBJECT_DIGEST,
            "localhost:5000/x@" + SUBJECT_DIGEST,
            "registry.example:443/org/team/app@sha512:" + hashlib.sha512(b"x").hexdigest(),
            "[::1]:5000/app:tag",
            "ghcr.io/org/x_y-z.w__v:A_b.c-D",
        ]
    ):
        write("oci_reference", f"ref-{i}.txt", ref)

    # oci_manifest: manifests, indexes, signature manifests.
    def desc(media_type, content: bytes, **extra):
        d = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(content).hexdigest(), "size": len(content)}
        d.update(extra)
        return d

    empty = desc("application/vnd.oci.empty.v1+json", b"{}", data="e30=")
    subject = {"mediaType": OCI_MANIFEST, "digest": SUBJECT_DIGEST, "size": 517}
    image = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": desc("application/vnd.oci.image.config.v1+json", b"config"),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", b"layer", urls=["https://example.invalid/l"])],
        "annotations": {"org.opencontainers.image.created": "2025-10-09T08:53:20Z"},
    }
    write("oci_manifest", "image.json", json.dumps(image, indent=1))
    write("oci_manifest", "docker-no-mediatype.json", json.dumps({k: v for k, v in image.items() if k != "mediaType"}))
    sig_new = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": NOTARY_SIGNATURE,
        "config": empty,
        "layers": [desc("application/jose+json", b"envelope")],
        "subject": subject,
        "annotations": {"io.cncf.notary.x509chain.thumbprint#S256": '["' + hashlib.sha256(der(leaf)).hexdigest() + '"]'},
    }
    write("oci_manifest", "signature-artifacttype.json", json.dumps(sig_new, indent=1))
    sig_old = dict(sig_new, config=desc(NOTARY_SIGNATURE, b"{}"))
    del sig_old["artifactType"]
    write("oci_manifest", "signature-legacy.json", json.dumps(sig_old))
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            desc(OCI_MANIFEST, b"amd64", platform={"architecture": "amd64", "os": "linux"}),
            desc(OCI_MANIFEST, b"arm64", platform={"architecture": "arm64", "os": "linux", "variant": "v8"}),
            desc(OCI_MANIFEST, b"win", platform={"architecture": "amd64", "os": "windows", "os.version": "10.0.20348.1"}),
        ],
    }
    write("oci_manifest", "index.json", json.dumps(index, indent=1))
    referrers = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [dict(desc(OCI_MANIFEST, b"sig"), artifactType=NOTARY_SIGNATURE, annotations={"a": "b"})],
    }
    write("oci_manifest", "referrers-index.json", json.dumps(referrers))

    # provider_request: request bodies and keys.
    def request(keys, **extra):
        body = {"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest", "request": {"keys": keys}}
        body.update(extra)
        return json.dumps(body)

    write("provider_request", "verify.json", request(["registry.example/app@" + SUBJECT_DIGEST, "[team-a]nginx:1.25", "[]busybox"]))
    write("provider_request", "odd-keys.json", request(["", "[unclosed", "[Bad NS]img", "[ns]", "line\r\nbreak"], extra=True))
    # Gatekeeper's own form (Go encoding/json: compact), which the provider's fast scanner reads.
    write("provider_request", "gatekeeper-compact.json", json.dumps(
        json.loads(request(["registry.example/app@" + SUBJECT_DIGEST, "[team-a]nginx:1.25"])), separators=(",", ":")))
    write("provider_request", "minimal.json", '{"request":{"keys":["a"]}}')
    write("provider_request", "key.txt", "[kube-system]registry.example:5000/app:v1")


if __name__ == "__main__":
    main()
