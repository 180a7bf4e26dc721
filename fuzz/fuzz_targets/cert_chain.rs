//! Fuzz certificate-chain validation: the input is split into DER certificates with a 2-byte
//! big-endian length prefix each (at most 4), then validated as an envelope chain.
#![no_main]

use imagegate_notation::cert;
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;

fuzz_target!(|data: &[u8]| {
    let mut chain = Vec::new();
    let mut rest = data;
    while chain.len() < 4 && rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let take = len.min(rest.len());
        chain.push(CertificateDer::from(rest[..take].to_vec()));
        rest = &rest[take..];
    }
    let _ = cert::validate_signing_chain_uncached(&chain);
    if let Some(first) = chain.first() {
        let _ = cert::check_timestamping_leaf(first.as_ref());
        let _ = cert::CertificateInfo::from_der(first.as_ref());
    }
});
