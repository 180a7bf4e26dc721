//! Trust stores filled from bytes: PEM and DER files, multi-certificate files, and the
//! per-type certificate rules.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use imagegate_notation::policy::StoreType;
use imagegate_notation::store::{StoreError, TrustStore};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{VECTORS}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn x5c(name: &str, index: usize) -> Vec<u8> {
    let doc: serde_json::Value = serde_json::from_slice(&read(name)).unwrap();
    base64::engine::general_purpose::STANDARD
        .decode(doc["header"]["x5c"][index].as_str().unwrap())
        .unwrap()
}

fn pem_to_der(name: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject as _;
    rustls_pki_types::CertificateDer::from_pem_slice(&read(name))
        .unwrap()
        .as_ref()
        .to_vec()
}

#[test]
fn pem_and_der_files_are_loaded() {
    let mut store = TrustStore::new();
    assert_eq!(
        store
            .add_file(StoreType::Ca, "e2e", "cert-e2e.crt", &read("cert-e2e.crt"))
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .add_file(
                StoreType::Tsa,
                "e2e",
                "globalsign.cer",
                &read("cert-tsa-root-globalsign-r6.cer")
            )
            .unwrap(),
        1
    );
    let ca = store.certificates(StoreType::Ca, "e2e").unwrap();
    assert_eq!(ca.len(), 1);
    assert_eq!(ca[0].as_ref(), pem_to_der("cert-e2e.crt").as_slice());
    let tsa = store.certificates(StoreType::Tsa, "e2e").unwrap();
    assert_eq!(
        tsa[0].as_ref(),
        read("cert-tsa-root-globalsign-r6.cer").as_slice()
    );
    assert_eq!(
        store.store_names().collect::<Vec<_>>(),
        [(StoreType::Ca, "e2e"), (StoreType::Tsa, "e2e")]
    );
}

#[test]
fn files_with_several_certificates() {
    let mut store = TrustStore::new();
    let mut pem = read("cert-e2e.crt");
    pem.extend_from_slice(b"\n");
    pem.extend_from_slice(&read("cert-NotationTestRoot.pem"));
    assert_eq!(
        store
            .add_file(StoreType::Ca, "multi", "bundle.pem", &pem)
            .unwrap(),
        2
    );
    let mut der = read("cert-tsa-root-globalsign-r6.cer");
    der.extend_from_slice(&pem_to_der("cert-NotationTestRoot.pem"));
    assert_eq!(
        store
            .add_file(StoreType::SigningAuthority, "multi", "bundle.der", &der)
            .unwrap(),
        2
    );
    // Files add up within a store.
    assert_eq!(
        store
            .add_file(
                StoreType::Ca,
                "multi",
                "more.crt",
                &read("cert-expired_e2e.crt")
            )
            .unwrap(),
        1
    );
    assert_eq!(store.certificates(StoreType::Ca, "multi").unwrap().len(), 3);
}

#[test]
fn lookups_fail_like_go() {
    let mut store = TrustStore::new();
    assert_eq!(
        store
            .certificates(StoreType::Ca, "x")
            .unwrap_err()
            .to_string(),
        "the trust store \"x\" of type \"ca\" does not exist"
    );
    store.add_empty_store(StoreType::Tsa, "empty").unwrap();
    assert_eq!(
        store
            .certificates(StoreType::Tsa, "empty")
            .unwrap_err()
            .to_string(),
        "no x509 certificates were found in trust store \"empty\" of type \"tsa\""
    );
    // Same name, other type: separate stores.
    store
        .add_file(StoreType::Ca, "s", "e2e.crt", &read("cert-e2e.crt"))
        .unwrap();
    assert!(matches!(
        store.certificates(StoreType::SigningAuthority, "s"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn non_certificates_are_rejected_with_the_file_name() {
    let mut store = TrustStore::new();
    let err = store
        .add_file(StoreType::Ca, "s", "notes.txt", b"hello")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("error while reading certificates from \"notes.txt\": "),
        "{err}"
    );
    let err = store
        .add_file(StoreType::Ca, "s", "empty.pem", b"")
        .unwrap_err();
    assert!(
        err.to_string().contains("no x509 certificate found"),
        "{err}"
    );
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let err = store
        .add_file(StoreType::Ca, "s", "key.pem", key.as_bytes())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("may only contain CERTIFICATE blocks"),
        "{err}"
    );
    let mut truncated = read("cert-tsa-root-globalsign-r6.cer");
    truncated.truncate(truncated.len() - 10);
    assert!(matches!(
        store.add_file(StoreType::Ca, "s", "cut.cer", &truncated),
        Err(StoreError::Unreadable { .. })
    ));
    assert!(matches!(
        store.add_file(StoreType::Ca, "bad/name", "e2e.crt", &read("cert-e2e.crt")),
        Err(StoreError::InvalidName(_))
    ));
    // Nothing was added by the failed calls.
    assert!(store.certificates(StoreType::Ca, "s").is_err());
}

#[test]
fn ca_stores_need_ca_or_self_signed_certificates() {
    let mut store = TrustStore::new();
    // Self-signed leaf: accepted.
    store
        .add_file(StoreType::Ca, "s", "e2e.crt", &read("cert-e2e.crt"))
        .unwrap();
    // A CA that is not self-signed (an intermediate): accepted.
    store
        .add_file(
            StoreType::Ca,
            "s",
            "root.pem",
            &read("cert-NotationTestRoot.pem"),
        )
        .unwrap();
    // A leaf issued by another certificate: rejected.
    let leaf = x5c("jws-ca-valid-chain-ps384.json", 0);
    let err = store
        .add_file(StoreType::Ca, "s", "leaf.cer", &leaf)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error while validating certificates from \"leaf.cer\": certificate with subject \"CN=Notation Test Root,O=Notary,L=Seattle,ST=WA,C=US\" is not a CA certificate or self-signed signing certificate"
    );
}

#[test]
fn tsa_stores_need_self_signed_root_cas() {
    let mut store = TrustStore::new();
    store
        .add_file(
            StoreType::Tsa,
            "t",
            "r6.cer",
            &read("cert-tsa-root-globalsign-r6.cer"),
        )
        .unwrap();
    // A self-signed leaf is not a CA.
    let err = store
        .add_file(StoreType::Tsa, "t", "e2e.crt", &read("cert-e2e.crt"))
        .unwrap_err();
    assert!(matches!(err, StoreError::NotRootCa { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("is not a root CA certificate: it is not a CA certificate"),
        "{err}"
    );
    // A certificate that is not self-signed (the envelope leaf, signed by the test root).
    let leaf = x5c("jws-ca-valid-chain-ps384.json", 0);
    assert!(matches!(
        store.add_file(StoreType::Tsa, "t", "leaf.cer", &leaf),
        Err(StoreError::NotRootCa { .. })
    ));
    assert_eq!(store.certificates(StoreType::Tsa, "t").unwrap().len(), 1);
}
