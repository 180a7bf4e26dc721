//! Certificate validity at verification, as notation-go judges it: the chain's *structure* is
//! validated without a time (integrity), and only the authentic-timestamp check looks at the
//! clock, so `permissive` and `audit` merely log a chain whose certificates' validity periods
//! never overlap, while `strict` fails it on that check, naming the certificate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::collections::BTreeMap;

use common::pki::{ca_params, key_for, leaf_params, T0};
use common::{policy_json, store, Input};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::cert::{validate_signing_chain, CertError};
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::JWS_MEDIA_TYPE;
use imagegate_notation::error::{AuthenticTimestampError, IntegrityError};
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::{Action, CheckKind, StoreType};
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{payload_json, sign_jws, PrivateKey, SignOptions};
use imagegate_notation::Error;
use rcgen::{CertificateParams, CustomExtension, ExtendedKeyUsagePurpose, Issuer};
use rustls_pki_types::CertificateDer;
use time::Duration;

const INTERMEDIATE: &str = "CN=intermediate,O=imagegate,L=Seattle,ST=WA,C=US";
const ROOT: &str = "CN=root,O=imagegate,L=Seattle,ST=WA,C=US";

/// A root → intermediate → leaf chain and the leaf's key, with adjustable parameters.
struct Chain {
    certs: Vec<CertificateDer<'static>>,
    signer: PrivateKey,
}

fn chain(
    root: impl FnOnce(&mut CertificateParams),
    intermediate: impl FnOnce(&mut CertificateParams),
) -> Chain {
    let key = || key_for(SignatureAlgorithm::Es256);
    let (root_key, int_key, leaf_key) = (key(), key(), key());
    let mut root_p = ca_params("root");
    root(&mut root_p);
    let root_cert = root_p.clone().self_signed(&root_key).unwrap();
    let mut int_p = ca_params("intermediate");
    intermediate(&mut int_p);
    let int_cert = int_p
        .clone()
        .signed_by(&int_key, &Issuer::new(root_p, &root_key))
        .unwrap();
    let leaf = leaf_params("leaf")
        .signed_by(&leaf_key, &Issuer::new(int_p, &int_key))
        .unwrap();
    Chain {
        certs: vec![
            leaf.der().clone(),
            int_cert.der().clone(),
            root_cert.der().clone(),
        ],
        signer: PrivateKey::from_pkcs8(&leaf_key.serialize_der()).unwrap(),
    }
}

/// The intermediate expired (T0 - 200 days) long before the leaf was issued (T0 - 1 day): no
/// instant exists at which the leaf and the intermediate are both valid.
fn expired_intermediate(p: &mut CertificateParams) {
    p.not_before = T0 - Duration::days(400);
    p.not_after = T0 - Duration::days(200);
}

/// The root expired (T0 - 10 days) before the leaf was issued.
fn expired_root(p: &mut CertificateParams) {
    p.not_before = T0 - Duration::days(400);
    p.not_after = T0 - Duration::days(10);
}

fn policy(level: &str) -> String {
    format!(
        r#"{{"version":"1.0","trustPolicies":[{{"name":"p","registryScopes":["*"],
        "signatureVerification":{{"level":"{level}"}},"trustStores":["ca:s"],"trustedIdentities":["*"]}}]}}"#
    )
}

/// Sign for an artifact with `chain` and verify at T0 under `level`, the chain's root trusted.
fn verify_at_t0(chain: &Chain, level: &str) -> imagegate_notation::outcome::Outcome {
    let artifact = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 1);
    let payload = payload_json(&artifact, &BTreeMap::new());
    let root = chain.certs.last().unwrap().as_ref().to_vec();
    Input {
        envelope: sign_jws(
            &payload,
            &chain.signer,
            &chain.certs,
            &SignOptions::x509(T0),
        )
        .unwrap(),
        media_type: JWS_MEDIA_TYPE.to_owned(),
        reference: format!("registry.example/repo@{}", artifact.digest),
        artifact,
        policy: policy_json(&policy(level)),
        store: store(&[(StoreType::Ca, "s", "root.der", root)]),
        now: T0,
        metadata: Vec::new(),
        limits: Limits::DEFAULT,
    }
    .run(&OfflineRevocationChecker)
    .unwrap()
}

fn authentic_timestamp_error(outcome: &imagegate_notation::outcome::Outcome) -> (Action, Error) {
    let check = outcome.check(CheckKind::AuthenticTimestamp).unwrap();
    (check.action, check.error.clone().expect("a failure"))
}

#[test]
fn disjoint_intermediate_passes_integrity_and_is_judged_by_the_timestamp_check() {
    let chain = chain(|_| {}, expired_intermediate);
    validate_signing_chain(&chain.certs).unwrap();

    let expected = Error::AuthenticTimestamp(AuthenticTimestampError::Expired {
        subject: INTERMEDIATE.into(),
        not_after: T0 - Duration::days(200),
    });
    // strict: the authentic-timestamp check is enforced and names the expired intermediate.
    let strict = verify_at_t0(&chain, "strict");
    assert!(!strict.is_verified());
    assert_eq!(strict.check(CheckKind::Integrity).unwrap().error, None);
    assert_eq!(
        authentic_timestamp_error(&strict),
        (Action::Enforce, expected.clone())
    );
    assert!(expected
        .to_string()
        .starts_with(&format!("verification time is after certificate {INTERMEDIATE:?} validity period, it was expired at ")));

    // permissive and audit: the same failure is only logged, and the signature verifies.
    for level in ["permissive", "audit"] {
        let outcome = verify_at_t0(&chain, level);
        assert!(outcome.is_verified(), "{level}: {:#?}", outcome.checks());
        assert_eq!(
            authentic_timestamp_error(&outcome),
            (Action::Log, expected.clone()),
            "{level}"
        );
    }
}

#[test]
fn a_root_that_expired_before_the_leaf_was_issued_is_structure_only() {
    let chain = chain(expired_root, |p| {
        p.not_before = T0 - Duration::days(20);
    });
    validate_signing_chain(&chain.certs).unwrap();
    let strict = verify_at_t0(&chain, "strict");
    assert_eq!(
        authentic_timestamp_error(&strict),
        (
            Action::Enforce,
            Error::AuthenticTimestamp(AuthenticTimestampError::Expired {
                subject: ROOT.into(),
                not_after: T0 - Duration::days(10),
            })
        )
    );
    assert!(verify_at_t0(&chain, "permissive").is_verified());
    assert!(verify_at_t0(&chain, "audit").is_verified());
}

#[test]
fn a_disjoint_chain_still_needs_valid_links() {
    // The leaf is signed by another key under the intermediate's name.
    let mut good = chain(|_| {}, expired_intermediate);
    let forged = chain(|_| {}, expired_intermediate);
    good.certs[0] = forged.certs[0].clone();
    good.signer = forged.signer;
    assert_eq!(
        validate_signing_chain(&good.certs).unwrap_err(),
        CertError::Path {
            reason: "a certificate's signature does not verify with the next certificate's key"
                .into()
        }
    );
    for level in ["strict", "permissive", "audit"] {
        let outcome = verify_at_t0(&good, level);
        assert!(!outcome.is_verified(), "{level}");
        assert!(matches!(
            outcome.check(CheckKind::Integrity).unwrap().error,
            Some(Error::Integrity(IntegrityError::CertChain(_)))
        ));
    }
}

#[test]
fn a_disjoint_chain_keeps_the_path_rules_webpki_applies_to_overlapping_ones() {
    // An intermediate limited to serverAuth may not issue a code-signing leaf: refused with
    // and without a common validity instant.
    let server_only = |p: &mut CertificateParams| {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    };
    let eku = "a certificate's extended key usage does not allow code signing";
    let overlapping = chain(|_| {}, server_only);
    let disjoint = chain(
        |_| {},
        |p| {
            server_only(p);
            expired_intermediate(p);
        },
    );
    for c in [&overlapping, &disjoint] {
        assert_eq!(
            validate_signing_chain(&c.certs).unwrap_err(),
            CertError::Path { reason: eku.into() }
        );
    }

    // A critical extension the rules do not read (here a private OID) is refused both ways.
    let critical = |p: &mut CertificateParams| {
        let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![5, 0]);
        ext.set_criticality(true);
        p.custom_extensions = vec![ext];
    };
    let overlapping = chain(|_| {}, critical);
    let disjoint = chain(
        |_| {},
        |p| {
            critical(p);
            expired_intermediate(p);
        },
    );
    for c in [&overlapping, &disjoint] {
        assert_eq!(
            validate_signing_chain(&c.certs).unwrap_err(),
            CertError::Path {
                reason: "a certificate has an unsupported critical extension".into()
            }
        );
    }
}
