//! Test support shared by imagegate's crates and end-to-end tests.
//!
//! - [`Registry`]: Debian's `docker-registry` (distribution 2.8, no referrers API) on a
//!   free 127.0.0.1 port with storage in a temp dir: anonymous, htpasswd Basic auth,
//!   Docker token auth behind an in-process [`TokenIssuer`], or HTTPS. Stopped by PID on
//!   `Drop`, and by a guard shell when the test process exits.
//! - [`Pusher`]: blobs, manifests and small images pushed through imagegate's own push
//!   API (`RegistryClient::push_*`).
//! - [`Pki`]: Notation-compliant certificate chains made with rcgen (root → optional
//!   intermediate → code-signing leaf; optional TSA chain), with PEM/DER exports.
//! - [`sign_image`]: push an image and sign it (JWS or COSE) in one call.
//! - [`MockServer`]: a tiny HTTP/1.1 server whose every reply (lying, stalling) is scripted.
//! - [`ratify`]: Ratify's v1 objects (stores, policies, key management providers,
//!   verifiers) for the Kubernetes API or a CRD directory.
//! - [`kube_api::ApiServer`]: an in-test Kubernetes API server (list/watch, status
//!   subresource, conflicts, 410 after compaction, discovery for kubectl, request log,
//!   restart) for the `--kubernetes` mode's tests and `make demo-kube`.
//! - [`azure`]: Entra ID (workload identity), IMDS, Key Vault and the ACR token service in
//!   front of a real registry, over TLS; [`azure::WorkloadIdentityPod`] wires them for a test.
//! - [`token`]: the Docker registry token issuer behind [`Registry`]'s token auth.
//!
//! Every helper panics with a message that says what failed: its callers are tests, where
//! a loud failure at the point of the problem is the useful behaviour.
#![deny(missing_docs)]
// A harness, not a library of the product: it measures and waits on real (wall and monotonic) time.
#![allow(clippy::disallowed_methods)]
// Test support: failing loudly, with context, is the contract of every helper here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod azure;
pub mod http;
pub mod kube_api;
pub mod pki;
pub mod push;
pub mod ratify;
pub mod registry;
pub mod sign;
pub mod token;

use std::path::PathBuf;

pub use http::{MockServer, Reply, Request};
pub use pki::{Pki, PkiFiles, PkiOptions, Tsa, CERT_NOT_AFTER, CERT_NOT_BEFORE};
pub use push::{desc, image_manifest, Pusher};
pub use registry::Registry;
pub use sign::{
    sign_image, sign_image_with, sign_subject, SignImageOptions, SignedImage, SIGNING_TIME,
};
pub use token::TokenIssuer;

/// The Notation test vectors shipped in the repository (`<repo>/testdata/notation`), read in place.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/notation"
    ))
}

/// The bytes of one vector file.
#[track_caller]
pub fn vector(name: &str) -> Vec<u8> {
    let p = vectors_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read vector {}: {e}", p.display()))
}

/// A free 127.0.0.1 port (bound to 0, read, released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("cannot bind 127.0.0.1:0");
    l.local_addr().expect("bound socket has an address").port()
}

/// The `sha256:<hex>` digest of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    imagegate_oci::Digest::sha256_of(bytes).to_string()
}
