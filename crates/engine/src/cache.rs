//! The engine's caches (moka, async) with single-flight loads and hit/miss counters.
//!
//! | cache | key | expiry / bound |
//! |---|---|---|
//! | verdicts | namespace, subject, subject digest, config generation | success TTL, shorter failure TTL; entry count |
//! | tags | `registry/repo:tag` | tag TTL |
//! | referrers | `registry/repo@digest` | the store's `ttl` |
//! | manifests | `registry/repo@digest` | byte budget (immutable content) |
//! | blobs | `registry/repo@digest` | byte budget (immutable content) |
//!
//! Every load goes through `try_get_with`/`get_with`: concurrent callers for the same missing
//! key wait for one load. Failed loads are not cached. Content keys include the repository, so
//! content seen in one repository is never served for another.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use imagegate_oci::{Descriptor, Manifest, OciError, ResolvedManifest};
use moka::future::Cache;
use moka::Expiry;

use crate::config::CacheSettings;
use crate::metrics::MetricsSink;

/// A cached value with the TTL chosen when it was inserted.
#[derive(Debug, Clone)]
pub(crate) struct Timed<T> {
    pub(crate) value: T,
    pub(crate) ttl: Duration,
}

/// Expires each entry after its own TTL.
struct PerEntry;

impl<K, T> Expiry<K, Timed<T>> for PerEntry {
    fn expire_after_create(&self, _key: &K, value: &Timed<T>, _now: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Hits and misses of one cache. A miss is a load that ran; callers that waited on another
/// caller's load count as hits.
#[derive(Default)]
pub struct Counter {
    name: &'static str,
    hits: AtomicU64,
    misses: AtomicU64,
    sink: Option<Arc<dyn MetricsSink>>,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Counter")
            .field("name", &self.name)
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish()
    }
}

impl Counter {
    fn new(name: &'static str, sink: Option<Arc<dyn MetricsSink>>) -> Self {
        Self {
            name,
            sink,
            ..Self::default()
        }
    }

    /// Hits so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Misses (loads) so far.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    fn record(&self, loaded: bool) {
        let c = if loaded { &self.misses } else { &self.hits };
        c.fetch_add(1, Ordering::Relaxed);
        if let Some(sink) = &self.sink {
            sink.cache_lookup(self.name, !loaded);
        }
    }
}

/// A snapshot of the cache counters, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// Verdict cache (hits, misses).
    pub verdicts: (u64, u64),
    /// Tag → digest cache (hits, misses).
    pub tags: (u64, u64),
    /// Referrers cache (hits, misses).
    pub referrers: (u64, u64),
    /// Manifest cache (hits, misses).
    pub manifests: (u64, u64),
    /// Blob cache (hits, misses).
    pub blobs: (u64, u64),
}

/// Key of a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct VerdictKey {
    pub(crate) namespace: Option<String>,
    pub(crate) subject: String,
    pub(crate) digest: String,
    pub(crate) generation: u64,
}

/// A decided subject: the policy decision and the reports behind it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) is_success: bool,
    pub(crate) reports: Vec<crate::report::VerifierReport>,
}

/// All caches of one engine.
pub(crate) struct Caches {
    verdicts: Cache<VerdictKey, Timed<Arc<Verdict>>>,
    tags: Cache<String, Timed<ResolvedManifest>>,
    referrers: Cache<String, Timed<Arc<Vec<Descriptor>>>>,
    manifests: Cache<String, Arc<Manifest>>,
    blobs: Cache<String, Bytes>,
    verdict_ttl: Duration,
    failure_ttl: Duration,
    tag_ttl: Duration,
    pub(crate) verdict_counter: Counter,
    pub(crate) tag_counter: Counter,
    pub(crate) referrers_counter: Counter,
    pub(crate) manifest_counter: Counter,
    pub(crate) blob_counter: Counter,
}

/// Weight of one cached item: its bytes plus a fixed per-entry overhead.
fn weight(key: &str, bytes: usize) -> u32 {
    u32::try_from(key.len() + bytes + 64).unwrap_or(u32::MAX)
}

impl Caches {
    pub(crate) fn new(s: &CacheSettings, sink: Option<Arc<dyn MetricsSink>>) -> Self {
        Self {
            verdicts: Cache::builder()
                .max_capacity(s.max_verdicts.max(1))
                .expire_after(PerEntry)
                .build(),
            tags: Cache::builder()
                .max_capacity(100_000)
                .expire_after(PerEntry)
                .build(),
            referrers: Cache::builder()
                .max_capacity(100_000)
                .expire_after(PerEntry)
                .build(),
            manifests: Cache::builder()
                .max_capacity(s.manifest_cache_bytes.max(1))
                .weigher(|k: &String, v: &Arc<Manifest>| weight(k, v.bytes.len()))
                .build(),
            blobs: Cache::builder()
                .max_capacity(s.blob_cache_bytes.max(1))
                .weigher(|k: &String, v: &Bytes| weight(k, v.len()))
                .build(),
            verdict_ttl: Duration::from_secs(s.verdict_ttl_seconds),
            failure_ttl: Duration::from_secs(s.failure_ttl_seconds),
            tag_ttl: Duration::from_secs(s.tag_ttl_seconds),
            verdict_counter: Counter::new("verdict", sink.clone()),
            tag_counter: Counter::new("tag", sink.clone()),
            referrers_counter: Counter::new("referrers", sink.clone()),
            manifest_counter: Counter::new("manifest", sink.clone()),
            blob_counter: Counter::new("blob", sink),
        }
    }

    pub(crate) fn stats(&self) -> CacheStats {
        let pair = |c: &Counter| (c.hits(), c.misses());
        CacheStats {
            verdicts: pair(&self.verdict_counter),
            tags: pair(&self.tag_counter),
            referrers: pair(&self.referrers_counter),
            manifests: pair(&self.manifest_counter),
            blobs: pair(&self.blob_counter),
        }
    }

    /// The verdict for `key`, computed once by `decide` for concurrent callers.
    pub(crate) async fn verdict<F>(&self, key: VerdictKey, decide: F) -> Arc<Verdict>
    where
        F: Future<Output = Verdict>,
    {
        let loaded = AtomicBool::new(false);
        let (ok_ttl, fail_ttl) = (self.verdict_ttl, self.failure_ttl);
        let timed = self
            .verdicts
            .get_with(key, async {
                loaded.store(true, Ordering::Relaxed);
                let v = decide.await;
                let ttl = if v.is_success { ok_ttl } else { fail_ttl };
                Timed {
                    value: Arc::new(v),
                    ttl,
                }
            })
            .await;
        self.verdict_counter.record(loaded.load(Ordering::Relaxed));
        timed.value
    }

    /// Tag resolution, single-flight, errors not cached.
    pub(crate) async fn tag<F>(
        &self,
        key: String,
        load: F,
    ) -> Result<ResolvedManifest, Arc<OciError>>
    where
        F: Future<Output = Result<ResolvedManifest, OciError>>,
    {
        let ttl = self.tag_ttl;
        let r = timed_load(&self.tags, &self.tag_counter, key, ttl, load).await?;
        Ok(r)
    }

    /// Referrers listing, single-flight, cached for `ttl`.
    pub(crate) async fn referrers<F>(
        &self,
        key: String,
        ttl: Duration,
        load: F,
    ) -> Result<Arc<Vec<Descriptor>>, Arc<OciError>>
    where
        F: Future<Output = Result<Vec<Descriptor>, OciError>>,
    {
        timed_load(&self.referrers, &self.referrers_counter, key, ttl, async {
            load.await.map(Arc::new)
        })
        .await
    }

    /// A manifest by `registry/repo@digest`, single-flight.
    pub(crate) async fn manifest<F>(
        &self,
        key: String,
        load: F,
    ) -> Result<Arc<Manifest>, Arc<OciError>>
    where
        F: Future<Output = Result<Manifest, OciError>>,
    {
        counted(&self.manifests, &self.manifest_counter, key, async {
            load.await.map(Arc::new)
        })
        .await
    }

    /// A blob by `registry/repo@digest`, single-flight.
    pub(crate) async fn blob<F>(&self, key: String, load: F) -> Result<Bytes, Arc<OciError>>
    where
        F: Future<Output = Result<Bytes, OciError>>,
    {
        counted(&self.blobs, &self.blob_counter, key, load).await
    }
}

async fn counted<K, V, F>(
    cache: &Cache<K, V>,
    counter: &Counter,
    key: K,
    load: F,
) -> Result<V, Arc<OciError>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, OciError>>,
{
    let loaded = AtomicBool::new(false);
    let r = cache
        .try_get_with(key, async {
            loaded.store(true, Ordering::Relaxed);
            load.await
        })
        .await;
    counter.record(loaded.load(Ordering::Relaxed));
    r
}

async fn timed_load<K, V, F>(
    cache: &Cache<K, Timed<V>>,
    counter: &Counter,
    key: K,
    ttl: Duration,
    load: F,
) -> Result<V, Arc<OciError>>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    F: Future<Output = Result<V, OciError>>,
{
    counted(cache, counter, key, async {
        load.await.map(|value| Timed { value, ttl })
    })
    .await
    .map(|t| t.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(ok: bool) -> Verdict {
        Verdict {
            is_success: ok,
            reports: vec![],
        }
    }

    #[tokio::test]
    async fn concurrent_loads_run_once_and_count() {
        let caches = Arc::new(Caches::new(&CacheSettings::default(), None));
        let runs = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (caches, runs) = (caches.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                caches
                    .blob("r/x@sha256:1".into(), async {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(Bytes::from_static(b"abc"))
                    })
                    .await
                    .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(&t.await.unwrap()[..], b"abc");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(caches.stats().blobs, (19, 1));
    }

    #[tokio::test]
    async fn errors_are_not_cached() {
        let caches = Caches::new(&CacheSettings::default(), None);
        let err = caches
            .manifest("k".into(), async { Err(OciError::Config("boom".into())) })
            .await;
        assert!(err.is_err());
        let ok = caches
            .tag("t".into(), async {
                Ok(ResolvedManifest {
                    digest: "sha256:1".into(),
                    media_type: "m".into(),
                    size: 1,
                })
            })
            .await;
        assert!(ok.is_ok());
        assert_eq!(caches.stats().manifests, (0, 1));
    }

    #[tokio::test]
    async fn failed_verdicts_expire_sooner() {
        let settings = CacheSettings {
            verdict_ttl_seconds: 60,
            failure_ttl_seconds: 0,
            ..CacheSettings::default()
        };
        let caches = Caches::new(&settings, None);
        let key = |s: &str| VerdictKey {
            namespace: None,
            subject: s.into(),
            digest: "d".into(),
            generation: 1,
        };
        caches.verdict(key("ok"), async { verdict(true) }).await;
        caches.verdict(key("bad"), async { verdict(false) }).await;
        caches.verdict(key("ok"), async { verdict(false) }).await;
        let again = caches.verdict(key("bad"), async { verdict(true) }).await;
        assert!(
            again.is_success,
            "failed verdict with TTL 0 must not be served again"
        );
        assert_eq!(caches.stats().verdicts, (1, 3));
    }
}
