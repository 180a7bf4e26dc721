//! Verifier rules at their boundaries: expiry and validity instants, trust-store selection by
//! signing scheme, revocation answers that skip certificates.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::collections::BTreeMap;

use common::pki::{self, Pki, T0};
use common::{policy_json, store, Input};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{EnvelopeFormat, SigningScheme};
use imagegate_notation::limits::Limits;
use imagegate_notation::outcome::Outcome;
use imagegate_notation::policy::{CheckKind, StoreType};
use imagegate_notation::revocation::{
    CertPurpose, CertRevocation, OfflineRevocationChecker, RevocationChecker, RevocationMethod,
    RevocationStatus,
};
use imagegate_notation::sign::{payload_json, sign_cose, sign_jws, SignOptions};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

const FORMATS: [EnvelopeFormat; 2] = [EnvelopeFormat::Jws, EnvelopeFormat::Cose];

fn artifact() -> Descriptor {
    Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 1)
}

fn input(
    format: EnvelopeFormat,
    pki: &Pki,
    opts: &SignOptions,
    stores: &[(StoreType, &str, &CertificateDer<'static>)],
    now: OffsetDateTime,
) -> Input {
    let payload = payload_json(&artifact(), &BTreeMap::new());
    let envelope = match format {
        EnvelopeFormat::Jws => sign_jws(&payload, &pki.signer, &pki.chain, opts).unwrap(),
        EnvelopeFormat::Cose => sign_cose(&payload, &pki.signer, &pki.chain, opts).unwrap(),
    };
    let refs: Vec<String> = stores.iter().map(|(t, n, _)| format!("{t}:{n}")).collect();
    let policy = serde_json::json!({
        "version": "1.0",
        "trustPolicies": [{
            "name": "rules",
            "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"},
            "trustStores": refs,
            "trustedIdentities": ["*"],
        }]
    })
    .to_string();
    let entries: Vec<(StoreType, &str, &str, Vec<u8>)> = stores
        .iter()
        .map(|(t, n, c)| (*t, *n, "root.der", c.as_ref().to_vec()))
        .collect();
    Input {
        envelope,
        media_type: format.media_type().to_owned(),
        reference: format!("registry.example/repo@{}", artifact().digest),
        artifact: artifact(),
        policy: policy_json(&policy),
        store: store(&entries),
        now,
        metadata: Vec::new(),
        limits: Limits::DEFAULT,
    }
}

fn failed_check(outcome: &Outcome) -> Option<CheckKind> {
    outcome
        .checks()
        .iter()
        .find(|c| c.is_enforced_failure())
        .map(|c| c.kind)
}

#[test]
fn expiry_is_exclusive_and_certificate_validity_inclusive() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let expiry = T0 + Duration::hours(1);
    let opts = SignOptions {
        expiry: Some(expiry),
        ..SignOptions::x509(T0)
    };
    let leaf_not_after = T0 + Duration::days(365);
    for format in FORMATS {
        let at = |now, opts: &SignOptions| {
            input(format, &pki, opts, &[(StoreType::Ca, "s", pki.root())], now)
                .run(&OfflineRevocationChecker)
                .unwrap()
        };
        assert!(at(expiry - Duration::SECOND, &opts).is_verified());
        // Go: expired when !now.Before(expiry), i.e. now == expiry is expired.
        let outcome = at(expiry, &opts);
        assert_eq!(failed_check(&outcome), Some(CheckKind::Expiry));

        // RFC 5280: notAfter is inclusive.
        let plain = SignOptions::x509(T0);
        assert!(at(leaf_not_after, &plain).is_verified());
        let outcome = at(leaf_not_after + Duration::SECOND, &plain);
        assert_eq!(failed_check(&outcome), Some(CheckKind::AuthenticTimestamp));
    }
}

#[test]
fn trust_store_type_follows_the_signing_scheme() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let stranger = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let sa = SignOptions {
        scheme: SigningScheme::X509SigningAuthority,
        ..SignOptions::x509(T0)
    };
    for format in FORMATS {
        // notary.x509 whose root is only in a signingAuthority store: the ca store decides.
        let outcome = input(
            format,
            &pki,
            &SignOptions::x509(T0),
            &[
                (StoreType::Ca, "other", stranger.root()),
                (StoreType::SigningAuthority, "sa", pki.root()),
            ],
            T0,
        )
        .run(&OfflineRevocationChecker)
        .unwrap();
        assert_eq!(failed_check(&outcome), Some(CheckKind::Authenticity));
        assert_eq!(
            outcome.failure().unwrap().to_string(),
            "the signature's certificate chain does not contain any trusted certificate"
        );
        // Signing authority whose root is only in a ca store: the signingAuthority store decides.
        let outcome = input(
            format,
            &pki,
            &sa,
            &[
                (StoreType::Ca, "ca", pki.root()),
                (StoreType::SigningAuthority, "other", stranger.root()),
            ],
            T0,
        )
        .run(&OfflineRevocationChecker)
        .unwrap();
        assert_eq!(failed_check(&outcome), Some(CheckKind::Authenticity));
        // And with the right store types both verify.
        for (opts, store_type) in [
            (&SignOptions::x509(T0), StoreType::Ca),
            (&sa, StoreType::SigningAuthority),
        ] {
            let outcome = input(format, &pki, opts, &[(store_type, "s", pki.root())], T0)
                .run(&OfflineRevocationChecker)
                .unwrap();
            assert!(outcome.is_verified(), "{:#?}", outcome.checks());
        }
    }
}

/// Answers "good" for the leaf only and forgets every other certificate.
struct LeafOnly;

impl RevocationChecker for LeafOnly {
    fn check(
        &self,
        _chain: &[CertificateDer<'static>],
        _purpose: CertPurpose,
        _authentic_signing_time: Option<OffsetDateTime>,
    ) -> Vec<CertRevocation> {
        vec![CertRevocation {
            subject: "CN=leaf".into(),
            status: RevocationStatus::Ok,
            method: RevocationMethod::Ocsp,
        }]
    }
}

#[test]
fn a_revocation_answer_must_cover_the_whole_chain() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 3, |_| {});
    let outcome = input(
        EnvelopeFormat::Jws,
        &pki,
        &SignOptions::x509(T0),
        &[(StoreType::Ca, "s", pki.root())],
        T0,
    )
    .run(&LeafOnly)
    .unwrap();
    assert_eq!(failed_check(&outcome), Some(CheckKind::Revocation));
    assert_eq!(
        outcome.failure().unwrap().to_string(),
        "unable to check revocation status, err: the revocation checker returned 1 results for the 3 certificates of the signing certificate chain"
    );
}
