//! Fuzz RFC 3161 timestamp token verification: arbitrary tokens must never panic (they are
//! BER-normalised, parsed and, when well-formed enough, verified against a fixed TSA root),
//! and neither may trust-store certificate-file parsing of the same bytes.
#![no_main]

use imagegate_notation::policy::StoreType;
use imagegate_notation::revocation::{FixedRevocationChecker, RevocationStatus};
use imagegate_notation::store::TrustStore;
use imagegate_notation::timestamp::verify_timestamp;
use libfuzzer_sys::fuzz_target;

/// A `tsa` store with GlobalSign Root CA - R6 from the repository's test data
/// (`<repo>/testdata/notation`); empty if that file cannot be read (verification then stops early).
fn tsa_store() -> TrustStore {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/notation/cert-tsa-root-globalsign-r6.cer"
    );
    let mut store = TrustStore::new();
    if let Ok(der) = std::fs::read(path) {
        let _ = store.add_file(StoreType::Tsa, "fuzz", "globalsign-r6.cer", &der);
    }
    store
}

thread_local! {
    static STORE: TrustStore = tsa_store();
}

fuzz_target!(|data: &[u8]| {
    let checker = FixedRevocationChecker::new(RevocationStatus::Ok);
    // A 2-byte big-endian length, then that many bytes of envelope signature (whose SHA-256
    // the token's imprint must match), then the token. Short input: all token, no signature.
    let (signature, token) = match data {
        [hi, lo, rest @ ..] => {
            rest.split_at(usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len()))
        }
        _ => (&[][..], data),
    };
    STORE.with(|store| {
        let roots = store.certificates(StoreType::Tsa, "fuzz").unwrap_or(&[]);
        let _ = verify_timestamp(token, signature, roots, &checker);
    });
    let mut scratch = TrustStore::new();
    let _ = scratch.add_file(StoreType::Tsa, "fuzz", "fuzz.pem", data);
});
