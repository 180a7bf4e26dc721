//! Property tests: timestamp verification never panics on arbitrary or mutated tokens.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::Engine as _;
use imagegate_notation::revocation::{FixedRevocationChecker, RevocationStatus};
use imagegate_notation::timestamp::verify_timestamp;
use proptest::prelude::*;
use rustls_pki_types::CertificateDer;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

fn token_and_signature() -> (Vec<u8>, Vec<u8>) {
    let doc: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{VECTORS}/jws-timestamp-valid.sig")).unwrap(),
    )
    .unwrap();
    let token = base64::engine::general_purpose::STANDARD
        .decode(
            doc["header"]["io.cncf.notary.timestampSignature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(doc["signature"].as_str().unwrap())
        .unwrap();
    (token, signature)
}

fn roots() -> Vec<CertificateDer<'static>> {
    vec![CertificateDer::from(
        std::fs::read(format!("{VECTORS}/cert-tsa-root-globalsign-r6.cer")).unwrap(),
    )]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let checker = FixedRevocationChecker::new(RevocationStatus::Ok);
        prop_assert!(verify_timestamp(&bytes, b"sig", &roots(), &checker).is_err());
    }

    #[test]
    fn mutated_tokens_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let (mut token, signature) = token_and_signature();
        for (at, value) in edits {
            let i = at.index(token.len());
            token[i] = value;
        }
        let checker = FixedRevocationChecker::new(RevocationStatus::Ok);
        let _ = verify_timestamp(&token, &signature, &roots(), &checker);
        let end = cut.index(token.len());
        prop_assert!(verify_timestamp(&token[..end], &signature, &roots(), &checker).is_err());
    }
}
