//! Engine-specific test support: the e2e fixture pushed byte for byte, config writers and
//! a counting registry wrapper. The registry, pusher and vector helpers come from
//! `imagegate-testkit`.
// Test support: a failed set-up step should abort the test loudly.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod fixture;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use imagegate_engine::clock::FixedClock;
use imagegate_engine::registry::{Registry, RegistryWrapper};
use imagegate_engine::EngineOptions;
use imagegate_oci::{
    Descriptor, Manifest, OciError, Reference, ResolvedManifest, NOTARY_SIGNATURE,
};
use imagegate_testkit::vector;

/// One vector file parsed as JSON.
pub fn vector_json(name: &str) -> serde_json::Value {
    serde_json::from_slice(&vector(name)).unwrap()
}

/// A `config.json` with one oras store, the given policy and one notation verifier.
pub fn config_json(
    trust_policy: serde_json::Value,
    certs: &[PathBuf],
    artifact_policies: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true}]},
        "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy",
            "artifactVerificationPolicies": artifact_policies}},
        "verifier": {"version": "1.0.0", "plugins": [{
            "name": "verifier-notation", "type": "notation",
            "artifactTypes": NOTARY_SIGNATURE,
            "verificationCerts": certs,
            "trustPolicyDoc": trust_policy}]},
        "executor": {"verificationRequestTimeout": 5000, "mutationRequestTimeout": 5000}
    })
}

/// Writes `value` as `config.json` in `dir` and returns its path.
pub fn write_config(dir: &Path, value: &serde_json::Value) -> PathBuf {
    let p = dir.join("config.json");
    std::fs::write(&p, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    p
}

/// Options with a pinned clock (2025-01-01, inside cert-e2e's validity).
pub fn options() -> EngineOptions {
    EngineOptions {
        clock: Arc::new(FixedClock(time::macros::datetime!(2025-01-01 00:00 UTC))),
        ..EngineOptions::default()
    }
}

/// Calls made through [`Counting`].
#[derive(Debug, Default)]
pub struct Calls {
    pub resolve: AtomicUsize,
    pub referrers: AtomicUsize,
    pub manifests: AtomicUsize,
    pub blobs: AtomicUsize,
}

impl Calls {
    pub fn snapshot(&self) -> [usize; 4] {
        [
            self.resolve.load(Ordering::SeqCst),
            self.referrers.load(Ordering::SeqCst),
            self.manifests.load(Ordering::SeqCst),
            self.blobs.load(Ordering::SeqCst),
        ]
    }
}

/// Counts calls to the real registry client it wraps.
pub struct Counting {
    inner: Arc<dyn Registry>,
    calls: Arc<Calls>,
}

/// A wrapper factory counting into `calls`.
pub fn counting(calls: Arc<Calls>) -> RegistryWrapper {
    Arc::new(move |inner| {
        Arc::new(Counting {
            inner,
            calls: calls.clone(),
        }) as Arc<dyn Registry>
    })
}

impl Registry for Counting {
    fn resolve<'a>(
        &'a self,
        r: &'a Reference,
    ) -> BoxFuture<'a, Result<ResolvedManifest, OciError>> {
        // Counted when the request actually runs, not when the future is built.
        Box::pin(async move {
            self.calls.resolve.fetch_add(1, Ordering::SeqCst);
            self.inner.resolve(r).await
        })
    }

    fn referrers<'a>(
        &'a self,
        subject: &'a Reference,
        artifact_type: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, OciError>> {
        // Counted when the request actually runs, not when the future is built.
        Box::pin(async move {
            self.calls.referrers.fetch_add(1, Ordering::SeqCst);
            self.inner.referrers(subject, artifact_type).await
        })
    }

    fn fetch_manifest<'a>(
        &'a self,
        r: &'a Reference,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<Manifest, OciError>> {
        // Counted when the request actually runs, not when the future is built.
        Box::pin(async move {
            self.calls.manifests.fetch_add(1, Ordering::SeqCst);
            self.inner.fetch_manifest(r, digest).await
        })
    }

    fn fetch_blob<'a>(
        &'a self,
        r: &'a Reference,
        desc: &'a Descriptor,
    ) -> BoxFuture<'a, Result<Bytes, OciError>> {
        // Counted when the request actually runs, not when the future is built.
        Box::pin(async move {
            self.calls.blobs.fetch_add(1, Ordering::SeqCst);
            self.inner.fetch_blob(r, desc).await
        })
    }
}
