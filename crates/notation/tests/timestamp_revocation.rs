//! Revocation: the offline checker on the vector chains, the fixed test double, and the
//! summary messages for signing and timestamping chains.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use imagegate_notation::revocation::{
    has_revocation_urls, summarize, CertPurpose, CertRevocation, FixedRevocationChecker,
    OfflineRevocationChecker, RevocationChecker, RevocationError, RevocationMethod,
    RevocationStatus,
};
use imagegate_notation::timestamp::verify_timestamp;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn x5c(name: &str) -> Vec<CertificateDer<'static>> {
    let doc: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
    doc["header"]["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            CertificateDer::from(
                base64::engine::general_purpose::STANDARD
                    .decode(c.as_str().unwrap())
                    .unwrap(),
            )
        })
        .collect()
}

/// The validated GlobalSign TSA chain (leaf, intermediate, root) of a vector token.
fn globalsign_tsa_chain() -> Vec<CertificateDer<'static>> {
    let doc: serde_json::Value = serde_json::from_slice(&read("jws-timestamp-valid.sig")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let token = b64
        .decode(
            doc["header"]["io.cncf.notary.timestampSignature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(doc["signature"].as_str().unwrap())
        .unwrap();
    let root = vec![CertificateDer::from(read(
        "cert-tsa-root-globalsign-r6.cer",
    ))];
    verify_timestamp(
        &token,
        &signature,
        &root,
        &FixedRevocationChecker::new(RevocationStatus::Ok),
    )
    .unwrap()
    .tsa_chain
}

fn statuses(results: &[CertRevocation]) -> Vec<RevocationStatus> {
    results.iter().map(|r| r.status).collect()
}

#[test]
fn offline_checker_on_vector_code_signing_chains_is_non_revokable() {
    let chains = [
        x5c("jws-e2e-valid.json"),
        x5c("jws-ca-valid-chain-ps384.json"),
        x5c("jws-timestamp-valid.sig"),
        x5c("jws-user-metadata.json"),
        vec![CertificateDer::from_pem_slice(&read("cert-NotationTestRoot.pem")).unwrap()],
    ];
    for chain in chains {
        for cert in &chain {
            assert_eq!(has_revocation_urls(cert), Some(false));
        }
        let results = OfflineRevocationChecker.check(&chain, CertPurpose::CodeSigning, None);
        assert_eq!(results.len(), chain.len());
        assert!(results
            .iter()
            .all(|r| r.status == RevocationStatus::NonRevokable
                && r.method == RevocationMethod::NotChecked));
        summarize(&results, CertPurpose::CodeSigning).unwrap();
    }
    let results = OfflineRevocationChecker.check(
        &x5c("jws-ca-valid-chain-ps384.json"),
        CertPurpose::CodeSigning,
        None,
    );
    assert_eq!(
        results[0].subject,
        "CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US"
    );
}

#[test]
fn offline_checker_on_the_globalsign_tsa_chain_is_unknown() {
    let chain = globalsign_tsa_chain();
    assert_eq!(
        chain.iter().map(has_revocation_urls).collect::<Vec<_>>(),
        [Some(true), Some(true), Some(false)]
    );
    let results = OfflineRevocationChecker.check(&chain, CertPurpose::Timestamping, None);
    // The root is never checked.
    assert_eq!(
        statuses(&results),
        [
            RevocationStatus::Unknown,
            RevocationStatus::Unknown,
            RevocationStatus::NonRevokable
        ]
    );
    assert_eq!(
        summarize(&results, CertPurpose::Timestamping).unwrap_err().to_string(),
        "timestamping certificate with subject \"CN=Globalsign TSA for Advanced - G4 - 202311,O=GlobalSign nv-sa,C=BE\" revocation status is unknown"
    );
}

#[test]
fn fixed_checker_answers_per_subject_and_never_for_the_root() {
    let chain = globalsign_tsa_chain();
    let checker = FixedRevocationChecker::new(RevocationStatus::Ok).with_subject(
        "CN=GlobalSign Timestamping CA - SHA384 - G4,O=GlobalSign nv-sa,C=BE",
        RevocationStatus::Revoked,
    );
    let results = checker.check(&chain, CertPurpose::Timestamping, None);
    assert_eq!(
        statuses(&results),
        [
            RevocationStatus::Ok,
            RevocationStatus::Revoked,
            RevocationStatus::NonRevokable
        ]
    );
    let all_revoked = FixedRevocationChecker::new(RevocationStatus::Revoked);
    let single = x5c("jws-e2e-valid.json");
    // A self-signed leaf alone is the root: non-revokable.
    assert_eq!(
        statuses(&all_revoked.check(&single, CertPurpose::CodeSigning, None)),
        [RevocationStatus::NonRevokable]
    );
}

fn result(subject: &str, status: RevocationStatus) -> CertRevocation {
    CertRevocation {
        subject: subject.to_owned(),
        status,
        method: RevocationMethod::Ocsp,
    }
}

#[test]
fn summary_messages_match_go() {
    use RevocationStatus::{NonRevokable, Ok, Revoked, Unknown};
    summarize(
        &[result("leaf", Ok), result("root", NonRevokable)],
        CertPurpose::CodeSigning,
    )
    .unwrap();
    // Revoked wins over unknown; the certificate closest to the leaf is reported.
    let err = summarize(
        &[
            result("leaf", Unknown),
            result("mid", Revoked),
            result("mid2", Revoked),
            result("root", NonRevokable),
        ],
        CertPurpose::CodeSigning,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "signing certificate with subject \"mid\" is revoked"
    );
    let err = summarize(
        &[
            result("leaf", Ok),
            result("mid", Unknown),
            result("root", NonRevokable),
        ],
        CertPurpose::CodeSigning,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RevocationError::Unknown {
            purpose: CertPurpose::CodeSigning,
            subject: "mid".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "signing certificate with subject \"mid\" revocation status is unknown"
    );
    let err = summarize(&[result("tsa", Revoked)], CertPurpose::Timestamping).unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamping certificate with subject \"tsa\" is revoked"
    );
    assert!(summarize(&[], CertPurpose::CodeSigning)
        .unwrap_err()
        .to_string()
        .starts_with("unable to check revocation status, err: "));
}

#[test]
fn unparseable_certificates_are_unknown_offline() {
    let chain = vec![
        CertificateDer::from(b"junk".to_vec()),
        CertificateDer::from(read("cert-tsa-root-globalsign-r6.cer")),
    ];
    assert_eq!(
        statuses(&OfflineRevocationChecker.check(&chain, CertPurpose::CodeSigning, None)),
        [RevocationStatus::Unknown, RevocationStatus::NonRevokable]
    );
    assert!(OfflineRevocationChecker
        .check(&[], CertPurpose::CodeSigning, None)
        .is_empty());
}
