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
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use imagegate_engine::clock::FixedClock;
use imagegate_engine::registry::{Registry, RegistryWrapper};
use imagegate_engine::{ConfigError, Engine, EngineOptions};
use imagegate_oci::{
    Descriptor, Manifest, OciError, Reference, ResolvedManifest, NOTARY_SIGNATURE,
};
use imagegate_testkit::{vector, Registry as TestRegistry};

/// The registry of this test binary (Debian's docker-registry), started on first use.
pub fn registry() -> &'static TestRegistry {
    static R: OnceLock<TestRegistry> = OnceLock::new();
    R.get_or_init(TestRegistry::start)
}

/// Pushes the e2e fixture to `repo` in [`registry`]; its pinned key.
pub async fn pushed(repo: &str) -> String {
    let p = registry().pusher(repo);
    fixture::push_e2e(&p).await;
    format!("{}/{repo}@{}", registry().host(), fixture::E2E_SUBJECT)
}

/// The images the Ratify v1 / v2 comparisons judge, pushed to [`registry`]: the e2e fixture
/// (repository `{prefix}signed`), the fixture plus an invalid signature (`{prefix}mixed`)
/// and an unsigned image (`{prefix}unsigned`). Returns their references: signed by digest,
/// signed by tag, mixed by digest, unsigned by digest.
pub async fn judged_images(prefix: &str) -> [String; 4] {
    let host = registry().host();
    fixture::push_e2e(&registry().pusher(&format!("{prefix}signed"))).await;
    let mixed = registry().pusher(&format!("{prefix}mixed"));
    fixture::push_e2e(&mixed).await;
    fixture::add_invalid_signature(&mixed).await;
    let unsigned = registry().pusher(&format!("{prefix}unsigned"));
    let bare = fixture::push_unsigned(&unsigned).await;
    let subject = fixture::E2E_SUBJECT;
    [
        format!("{host}/{prefix}signed@{subject}"),
        format!("{host}/{prefix}signed:v1"),
        format!("{host}/{prefix}mixed@{subject}"),
        format!("{host}/{prefix}unsigned@{bare}"),
    ]
}

/// A PEM vector as the body of a YAML block scalar, indented `indent` spaces.
pub fn pem_block(file: &str, indent: usize) -> String {
    String::from_utf8(vector(file))
        .unwrap()
        .lines()
        .map(|l| format!("{}{l}\n", " ".repeat(indent)))
        .collect()
}

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

/// An engine from `config` (written to `dir`), its registry calls counted into `calls`.
pub fn counted_engine(dir: &Path, config: &serde_json::Value, calls: Arc<Calls>) -> Engine {
    Engine::from_config_file(
        &write_config(dir, config),
        EngineOptions {
            registry_wrapper: Some(counting(calls)),
            ..options()
        },
    )
    .unwrap()
}

/// An engine from the CRD file `file` holding `yaml` (in `dir/crds`) and a `config.json`
/// with a 5 s verification timeout.
pub fn crd_engine(dir: &Path, file: &str, yaml: &str) -> Result<Engine, ConfigError> {
    let crd_dir = dir.join("crds");
    std::fs::create_dir_all(&crd_dir).unwrap();
    std::fs::write(crd_dir.join(file), yaml).unwrap();
    let config = serde_json::json!({"executor": {"verificationRequestTimeout": 5000}});
    let path = write_config(dir, &config);
    Engine::from_config_file(
        &path,
        EngineOptions {
            crd_dir: Some(crd_dir),
            ..options()
        },
    )
}

/// Calls made through [`Counting`], and the most manifest and blob fetches (what one
/// signature fetches) it saw at once.
#[derive(Debug, Default)]
pub struct Calls {
    pub resolve: AtomicUsize,
    pub referrers: AtomicUsize,
    pub manifests: AtomicUsize,
    pub blobs: AtomicUsize,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
}

/// One manifest or blob fetch in flight: counted from its start until it ends or is
/// cancelled.
struct InFlight<'a>(&'a Calls);

impl<'a> InFlight<'a> {
    fn start(calls: &'a Calls) -> Self {
        let now = calls.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        calls.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(calls)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
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
            let _flight = InFlight::start(&self.calls);
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
            let _flight = InFlight::start(&self.calls);
            self.inner.fetch_blob(r, desc).await
        })
    }
}
