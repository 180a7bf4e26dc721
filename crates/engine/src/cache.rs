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
use std::time::{Duration, Instant};

use bytes::Bytes;
use imagegate_oci::{Descriptor, Manifest, OciError, ResolvedManifest};
use moka::future::Cache;
use moka::Expiry;
use tokio::time::Instant as TokioInstant;

use imagegate_ratify::{
    go_duration, Cause, CauseKind, RatifyCode, RenderedReports, VerifierReport,
};

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

/// Key of a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerdictKey {
    pub(crate) namespace: Option<String>,
    pub(crate) subject: String,
    pub(crate) digest: String,
    pub(crate) generation: u64,
}

/// A [`VerdictKey`] borrowed from the request, to look a verdict up without copying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct VerdictKeyRef<'a> {
    pub(crate) namespace: Option<&'a str>,
    pub(crate) subject: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) generation: u64,
}

impl VerdictKey {
    fn as_ref(&self) -> VerdictKeyRef<'_> {
        VerdictKeyRef {
            namespace: self.namespace.as_deref(),
            subject: &self.subject,
            digest: &self.digest,
            generation: self.generation,
        }
    }
}

/// Hashed through its borrowed form, so that both forms find the same entry.
impl Hash for VerdictKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

/// The subject is left out of the hash (equality still compares it): the digest already
/// tells subjects apart, and hashing half the bytes is measurable on the warm path.
impl Hash for VerdictKeyRef<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.namespace.hash(state);
        self.digest.hash(state);
        self.generation.hash(state);
    }
}

impl moka::Equivalent<VerdictKey> for VerdictKeyRef<'_> {
    fn equivalent(&self, key: &VerdictKey) -> bool {
        *self == key.as_ref()
    }
}

/// A decided subject: the policy decision and the reports behind it, kept twice: typed (for
/// `imagegate verify`, the stale marking, logs and metrics) and rendered once as the JSON
/// array every answer writes (the warm path splices it in without touching the typed form).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    pub(crate) is_success: bool,
    /// The reports, typed.
    pub(crate) reports: Vec<VerifierReport>,
    /// The same reports as the JSON array written on the wire.
    pub(crate) rendered: RenderedReports,
    /// A failure that involved a transient registry error: it may heal, so a last known
    /// verdict may be served in its place.
    pub(crate) transient: bool,
    /// When its entry in the verdict cache expires (set when it is cached): no copy of it
    /// may be served as fresh after this.
    pub(crate) fresh_until: Option<Instant>,
}

impl Verdict {
    /// A verdict on `reports`. Reports that cannot be rendered (not expected: they are plain
    /// strings and JSON values) make a failed verdict saying so.
    pub(crate) fn new(is_success: bool, reports: Vec<VerifierReport>, transient: bool) -> Self {
        match RenderedReports::render(&reports) {
            Ok(rendered) => Self {
                is_success,
                reports,
                rendered,
                transient,
                fresh_until: None,
            },
            Err(e) => {
                let cause = Cause::new(RatifyCode::DataEncodingFailure, CauseKind::Internal);
                let report = VerifierReport {
                    error_reason: cause
                        .render(format_args!("cannot render the verification reports: {e}")),
                    cause: Some(cause),
                    ..Default::default()
                };
                let rendered = RenderedReports::render(std::slice::from_ref(&report));
                Self {
                    is_success: false,
                    reports: vec![report],
                    rendered: rendered.unwrap_or_default(),
                    transient,
                    fresh_until: None,
                }
            }
        }
    }

    /// Why the verdict failed: its first failed report's cause and `errorReason`.
    fn failure(&self) -> (Option<Cause>, &str) {
        self.reports
            .iter()
            .find(|r| !r.is_success && !r.error_reason.is_empty())
            .map(|r| (r.cause, r.error_reason.as_str()))
            .unwrap_or_default()
    }
}

/// The last verdict of a key decided without a transient failure.
#[derive(Debug, Clone)]
struct Known {
    verdict: Arc<Verdict>,
    /// When its TTL ends (monotonic clock); the grace counts from here.
    fresh_until: TokioInstant,
}

/// Why a served verdict is stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// How long past its TTL the verdict is.
    pub(crate) past_ttl: Duration,
    /// The cause of the failed re-verification, when it was classified.
    pub(crate) cause: Option<Cause>,
    /// What the failed re-verification said (`CODE: detail`), for the log.
    pub(crate) reason: String,
}

/// A decided key: its verdict as served, fresh, or the last known one marked stale. Answer
/// it with [`crate::Engine::render`] (the wire) or [`crate::Engine::result`] (typed).
#[derive(Debug, Clone)]
pub struct Decision {
    pub(crate) verdict: Arc<Verdict>,
    pub(crate) stale: Option<Stale>,
}

impl Decision {
    /// The policy decision.
    pub fn is_success(&self) -> bool {
        self.verdict.is_success
    }

    /// The verifier reports behind it, typed.
    pub fn reports(&self) -> &[VerifierReport] {
        &self.verdict.reports
    }

    /// Whether this is a last known verdict served because re-verification failed
    /// transiently (stale-if-error).
    pub fn is_stale(&self) -> bool {
        self.stale.is_some()
    }
}

/// The stale-if-error settings.
#[derive(Debug, Clone, Copy)]
struct Grace {
    window: Duration,
    failures: bool,
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

    /// The verdict for `key`, computed once by `decide` for concurrent callers; with a stale
    /// grace, the last known verdict marked stale when re-verification fails transiently or
    /// takes longer than `budget`.
    pub(crate) async fn verdict<F>(&self, key: VerdictKey, budget: Duration, decide: F) -> Decision
    where
        F: Future<Output = Verdict>,
    {
        let fresh = |verdict| Decision {
            verdict,
            stale: None,
        };
        let Some((known, grace)) = &self.known else {
            return fresh(self.fresh_verdict(key, decide).await);
        };
        let now = TokioInstant::now();
        let candidate = known.get(&key).await.map(|t| t.value).filter(|k| {
            now < k.fresh_until + grace.window && (k.verdict.is_success || grace.failures)
        });
        let Some(candidate) = candidate else {
            return fresh(self.fresh_verdict(key, decide).await);
        };
        let stale = |cause: Option<Cause>, reason: String| Decision {
            verdict: candidate.verdict.clone(),
            stale: Some(Stale {
                past_ttl: TokioInstant::now().saturating_duration_since(candidate.fresh_until),
                cause,
                reason,
            }),
        };
        match tokio::time::timeout(budget, self.fresh_verdict(key, decide)).await {
            Ok(v) if v.transient => {
                let (cause, reason) = v.failure();
                stale(cause, reason.to_owned())
            }
            Ok(v) => fresh(v),
            Err(_) => {
                let cause = Cause::new(RatifyCode::ExecutorFailure, CauseKind::Timeout);
                let reason = cause.render(format_args!(
                    "re-verification did not finish within {}",
                    go_duration(budget)
                ));
                stale(Some(cause), reason)
            }
        }
    }

    /// The cached verdict for `key` when [`Caches::verdict`] would serve it as it is (fresh;
    /// not a transient failure that a last known verdict would replace), counted as a hit;
    /// otherwise `None` and nothing is counted. Loads and revalidates nothing, so the warm
    /// path does not build the verification pipeline.
    pub(crate) async fn cached_verdict(&self, key: &VerdictKeyRef<'_>) -> Option<Arc<Verdict>> {
        let verdict = self.verdicts.get(key).await?.value;
        if verdict.transient && self.known.is_some() {
            return None;
        }
        self.verdict_counter.record(false);
        Some(verdict)
    }

    /// Counts a verdict served from a copy of a [`Caches::cached_verdict`] answer.
    pub(crate) fn count_verdict_hit(&self) {
        self.verdict_counter.record(false);
    }

    /// The cached verdict for `key`, or `decide`'s (single-flight), recorded as the last
    /// known verdict when it has no transient cause.
    async fn fresh_verdict<F>(&self, key: VerdictKey, decide: F) -> Arc<Verdict>
    where
        F: Future<Output = Verdict>,
    {
        let loaded = AtomicBool::new(false);
        let (ok_ttl, fail_ttl) = (self.verdict_ttl, self.failure_ttl);
        let known = self.known.as_ref();
        let timed = self
            .verdicts
            .get_with(key.clone(), async {
                loaded.store(true, Ordering::Relaxed);
                let mut v = decide.await;
                let ttl = if v.is_success { ok_ttl } else { fail_ttl };
                v.fresh_until = Instant::now().checked_add(ttl);
                let v = Arc::new(v);
                if let (Some((known, grace)), false) = (known, v.transient) {
                    let entry = Known {
                        verdict: v.clone(),
                        fresh_until: TokioInstant::now() + ttl,
                    };
                    let ttl = ttl + grace.window;
                    known.insert(key, Timed { value: entry, ttl }).await;
                }
                Timed { value: v, ttl }
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
        Verdict::new(ok, vec![], false)
    }

    /// A failed verdict whose cause was transient (registry unreachable).
    fn unreachable() -> Verdict {
        let report = VerifierReport {
            error_reason: "LIST_REFERRERS_FAILURE: cannot list referrers: unreachable".into(),
            cause: Some(Cause::new(
                RatifyCode::ListReferrersFailure,
                CauseKind::RegistryUnreachable,
            )),
            ..Default::default()
        };
        Verdict::new(false, vec![report], true)
    }

    fn key(s: &str) -> VerdictKey {
        VerdictKey {
            namespace: None,
            subject: s.into(),
            digest: "d".into(),
            generation: 1,
        }
    }

    /// TTL 0 (every lookup re-verifies) and a 30 s stale grace.
    fn grace(failures: bool) -> Caches {
        let settings = CacheSettings {
            verdict_ttl_seconds: 0,
            failure_ttl_seconds: 0,
            stale_grace_seconds: 30,
            serve_stale_failures: failures,
            ..CacheSettings::default()
        };
        Caches::new(&settings, None)
    }

    const BUDGET: Duration = Duration::from_secs(2);

    #[tokio::test(start_paused = true)]
    async fn stale_success_is_served_within_the_grace_only() {
        let caches = grace(false);
        let first = caches
            .verdict(key("a"), BUDGET, async { verdict(true) })
            .await;
        assert!(first.verdict.is_success && first.stale.is_none());
        tokio::time::advance(Duration::from_secs(29)).await;
        let stale = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(stale.verdict.is_success, "the last success is served");
        let why = stale.stale.expect("marked stale");
        assert!(why.reason.starts_with("LIST_REFERRERS_FAILURE"), "{why:?}");
        assert_eq!(
            why.cause.and_then(|c| c.code),
            Some(RatifyCode::ListReferrersFailure)
        );
        assert_eq!(why.past_ttl, Duration::from_secs(29));
        tokio::time::advance(Duration::from_secs(2)).await;
        let after = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(!after.verdict.is_success && after.stale.is_none());
        // Another key never had a verdict: nothing to serve stale.
        let other = caches
            .verdict(key("b"), BUDGET, async { unreachable() })
            .await;
        assert!(!other.verdict.is_success && other.stale.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn definitive_failure_replaces_the_last_success() {
        let caches = grace(false);
        caches
            .verdict(key("a"), BUDGET, async { verdict(true) })
            .await;
        let failed = caches
            .verdict(key("a"), BUDGET, async { verdict(false) })
            .await;
        assert!(!failed.verdict.is_success && failed.stale.is_none());
        let next = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(next.stale.is_none(), "stale failures are off by default");
        assert!(
            next.verdict.transient,
            "the transient failure itself is served"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn stale_failures_only_when_switched_on() {
        let caches = grace(true);
        caches
            .verdict(key("a"), BUDGET, async { verdict(false) })
            .await;
        let next = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(!next.verdict.is_success);
        assert!(
            !next.verdict.transient,
            "the last definitive failure is served"
        );
        assert!(next.stale.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_never_the_last_known_verdict() {
        let caches = grace(true);
        caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        let next = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(next.stale.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn slow_revalidation_is_cut_at_the_budget() {
        let caches = grace(false);
        caches
            .verdict(key("a"), BUDGET, async { verdict(true) })
            .await;
        let started = tokio::time::Instant::now();
        let served = caches
            .verdict(key("a"), BUDGET, async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                verdict(false)
            })
            .await;
        assert_eq!(started.elapsed(), BUDGET);
        assert!(served.verdict.is_success);
        let why = served.stale.expect("stale");
        assert!(why.reason.contains("did not finish within 2s"), "{why:?}");
        assert_eq!(why.cause.map(|c| c.kind), Some(CauseKind::Timeout));
    }

    #[tokio::test(start_paused = true)]
    async fn without_grace_nothing_is_served_stale() {
        let settings = CacheSettings {
            verdict_ttl_seconds: 0,
            ..CacheSettings::default()
        };
        let caches = Caches::new(&settings, None);
        caches
            .verdict(key("a"), BUDGET, async { verdict(true) })
            .await;
        let next = caches
            .verdict(key("a"), BUDGET, async { unreachable() })
            .await;
        assert!(!next.verdict.is_success && next.stale.is_none());
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

    #[tokio::test]
    async fn failed_verdicts_expire_sooner() {
        let settings = CacheSettings {
            verdict_ttl_seconds: 60,
            failure_ttl_seconds: 0,
            ..CacheSettings::default()
        };
        let caches = Caches::new(&settings, None);
        caches
            .verdict(key("ok"), BUDGET, async { verdict(true) })
            .await;
        caches
            .verdict(key("bad"), BUDGET, async { verdict(false) })
            .await;
        caches
            .verdict(key("ok"), BUDGET, async { verdict(false) })
            .await;
        let again = caches
            .verdict(key("bad"), BUDGET, async { verdict(true) })
            .await;
        assert!(
            again.verdict.is_success,
            "failed verdict with TTL 0 must not be served again"
        );
        assert_eq!(caches.stats().verdicts, (1, 3));
    }
}
