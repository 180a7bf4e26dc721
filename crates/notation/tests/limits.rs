//! Each envelope-part limit at its boundary, for JWS and COSE: a part of exactly the limit
//! verifies, one byte over fails integrity with `TooLarge` naming the part — and does so before
//! the expensive work (the same over-limit envelope with a broken signature still reports
//! `TooLarge`, never the signature or certificate failure that crypto would find).
//!
//! Part sizes are measured here from the raw envelope (base64 decoded, CBOR byte strings),
//! independently of the parser, and sizes of every residue modulo 3 are used so that base64's
//! partial last group and padding are covered.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::pki::{self, Pki, T0};
use common::Input;
use coset::{CoseSign1, Label, TaggedCborSerializable as _};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{EnvelopeError, EnvelopeFormat};
use imagegate_notation::error::IntegrityError;
use imagegate_notation::limits::Limits;
use imagegate_notation::outcome::Outcome;
use imagegate_notation::policy::CheckKind;
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{payload_json, sign_cose, sign_jws, SignOptions};
use imagegate_notation::Error;

const FORMATS: [EnvelopeFormat; 2] = [EnvelopeFormat::Jws, EnvelopeFormat::Cose];
/// COSE header label of the certificate chain (RFC 9360 x5chain).
const X5CHAIN: i64 = 33;
const TIMESTAMP_HEADER: &str = "io.cncf.notary.timestampSignature";

/// The limited parts of an envelope.
#[derive(Debug, Clone, Copy)]
enum Part {
    ProtectedHeader,
    Payload,
    Certificate,
    TimestampToken,
}

impl Part {
    fn set(self, limits: &mut Limits, value: usize) {
        match self {
            Part::ProtectedHeader => limits.max_protected_header_bytes = value,
            Part::Payload => limits.max_payload_bytes = value,
            Part::Certificate => limits.max_cert_bytes = value,
            Part::TimestampToken => limits.max_timestamp_token_bytes = value,
        }
    }

    /// The `what` of the `TooLarge` error for this part.
    fn what(self, format: EnvelopeFormat) -> &'static str {
        match (self, format) {
            (Part::ProtectedHeader, EnvelopeFormat::Jws) => "protected",
            (Part::ProtectedHeader, _) => "protected header",
            (Part::Payload, _) => "payload",
            (Part::Certificate, EnvelopeFormat::Jws) => "x5c",
            (Part::Certificate, _) => "certificate",
            (Part::TimestampToken, _) => TIMESTAMP_HEADER,
        }
    }
}

fn artifact() -> Descriptor {
    Descriptor::new(
        "application/vnd.oci.image.manifest.v1+json",
        "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
        517,
    )
}

/// Strict, one `ca` store, no `tsa` store (a timestamp token is carried but not evaluated).
const POLICY: &str = r#"{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],
    "signatureVerification":{"level":"strict"},"trustStores":["ca:s"],"trustedIdentities":["*"]}]}"#;

/// A signed envelope; `filler` lengthens the part under test by that many bytes.
fn sign(format: EnvelopeFormat, pki: &Pki, part: Part, filler: usize) -> Vec<u8> {
    let mut annotations = BTreeMap::new();
    let mut opts = SignOptions::x509(T0);
    match part {
        Part::Payload => {
            annotations.insert("filler".to_owned(), "x".repeat(filler));
        }
        Part::ProtectedHeader => {
            opts.extended = vec![("io.example.filler".into(), "x".repeat(filler), false)];
        }
        Part::TimestampToken => opts.timestamp_token = Some(vec![0x30; 300 + filler]),
        Part::Certificate => {}
    }
    let payload = payload_json(&artifact(), &annotations);
    match format {
        EnvelopeFormat::Jws => sign_jws(&payload, &pki.signer, &pki.chain, &opts).unwrap(),
        _ => sign_cose(&payload, &pki.signer, &pki.chain, &opts).unwrap(),
    }
}

/// The size of the part under test, measured from the raw envelope (the largest certificate
/// for `Certificate`).
fn measure(format: EnvelopeFormat, envelope: &[u8], part: Part) -> usize {
    if format == EnvelopeFormat::Jws {
        let json: serde_json::Value = serde_json::from_slice(envelope).unwrap();
        let url = |member: &str| {
            URL_SAFE_NO_PAD
                .decode(json[member].as_str().unwrap())
                .unwrap()
                .len()
        };
        let std = |v: &serde_json::Value| STANDARD.decode(v.as_str().unwrap()).unwrap().len();
        return match part {
            Part::ProtectedHeader => url("protected"),
            Part::Payload => url("payload"),
            Part::Certificate => json["header"]["x5c"]
                .as_array()
                .unwrap()
                .iter()
                .map(std)
                .max()
                .unwrap(),
            Part::TimestampToken => std(&json["header"][TIMESTAMP_HEADER]),
        };
    }
    let sign1 = CoseSign1::from_tagged_slice(envelope).unwrap();
    let header = |label: Label| {
        sign1
            .unprotected
            .rest
            .iter()
            .find(|(l, _)| *l == label)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    match part {
        Part::ProtectedHeader => sign1.protected.original_data.unwrap().len(),
        Part::Payload => sign1.payload.unwrap().len(),
        Part::Certificate => match header(Label::Int(X5CHAIN)) {
            coset::cbor::value::Value::Array(items) => items
                .iter()
                .map(|i| i.as_bytes().unwrap().len())
                .max()
                .unwrap(),
            coset::cbor::value::Value::Bytes(b) => b.len(),
            other => panic!("x5chain {other:?}"),
        },
        Part::TimestampToken => header(Label::Text(TIMESTAMP_HEADER.into()))
            .as_bytes()
            .unwrap()
            .len(),
    }
}

/// The same envelope with its signature's last byte changed (crypto would reject it).
fn break_signature(format: EnvelopeFormat, envelope: &[u8]) -> Vec<u8> {
    if format == EnvelopeFormat::Jws {
        let mut json: serde_json::Value = serde_json::from_slice(envelope).unwrap();
        let mut sig = URL_SAFE_NO_PAD
            .decode(json["signature"].as_str().unwrap())
            .unwrap();
        *sig.last_mut().unwrap() ^= 0xff;
        json["signature"] = URL_SAFE_NO_PAD.encode(sig).into();
        return serde_json::to_vec(&json).unwrap();
    }
    // The signature is the last byte string of the COSE_Sign1 array.
    let mut out = envelope.to_vec();
    *out.last_mut().unwrap() ^= 0xff;
    out
}

fn run(format: EnvelopeFormat, pki: &Pki, envelope: Vec<u8>, limits: Limits) -> Outcome {
    let root = pki.root().as_ref().to_vec();
    Input {
        limits,
        ..Input::signed(format, envelope, artifact(), POLICY, "s", root)
    }
    .run(&OfflineRevocationChecker)
    .unwrap()
}

fn integrity_error(outcome: &Outcome) -> Option<Error> {
    outcome.check(CheckKind::Integrity).unwrap().error.clone()
}

/// At the limit: verified. One over: `TooLarge` for this part, also with a broken signature.
fn assert_boundary(format: EnvelopeFormat, pki: &Pki, part: Part, envelope: Vec<u8>) -> usize {
    let size = measure(format, &envelope, part);
    let limits_at = |limit: usize| {
        let mut limits = Limits::DEFAULT;
        part.set(&mut limits, limit);
        limits
    };
    let at = run(format, pki, envelope.clone(), limits_at(size));
    assert!(
        at.is_verified(),
        "{format:?} {part:?} of {size} bytes at a limit of {size}: {:#?}",
        at.checks()
    );
    let expected = Error::Integrity(IntegrityError::Envelope(EnvelopeError::TooLarge {
        what: part.what(format),
        size,
        limit: size - 1,
    }));
    for (label, bytes) in [
        ("intact", envelope.clone()),
        ("broken signature", break_signature(format, &envelope)),
    ] {
        let over = run(format, pki, bytes, limits_at(size - 1));
        assert!(!over.is_verified());
        assert_eq!(
            integrity_error(&over).as_ref(),
            Some(&expected),
            "{format:?} {part:?} {label}"
        );
    }
    // The broken signature is what the full pipeline reports once the limit allows the part,
    // which shows that the limit check came first.
    let broken = run(
        format,
        pki,
        break_signature(format, &envelope),
        limits_at(size),
    );
    assert!(matches!(
        integrity_error(&broken),
        Some(Error::Integrity(IntegrityError::SignatureInvalid { .. }))
    ));
    size
}

/// Sizes of all three residues modulo 3 for parts whose length the test controls.
fn every_residue(part: Part) {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let mut residues = [false; 3];
        for filler in 0..3 {
            let size = assert_boundary(format, &pki, part, sign(format, &pki, part, filler));
            residues[size % 3] = true;
        }
        assert_eq!(residues, [true; 3], "{format:?} {part:?}");
    }
}

#[test]
fn max_protected_header_bytes_at_its_boundary() {
    every_residue(Part::ProtectedHeader);
}

#[test]
fn max_payload_bytes_at_its_boundary() {
    every_residue(Part::Payload);
}

#[test]
fn max_timestamp_token_bytes_at_its_boundary() {
    every_residue(Part::TimestampToken);
}

#[test]
fn max_cert_bytes_at_its_boundary() {
    // Generated chains of several key types give certificates of different sizes; the limit
    // applies to each certificate, so the largest one decides.
    for alg in [
        SignatureAlgorithm::Es256,
        SignatureAlgorithm::Es384,
        SignatureAlgorithm::Es512,
    ] {
        let pki = pki::chain(alg, 2, |_| {});
        for format in FORMATS {
            assert_boundary(
                format,
                &pki,
                Part::Certificate,
                sign(format, &pki, Part::Certificate, 0),
            );
        }
    }
}

#[test]
fn an_oversized_certificate_is_refused_before_it_is_parsed() {
    // Garbage in place of the leaf: one byte over the limit is `TooLarge`, not a parse error.
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let envelope = sign(EnvelopeFormat::Jws, &pki, Part::Certificate, 0);
    let mut json: serde_json::Value = serde_json::from_slice(&envelope).unwrap();
    json["header"]["x5c"][0] = STANDARD.encode(vec![0xff; 1001]).into();
    let mut limits = Limits::DEFAULT;
    limits.max_cert_bytes = 1000;
    let outcome = run(
        EnvelopeFormat::Jws,
        &pki,
        serde_json::to_vec(&json).unwrap(),
        limits,
    );
    assert_eq!(
        integrity_error(&outcome),
        Some(Error::Integrity(IntegrityError::Envelope(
            EnvelopeError::TooLarge {
                what: "x5c",
                size: 1001,
                limit: 1000
            }
        )))
    );
}
