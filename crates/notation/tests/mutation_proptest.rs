//! The property that matters for a signature: a real envelope that verifies stops verifying
//! when any byte of what it signs changes — its signature, its protected header or its payload
//! — for JWS (a 1-certificate PS256 and a 2-certificate PS384 chain) and COSE.
//!
//! Every case runs the whole verifier under `audit`, the most lenient level that still
//! verifies (only integrity is enforced there), so a mutation that slipped past the integrity
//! check would show up as a verified outcome. Mutations:
//! - JWS, decoded: one byte of the decoded protected header, payload or signature is changed
//!   and the member re-encoded (canonical base64url), as a forger would;
//! - JWS, encoded: one character of the received base64url text is replaced by another
//!   base64url character (non-canonical trailing bits included);
//! - COSE: one byte inside the protected-header, payload or signature byte string is changed
//!   in place.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{leaf_of, manifest_descriptor, policy_json, store, vector, Input};
use coset::{CoseSign1, TaggedCborSerializable as _};
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{COSE_MEDIA_TYPE, JWS_MEDIA_TYPE};
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::{CheckKind, StoreType};
use imagegate_notation::revocation::OfflineRevocationChecker;
use proptest::prelude::*;
use time::macros::datetime;

/// The three signed parts of an envelope.
const MEMBERS: [&str; 3] = ["protected", "payload", "signature"];
const BASE64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A real envelope and everything its verification needs; `input(bytes)` builds the request.
struct Vector {
    file: &'static str,
    media_type: &'static str,
    artifact: Descriptor,
    reference: String,
    policy: String,
    anchor: (&'static str, Vec<u8>),
}

impl Vector {
    fn input(&self, envelope: Vec<u8>) -> Input {
        Input {
            envelope,
            media_type: self.media_type.to_owned(),
            artifact: self.artifact.clone(),
            reference: self.reference.clone(),
            policy: policy_json(&self.policy),
            store: store(&[(StoreType::Ca, "s", self.anchor.0, self.anchor.1.clone())]),
            now: datetime!(2024-01-01 0:00 UTC),
            metadata: Vec::new(),
            limits: Limits::DEFAULT,
        }
    }

    /// Verify `envelope` (mutated or not) under audit; true when it verified.
    fn verifies(&self, envelope: Vec<u8>) -> bool {
        let outcome = self.input(envelope).run(&OfflineRevocationChecker).unwrap();
        if !outcome.is_verified() {
            // Under audit only integrity is enforced: a failure must be an integrity failure.
            assert!(
                outcome
                    .check(CheckKind::Integrity)
                    .is_some_and(|c| c.error.is_some()),
                "{:#?}",
                outcome.checks()
            );
        }
        outcome.is_verified()
    }
}

fn audit_policy() -> String {
    r#"{"version":"1.0","trustPolicies":[{"name":"audit","registryScopes":["*"],
        "signatureVerification":{"level":"audit"},"trustStores":["ca:s"],"trustedIdentities":["*"]}]}"#
        .to_owned()
}

/// `jws-e2e-valid.json`: PS256, self-signed leaf, the notation e2e subject.
fn jws_e2e() -> Vector {
    let artifact = manifest_descriptor("oci-subject-manifest-b8479de3.json");
    Vector {
        file: "jws-e2e-valid.json",
        media_type: JWS_MEDIA_TYPE,
        reference: format!("localhost:5000/e2e@{}", artifact.digest),
        artifact,
        policy: audit_policy(),
        anchor: ("cert-e2e.crt", vector("cert-e2e.crt")),
    }
}

/// `jws-ca-valid-chain-ps384.json`: PS384, leaf and Notation Test Root.
fn jws_ps384() -> Vector {
    Vector {
        file: "jws-ca-valid-chain-ps384.json",
        media_type: JWS_MEDIA_TYPE,
        artifact: Descriptor::new(
            "application/vnd.docker.distribution.manifest.v2+json",
            "sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e",
            528,
        ),
        reference: "registry.acme-rockets.io/software/net-monitor@sha256:60043cf45eaebc4c0867fea485a039b598f52fd09fd5b07b0b2d2f88fad9d74e".to_owned(),
        policy: audit_policy(),
        anchor: ("root.pem", vector("cert-NotationTestRoot.pem")),
    }
}

/// `cose-alpine-no-timestamp.sig`: COSE PS256, self-signed leaf, the alpine subject.
fn cose_alpine() -> Vector {
    let artifact = manifest_descriptor("oci-subject-manifest-19dbd2e4.json");
    let file = "cose-alpine-no-timestamp.sig";
    Vector {
        file,
        media_type: COSE_MEDIA_TYPE,
        reference: format!("localhost:5000/alpine@{}", artifact.digest),
        artifact,
        policy: audit_policy(),
        anchor: ("alpine.der", leaf_of(&vector(file), COSE_MEDIA_TYPE)),
    }
}

/// The byte range of the only occurrence of `needle` in `haystack`.
fn locate(haystack: &[u8], needle: &[u8]) -> std::ops::Range<usize> {
    let hits: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter_map(|(i, w)| (w == needle).then_some(i))
        .collect();
    assert_eq!(hits.len(), 1, "the signed part must occur exactly once");
    hits[0]..hits[0] + needle.len()
}

/// The received text of a JWS member and where it sits in the raw envelope.
fn jws_member(raw: &[u8], member: &str) -> (String, std::ops::Range<usize>) {
    let json: serde_json::Value = serde_json::from_slice(raw).unwrap();
    let text = json[member].as_str().unwrap().to_owned();
    let quoted = format!("\"{text}\"");
    let range = locate(raw, quoted.as_bytes());
    (text, range.start + 1..range.end - 1)
}

fn splice(raw: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = raw[..range.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&raw[range.end..]);
    out
}

/// Change one decoded byte of a JWS member and re-encode it canonically.
fn mutate_jws_decoded(raw: &[u8], member: &str, index: usize, xor: u8) -> Vec<u8> {
    let (text, range) = jws_member(raw, member);
    let mut decoded = URL_SAFE_NO_PAD.decode(&text).unwrap();
    let i = index % decoded.len();
    decoded[i] ^= xor;
    splice(raw, range, URL_SAFE_NO_PAD.encode(&decoded).as_bytes())
}

/// Replace one base64url character of a JWS member by another base64url character.
fn mutate_jws_encoded(raw: &[u8], member: &str, index: usize, shift: usize) -> Vec<u8> {
    let (_, range) = jws_member(raw, member);
    let at = range.start + index % range.len();
    let mut out = raw.to_vec();
    let pos = BASE64URL.iter().position(|c| *c == out[at]).unwrap();
    out[at] = BASE64URL[(pos + shift) % BASE64URL.len()];
    out
}

/// Change one byte inside a COSE_Sign1 byte string (0 protected, 1 payload, 2 signature).
fn mutate_cose(raw: &[u8], part: usize, index: usize, xor: u8) -> Vec<u8> {
    let sign1 = CoseSign1::from_tagged_slice(raw).unwrap();
    let content = match part {
        0 => sign1.protected.original_data.unwrap(),
        1 => sign1.payload.unwrap(),
        _ => sign1.signature,
    };
    let range = locate(raw, &content);
    let mut out = raw.to_vec();
    out[range.start + index % range.len()] ^= xor;
    out
}

#[test]
fn the_unmutated_envelopes_verify() {
    // Guards the properties below against testing envelopes that never verified.
    for v in [jws_e2e(), jws_ps384(), cose_alpine()] {
        assert!(v.verifies(vector(v.file)), "{}", v.file);
    }
}

#[test]
fn every_signed_byte_of_the_jws_and_cose_vectors_is_protected() {
    // Exhaustive over the smaller parts: every byte of the COSE protected header and payload,
    // every decoded byte of the JWS protected header.
    let cose = cose_alpine();
    let raw = vector(cose.file);
    let sign1 = CoseSign1::from_tagged_slice(&raw).unwrap();
    let protected_len = sign1.protected.original_data.unwrap().len();
    let payload_len = sign1.payload.unwrap().len();
    for (part, len) in [(0, protected_len), (1, payload_len)] {
        for i in 0..len {
            assert!(
                !cose.verifies(mutate_cose(&raw, part, i, 0x01)),
                "COSE part {part} byte {i}"
            );
        }
    }
    let jws = jws_e2e();
    let raw = vector(jws.file);
    let (text, _) = jws_member(&raw, "protected");
    for i in 0..URL_SAFE_NO_PAD.decode(text).unwrap().len() {
        assert!(
            !jws.verifies(mutate_jws_decoded(&raw, "protected", i, 0x01)),
            "JWS protected byte {i}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_jws_with_any_decoded_byte_changed_never_verifies(
        which in 0usize..2,
        member in 0usize..3,
        index in any::<usize>(),
        xor in 1u8..=255,
    ) {
        let v = if which == 0 { jws_e2e() } else { jws_ps384() };
        let mutated = mutate_jws_decoded(&vector(v.file), MEMBERS[member], index, xor);
        prop_assert!(!v.verifies(mutated));
    }

    #[test]
    fn a_jws_with_any_character_replaced_never_verifies(
        which in 0usize..2,
        member in 0usize..3,
        index in any::<usize>(),
        shift in 1usize..64,
    ) {
        let v = if which == 0 { jws_e2e() } else { jws_ps384() };
        let mutated = mutate_jws_encoded(&vector(v.file), MEMBERS[member], index, shift);
        prop_assert!(!v.verifies(mutated));
    }

    #[test]
    fn a_cose_envelope_with_any_signed_byte_changed_never_verifies(
        part in 0usize..3,
        index in any::<usize>(),
        xor in 1u8..=255,
    ) {
        let v = cose_alpine();
        let mutated = mutate_cose(&vector(v.file), part, index, xor);
        prop_assert!(!v.verifies(mutated));
    }
}
