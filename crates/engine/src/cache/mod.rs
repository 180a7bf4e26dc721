//! The engine's caches (moka, async) with single-flight loads and hit/miss counters.
//!
//! | cache | key | expiry / bound |
//! |---|---|---|
//! | verdicts | namespace, subject, subject digest, config generation | success TTL, shorter failure TTL; entry count |
//! | last known verdicts (only with a stale grace) | as verdicts | TTL + `staleGraceSeconds`; entry count |
//! | tags | `registry/repo:tag` | tag TTL |
//! | referrers | `registry/repo@digest` | the store's `ttl`; byte budget |
//! | manifests | `registry/repo@digest` | byte budget (immutable content) |
//! | blobs | `registry/repo@digest` | byte budget (immutable content) |
//!
//! Every load goes through `try_get_with`/`get_with`: concurrent callers for the same missing
//! key wait for one load. Failed loads are not cached. Content keys include the repository, so
//! content seen in one repository is never served for another.
//!
//! # Stale-if-error
//!
//! With `imagegate.cache.staleGraceSeconds` > 0, every verdict decided without a transient
//! registry failure is also kept as the key's *last known* verdict until its TTL plus the
//! grace. When a key's verdict has expired and its re-verification fails transiently
//! (registry unreachable, timeout, 5xx, 429: [`crate::ratify_codes::is_transient`]), or does
//! not finish within the revalidation budget, the last known verdict is served instead,
//! marked stale. Failed verdicts are served stale only with `serveStaleFailures`. A definitive
//! answer (success, or a failure without a transient cause) always replaces the last known
//! verdict, so a removed signature is never hidden by an older success.
//!
//! Revalidation runs in the request path, single-flight, under the key's deadline: no
//! background task outlives a request, the registry sees at most one revalidation per key per
//! TTL, and the bounded budget leaves time to answer stale before the deadline.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
// `std::time::Instant` only because moka's `Expiry` signature names it; never read here.
use std::time::{Duration, Instant};

use bytes::Bytes;
use imagegate_oci::{Descriptor, Manifest, OciError, ResolvedManifest};
use moka::future::Cache;
use moka::Expiry;

mod verdict;

pub use verdict::{Decision, Stale};
use verdict::{Grace, Known};
pub(crate) use verdict::{Verdict, VerdictKey, VerdictKeyRef};

use crate::config::{budget, CacheSettings};
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

/// All caches of one engine.
pub(crate) struct Caches {
    verdicts: Cache<VerdictKey, Timed<Arc<Verdict>>>,
    /// Last known verdicts; only when a stale grace is configured.
    known: Option<(Cache<VerdictKey, Timed<Known>>, Grace)>,
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

impl Caches {
    pub(crate) fn new(s: &CacheSettings, sink: Option<Arc<dyn MetricsSink>>) -> Self {
        let known = (s.stale_grace_seconds > 0).then(|| {
            let cache = Cache::builder()
                .max_capacity(s.max_verdicts.max(1))
                .expire_after(PerEntry)
                .build();
            let grace = Grace {
                window: Duration::from_secs(s.stale_grace_seconds),
                failures: s.serve_stale_failures,
            };
            (cache, grace)
        });
        Self {
            known,
            verdicts: Cache::builder()
                .max_capacity(s.max_verdicts.max(1))
                .expire_after(PerEntry)
                .build(),
            tags: Cache::builder()
                .max_capacity(100_000)
                .expire_after(PerEntry)
                .build(),
            // Byte budgets of resident memory: see `config::budget` for the weights.
            referrers: Cache::builder()
                .max_capacity(s.referrers_cache_bytes.max(1))
                .weigher(|k: &String, v: &Timed<Arc<Vec<Descriptor>>>| {
                    budget::referrers_weight(k, &v.value)
                })
                .expire_after(PerEntry)
                .build(),
            manifests: Cache::builder()
                .max_capacity(s.manifest_cache_bytes.max(1))
                .weigher(|k: &String, v: &Arc<Manifest>| budget::manifest_weight(k, v))
                .build(),
            blobs: Cache::builder()
                .max_capacity(s.blob_cache_bytes.max(1))
                .weigher(|k: &String, v: &Bytes| budget::blob_weight(k, v))
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

    /// Tag resolution, single-flight, errors not cached.
    pub(crate) async fn tag<F>(
        &self,
        key: String,
        load: F,
    ) -> Result<ResolvedManifest, Arc<OciError>>
    where
        F: Future<Output = Result<ResolvedManifest, OciError>>,
    {
        let loaded = timed(load, self.tag_ttl);
        let r = counted(&self.tags, &self.tag_counter, key, loaded).await?;
        Ok(r.value)
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
        let loaded = timed(async { load.await.map(Arc::new) }, ttl);
        let r = counted(&self.referrers, &self.referrers_counter, key, loaded).await?;
        Ok(r.value)
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

/// `load`'s value, to be cached for `ttl`.
async fn timed<V>(
    load: impl Future<Output = Result<V, OciError>>,
    ttl: Duration,
) -> Result<Timed<V>, OciError> {
    load.await.map(|value| Timed { value, ttl })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let fetches = &AtomicU64::new(0);
        let fail = || async {
            fetches.fetch_add(1, Ordering::SeqCst);
            Err(OciError::Config("boom".into()))
        };
        assert!(caches.manifest("k".into(), fail()).await.is_err());
        // The same key again: the failure was not kept, so it is fetched a second time.
        assert!(caches.manifest("k".into(), fail()).await.is_err());
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        assert_eq!(caches.stats().manifests, (0, 2));
        let tag = |digest: &'static str| async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            Ok(ResolvedManifest {
                digest: digest.into(),
                media_type: "m".into(),
                size: 1,
            })
        };
        let first = caches.tag("t".into(), tag("sha256:1")).await.unwrap();
        let second = caches.tag("t".into(), tag("sha256:2")).await.unwrap();
        assert_eq!(
            (first.digest.as_str(), second.digest.as_str()),
            ("sha256:1", "sha256:1")
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 3, "a success is cached");
    }
}
