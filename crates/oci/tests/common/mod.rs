//! Shared test helpers: a real `docker-registry` (distribution 2.8) per test
//! binary, a plain-HTTP upload helper, a tiny in-process HTTP server for
//! hostile/mock registries, and a bearer-token issuer.
// Test-only helpers: failing loudly is the point.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod http;
pub mod push;
pub mod registry;
pub mod token;

use std::path::PathBuf;

/// The shared Notation vectors, read in place.
pub fn vectors() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors/notation"
    ))
}

/// Reads one vector file.
pub fn vector(name: &str) -> Vec<u8> {
    let p = vectors().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read vector {}: {e}", p.display()))
}

/// A free 127.0.0.1 port (bind to 0, read, release).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// sha256 digest string of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    imagegate_oci::Digest::sha256_of(bytes).to_string()
}
