//! CRL evaluation (`revocation::crl`): rcgen-generated chains and CRLs, plus hand-built CRLs
//! for features rcgen cannot produce (delta CRL indicator, unknown critical extensions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use common::der::{tlv, utc_time};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use imagegate_notation::revocation::crl::{
    crl_next_update, crl_urls, evaluate_crl, CrlAnswer, CrlError, MAX_CRL_SIZE,
};
use imagegate_notation::revocation::has_revocation_urls;
use proptest::prelude::*;
use rcgen::{
    CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CrlIssuingDistributionPoint, CrlScope, CustomExtension, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

/// The verification time of every case.
const NOW: OffsetDateTime = time::macros::datetime!(2025-06-01 0:00 UTC);
const LEAF_SERIAL: [u8; 3] = [0x0a, 0x0b, 0x0c];
const CDP: &str = "http://crl.example/ca.crl";

/// A CA: its certificate, key and parameters (to sign with).
struct Ca {
    der: CertificateDer<'static>,
    key: KeyPair,
    params: CertificateParams,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::new(self.params.clone(), &self.key)
    }
}

fn root(cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = common::pki::ca_params(cn);
    let der = params.clone().self_signed(&key).unwrap().der().clone();
    Ca { der, key, params }
}

fn intermediate(parent: &Ca, cn: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = common::pki::ca_params(cn);
    params.serial_number = Some(SerialNumber::from_slice(&[0x77]));
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![CDP.into()],
    }];
    let der = params
        .clone()
        .signed_by(&key, &parent.issuer())
        .unwrap()
        .der()
        .clone();
    Ca { der, key, params }
}

/// The shared code-signing leaf parameters with this file's serial and distribution point.
fn leaf_params() -> CertificateParams {
    let mut p = common::pki::leaf_params("leaf");
    p.serial_number = Some(SerialNumber::from_slice(&LEAF_SERIAL));
    p.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec![CDP.into()],
    }];
    p
}

fn leaf_with(ca: &Ca, adjust: impl FnOnce(&mut CertificateParams)) -> CertificateDer<'static> {
    let mut p = leaf_params();
    adjust(&mut p);
    let key = KeyPair::generate().unwrap();
    p.signed_by(&key, &ca.issuer()).unwrap().der().clone()
}

fn leaf(ca: &Ca) -> CertificateDer<'static> {
    leaf_with(ca, |_| {})
}

fn entry(serial: &[u8], reason: Option<RevocationReason>) -> RevokedCertParams {
    RevokedCertParams {
        serial_number: SerialNumber::from_slice(serial),
        revocation_time: NOW - Duration::days(2),
        reason_code: reason,
        invalidity_date: None,
    }
}

fn crl_params(revoked: Vec<RevokedCertParams>) -> CertificateRevocationListParams {
    CertificateRevocationListParams {
        this_update: NOW - Duration::days(1),
        next_update: NOW + Duration::days(7),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked,
        key_identifier_method: KeyIdMethod::Sha256,
    }
}

fn sign_crl(ca: &Ca, params: &CertificateRevocationListParams) -> Vec<u8> {
    params
        .signed_by(&ca.issuer())
        .unwrap()
        .der()
        .as_ref()
        .to_vec()
}

fn crl(ca: &Ca, revoked: Vec<RevokedCertParams>) -> Vec<u8> {
    sign_crl(ca, &crl_params(revoked))
}

fn eval(
    cert: &CertificateDer<'_>,
    ca: &Ca,
    crl: &[u8],
    signing_time: Option<OffsetDateTime>,
) -> Result<CrlAnswer, CrlError> {
    evaluate_crl(cert, &ca.der, crl, NOW, signing_time)
}

fn is_revoked(r: &Result<CrlAnswer, CrlError>) -> bool {
    matches!(r, Ok(CrlAnswer::Revoked { .. }))
}

#[test]
fn not_listed_is_good() {
    let ca = root("root");
    let list = crl(&ca, vec![entry(&[0x01, 0x02], None)]);
    assert_eq!(eval(&leaf(&ca), &ca, &list, None), Ok(CrlAnswer::Good));
    assert_eq!(
        eval(&leaf(&ca), &ca, &crl(&ca, vec![]), None),
        Ok(CrlAnswer::Good)
    );
}

#[test]
fn listed_is_revoked_with_its_reason_and_time() {
    let ca = root("root");
    let list = crl(
        &ca,
        vec![
            entry(&[0x01], None),
            entry(&LEAF_SERIAL, Some(RevocationReason::KeyCompromise)),
        ],
    );
    assert_eq!(
        eval(&leaf(&ca), &ca, &list, None),
        Ok(CrlAnswer::Revoked {
            revocation_time: NOW - Duration::days(2),
            reason: Some(1),
        })
    );
    // Without a reason code, too.
    let list = crl(&ca, vec![entry(&LEAF_SERIAL, None)]);
    assert!(is_revoked(&eval(&leaf(&ca), &ca, &list, None)));
}

#[test]
fn remove_from_crl_is_good_and_hold_is_revoked() {
    let ca = root("root");
    let removed = crl(
        &ca,
        vec![entry(&LEAF_SERIAL, Some(RevocationReason::RemoveFromCrl))],
    );
    assert_eq!(eval(&leaf(&ca), &ca, &removed, None), Ok(CrlAnswer::Good));
    let held = crl(
        &ca,
        vec![entry(&LEAF_SERIAL, Some(RevocationReason::CertificateHold))],
    );
    assert!(is_revoked(&eval(&leaf(&ca), &ca, &held, None)));
}

#[test]
fn invalidity_date_after_the_signing_time_is_good() {
    let ca = root("root");
    let mut e = entry(&LEAF_SERIAL, Some(RevocationReason::KeyCompromise));
    e.invalidity_date = Some(NOW - Duration::days(10));
    let list = crl(&ca, vec![e]);
    let cert = leaf(&ca);
    // Signed before the key became invalid: good.
    assert_eq!(
        eval(&cert, &ca, &list, Some(NOW - Duration::days(20))),
        Ok(CrlAnswer::Good)
    );
    // Signed after it, or no authentic signing time: revoked.
    assert!(is_revoked(&eval(
        &cert,
        &ca,
        &list,
        Some(NOW - Duration::days(5))
    )));
    assert!(is_revoked(&eval(&cert, &ca, &list, None)));
}

#[test]
fn crl_signed_by_another_key_is_refused() {
    let ca = root("root");
    // Same name, different key.
    let impostor = root("root");
    let list = crl(&impostor, vec![]);
    assert!(matches!(
        eval(&leaf(&ca), &ca, &list, None),
        Err(CrlError::BadSignature { .. })
    ));
    // A flipped bit in the signed part breaks the signature too.
    let mut tampered = crl(&ca, vec![entry(&LEAF_SERIAL, None)]);
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    assert!(eval(&leaf(&ca), &ca, &tampered, None).is_err());
}

#[test]
fn stale_or_future_crl_is_refused() {
    let ca = root("root");
    let mut stale = crl_params(vec![]);
    stale.this_update = NOW - Duration::days(10);
    stale.next_update = NOW - Duration::seconds(1);
    assert!(matches!(
        eval(&leaf(&ca), &ca, &sign_crl(&ca, &stale), None),
        Err(CrlError::Stale { .. })
    ));
    let mut boundary = crl_params(vec![]);
    boundary.next_update = NOW;
    assert!(matches!(
        eval(&leaf(&ca), &ca, &sign_crl(&ca, &boundary), None),
        Err(CrlError::Stale { .. })
    ));
    let mut future = crl_params(vec![]);
    future.this_update = NOW + Duration::hours(1);
    assert!(matches!(
        eval(&leaf(&ca), &ca, &sign_crl(&ca, &future), None),
        Err(CrlError::NotYetValid { .. })
    ));
    assert_eq!(
        crl_next_update(&sign_crl(&ca, &stale)),
        Some(NOW - Duration::seconds(1))
    );
}

#[test]
fn crl_of_another_issuer_is_refused() {
    let ca = root("root");
    let other = root("other");
    let list = crl(&other, vec![entry(&LEAF_SERIAL, None)]);
    assert!(matches!(
        eval(&leaf(&ca), &ca, &list, None),
        Err(CrlError::WrongIssuer { .. })
    ));
}

#[test]
fn issuer_without_crl_sign_is_refused() {
    let mut ca = root("root");
    // The CA certificate itself lacks cRLSign (rcgen still signs with the parameters).
    let mut no_crl_sign = ca.params.clone();
    no_crl_sign.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let crl_bytes = crl(&ca, vec![]);
    let cert = leaf(&ca);
    ca.der = no_crl_sign.self_signed(&ca.key).unwrap().der().clone();
    assert!(matches!(
        eval(&cert, &ca, &crl_bytes, None),
        Err(CrlError::NotCrlSigner { .. })
    ));
}

#[test]
fn intermediate_is_checked_against_the_root_crl() {
    let root_ca = root("root");
    let int = intermediate(&root_ca, "intermediate");
    let revoked = crl(&root_ca, vec![entry(&[0x77], None)]);
    assert!(is_revoked(&evaluate_crl(
        &int.der,
        &root_ca.der,
        &revoked,
        NOW,
        None
    )));
    // The leaf, issued by the intermediate, is judged by the intermediate's CRL only.
    let leaf_cert = leaf(&int);
    assert!(matches!(
        evaluate_crl(&leaf_cert, &int.der, &revoked, NOW, None),
        Err(CrlError::WrongIssuer { .. })
    ));
    assert_eq!(
        evaluate_crl(&leaf_cert, &int.der, &crl(&int, vec![]), NOW, None),
        Ok(CrlAnswer::Good)
    );
}

#[test]
fn issuing_distribution_point_scope_is_enforced() {
    let root_ca = root("root");
    let int = intermediate(&root_ca, "intermediate");
    let mut users_only = crl_params(vec![]);
    users_only.issuing_distribution_point = Some(CrlIssuingDistributionPoint {
        distribution_point: CrlDistributionPoint {
            uris: vec![CDP.into()],
        },
        scope: Some(CrlScope::UserCertsOnly),
    });
    let list = sign_crl(&root_ca, &users_only);
    assert!(matches!(
        evaluate_crl(&int.der, &root_ca.der, &list, NOW, None),
        Err(CrlError::OutOfScope(_))
    ));
    // The same scope is fine for an end-entity certificate.
    assert_eq!(
        eval(&leaf(&root_ca), &root_ca, &list, None),
        Ok(CrlAnswer::Good)
    );
}

#[test]
fn garbage_is_an_error() {
    let ca = root("root");
    let cert = leaf(&ca);
    let cases: [&[u8]; 4] = [
        b"",
        b"not a crl",
        &[0x30, 0x80, 0x00, 0x00],
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ];
    for bytes in cases {
        assert!(matches!(
            eval(&cert, &ca, bytes, None),
            Err(CrlError::Malformed(_))
        ));
    }
    let good = crl(&ca, vec![entry(&LEAF_SERIAL, None)]);
    for len in 0..good.len() {
        assert!(
            eval(&cert, &ca, &good[..len], None).is_err(),
            "prefix {len}"
        );
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        eval(&cert, &ca, &trailing, None),
        Err(CrlError::Malformed(_))
    ));
    let huge = vec![0x30; MAX_CRL_SIZE + 1];
    assert!(matches!(
        eval(&cert, &ca, &huge, None),
        Err(CrlError::TooLarge { .. })
    ));
    assert_eq!(crl_next_update(b"not a crl"), None);
}

#[test]
fn certificate_announcing_delta_crls_needs_a_delta() {
    let ca = root("root");
    let delta_point = seq(&[seq(&[tlv(
        0xa0,
        &tlv(0xa0, &tlv(0x86, b"http://crl.example/delta.crl")),
    )])]);
    let cert = leaf_with(&ca, |p| {
        p.custom_extensions = vec![CustomExtension::from_oid_content(
            &[2, 5, 29, 46],
            delta_point,
        )];
    });
    assert_eq!(
        eval(&cert, &ca, &crl(&ca, vec![]), None),
        Err(CrlError::DeltaRequired)
    );
}

#[test]
fn hand_built_crls_delta_and_critical_extensions() {
    let ca = root("root");
    let cert = leaf(&ca);
    let number = ext(&[0x55, 0x1d, 0x14], false, &tlv(0x02, &[0x05]));
    // Control: the hand-built CRL is accepted and the serial is found.
    let revoked_entry = seq(&[tlv(0x02, &LEAF_SERIAL), utc_time(NOW - Duration::days(3))]);
    let plain = hand_crl(&ca, vec![number.clone()], vec![revoked_entry.clone()]);
    assert!(is_revoked(&eval(&cert, &ca, &plain, None)));
    let empty = hand_crl(&ca, vec![number.clone()], vec![]);
    assert_eq!(eval(&cert, &ca, &empty, None), Ok(CrlAnswer::Good));
    // A delta CRL.
    let delta = ext(&[0x55, 0x1d, 0x1b], true, &tlv(0x02, &[0x04]));
    let list = hand_crl(&ca, vec![number.clone(), delta], vec![]);
    assert_eq!(eval(&cert, &ca, &list, None), Err(CrlError::DeltaCrl));
    // An unknown critical CRL extension; the same one non-critical is ignored.
    let unknown = |critical| ext(&[0x55, 0x1d, 0x63], critical, &tlv(0x05, &[]));
    let list = hand_crl(&ca, vec![number.clone(), unknown(true)], vec![]);
    assert!(matches!(
        eval(&cert, &ca, &list, None),
        Err(CrlError::UnsupportedCriticalExtension { .. })
    ));
    let list = hand_crl(&ca, vec![number.clone(), unknown(false)], vec![]);
    assert_eq!(eval(&cert, &ca, &list, None), Ok(CrlAnswer::Good));
    // An unknown critical entry extension on the certificate's entry.
    let odd_entry = seq(&[
        tlv(0x02, &LEAF_SERIAL),
        utc_time(NOW - Duration::days(3)),
        seq(&[unknown(true)]),
    ]);
    let list = hand_crl(&ca, vec![number], vec![odd_entry]);
    assert!(matches!(
        eval(&cert, &ca, &list, None),
        Err(CrlError::UnsupportedCriticalExtension { .. })
    ));
}

#[test]
fn only_http_distribution_points_are_listed() {
    let ca = root("root");
    let cert = leaf_with(&ca, |p| {
        p.crl_distribution_points = vec![
            CrlDistributionPoint {
                uris: vec!["ldap://ldap.example/cn=crl".into(), CDP.into()],
            },
            CrlDistributionPoint {
                uris: vec![
                    "https://crl.example/tls.crl".into(),
                    "HTTP://CRL.example/upper.crl".into(),
                ],
            },
        ];
    });
    assert_eq!(
        crl_urls(&cert),
        vec![CDP.to_owned(), "HTTP://CRL.example/upper.crl".to_owned()]
    );
    assert_eq!(has_revocation_urls(&cert), Some(true));
    let bare = leaf_with(&ca, |p| p.crl_distribution_points.clear());
    assert!(crl_urls(&bare).is_empty());
    assert_eq!(has_revocation_urls(&bare), Some(false));
    assert!(crl_urls(&CertificateDer::from(vec![1, 2, 3])).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary bytes never panic and are never a valid answer.
    #[test]
    fn arbitrary_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let ca = fixture();
        prop_assert!(evaluate_crl(&ca.1, &ca.0, &bytes, NOW, None).is_err());
    }

    /// A real CRL with one byte changed never panics, and is never read as "good" for a
    /// listed certificate unless the change left it byte-identical in meaning.
    #[test]
    fn mutated_crl_is_never_good(at in 0usize..4096, xor in 1u8..=255) {
        let ca = fixture();
        let mut bytes = ca.2.clone();
        let at = at % bytes.len();
        bytes[at] ^= xor;
        let answer = evaluate_crl(&ca.1, &ca.0, &bytes, NOW, None);
        prop_assert!(!matches!(answer, Ok(CrlAnswer::Good)), "byte {} ^ {:#x}: {:?}", at, xor, answer);
    }
}

/// (issuer, leaf, CRL revoking the leaf), generated once.
fn fixture() -> &'static (CertificateDer<'static>, CertificateDer<'static>, Vec<u8>) {
    static FIXTURE: std::sync::OnceLock<(
        CertificateDer<'static>,
        CertificateDer<'static>,
        Vec<u8>,
    )> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let ca = root("root");
        let list = crl(&ca, vec![entry(&LEAF_SERIAL, None)]);
        (ca.der.clone(), leaf(&ca), list)
    })
}

// --- A minimal DER writer and CRL signer for hand-built CRLs ---

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn ext(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![tlv(0x06, oid)];
    if critical {
        parts.push(tlv(0x01, &[0xff]));
    }
    parts.push(tlv(0x04, value));
    seq(&parts)
}

/// A v2 CRL by `ca` (a P-256 key) with these extensions and revoked entries.
fn hand_crl(ca: &Ca, extensions: Vec<Vec<u8>>, revoked: Vec<Vec<u8>>) -> Vec<u8> {
    let (_, issuer) = X509Certificate::from_der(ca.der.as_ref()).unwrap();
    // ecdsa-with-SHA256
    let alg = seq(&[tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])]);
    let mut tbs = vec![
        tlv(0x02, &[0x01]),
        alg.clone(),
        issuer.subject().as_raw().to_vec(),
        utc_time(NOW - Duration::days(1)),
        utc_time(NOW + Duration::days(7)),
    ];
    if !revoked.is_empty() {
        tbs.push(seq(&revoked));
    }
    if !extensions.is_empty() {
        tbs.push(tlv(0xa0, &seq(&extensions)));
    }
    let tbs = seq(&tbs);
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &ca.key.serialize_der()).unwrap();
    let sig = key.sign(&SystemRandom::new(), &tbs).unwrap();
    let mut bits = vec![0u8];
    bits.extend_from_slice(sig.as_ref());
    seq(&[tbs, alg, tlv(0x03, &bits)])
}
