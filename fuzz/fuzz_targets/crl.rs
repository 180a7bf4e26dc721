//! Fuzz CRL evaluation (`revocation::crl`): the input is a CRL judged for a fixed leaf and its
//! issuer (generated with openssl; `crl_data/`), also with an authentic signing time, and its
//! `nextUpdate` is read as the engine's cache does. The seeds are CRLs of that issuer (one
//! empty, one revoking the leaf), so mutations start from inputs whose signature verifies.
#![no_main]

use imagegate_notation::revocation::crl::{crl_next_update, evaluate_crl};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;
use time::macros::datetime;

const ISSUER: &[u8] = include_bytes!("crl_data/issuer.der");
const LEAF: &[u8] = include_bytes!("crl_data/leaf.der");

fuzz_target!(|data: &[u8]| {
    let (leaf, issuer) = (CertificateDer::from(LEAF), CertificateDer::from(ISSUER));
    let now = datetime!(2026-11-27 0:00 UTC);
    let _ = evaluate_crl(&leaf, &issuer, data, now, None);
    let _ = evaluate_crl(&leaf, &issuer, data, now, Some(datetime!(2026-11-20 0:00 UTC)));
    let _ = crl_next_update(data);
});
