//! The verdict cache: verdicts keyed by namespace, subject, digest and configuration
//! generation, with stale-if-error (the last known verdicts).

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imagegate_ratify::{
    go_duration, Cause, CauseKind, Failure, RatifyCode, RenderedReports, VerifierReport,
};
use tokio::time::Instant;

use super::{Caches, Timed};

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
    /// Ratify v2's answer for this verdict, rendered on first use for the digest key (image
    /// part) that asked, so that the warm v2 path copies bytes instead of building JSON.
    pub(crate) v2: std::sync::OnceLock<Box<(String, Result<String, Failure>)>>,
}

impl Verdict {
    /// A verdict on `reports`. Reports that cannot be rendered (not expected: they are plain
    /// strings and JSON values) make a failed verdict saying so.
    pub(crate) fn new(is_success: bool, mut reports: Vec<VerifierReport>, transient: bool) -> Self {
        // A verdict lives as long as its cache entry: no spare capacity (reports collected
        // from an iterator start at four slots for typically one report).
        reports.iter_mut().for_each(VerifierReport::shrink_to_fit);
        reports.shrink_to_fit();
        match RenderedReports::render(&reports) {
            Ok(rendered) => Self {
                is_success,
                reports,
                rendered,
                transient,
                fresh_until: None,
                v2: std::sync::OnceLock::new(),
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
                    v2: std::sync::OnceLock::new(),
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
pub(super) struct Known {
    verdict: Arc<Verdict>,
    /// When its TTL ends (monotonic clock); the grace counts from here.
    fresh_until: Instant,
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
pub(super) struct Grace {
    pub(super) window: Duration,
    pub(super) failures: bool,
}

impl Caches {
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
        let now = Instant::now();
        let candidate = known.get(&key).await.map(|t| t.value).filter(|k| {
            now < k.fresh_until + grace.window && (k.verdict.is_success || grace.failures)
        });
        let Some(candidate) = candidate else {
            return fresh(self.fresh_verdict(key, decide).await);
        };
        let stale = |cause: Option<Cause>, reason: String| Decision {
            verdict: candidate.verdict.clone(),
            stale: Some(Stale {
                past_ttl: Instant::now().saturating_duration_since(candidate.fresh_until),
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
                        fresh_until: Instant::now() + ttl,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CacheSettings;

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
        let started = Instant::now();
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
