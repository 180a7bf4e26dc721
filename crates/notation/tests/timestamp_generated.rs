//! RFC 3161 tokens built in the test (rcgen TSA hierarchy, hand-encoded CMS) to cover what
//! the real vectors do not: ECDSA and RSASSA-PSS signers, SHA-384 imprints, intermediates,
//! BER indefinite lengths, baseline-policy accuracy, and each failure of the token checks.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use aws_lc_rs::digest;
use common::der::{tlv, utc_time};
use imagegate_notation::revocation::{FixedRevocationChecker, RevocationStatus};
use imagegate_notation::timestamp::{verify_timestamp, TimestampError, VerifiedTimestamp};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SigningKey as _,
};
use rustls_pki_types::CertificateDer;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------- DER encoding helpers

/// Indefinite-length constructed element (BER).
fn tlv_indefinite(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag, 0x80];
    out.extend_from_slice(content);
    out.extend_from_slice(&[0, 0]);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &cat(parts))
}

fn set(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x31, &cat(parts))
}

fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
    let mut body = Vec::new();
    let mut push = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        body.extend_from_slice(&tmp);
    };
    push(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push(*a);
    }
    tlv(0x06, &body)
}

fn int(v: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = v.to_be_bytes().to_vec();
    while bytes.len() > 1 && bytes[0] == 0 && bytes[1] & 0x80 == 0 {
        bytes.remove(0);
    }
    if bytes[0] & 0x80 != 0 {
        bytes.insert(0, 0);
    }
    tlv(0x02, &bytes)
}

fn octets(b: &[u8]) -> Vec<u8> {
    tlv(0x04, b)
}

fn generalized_time(t: OffsetDateTime, millis: Option<u16>) -> Vec<u8> {
    let mut s = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if let Some(ms) = millis {
        s.push_str(format!(".{ms:03}").trim_end_matches('0'));
    }
    s.push('Z');
    tlv(0x18, s.as_bytes())
}

fn alg(dotted: &str, null_params: bool) -> Vec<u8> {
    if null_params {
        seq(&[&oid(dotted), &[0x05, 0x00]])
    } else {
        seq(&[&oid(dotted)])
    }
}

const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
const ID_DATA: &str = "1.2.840.113549.1.7.1";
const BASELINE_POLICY: &str = "0.4.0.2023.1.1";
const OTHER_POLICY: &str = "1.3.6.1.4.1.4146.2.3";

fn sha(oid_: &str, data: &[u8]) -> Vec<u8> {
    let alg = if oid_ == SHA384 {
        &digest::SHA384
    } else {
        &digest::SHA256
    };
    digest::digest(alg, data).as_ref().to_vec()
}

// ---------------------------------------------------------------- TSA hierarchy

/// How the TSA leaf signs the CMS signed attributes.
enum LeafKey {
    Ecdsa(KeyPair),
    RsaPkcs1(KeyPair),
    RsaPss(KeyPair),
}

impl LeafKey {
    fn rcgen(&self) -> &KeyPair {
        match self {
            Self::Ecdsa(k) | Self::RsaPkcs1(k) | Self::RsaPss(k) => k,
        }
    }

    /// (digest algorithm OID, signatureAlgorithm element, signature over `msg`).
    fn sign(&self, msg: &[u8], p384: bool) -> (&'static str, Vec<u8>, Vec<u8>) {
        match self {
            Self::Ecdsa(k) if p384 => (
                SHA384,
                alg("1.2.840.10045.4.3.3", false),
                k.sign(msg).unwrap(),
            ),
            Self::Ecdsa(k) => (
                SHA256,
                alg("1.2.840.10045.4.3.2", false),
                k.sign(msg).unwrap(),
            ),
            Self::RsaPkcs1(k) => (
                SHA256,
                alg("1.2.840.113549.1.1.11", true),
                k.sign(msg).unwrap(),
            ),
            Self::RsaPss(k) => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&k.serialize_der()).unwrap();
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &aws_lc_rs::signature::RSA_PSS_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    msg,
                    &mut sig,
                )
                .unwrap();
                let sha256 = alg(SHA256, true);
                let params = seq(&[
                    &tlv(0xa0, &sha256),
                    &tlv(0xa1, &seq(&[&oid("1.2.840.113549.1.1.8"), &sha256])),
                    &tlv(0xa2, &int(32)),
                ]);
                (SHA256, seq(&[&oid("1.2.840.113549.1.1.10"), &params]), sig)
            }
        }
    }
}

struct Tsa {
    root: CertificateDer<'static>,
    intermediate: Option<CertificateDer<'static>>,
    leaf: CertificateDer<'static>,
    leaf_key: LeafKey,
    p384: bool,
}

#[derive(Clone, Copy)]
enum LeafEku {
    CriticalTimestamping,
    NonCriticalTimestamping,
    Absent,
}

struct TsaOptions {
    p384: bool,
    leaf_key: fn() -> LeafKey,
    with_intermediate: bool,
    eku: LeafEku,
    leaf_digital_signature: bool,
    root_validity: (OffsetDateTime, OffsetDateTime),
    leaf_validity: (OffsetDateTime, OffsetDateTime),
}

impl Default for TsaOptions {
    fn default() -> Self {
        Self {
            p384: false,
            leaf_key: || {
                LeafKey::Ecdsa(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap())
            },
            with_intermediate: false,
            eku: LeafEku::CriticalTimestamping,
            leaf_digital_signature: true,
            root_validity: (
                datetime!(2020-01-01 0:00 UTC),
                datetime!(2040-01-01 0:00 UTC),
            ),
            leaf_validity: (
                datetime!(2021-01-01 0:00 UTC),
                datetime!(2035-01-01 0:00 UTC),
            ),
        }
    }
}

fn ca_params(cn: &str, validity: (OffsetDateTime, OffsetDateTime)) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CountryName, "US");
    p.distinguished_name
        .push(DnType::OrganizationName, "Test TSA");
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = validity.0;
    p.not_after = validity.1;
    p
}

fn build_tsa(o: TsaOptions) -> Tsa {
    let root_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap();
    let root_params = ca_params("Test TSA Root", o.root_validity);
    let root = root_params.self_signed(&root_key).unwrap();
    let root_issuer = Issuer::from_params(&root_params, &root_key);

    let inter_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let inter_params = ca_params("Test TSA Intermediate", o.root_validity);
    let intermediate = o
        .with_intermediate
        .then(|| inter_params.signed_by(&inter_key, &root_issuer).unwrap());
    let inter_issuer = Issuer::from_params(&inter_params, &inter_key);

    let leaf_key = (o.leaf_key)();
    let mut lp = CertificateParams::default();
    lp.distinguished_name.push(DnType::CountryName, "US");
    lp.distinguished_name
        .push(DnType::OrganizationName, "Test TSA");
    lp.distinguished_name
        .push(DnType::CommonName, "Test TSA Unit");
    lp.is_ca = IsCa::ExplicitNoCa;
    lp.key_usages = if o.leaf_digital_signature {
        vec![KeyUsagePurpose::DigitalSignature]
    } else {
        vec![KeyUsagePurpose::ContentCommitment]
    };
    lp.not_before = o.leaf_validity.0;
    lp.not_after = o.leaf_validity.1;
    let eku_content = seq(&[&oid("1.3.6.1.5.5.7.3.8")]);
    match o.eku {
        LeafEku::CriticalTimestamping | LeafEku::NonCriticalTimestamping => {
            let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 37], eku_content);
            ext.set_criticality(matches!(o.eku, LeafEku::CriticalTimestamping));
            lp.custom_extensions = vec![ext];
        }
        LeafEku::Absent => {}
    }
    let leaf = if o.with_intermediate {
        lp.signed_by(leaf_key.rcgen(), &inter_issuer).unwrap()
    } else {
        lp.signed_by(leaf_key.rcgen(), &root_issuer).unwrap()
    };
    Tsa {
        root: root.der().clone(),
        intermediate: intermediate.map(|c| c.der().clone()),
        leaf: leaf.der().clone(),
        leaf_key,
        p384: o.p384,
    }
}

// ---------------------------------------------------------------- token builder

struct Spec<'a> {
    message: &'a [u8],
    imprint_alg: &'static str,
    gen_time: OffsetDateTime,
    gen_millis: Option<u16>,
    /// (seconds, millis) of the accuracy field, if present.
    accuracy: Option<(u64, Option<u64>)>,
    policy: &'static str,
    version: u64,
    econtent_type: &'static str,
    attr_content_type: &'static str,
    ess: Ess,
    message_digest_override: Option<Vec<u8>>,
    signing_time: Option<OffsetDateTime>,
    ber: bool,
    tamper_signature: bool,
    signer_version: u64,
}

#[derive(Clone, Copy, PartialEq)]
enum Ess {
    /// ESSCertIDv2 with certHash and issuerSerial.
    Full,
    /// ESSCertIDv2 with certHash only (the sid identifies the certificate).
    HashOnly,
    /// Wrong certHash.
    WrongHash,
    /// No signing-certificate-v2 attribute.
    Missing,
}

impl<'a> Spec<'a> {
    fn new(message: &'a [u8]) -> Self {
        Self {
            message,
            imprint_alg: SHA256,
            gen_time: datetime!(2025-06-01 12:00:00 UTC),
            gen_millis: None,
            accuracy: Some((1, None)),
            policy: OTHER_POLICY,
            version: 1,
            econtent_type: TST_INFO,
            attr_content_type: TST_INFO,
            ess: Ess::Full,
            message_digest_override: None,
            signing_time: None,
            ber: false,
            tamper_signature: false,
            signer_version: 1,
        }
    }
}

fn build_token(tsa: &Tsa, spec: &Spec<'_>) -> Vec<u8> {
    let leaf = x509_parser::parse_x509_certificate(tsa.leaf.as_ref())
        .unwrap()
        .1;
    let issuer_name = leaf.tbs_certificate.issuer.as_raw().to_vec();
    let serial = tlv(0x02, leaf.tbs_certificate.raw_serial());

    let accuracy = spec.accuracy.map(|(secs, millis)| {
        let mut body = int(secs);
        if let Some(ms) = millis {
            body.extend_from_slice(&tlv(0x80, &int(ms)[2..]));
        }
        seq(&[&body])
    });
    let tst_info = seq(&[
        &int(spec.version),
        &oid(spec.policy),
        &seq(&[
            &alg(spec.imprint_alg, true),
            &octets(&sha(spec.imprint_alg, spec.message)),
        ]),
        &int(0x1234_5678),
        &generalized_time(spec.gen_time, spec.gen_millis),
        accuracy.as_deref().unwrap_or(&[]),
    ]);

    let digest_oid = if tsa.p384 { SHA384 } else { SHA256 };
    let cert_hash = sha(SHA256, tsa.leaf.as_ref());
    let ess_id = match spec.ess {
        Ess::Full => Some(seq(&[
            &octets(&cert_hash),
            &seq(&[&seq(&[&tlv(0xa4, &issuer_name)]), &serial]),
        ])),
        Ess::HashOnly => Some(seq(&[&octets(&cert_hash)])),
        Ess::WrongHash => Some(seq(&[&octets(&[0u8; 32])])),
        Ess::Missing => None,
    };
    let mut attrs = vec![
        seq(&[
            &oid("1.2.840.113549.1.9.3"),
            &set(&[&oid(spec.attr_content_type)]),
        ]),
        seq(&[
            &oid("1.2.840.113549.1.9.4"),
            &set(&[&octets(
                spec.message_digest_override
                    .as_deref()
                    .unwrap_or(&sha(digest_oid, &tst_info)),
            )]),
        ]),
    ];
    if let Some(t) = spec.signing_time {
        attrs.push(seq(&[&oid("1.2.840.113549.1.9.5"), &set(&[&utc_time(t)])]));
    }
    if let Some(id) = ess_id {
        attrs.push(seq(&[
            &oid("1.2.840.113549.1.9.16.2.47"),
            &set(&[&seq(&[&seq(&[&id])])]),
        ]));
    }
    let attrs_body = attrs.concat();
    let (signer_digest, sig_alg, mut signature) = tsa.leaf_key.sign(&set(&[&attrs_body]), tsa.p384);
    assert_eq!(signer_digest, digest_oid);
    if spec.tamper_signature {
        let last = signature.len() - 1;
        signature[last] ^= 1;
    }
    let signer_info = seq(&[
        &int(spec.signer_version),
        &seq(&[&issuer_name, &serial]),
        &alg(digest_oid, true),
        &tlv(0xa0, &attrs_body),
        &sig_alg,
        &octets(&signature),
    ]);
    let mut certs = tsa.leaf.as_ref().to_vec();
    if let Some(i) = &tsa.intermediate {
        certs.extend_from_slice(i.as_ref());
    }
    // Constructed containers use indefinite lengths in the BER variant.
    let wrap: fn(u8, &[u8]) -> Vec<u8> = if spec.ber { tlv_indefinite } else { tlv };
    let wrap_ctx = wrap;
    let signed_data = wrap(
        0x30,
        &cat(&[
            &int(3),
            &set(&[&alg(digest_oid, true)]),
            &wrap(
                0x30,
                &cat(&[
                    &oid(spec.econtent_type),
                    &wrap_ctx(0xa0, &octets(&tst_info)),
                ]),
            ),
            &wrap_ctx(0xa0, &certs),
            &set(&[&signer_info]),
        ]),
    );
    wrap(
        0x30,
        &cat(&[&oid("1.2.840.113549.1.7.2"), &wrap_ctx(0xa0, &signed_data)]),
    )
}

const MESSAGE: &[u8] = b"primitive signature bytes of an envelope";

fn ok() -> FixedRevocationChecker {
    FixedRevocationChecker::new(RevocationStatus::Ok)
}

fn verify(tsa: &Tsa, token: &[u8]) -> Result<VerifiedTimestamp, TimestampError> {
    verify_timestamp(token, MESSAGE, std::slice::from_ref(&tsa.root), &ok())
}

fn err(tsa: &Tsa, spec: &Spec<'_>) -> String {
    verify(tsa, &build_token(tsa, spec))
        .unwrap_err()
        .to_string()
}

// ---------------------------------------------------------------- tests

#[test]
fn ecdsa_p256_token_verifies_with_millisecond_accuracy() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.gen_millis = Some(250);
    spec.accuracy = Some((0, Some(500)));
    let verified = verify(&tsa, &build_token(&tsa, &spec)).unwrap();
    let gen = datetime!(2025-06-01 12:00:00.25 UTC);
    assert_eq!(verified.range.earliest, gen - Duration::milliseconds(500));
    assert_eq!(verified.range.latest, gen + Duration::milliseconds(500));
    assert_eq!(verified.tsa_chain, vec![tsa.leaf.clone(), tsa.root.clone()]);
}

#[test]
fn ecdsa_p384_signer_with_sha384_imprint_and_intermediate() {
    let tsa = build_tsa(TsaOptions {
        p384: true,
        leaf_key: || LeafKey::Ecdsa(KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap()),
        with_intermediate: true,
        ..TsaOptions::default()
    });
    let mut spec = Spec::new(MESSAGE);
    spec.imprint_alg = SHA384;
    let verified = verify(&tsa, &build_token(&tsa, &spec)).unwrap();
    assert_eq!(verified.tsa_chain.len(), 3);
    assert_eq!(verified.tsa_chain[1], tsa.intermediate.clone().unwrap());
    // The intermediate's revocation status is checked too.
    let inter_subject = "CN=Test TSA Intermediate,O=Test TSA,C=US";
    let revoked = FixedRevocationChecker::new(RevocationStatus::Ok)
        .with_subject(inter_subject, RevocationStatus::Revoked);
    let e = verify_timestamp(
        &build_token(&tsa, &spec),
        MESSAGE,
        std::slice::from_ref(&tsa.root),
        &revoked,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("timestamping certificate with subject {inter_subject:?} is revoked")
    );
}

#[test]
fn ecdsa_signature_tampering_is_detected() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.tamper_signature = true;
    assert_eq!(
        err(&tsa, &spec),
        "failed to verify the timestamp countersignature with error: failed to verify signed token: cms verification failure: x509: ECDSA verification failure"
    );
}

#[test]
fn rsa_pss_and_pkcs1_signers_verify() {
    for key in [
        (|| LeafKey::RsaPss(KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap()))
            as fn() -> LeafKey,
        || LeafKey::RsaPkcs1(KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap()),
    ] {
        let tsa = build_tsa(TsaOptions {
            leaf_key: key,
            ..TsaOptions::default()
        });
        verify(&tsa, &build_token(&tsa, &Spec::new(MESSAGE))).unwrap();
        let mut spec = Spec::new(MESSAGE);
        spec.tamper_signature = true;
        assert_eq!(
            err(&tsa, &spec),
            "failed to verify the timestamp countersignature with error: failed to verify signed token: cms verification failure: crypto/rsa: verification error"
        );
    }
}

#[test]
fn ber_indefinite_lengths_are_normalised() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.ber = true;
    let token = build_token(&tsa, &spec);
    assert_eq!(token[1], 0x80, "outer element uses an indefinite length");
    verify(&tsa, &token).unwrap();
}

#[test]
fn accuracy_defaults() {
    let tsa = build_tsa(TsaOptions::default());
    let gen = datetime!(2025-06-01 12:00:00 UTC);
    // No accuracy with the ETSI baseline policy: one second.
    let mut spec = Spec::new(MESSAGE);
    spec.accuracy = None;
    spec.policy = BASELINE_POLICY;
    let r = verify(&tsa, &build_token(&tsa, &spec)).unwrap().range;
    assert_eq!(
        (r.earliest, r.latest),
        (gen - Duration::SECOND, gen + Duration::SECOND)
    );
    // No accuracy with another policy: zero.
    spec.policy = OTHER_POLICY;
    let r = verify(&tsa, &build_token(&tsa, &spec)).unwrap().range;
    assert_eq!((r.earliest, r.latest), (gen, gen));
}

#[test]
fn signing_certificate_attribute_rules() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.ess = Ess::HashOnly;
    verify(&tsa, &build_token(&tsa, &spec)).unwrap();
    spec.ess = Ess::Missing;
    assert_eq!(
        err(&tsa, &spec),
        "failed to verify the timestamp countersignature with error: failed to verify signed token: failed to get SigningCertificateV2 from signed attributes: attribute not found"
    );
    spec.ess = Ess::WrongHash;
    assert!(err(&tsa, &spec)
        .ends_with("signing certificate hash does not match CertHash in signed attribute"));
    spec.ess = Ess::Full;
    spec.signer_version = 3;
    assert!(err(&tsa, &spec)
        .ends_with("invalid signer info version: only version 1 is supported; got 3"));
}

#[test]
fn signed_attribute_rules() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.attr_content_type = ID_DATA;
    assert!(err(&tsa, &spec).contains("cms verification failure: mismatch content type"));
    let mut spec = Spec::new(MESSAGE);
    spec.message_digest_override = Some(vec![0; 32]);
    assert!(err(&tsa, &spec).ends_with("cms verification failure: mismatch message digest"));
    let mut spec = Spec::new(MESSAGE);
    spec.signing_time = Some(datetime!(2025-06-01 12:00:00 UTC));
    verify(&tsa, &build_token(&tsa, &spec)).unwrap();
    spec.signing_time = Some(datetime!(2036-06-01 12:00:00 UTC));
    assert!(err(&tsa, &spec).contains("is outside certificate's validity period"));
}

#[test]
fn token_content_rules() {
    let tsa = build_tsa(TsaOptions::default());
    let mut spec = Spec::new(MESSAGE);
    spec.econtent_type = ID_DATA;
    spec.attr_content_type = ID_DATA;
    assert_eq!(
        err(&tsa, &spec),
        "failed to parse timestamp countersignature with error: unexpected content type: 1.2.840.113549.1.7.1"
    );
    let mut spec = Spec::new(MESSAGE);
    spec.version = 2;
    assert_eq!(
        err(&tsa, &spec),
        "failed to get timestamp from timestamp countersignature with error: invalid TSTInfo: timestamp token info version must be 1, but got 2"
    );
    let mut spec = Spec::new(MESSAGE);
    spec.message = b"other bytes";
    assert!(err(&tsa, &spec).ends_with("invalid TSTInfo: mismatched message"));
}

#[test]
fn tsa_leaf_profile_rules() {
    let spec = Spec::new(MESSAGE);
    let tsa = build_tsa(TsaOptions {
        eku: LeafEku::NonCriticalTimestamping,
        ..TsaOptions::default()
    });
    assert!(err(&tsa, &spec)
        .ends_with("signing certificate extended key usage extension must be set as critical"));
    let tsa = build_tsa(TsaOptions {
        eku: LeafEku::Absent,
        ..TsaOptions::default()
    });
    assert!(err(&tsa, &spec).ends_with(
        "signing certificate must have and only have ExtKeyUsageTimeStamping as extended key usage"
    ));
    let tsa = build_tsa(TsaOptions {
        leaf_digital_signature: false,
        ..TsaOptions::default()
    });
    let e = verify(&tsa, &build_token(&tsa, &spec)).unwrap_err();
    assert!(matches!(e, TimestampError::CertChain(_)), "{e:?}");
    assert!(e.to_string().contains("\"Digital Signature\""), "{e}");
}

#[test]
fn tsa_chain_is_evaluated_at_gen_time() {
    let spec = Spec::new(MESSAGE);
    // genTime (2025) after the TSA leaf expired.
    let tsa = build_tsa(TsaOptions {
        leaf_validity: (
            datetime!(2021-01-01 0:00 UTC),
            datetime!(2024-01-01 0:00 UTC),
        ),
        ..TsaOptions::default()
    });
    assert!(err(&tsa, &spec).ends_with("x509: certificate has expired or is not yet valid"));
    // The root itself expired before genTime (webpki does not check anchors; we do, like Go).
    let tsa = build_tsa(TsaOptions {
        root_validity: (
            datetime!(2020-01-01 0:00 UTC),
            datetime!(2024-01-01 0:00 UTC),
        ),
        ..TsaOptions::default()
    });
    assert!(err(&tsa, &spec).ends_with("x509: certificate has expired or is not yet valid"));
    // A token from another TSA hierarchy.
    let other = build_tsa(TsaOptions::default());
    let e = verify_timestamp(
        &build_token(&tsa, &spec),
        MESSAGE,
        std::slice::from_ref(&other.root),
        &ok(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("x509: certificate signed by unknown authority"),
        "{e}"
    );
}
