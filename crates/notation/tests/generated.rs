//! Generated signatures (rcgen chains, our signer): every algorithm in both envelope formats,
//! multi-certificate chains, and each failure kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::pki::{self, Pki, T0};
use common::{policy_json, store, Input};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{EnvelopeFormat, SigningScheme};
use imagegate_notation::limits::Limits;
use imagegate_notation::outcome::Outcome;
use imagegate_notation::policy::{CheckKind, StoreType};
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{payload_json, sign_cose, sign_jws, SignOptions};
use rcgen::ExtendedKeyUsagePurpose;
use rustls_pki_types::CertificateDer;
use time::Duration;

const FORMATS: [EnvelopeFormat; 2] = [EnvelopeFormat::Jws, EnvelopeFormat::Cose];

fn artifact() -> Descriptor {
    Descriptor::new(
        "application/vnd.oci.image.manifest.v1+json",
        "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
        517,
    )
}

fn policy(level: &str, stores: &[&str], identity: &str) -> String {
    serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "generated",
            "registryScopes": ["*"],
            "signatureVerification": {"level": level},
            "trustStores": stores,
            "trustedIdentities": [identity],
        }]
    })
    .to_string()
}

/// One generated verification: envelope, trust anchor, policy and clock.
struct Gen {
    envelope: Vec<u8>,
    format: EnvelopeFormat,
    anchors: Vec<(StoreType, CertificateDer<'static>)>,
    policy: String,
    now: time::OffsetDateTime,
    artifact: Descriptor,
    limits: Limits,
}

impl Gen {
    fn new(format: EnvelopeFormat, pki: &Pki, opts: &SignOptions) -> Self {
        Self::with_payload(
            format,
            pki,
            opts,
            &payload_json(&artifact(), &BTreeMap::new()),
        )
    }

    fn with_payload(format: EnvelopeFormat, pki: &Pki, opts: &SignOptions, payload: &[u8]) -> Self {
        Self {
            envelope: sign(format, pki, &pki.chain, opts, payload),
            format,
            anchors: vec![(StoreType::Ca, pki.root().clone())],
            policy: policy("strict", &["ca:gen"], "*"),
            now: T0,
            artifact: artifact(),
            limits: Limits::DEFAULT,
        }
    }

    fn run(&self) -> Outcome {
        let entries: Vec<_> = self
            .anchors
            .iter()
            .map(|(t, c)| (*t, "gen", "anchor.der", c.as_ref().to_vec()))
            .collect();
        Input {
            envelope: self.envelope.clone(),
            media_type: self.format.media_type().to_owned(),
            artifact: self.artifact.clone(),
            reference: format!("registry.example/repo@{}", self.artifact.digest),
            policy: policy_json(&self.policy),
            store: store(&entries),
            now: self.now,
            metadata: Vec::new(),
            limits: self.limits.clone(),
        }
        .run(&OfflineRevocationChecker)
        .unwrap()
    }

    fn assert_verified(&self, what: &str) -> Outcome {
        let outcome = self.run();
        assert!(
            outcome.is_verified() && outcome.warnings().next().is_none(),
            "{what} ({:?}): {:#?}",
            self.format,
            outcome.checks()
        );
        outcome
    }

    fn assert_fails(&self, kind: CheckKind, text: &str) {
        let outcome = self.run();
        let failed = outcome.checks().iter().find(|c| c.is_enforced_failure());
        let message = failed
            .and_then(|c| c.error.as_ref())
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            !outcome.is_verified()
                && failed.map(|c| c.kind) == Some(kind)
                && message.contains(text),
            "{:?}: expected {kind} failure containing {text:?}, got {:#?}",
            self.format,
            outcome.checks()
        );
    }
}

fn sign(
    format: EnvelopeFormat,
    pki: &Pki,
    chain: &[CertificateDer<'static>],
    opts: &SignOptions,
    payload: &[u8],
) -> Vec<u8> {
    match format {
        EnvelopeFormat::Jws => sign_jws(payload, &pki.signer, chain, opts).unwrap(),
        EnvelopeFormat::Cose => sign_cose(payload, &pki.signer, chain, opts).unwrap(),
    }
}

fn opts() -> SignOptions {
    SignOptions::x509(T0 - Duration::hours(1))
}

const LEAF_SUBJECT: &str = "CN=leaf,O=imagegate,L=Seattle,ST=WA,C=US";

#[test]
fn every_algorithm_in_both_formats() {
    for alg in SignatureAlgorithm::ALL {
        let pki = pki::chain(alg, 2, |_| {});
        for format in FORMATS {
            let outcome = Gen::new(format, &pki, &opts()).assert_verified(alg.jws_name());
            assert_eq!(outcome.signer().unwrap().subject, LEAF_SUBJECT);
            assert_eq!(outcome.signer().unwrap().chain_thumbprints_sha256.len(), 2);
        }
    }
}

#[test]
fn three_certificate_chains_in_both_formats() {
    let pki = pki::chain(SignatureAlgorithm::Es384, 3, |_| {});
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &opts());
        gen.assert_verified("root anchor");
        // Authenticity is byte equality with any chain certificate: an intermediate pins.
        gen.anchors = vec![(StoreType::Ca, pki.chain[1].clone())];
        gen.assert_verified("intermediate pinned");
        // Wrong order: leaf, root, intermediate.
        let reordered = vec![
            pki.chain[0].clone(),
            pki.chain[2].clone(),
            pki.chain[1].clone(),
        ];
        gen.envelope = sign(
            format,
            &pki,
            &reordered,
            &opts(),
            &payload_json(&artifact(), &BTreeMap::new()),
        );
        gen.assert_fails(CheckKind::Integrity, "certificate-chain is invalid");
        // Missing intermediate.
        let gap = vec![pki.chain[0].clone(), pki.chain[2].clone()];
        gen.envelope = sign(
            format,
            &pki,
            &gap,
            &opts(),
            &payload_json(&artifact(), &BTreeMap::new()),
        );
        gen.assert_fails(CheckKind::Integrity, "is not issued by");
    }
}

#[test]
fn forged_link_is_caught_by_path_validation() {
    // Same issuer name ("root"), different key: only the signature check can tell.
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let stranger = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let forged = vec![pki.chain[0].clone(), stranger.root().clone()];
        let mut gen = Gen::new(format, &pki, &opts());
        gen.envelope = sign(
            format,
            &pki,
            &forged,
            &opts(),
            &payload_json(&artifact(), &BTreeMap::new()),
        );
        gen.anchors = vec![(StoreType::Ca, stranger.root().clone())];
        gen.assert_fails(
            CheckKind::Integrity,
            "certificate-chain is invalid, the chain does not validate",
        );
    }
}

#[test]
fn self_signed_leaf_and_signing_authority() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 1, |_| {});
    let sa = SignOptions {
        scheme: SigningScheme::X509SigningAuthority,
        ..opts()
    };
    for format in FORMATS {
        Gen::new(format, &pki, &opts()).assert_verified("self-signed leaf");
        let mut gen = Gen::new(format, &pki, &sa);
        gen.policy = policy("strict", &["signingAuthority:gen"], "*");
        gen.anchors = vec![(StoreType::SigningAuthority, pki.root().clone())];
        let outcome = gen.assert_verified("signing authority");
        assert_eq!(
            outcome.signing_scheme(),
            Some(SigningScheme::X509SigningAuthority)
        );
        // A CA root cannot pass as a signing authority.
        gen.policy = policy("strict", &["ca:gen"], "*");
        gen.anchors = vec![(StoreType::Ca, pki.root().clone())];
        gen.assert_fails(
            CheckKind::Authenticity,
            "no trusted certificates are found to verify authenticity",
        );
    }
}

#[test]
fn tampered_payload() {
    let pki = pki::chain(SignatureAlgorithm::Ps256, 2, |_| {});
    let other = payload_json(
        &Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:00", 1),
        &BTreeMap::new(),
    );
    // JWS: swap the payload member.
    let mut gen = Gen::new(EnvelopeFormat::Jws, &pki, &opts());
    let mut json: serde_json::Value = serde_json::from_slice(&gen.envelope).unwrap();
    json["payload"] = URL_SAFE_NO_PAD.encode(&other).into();
    gen.envelope = serde_json::to_vec(&json).unwrap();
    gen.assert_fails(CheckKind::Integrity, "signature is invalid");
    // COSE: change one byte inside the payload bstr.
    let mut gen = Gen::new(EnvelopeFormat::Cose, &pki, &opts());
    let at = gen
        .envelope
        .windows(6)
        .position(|w| w == b"sha256")
        .unwrap();
    gen.envelope[at] = b'S';
    gen.assert_fails(CheckKind::Integrity, "signature is invalid");
}

#[test]
fn wrong_key() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let other = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &opts());
        gen.envelope = sign(
            format,
            &other,
            &pki.chain,
            &opts(),
            &payload_json(&artifact(), &BTreeMap::new()),
        );
        gen.assert_fails(CheckKind::Integrity, "signature is invalid");
    }
}

#[test]
fn algorithm_and_key_mismatch() {
    let es256 = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let es384 = pki::chain(SignatureAlgorithm::Es384, 2, |_| {});
    for format in FORMATS {
        // Declared ES256 (the signer's), but the leaf carries a P-384 key.
        let mut gen = Gen::new(format, &es384, &opts());
        gen.envelope = sign(
            format,
            &es256,
            &es384.chain,
            &opts(),
            &payload_json(&artifact(), &BTreeMap::new()),
        );
        gen.assert_fails(
            CheckKind::Integrity,
            "mismatch between signature algorithm derived from signing certificate (ES384) and signing algorithm specified (ES256)",
        );
    }
}

#[test]
fn wrong_target_digest() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &opts());
        gen.artifact.digest =
            "sha256:0000000000000000000000000000000000000000000000000000000000000000".into();
        gen.assert_fails(CheckKind::Integrity, "content descriptor mismatch");
        let mut gen = Gen::new(format, &pki, &opts());
        gen.artifact.size += 1;
        gen.assert_fails(CheckKind::Integrity, "content descriptor mismatch");
    }
}

#[test]
fn expired_signature() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let expiring = SignOptions {
        expiry: Some(T0 - Duration::minutes(1)),
        ..SignOptions::x509(T0 - Duration::hours(2))
    };
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &expiring);
        gen.assert_fails(
            CheckKind::Expiry,
            "digital signature has expired on \"Sat, 31 May 2025 23:59:00 +0000\"",
        );
        gen.now = T0 - Duration::minutes(2);
        gen.assert_verified("before expiry");
        gen.now = T0;
        gen.policy = policy("permissive", &["ca:gen"], "*");
        let outcome = gen.run();
        assert!(outcome.is_verified());
        assert_eq!(outcome.warnings().next().unwrap().kind, CheckKind::Expiry);
    }
}

#[test]
fn certificate_validity() {
    let expired = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.not_before = T0 - Duration::days(10);
        p.not_after = T0 - Duration::days(1);
    });
    let future = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.not_before = T0 + Duration::days(1);
        p.not_after = T0 + Duration::days(10);
    });
    for format in FORMATS {
        Gen::new(format, &expired, &SignOptions::x509(T0 - Duration::days(2))).assert_fails(
            CheckKind::AuthenticTimestamp,
            "verification time is after certificate \"CN=leaf,O=imagegate,L=Seattle,ST=WA,C=US\" validity period, it was expired at \"Sat, 31 May 2025 00:00:00 +0000\"",
        );
        Gen::new(format, &future, &opts()).assert_fails(
            CheckKind::AuthenticTimestamp,
            "verification time is before certificate \"CN=leaf,O=imagegate,L=Seattle,ST=WA,C=US\" validity period, it will be valid from \"Mon, 02 Jun 2025 00:00:00 +0000\"",
        );
    }
}

#[test]
fn extended_key_usage_rules() {
    let eku = |e: Vec<ExtendedKeyUsagePurpose>| {
        pki::chain(SignatureAlgorithm::Es256, 2, move |p| {
            p.extended_key_usages = e
        })
    };
    for format in FORMATS {
        Gen::new(
            format,
            &eku(vec![ExtendedKeyUsagePurpose::ServerAuth]),
            &opts(),
        )
        .assert_fails(
            CheckKind::Integrity,
            "The extended key usage must not contain serverAuth usage",
        );
        Gen::new(
            format,
            &eku(vec![
                ExtendedKeyUsagePurpose::CodeSigning,
                ExtendedKeyUsagePurpose::TimeStamping,
            ]),
            &opts(),
        )
        .assert_fails(CheckKind::Integrity, "must not contain timeStamping usage");
        // Divergence (spec over Go): anyExtendedKeyUsage is forbidden.
        Gen::new(
            format,
            &eku(vec![
                ExtendedKeyUsagePurpose::CodeSigning,
                ExtendedKeyUsagePurpose::Any,
            ]),
            &opts(),
        )
        .assert_fails(
            CheckKind::Integrity,
            "must not contain anyExtendedKeyUsage usage",
        );
        // An EKU extension without codeSigning.
        Gen::new(
            format,
            &eku(vec![ExtendedKeyUsagePurpose::Other(vec![
                1, 3, 6, 1, 4, 1, 99999, 1,
            ])]),
            &opts(),
        )
        .assert_fails(CheckKind::Integrity, "must contain codeSigning");
        // No EKU extension at all is allowed (spec; vector cert-expired_e2e.crt has none).
        Gen::new(format, &eku(vec![]), &opts()).assert_verified("no EKU");
    }
}

#[test]
fn leaf_profile_rules() {
    let ca_leaf = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    });
    let no_digital_signature = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.key_usages = vec![rcgen::KeyUsagePurpose::ContentCommitment];
    });
    let key_encipherment = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ];
    });
    for format in FORMATS {
        Gen::new(format, &ca_leaf, &opts())
            .assert_fails(CheckKind::Integrity, "the ca field must be set to false");
        Gen::new(format, &no_digital_signature, &opts()).assert_fails(
            CheckKind::Integrity,
            "bit positions for \"Digital Signature\" set",
        );
        Gen::new(format, &key_encipherment, &opts())
            .assert_fails(CheckKind::Integrity, "\"KeyEncipherment\"");
    }
}

#[test]
fn critical_headers() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let unknown = SignOptions {
        extended: vec![("io.example.policy".into(), "x".into(), true)],
        ..opts()
    };
    let harmless = SignOptions {
        extended: vec![("io.example.note".into(), "x".into(), false)],
        ..opts()
    };
    let plugin = SignOptions {
        extended: vec![(
            "io.cncf.notary.verificationPlugin".into(),
            "acme-verifier".into(),
            true,
        )],
        ..opts()
    };
    for format in FORMATS {
        Gen::new(format, &pki, &unknown).assert_fails(
            CheckKind::Integrity,
            "unknown critical attributes [io.example.policy]",
        );
        Gen::new(format, &pki, &harmless).assert_verified("non-critical extended attribute");
        Gen::new(format, &pki, &plugin).assert_fails(
            CheckKind::Integrity,
            "verification plugin \"acme-verifier\" is required",
        );
    }
}

#[test]
fn trust_store_and_identity() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let stranger = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &opts());
        gen.anchors = vec![(StoreType::Ca, stranger.root().clone())];
        gen.assert_fails(
            CheckKind::Authenticity,
            "the signature's certificate chain does not contain any trusted certificate",
        );

        let mut gen = Gen::new(format, &pki, &opts());
        gen.policy = policy(
            "strict",
            &["ca:gen"],
            "x509.subject: C=US, ST=WA, O=imagegate, CN=leaf",
        );
        gen.assert_verified("identity match");
        gen.policy = policy(
            "strict",
            &["ca:gen"],
            "x509.subject: C=US, ST=WA, O=somebody-else",
        );
        gen.assert_fails(
            CheckKind::Authenticity,
            "does not match the X.509 trusted identities",
        );
        gen.policy = policy(
            "audit",
            &["ca:gen"],
            "x509.subject: C=US, ST=WA, O=somebody-else",
        );
        assert!(gen.run().is_verified(), "audit only logs authenticity");
    }
}

#[test]
fn padded_base64() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for member in ["payload", "protected", "signature"] {
        let mut gen = Gen::new(EnvelopeFormat::Jws, &pki, &opts());
        let mut json: serde_json::Value = serde_json::from_slice(&gen.envelope).unwrap();
        let padded = format!("{}=", json[member].as_str().unwrap());
        json[member] = padded.into();
        gen.envelope = serde_json::to_vec(&json).unwrap();
        gen.assert_fails(CheckKind::Integrity, "illegal base64 data at input byte");
    }
}

#[test]
fn limits_reject_before_parsing() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    for format in FORMATS {
        let mut gen = Gen::new(format, &pki, &opts());
        gen.limits.max_envelope_bytes = gen.envelope.len() - 1;
        gen.assert_fails(CheckKind::Integrity, "larger than the limit");
        let mut gen = Gen::new(format, &pki, &opts());
        gen.limits.max_cert_chain_len = 1;
        gen.assert_fails(CheckKind::Integrity, "more than the limit of 1");
    }
}
