//! RFC 3161 timestamp verification against the real Notation vectors (GlobalSign and
//! Microsoft TSA tokens).
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use coset::{CborSerializable as _, Label, TaggedCborSerializable as _};
use imagegate_notation::revocation::{
    CertPurpose, FixedRevocationChecker, OfflineRevocationChecker, RevocationError,
    RevocationStatus,
};
use imagegate_notation::timestamp::{
    format_rfc1123z, verify_timestamp, verify_timestamp_for_chain, TimestampError,
};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use time::macros::datetime;
use time::OffsetDateTime;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");
const TIMESTAMP_HEADER: &str = "io.cncf.notary.timestampSignature";

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (token, primitive signature bytes, signing chain) of an envelope vector.
struct Parts {
    token: Vec<u8>,
    signature: Vec<u8>,
    chain: Vec<CertificateDer<'static>>,
}

fn jws_parts(name: &str) -> Parts {
    let doc: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = std
        .decode(
            doc["header"][TIMESTAMP_HEADER]
                .as_str()
                .expect("timestamp header"),
        )
        .unwrap();
    let signature = url.decode(doc["signature"].as_str().unwrap()).unwrap();
    let chain = doc["header"]["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| CertificateDer::from(std.decode(c.as_str().unwrap()).unwrap()))
        .collect();
    Parts {
        token,
        signature,
        chain,
    }
}

fn cose_parts(name: &str) -> Parts {
    let bytes = read(name);
    let sign1 = coset::CoseSign1::from_tagged_slice(&bytes)
        .or_else(|_| coset::CoseSign1::from_slice(&bytes))
        .unwrap();
    let mut token = None;
    for (label, value) in &sign1.unprotected.rest {
        if *label == Label::Text(TIMESTAMP_HEADER.to_owned()) {
            token = Some(value.as_bytes().expect("bstr token").clone());
        }
    }
    let chain = sign1
        .unprotected
        .rest
        .iter()
        .find(|(l, _)| *l == Label::Int(33))
        .map(|(_, v)| match v {
            coset::cbor::value::Value::Bytes(b) => vec![CertificateDer::from(b.clone())],
            coset::cbor::value::Value::Array(a) => a
                .iter()
                .map(|c| CertificateDer::from(c.as_bytes().unwrap().clone()))
                .collect(),
            other => panic!("unexpected x5chain {other:?}"),
        })
        .expect("x5chain");
    Parts {
        token: token.expect("timestamp token"),
        signature: sign1.signature.clone(),
        chain,
    }
}

fn globalsign_root() -> Vec<CertificateDer<'static>> {
    vec![CertificateDer::from(read(
        "cert-tsa-root-globalsign-r6.cer",
    ))]
}

fn pem_cert(name: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(&read(name))
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

fn ok_checker() -> FixedRevocationChecker {
    FixedRevocationChecker::new(RevocationStatus::Ok)
}

/// Verifies with the GlobalSign root and returns the range.
fn range_of(parts: &Parts) -> (OffsetDateTime, OffsetDateTime) {
    let verified = verify_timestamp(
        &parts.token,
        &parts.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.tsa_chain.len(), 3, "leaf, intermediate, root");
    assert_eq!(
        verified.tsa_chain[2].as_ref(),
        globalsign_root()[0].as_ref()
    );
    (verified.range.earliest, verified.range.latest)
}

#[test]
fn globalsign_tokens_give_gen_time_plus_minus_one_second() {
    let cases = [
        (
            jws_parts("jws-timestamp-valid.sig"),
            datetime!(2024-06-18 06:29:37 UTC),
        ),
        (
            cose_parts("cose-timestamp-valid.sig"),
            datetime!(2024-06-18 06:27:16 UTC),
        ),
        (
            jws_parts("jws-timestamp-expired-cert.sig"),
            datetime!(2024-06-18 07:21:42 UTC),
        ),
        (
            cose_parts("cose-timestamp-expired-cert.sig"),
            datetime!(2024-06-18 07:21:12 UTC),
        ),
        (
            jws_parts("jws-timestamp-before-notbefore.sig"),
            datetime!(2024-06-19 09:30:14 UTC),
        ),
        (
            cose_parts("cose-timestamp-after-notafter.sig"),
            datetime!(2024-06-19 09:35:58 UTC),
        ),
    ];
    for (parts, gen_time) in cases {
        let (earliest, latest) = range_of(&parts);
        assert_eq!(earliest, gen_time - time::Duration::SECOND);
        assert_eq!(latest, gen_time + time::Duration::SECOND);
    }
}

#[test]
fn chain_validity_is_checked_like_go() {
    // Inside the 10-minute leaf validity: passes although the leaf is long expired.
    let parts = jws_parts("jws-timestamp-expired-cert.sig");
    verify_timestamp_for_chain(
        &parts.token,
        &parts.signature,
        &parts.chain,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap();

    let parts = jws_parts("jws-timestamp-before-notbefore.sig");
    let err = verify_timestamp_for_chain(
        &parts.token,
        &parts.signature,
        &parts.chain,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamp can be before certificate \"CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US\" validity period, it will be valid from \"Fri, 18 Sep 2099 11:54:34 +0000\""
    );

    let parts = cose_parts("cose-timestamp-after-notafter.sig");
    let err = verify_timestamp_for_chain(
        &parts.token,
        &parts.signature,
        &parts.chain,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamp can be after certificate \"CN=testTSA,O=Notary,L=Seattle,ST=WA,C=US\" validity period, it was expired at \"Tue, 18 Sep 2001 11:54:34 +0000\""
    );
}

#[test]
fn wrong_root_is_unknown_authority() {
    let parts = cose_parts("cose-timestamp-valid.sig");
    let err = verify_timestamp(
        &parts.token,
        &parts.signature,
        &pem_cert("cert-e2e.crt"),
        &ok_checker(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to verify the timestamp countersignature with error: failed to verify signed token: cms verification failure: x509: certificate signed by unknown authority"
    );
}

#[test]
fn no_roots_is_reported() {
    let parts = jws_parts("jws-timestamp-valid.sig");
    let err = verify_timestamp(&parts.token, &parts.signature, &[], &ok_checker()).unwrap_err();
    assert_eq!(err, TimestampError::NoTrustedTsaCertificate);
}

#[test]
fn imprint_over_other_bytes_is_mismatched_message() {
    let parts = jws_parts("jws-timestamp-valid.sig");
    let other = jws_parts("jws-timestamp-expired-cert.sig");
    let err = verify_timestamp(
        &parts.token,
        &other.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "failed to get timestamp from timestamp countersignature with error: invalid TSTInfo: mismatched message"
    );
}

#[test]
fn malformed_token_is_a_parse_error() {
    let parts = jws_parts("jws-e2e-bad-timestamp-token.json");
    let err = verify_timestamp(
        &parts.token,
        &parts.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    assert!(matches!(err, TimestampError::Parse(_)), "{err:?}");
    assert!(
        err.to_string().starts_with(
            "failed to parse timestamp countersignature with error: cms: syntax error: invalid signed data: failed to convert from BER to DER: "
        ),
        "{err}"
    );
}

#[test]
fn corrupted_tokens_fail_cleanly() {
    let parts = jws_parts("jws-timestamp-valid.sig");
    // Truncations and single-byte flips never panic and never verify.
    for cut in [1, 10, 100, parts.token.len() / 2, parts.token.len() - 1] {
        assert!(verify_timestamp(
            &parts.token[..cut],
            &parts.signature,
            &globalsign_root(),
            &ok_checker()
        )
        .is_err());
    }
    // Flipping a bit in any signed or used part fails: the TSA leaf and intermediate
    // certificates, the message imprint inside the TSTInfo, and the signer's signature value
    // (the token's last 384 bytes: RSA-3072, no unsigned attributes). Flips elsewhere (for
    // example in the token's unused copy of the root) must simply not panic.
    let verified = verify_timestamp(
        &parts.token,
        &parts.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap();
    let find = |needle: &[u8]| {
        let at = parts
            .token
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("region in token");
        at..at + needle.len()
    };
    let imprint = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &parts.signature);
    let protected = [
        find(verified.tsa_chain[0].as_ref()),
        find(verified.tsa_chain[1].as_ref()),
        find(imprint.as_ref()),
        parts.token.len() - 384..parts.token.len(),
    ];
    let mut checked = 0;
    for i in (0..parts.token.len()).step_by(7) {
        let mut t = parts.token.clone();
        t[i] ^= 0x01;
        let result = verify_timestamp(&t, &parts.signature, &globalsign_root(), &ok_checker());
        if protected.iter().any(|r| r.contains(&i)) {
            checked += 1;
            assert!(result.is_err(), "flip at byte {i} still verified");
        }
    }
    assert!(checked > 400, "{checked}");
}

#[test]
fn microsoft_token_parses_and_matches_but_is_untrusted_with_globalsign() {
    let parts = jws_parts("jws-e2e-timestamped-mstsa.json");
    let err = verify_timestamp(
        &parts.token,
        &parts.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    // Passing the parse and imprint steps is what makes the error an unknown-authority one.
    assert_eq!(
        err.to_string(),
        "failed to verify the timestamp countersignature with error: failed to verify signed token: cms verification failure: x509: certificate signed by unknown authority"
    );
    let other = jws_parts("jws-timestamp-valid.sig");
    let err = verify_timestamp(
        &parts.token,
        &other.signature,
        &globalsign_root(),
        &ok_checker(),
    )
    .unwrap_err();
    assert!(err.to_string().ends_with("mismatched message"), "{err}");
}

/// The certificates carried in a token (ContentInfo → [0] → SignedData → [0] certificates).
fn token_certificates(token: &[u8]) -> Vec<CertificateDer<'static>> {
    use x509_parser::der_parser::ber::{parse_ber, BerObjectContent};
    let (_, content_info) = parse_ber(token).unwrap();
    let BerObjectContent::Sequence(ci) = &content_info.content else {
        panic!("ContentInfo")
    };
    let (_, signed_data) = parse_ber(ci[1].as_slice().unwrap()).unwrap();
    let raw = signed_data.as_sequence().unwrap();
    let certs = raw
        .iter()
        .find(|o| o.header.raw_tag() == Some(&[0xa0]))
        .expect("certificates");
    let mut rest = certs.as_slice().unwrap();
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (tail, _) = parse_ber(rest).unwrap();
        out.push(CertificateDer::from(
            rest[..rest.len() - tail.len()].to_vec(),
        ));
        rest = tail;
    }
    out
}

#[test]
fn microsoft_token_signature_verifies_up_to_the_missing_root() {
    // The Microsoft root is not shipped, but the token carries its intermediate CA. Trusting
    // that CA exercises the `rsaEncryption` signer algorithm, the signing-time attribute and
    // the EKU checks; the profile then refuses a chain that does not end in a self-signed
    // root, exactly like notation-go with the same roots.
    let parts = jws_parts("jws-e2e-timestamped-mstsa.json");
    let certs = token_certificates(&parts.token);
    assert_eq!(certs.len(), 2);
    let ca: Vec<CertificateDer<'static>> = certs
        .into_iter()
        .filter(|c| {
            x509_parser::parse_x509_certificate(c.as_ref())
                .map(|(_, x)| x.is_ca())
                .unwrap()
        })
        .collect();
    assert_eq!(ca.len(), 1);
    let err = verify_timestamp(&parts.token, &parts.signature, &ca, &ok_checker()).unwrap_err();
    assert!(matches!(err, TimestampError::CertChain(_)), "{err:?}");
    assert!(
        err.to_string().contains("is invalid or not self-signed"),
        "{err}"
    );
    // Same token against bytes it does not cover still fails at the imprint.
    let err = verify_timestamp(&parts.token, b"other", &ca, &ok_checker()).unwrap_err();
    assert!(err.to_string().ends_with("mismatched message"), "{err}");
}

#[test]
fn tsa_revocation_results_are_enforced() {
    let parts = jws_parts("jws-timestamp-valid.sig");
    // Offline: the GlobalSign TSA certificates carry OCSP/CRL URLs → unknown.
    let err = verify_timestamp(
        &parts.token,
        &parts.signature,
        &globalsign_root(),
        &OfflineRevocationChecker,
    )
    .unwrap_err();
    assert_eq!(
        err,
        TimestampError::Revocation(RevocationError::Unknown {
            purpose: CertPurpose::Timestamping,
            subject: "CN=Globalsign TSA for Advanced - G4 - 202311,O=GlobalSign nv-sa,C=BE"
                .to_owned(),
        })
    );
    assert_eq!(
        err.to_string(),
        "timestamping certificate with subject \"CN=Globalsign TSA for Advanced - G4 - 202311,O=GlobalSign nv-sa,C=BE\" revocation status is unknown"
    );
    let revoked = FixedRevocationChecker::new(RevocationStatus::Ok).with_subject(
        "CN=GlobalSign Timestamping CA - SHA384 - G4,O=GlobalSign nv-sa,C=BE",
        RevocationStatus::Revoked,
    );
    let err =
        verify_timestamp(&parts.token, &parts.signature, &globalsign_root(), &revoked).unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamping certificate with subject \"CN=GlobalSign Timestamping CA - SHA384 - G4,O=GlobalSign nv-sa,C=BE\" is revoked"
    );
}

#[test]
fn rfc1123z_matches_go() {
    assert_eq!(
        format_rfc1123z(datetime!(2001-09-18 11:54:34 UTC)),
        "Tue, 18 Sep 2001 11:54:34 +0000"
    );
}
