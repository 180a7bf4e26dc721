//! Certificate profile rules of the signing chain (notation.md §8) with notation-core-go's
//! messages, and the caller-owned chain memo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::collections::BTreeMap;

use common::pki::{self, ca_params, key_for, leaf_params, T0};
use common::{policy_json, store, Input};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::cert::{validate_signing_chain, CertError, ChainCache};
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::JWS_MEDIA_TYPE;
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::{CheckKind, StoreType};
use imagegate_notation::revocation::OfflineRevocationChecker;
use imagegate_notation::sign::{payload_json, sign_jws, SignOptions};
use imagegate_notation::verifier::{verify, verify_with_cache};
use rcgen::{BasicConstraints, CertificateParams, CustomExtension, IsCa, Issuer, KeyUsagePurpose};
use rustls_pki_types::CertificateDer;

const LEAF: &str = "CN=leaf,O=imagegate,L=Seattle,ST=WA,C=US";
const INTERMEDIATE: &str = "CN=intermediate,O=imagegate,L=Seattle,ST=WA,C=US";
const ROOT: &str = "CN=root,O=imagegate,L=Seattle,ST=WA,C=US";

/// A keyUsage extension (2.5.29.15) with the given BIT STRING content and criticality.
fn key_usage(bit_string: &[u8], critical: bool) -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 15], bit_string.to_vec());
    ext.set_criticality(critical);
    ext
}

/// BIT STRING with only digitalSignature (bit 0).
const DIGITAL_SIGNATURE: &[u8] = &[0x03, 0x02, 0x07, 0x80];
/// BIT STRING with only keyCertSign (bit 5).
const KEY_CERT_SIGN: &[u8] = &[0x03, 0x02, 0x02, 0x04];

fn leaf_error(adjust: impl FnOnce(&mut CertificateParams)) -> CertError {
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, adjust);
    validate_signing_chain(&pki.chain).unwrap_err()
}

#[test]
fn leaf_key_usage_must_be_present_and_critical() {
    let err = leaf_error(|p| {
        p.key_usages = Vec::new();
        p.custom_extensions = vec![key_usage(DIGITAL_SIGNATURE, false)];
    });
    assert_eq!(
        err,
        CertError::KeyUsageNotCritical {
            subject: LEAF.into()
        }
    );
    assert_eq!(
        err.to_string(),
        format!("certificate with subject {LEAF:?}: key usage extension must be marked critical")
    );

    let err = leaf_error(|p| p.key_usages = Vec::new());
    assert_eq!(
        err.to_string(),
        format!("certificate with subject {LEAF:?}: key usage extension must be present")
    );

    // The same leaf with a critical extension passes.
    let pki = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.key_usages = Vec::new();
        p.custom_extensions = vec![key_usage(DIGITAL_SIGNATURE, true)];
    });
    validate_signing_chain(&pki.chain).unwrap();
}

#[test]
fn leaf_key_usage_lists_every_forbidden_bit_like_go() {
    let err = leaf_error(|p| {
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::CrlSign,
        ]
    });
    assert_eq!(
        err.to_string(),
        format!(
            "the certificate with subject {LEAF:?} is invalid. The key usage must be \"Digital Signature\" only, but found \"KeyEncipherment\", \"CRLSign\""
        )
    );
    let err = leaf_error(|p| p.key_usages = vec![KeyUsagePurpose::ContentCommitment]);
    assert_eq!(
        err.to_string(),
        format!(
            "the certificate with subject {LEAF:?} is invalid. The key usage must have the bit positions for \"Digital Signature\" set"
        )
    );
}

/// root → intermediate → leaf, with adjustable CA parameters.
fn three(
    root: impl FnOnce(&mut CertificateParams),
    intermediate: impl FnOnce(&mut CertificateParams),
) -> Vec<CertificateDer<'static>> {
    let (root_key, int_key) = (
        key_for(SignatureAlgorithm::Es256),
        key_for(SignatureAlgorithm::Es256),
    );
    let leaf_key = key_for(SignatureAlgorithm::Es256);
    let mut root_p = ca_params("root");
    root(&mut root_p);
    let root_cert = root_p.clone().self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_p, &root_key);
    let mut int_p = ca_params("intermediate");
    intermediate(&mut int_p);
    let int_cert = int_p.clone().signed_by(&int_key, &root_issuer).unwrap();
    let int_issuer = Issuer::new(int_p, &int_key);
    let leaf = leaf_params("leaf")
        .signed_by(&leaf_key, &int_issuer)
        .unwrap();
    vec![
        leaf.der().clone(),
        int_cert.der().clone(),
        root_cert.der().clone(),
    ]
}

#[test]
fn path_length_message_names_expected_and_actual() {
    let chain = three(
        |root| root.is_ca = IsCa::Ca(BasicConstraints::Constrained(0)),
        |_| {},
    );
    let err = validate_signing_chain(&chain).unwrap_err();
    assert_eq!(
        err,
        CertError::PathLength {
            subject: ROOT.into(),
            expected: 1,
            path_len: 0
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "certificate with subject {ROOT:?}: expected path length of 1 but certificate has path length 0 instead"
        )
    );
    // A path length of 1 on the root and 0 on the intermediate is exactly enough.
    let chain = three(
        |root| root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1)),
        |int| int.is_ca = IsCa::Ca(BasicConstraints::Constrained(0)),
    );
    validate_signing_chain(&chain).unwrap();
}

#[test]
fn ca_key_usage_must_be_critical_with_key_cert_sign() {
    let chain = three(
        |_| {},
        |int| {
            int.key_usages = Vec::new();
            int.custom_extensions = vec![key_usage(KEY_CERT_SIGN, false)];
        },
    );
    assert_eq!(
        validate_signing_chain(&chain).unwrap_err(),
        CertError::KeyUsageNotCritical {
            subject: INTERMEDIATE.into()
        }
    );
    let chain = three(
        |_| {},
        |int| int.key_usages = vec![KeyUsagePurpose::CrlSign],
    );
    assert_eq!(
        validate_signing_chain(&chain).unwrap_err().to_string(),
        format!(
            "certificate with subject {INTERMEDIATE:?}: key usage must have the bit positions for key cert sign set"
        )
    );
}

#[test]
fn chain_cache_remembers_exact_chains_only() {
    let pki = pki::chain(SignatureAlgorithm::Es256, 3, |_| {});
    let cache = ChainCache::new();
    let infos = cache.validate(&pki.chain).unwrap();
    assert_eq!(infos, validate_signing_chain(&pki.chain).unwrap());
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.validate(&pki.chain).unwrap(), infos);
    assert_eq!(cache.len(), 1);

    // Same leaf, root with a corrupted signature: not answered from the memo.
    let mut tampered = pki.chain.clone();
    let mut root = tampered[2].as_ref().to_vec();
    let last = root.len() - 1;
    root[last] ^= 0x01;
    tampered[2] = CertificateDer::from(root);
    assert!(cache.validate(&tampered).is_err());
    // Reordered: not answered from the memo either.
    let reordered = vec![
        pki.chain[0].clone(),
        pki.chain[2].clone(),
        pki.chain[1].clone(),
    ];
    assert!(cache.validate(&reordered).is_err());
    assert_eq!(cache.len(), 1);

    // Bounded: a memo of one holds one chain; a memo of zero holds none.
    let other = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let small = ChainCache::with_capacity(1);
    small.validate(&pki.chain).unwrap();
    small.validate(&other.chain).unwrap();
    assert_eq!(small.len(), 1);
    let none = ChainCache::with_capacity(0);
    none.validate(&pki.chain).unwrap();
    assert!(none.is_empty());
    cache.clear();
    assert!(cache.is_empty());
}

#[test]
fn verify_with_cache_gives_the_same_outcomes() {
    let good = pki::chain(SignatureAlgorithm::Es256, 2, |_| {});
    let bad = pki::chain(SignatureAlgorithm::Es256, 2, |p| {
        p.key_usages = Vec::new();
        p.custom_extensions = vec![key_usage(DIGITAL_SIGNATURE, false)];
    });
    let artifact = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:ab", 1);
    let payload = payload_json(&artifact, &BTreeMap::new());
    let policy = r#"{"version":"1.0","trustPolicies":[{"name":"p","registryScopes":["*"],
        "signatureVerification":{"level":"strict"},"trustStores":["ca:s"],"trustedIdentities":["*"]}]}"#;
    let cache = ChainCache::new();
    for (pki, verified) in [(&good, true), (&bad, false)] {
        let input = Input {
            envelope: sign_jws(&payload, &pki.signer, &pki.chain, &SignOptions::x509(T0)).unwrap(),
            media_type: JWS_MEDIA_TYPE.to_owned(),
            reference: format!("registry.example/repo@{}", artifact.digest),
            artifact: artifact.clone(),
            policy: policy_json(policy),
            store: store(&[(StoreType::Ca, "s", "root.der", pki.root().as_ref().to_vec())]),
            now: T0,
            metadata: Vec::new(),
            limits: Limits::DEFAULT,
        };
        let request = imagegate_notation::VerifyRequest {
            envelope: &input.envelope,
            envelope_media_type: &input.media_type,
            artifact: &input.artifact,
            artifact_reference: &input.reference,
            policy: &input.policy,
            trust_store: &input.store,
            now: input.now,
            revocation: &OfflineRevocationChecker,
            limits: &input.limits,
            user_metadata: &[],
        };
        for _ in 0..2 {
            let cached = verify_with_cache(&request, &cache).unwrap();
            assert_eq!(cached, verify(&request).unwrap());
            assert_eq!(cached.is_verified(), verified, "{:#?}", cached.checks());
        }
        if !verified {
            let failure = verify(&request).unwrap();
            let check = failure.check(CheckKind::Integrity).unwrap();
            assert!(check
                .error
                .as_ref()
                .unwrap()
                .to_string()
                .contains("key usage extension must be marked critical"));
        }
    }
    // Only the valid chain is remembered.
    assert_eq!(cache.len(), 1);
}

#[test]
fn chain_order_and_self_signature_rules_use_go_messages() {
    let key = || key_for(SignatureAlgorithm::Es256);
    let (root_key, int_key, leaf_key) = (key(), key(), key());
    let root_p = ca_params("root");
    let root = root_p.clone().self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_p, &root_key);

    // A self-signed leaf followed by a root.
    let self_signed_leaf = leaf_params("leaf").self_signed(&leaf_key).unwrap();
    let err =
        validate_signing_chain(&[self_signed_leaf.der().clone(), root.der().clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("leaf certificate with subject {LEAF:?} is self-signed. Certificate chain must not contain self-signed leaf certificate")
    );

    // A self-signed intermediate (the leaf's issuer) before the root.
    let int_p = ca_params("intermediate");
    let self_signed_int = int_p.clone().self_signed(&int_key).unwrap();
    let int_issuer = Issuer::new(int_p.clone(), &int_key);
    let leaf = leaf_params("leaf")
        .signed_by(&leaf_key, &int_issuer)
        .unwrap();
    let err = validate_signing_chain(&[
        leaf.der().clone(),
        self_signed_int.der().clone(),
        root.der().clone(),
    ])
    .unwrap_err();
    assert_eq!(
        err,
        CertError::IntermediateSelfSigned {
            subject: INTERMEDIATE.into()
        }
    );

    // A chain that stops at an intermediate: the last certificate is not a root.
    let int = int_p.signed_by(&int_key, &root_issuer).unwrap();
    let err = validate_signing_chain(&[leaf.der().clone(), int.der().clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("root certificate with subject {INTERMEDIATE:?} is not self-signed. Certificate chain must end with a valid self-signed root certificate")
    );
    // A gap (leaf, root without the intermediate): the names do not link.
    let err = validate_signing_chain(&[leaf.der().clone(), root.der().clone()]).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("certificate with subject {LEAF:?} is not issued by {ROOT:?}")
    );
    // The complete chain validates.
    validate_signing_chain(&[leaf.der().clone(), int.der().clone(), root.der().clone()]).unwrap();
}
