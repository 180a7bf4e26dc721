//! Prometheus metrics under Ratify's names, labels and buckets (ratify.md §8).
//!
//! Ratify exports through OpenTelemetry, so its Prometheus series are histograms
//! `<name>_bucket/_sum/_count` and counters `<name>_total`; the names here are the resulting
//! series names so that Ratify's dashboards and alerts keep working. Durations are in
//! milliseconds. [`Metrics`] is a cheap clonable handle the engine records into as well.
//!
//! (Over 600 lines because its unit tests sit here: a third of the file, checking series
//! names and the bounds on label sets against the encoded text.)

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts,
    Registry, TextEncoder,
};
use thiserror::Error;

pub use imagegate_ratify::VerifierRun;

use crate::subject_series::SubjectSeries;

/// Buckets of `ratify_verification_request` in ms.
const VERIFICATION_BUCKETS: &[f64] = &[
    0.0, 10.0, 30.0, 50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0,
    1100.0, 1200.0, 1400.0, 1600.0, 1800.0, 2000.0, 2300.0, 2600.0, 4000.0, 4400.0, 4900.0,
];
/// Buckets of `ratify_mutation_request` in ms.
const MUTATION_BUCKETS: &[f64] = &[
    0.0, 10.0, 30.0, 50.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0,
    1100.0, 1200.0, 1400.0, 1600.0, 1800.0,
];
/// Buckets of `ratify_verifier_duration` in ms.
const VERIFIER_BUCKETS: &[f64] = &[
    0.0, 10.0, 50.0, 100.0, 200.0, 300.0, 400.0, 600.0, 800.0, 1100.0, 1500.0, 2000.0,
];

/// Subjects with a `ratify_verifier_duration` series by default ([`Metrics::with_max_subjects`]).
pub const DEFAULT_MAX_SUBJECT_SERIES: usize = 1000;

/// `ratify_verifier_duration` series (subject and label combination) kept at most by default
/// ([`Metrics::with_limits`]). A series is one histogram: up to about 3.5 KB of `/metrics`
/// text with a long subject, so this bounds that histogram's share of a scrape near 7 MB.
pub const DEFAULT_MAX_VERIFIER_SERIES: usize = 2000;

/// `ratify_registry_request_count_total` series (host and status) kept at most. The host is
/// named by whoever submits a pod, so the label set must be bounded: requests that would open a
/// series past this count under the host [`OTHER_REGISTRY_HOST`] instead.
pub const MAX_REGISTRY_REQUEST_SERIES: usize = 1024;

/// The `registry_host` of requests past [`MAX_REGISTRY_REQUEST_SERIES`] (not a valid host name,
/// so it never collides with one).
pub const OTHER_REGISTRY_HOST: &str = "(other)";

/// The content type of [`Metrics::encode`]'s output.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric could not be registered or encoded.
#[derive(Debug, Error)]
#[error("metrics registry error: {0}; this is a bug in imagegate, please report it")]
pub struct MetricsError(#[from] prometheus::Error);

/// Handle to the process's metrics; clones share one registry.
#[derive(Clone, Debug)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    verification_request: HistogramVec,
    mutation_request: HistogramVec,
    verifier_duration: HistogramVec,
    system_error: IntCounterVec,
    registry_request: IntCounterVec,
    blob_cache: IntCounterVec,
    cache: IntCounterVec,
    tls_reload: IntCounterVec,
    cert_not_after: prometheus::IntGaugeVec,
    config_reload: IntCounterVec,
    stale_verdicts: IntCounterVec,
    subject_evictions: IntCounter,
    series_evictions: IntCounter,
    /// Which subjects have a `verifier_duration` series; observations happen under this lock
    /// so that an eviction cannot race a new observation of the same subject.
    subjects: Mutex<SubjectSeries>,
    /// The (status, host, namespace) label sets `registry_request` has, bounded by
    /// [`MAX_REGISTRY_REQUEST_SERIES`].
    registry_series: Mutex<std::collections::HashSet<(u16, String, String)>>,
    hot: Hot,
}

/// The engine's cache names with a pre-resolved series ([`Metrics::inc_cache`]).
const HOT_CACHES: [&str; 5] = ["verdict", "tag", "referrers", "manifest", "blob"];

/// Series recorded on every request, resolved on first use and kept: a label lookup hashes
/// the label values and takes a lock. Resolving lazily keeps `/metrics` as it was (a series
/// appears with its first event).
#[derive(Debug, Default)]
struct Hot {
    verification_request: OnceLock<Histogram>,
    mutation_request: OnceLock<Histogram>,
    /// `imagegate_cache_count_total` by [`HOT_CACHES`] index, then miss/hit.
    cache: [[OnceLock<IntCounter>; 2]; HOT_CACHES.len()],
    /// `ratify_blob_cache_count_total` without a namespace, by miss/hit.
    blob_cache: [OnceLock<IntCounter>; 2],
}

// === impl Metrics ===

impl Metrics {
    /// A fresh registry with every metric registered, keeping `ratify_verifier_duration`
    /// series for at most [`DEFAULT_MAX_SUBJECT_SERIES`] subjects.
    pub fn new() -> Result<Self, MetricsError> {
        Self::with_max_subjects(DEFAULT_MAX_SUBJECT_SERIES)
    }

    /// A fresh registry keeping `ratify_verifier_duration` series for at most `max_subjects`
    /// subjects (at least one) and [`DEFAULT_MAX_VERIFIER_SERIES`] series in all.
    pub fn with_max_subjects(max_subjects: usize) -> Result<Self, MetricsError> {
        Self::with_limits(max_subjects, DEFAULT_MAX_VERIFIER_SERIES)
    }

    /// A fresh registry keeping `ratify_verifier_duration` series for at most `max_subjects`
    /// subjects and `max_series` series (label combinations) in all, each at least one: the
    /// least recently verified subject loses its series when a new subject or series would
    /// exceed a cap, counted in `imagegate_metrics_subjects_evicted_total` and
    /// `imagegate_metrics_series_evicted_total`.
    pub fn with_limits(max_subjects: usize, max_series: usize) -> Result<Self, MetricsError> {
        let registry = Registry::new();
        let histogram = |name: &str, help: &str, buckets: &[f64], labels: &[&str]| {
            let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
            let metric = HistogramVec::new(opts, labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok::<_, prometheus::Error>(metric)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let metric = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(metric.clone()))?;
            Ok::<_, prometheus::Error>(metric)
        };
        let inner = Inner {
            verification_request: histogram(
                "ratify_verification_request",
                "Duration of verify requests in milliseconds",
                VERIFICATION_BUCKETS,
                &[],
            )?,
            mutation_request: histogram(
                "ratify_mutation_request",
                "Duration of mutate requests in milliseconds",
                MUTATION_BUCKETS,
                &[],
            )?,
            verifier_duration: histogram(
                "ratify_verifier_duration",
                "Duration of one verifier run in milliseconds",
                VERIFIER_BUCKETS,
                &[
                    "verifier",
                    "subject",
                    "success",
                    "error",
                    "workload_namespace",
                ],
            )?,
            system_error: counter(
                "ratify_system_error_count_total",
                "Requests that failed as a whole",
                &["error", "workload_namespace"],
            )?,
            registry_request: counter(
                "ratify_registry_request_count_total",
                "Requests sent to registries",
                &["status_code", "registry_host", "workload_namespace"],
            )?,
            blob_cache: counter(
                "ratify_blob_cache_count_total",
                "Blob cache lookups",
                &["hit", "workload_namespace"],
            )?,
            cache: counter(
                "imagegate_cache_count_total",
                "Lookups in imagegate's caches by cache name",
                &["cache", "hit"],
            )?,
            tls_reload: counter(
                "imagegate_tls_reload_count_total",
                "TLS material reload attempts",
                &["material", "result"],
            )?,
            cert_not_after: {
                let metric = prometheus::IntGaugeVec::new(
                    Opts::new(
                        "imagegate_tls_cert_not_after_timestamp_seconds",
                        "When the certificate served on the provider listener expires (Unix \
                         time, seconds)",
                    ),
                    &["material"],
                )?;
                registry.register(Box::new(metric.clone()))?;
                metric
            },
            config_reload: counter(
                "imagegate_config_reload_count_total",
                "Configurations built from changed files or Kubernetes objects, by result \
                 (error: the previous configuration stays in force)",
                &["result"],
            )?,
            stale_verdicts: counter(
                "imagegate_stale_verdicts_total",
                "Verdicts served stale because re-verification failed transiently",
                &["success"],
            )?,
            subject_evictions: {
                let metric = IntCounter::new(
                    "imagegate_metrics_subjects_evicted_total",
                    "Subjects whose ratify_verifier_duration series were dropped to keep the \
                     number of subjects with a series bounded",
                )?;
                registry.register(Box::new(metric.clone()))?;
                metric
            },
            series_evictions: {
                let metric = IntCounter::new(
                    "imagegate_metrics_series_evicted_total",
                    "ratify_verifier_duration series dropped to keep the number of subjects \
                     and of series bounded",
                )?;
                registry.register(Box::new(metric.clone()))?;
                metric
            },
            subjects: Mutex::new(SubjectSeries::new(max_subjects, max_series)),
            registry_series: Mutex::default(),
            registry,
            hot: Hot::default(),
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// Records one verify request's duration.
    pub fn observe_verification_request(&self, duration: Duration) {
        let inner = &self.inner;
        inner
            .hot
            .verification_request
            .get_or_init(|| inner.verification_request.with_label_values::<&str>(&[]))
            .observe(millis(duration));
    }

    /// Records one mutate request's duration.
    pub fn observe_mutation_request(&self, duration: Duration) {
        let inner = &self.inner;
        inner
            .hot
            .mutation_request
            .get_or_init(|| inner.mutation_request.with_label_values::<&str>(&[]))
            .observe(millis(duration));
    }

    /// Records one verifier run (under the subject cap of [`Metrics::with_max_subjects`]).
    pub fn observe_verifier(&self, run: VerifierRun<'_>) {
        let inner = &self.inner;
        let success = bool_label(run.success);
        let error = run.error_label();
        let others = [run.verifier, success, error, run.namespace].map(str::to_owned);
        let mut subjects = inner
            .subjects
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (subject, series) in subjects.admit(run.subject, &others).evicted {
            for [verifier, success, error, namespace] in &series {
                // Absent only if never observed, which admit rules out; nothing to undo.
                let _ = inner
                    .verifier_duration
                    .remove_label_values(&[verifier, &subject, success, error, namespace]);
                inner.series_evictions.inc();
            }
            // A subject that only gave up older series to its own new one still has a series.
            if subject != run.subject {
                inner.subject_evictions.inc();
            }
        }
        inner
            .verifier_duration
            .with_label_values(&[run.verifier, run.subject, success, error, run.namespace])
            .observe(millis(run.duration));
    }

    /// How many `ratify_verifier_duration` series (subject and label combination) exist now.
    pub fn verifier_series(&self) -> usize {
        let subjects = self.inner.subjects.lock();
        subjects.unwrap_or_else(PoisonError::into_inner).series()
    }

    /// How many subjects have a `ratify_verifier_duration` series now.
    pub fn subject_series(&self) -> usize {
        let subjects = self.inner.subjects.lock();
        subjects.unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Counts one whole-request failure; `error` should be a short code, not free text.
    pub fn inc_system_error(&self, error: &str, namespace: &str) {
        self.inner
            .system_error
            .with_label_values(&[error, namespace])
            .inc();
    }

    /// Counts one registry request by HTTP status and host.
    /// At most [`MAX_REGISTRY_REQUEST_SERIES`] label sets are kept; a request that would open
    /// one more is counted under [`OTHER_REGISTRY_HOST`].
    pub fn inc_registry_request(&self, status_code: u16, registry_host: &str, namespace: &str) {
        let host = {
            let mut series = self
                .inner
                .registry_series
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let key = (status_code, registry_host.to_owned(), namespace.to_owned());
            if series.contains(&key) || series.len() < MAX_REGISTRY_REQUEST_SERIES {
                series.insert(key);
                registry_host
            } else {
                OTHER_REGISTRY_HOST
            }
        };
        self.inner
            .registry_request
            .with_label_values(&[status_code.to_string().as_str(), host, namespace])
            .inc();
    }

    /// Counts one blob cache lookup.
    pub fn inc_blob_cache(&self, hit: bool, namespace: &str) {
        let inner = &self.inner;
        let labels = [bool_label(hit), namespace];
        if namespace.is_empty() {
            inner.hot.blob_cache[usize::from(hit)]
                .get_or_init(|| inner.blob_cache.with_label_values(&labels))
                .inc();
        } else {
            inner.blob_cache.with_label_values(&labels).inc();
        }
    }

    /// Counts one lookup in a named imagegate cache (`verdict`, `tag`, `manifest`, ...).
    pub fn inc_cache(&self, cache: &str, hit: bool) {
        let inner = &self.inner;
        let labels = [cache, bool_label(hit)];
        match HOT_CACHES.iter().position(|name| *name == cache) {
            Some(i) => inner.hot.cache[i][usize::from(hit)]
                .get_or_init(|| inner.cache.with_label_values(&labels))
                .inc(),
            None => inner.cache.with_label_values(&labels).inc(),
        }
    }

    /// Counts one TLS reload attempt of `material` (`server_cert` or `client_ca`).
    pub fn inc_tls_reload(&self, material: &str, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.inner
            .tls_reload
            .with_label_values(&[material, result])
            .inc();
    }

    /// Records when the served certificate of `material` expires (Unix seconds).
    pub fn set_cert_not_after(&self, material: &str, unix_seconds: i64) {
        self.inner
            .cert_not_after
            .with_label_values(&[material])
            .set(unix_seconds);
    }

    /// Counts one configuration change put in force (`ok`) or rejected.
    pub fn inc_config_reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.inner.config_reload.with_label_values(&[result]).inc();
    }

    /// The current value of the TLS reload counter; lets tests and health checks wait on it.
    pub fn tls_reload_count(&self, material: &str, ok: bool) -> u64 {
        let result = if ok { "ok" } else { "error" };
        self.inner
            .tls_reload
            .with_label_values(&[material, result])
            .get()
    }

    /// Counts one verdict served stale (stale-if-error); `success` is the served decision.
    pub fn inc_stale_verdict(&self, success: bool) {
        self.inner
            .stale_verdicts
            .with_label_values(&[bool_label(success)])
            .inc();
    }

    /// All metrics in the Prometheus text format ([`METRICS_CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<Vec<u8>, MetricsError> {
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.inner.registry.gather(), &mut out)?;
        Ok(out)
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn bool_label(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hosts come from pod specs: one host per request must not grow `/metrics` without bound.
    #[test]
    fn registry_request_series_are_bounded() {
        let metrics = Metrics::new().unwrap();
        for i in 0..MAX_REGISTRY_REQUEST_SERIES + 50 {
            metrics.inc_registry_request(200, &format!("evil-{i}.example"), "");
        }
        // A host that already has its series keeps counting there.
        metrics.inc_registry_request(200, "evil-0.example", "");
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("ratify_registry_request_count_total{"))
            .count();
        assert_eq!(series, MAX_REGISTRY_REQUEST_SERIES + 1, "{series}");
        assert!(text.contains(
            "ratify_registry_request_count_total{registry_host=\"(other)\",status_code=\"200\",workload_namespace=\"\"} 50"
        ));
        assert!(text.contains(
            "ratify_registry_request_count_total{registry_host=\"evil-0.example\",status_code=\"200\",workload_namespace=\"\"} 2"
        ));
    }

    #[test]
    fn exposes_ratify_series_names() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_verification_request(Duration::from_millis(12));
        metrics.observe_mutation_request(Duration::from_millis(3));
        metrics.inc_system_error("BAD_REQUEST", "");
        metrics.inc_registry_request(200, "ghcr.io", "team-a");
        metrics.inc_blob_cache(true, "");
        metrics.observe_verifier(VerifierRun {
            verifier: "verifier-notation",
            subject: "ghcr.io/a@sha256:00",
            success: true,
            error: None,
            namespace: "",
            duration: Duration::from_millis(40),
        });
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        for series in [
            "ratify_verification_request_bucket{le=\"10\"} 0",
            "ratify_verification_request_bucket{le=\"30\"} 1",
            "ratify_verification_request_count 1",
            "ratify_mutation_request_count 1",
            "ratify_system_error_count_total{error=\"BAD_REQUEST\",workload_namespace=\"\"} 1",
            "ratify_registry_request_count_total{registry_host=\"ghcr.io\",status_code=\"200\",workload_namespace=\"team-a\"} 1",
            "ratify_blob_cache_count_total{hit=\"true\",workload_namespace=\"\"} 1",
            "ratify_verifier_duration_bucket{error=\"\",subject=\"ghcr.io/a@sha256:00\",success=\"true\",verifier=\"verifier-notation\",workload_namespace=\"\",le=\"50\"} 1",
        ] {
            assert!(text.contains(series), "missing {series} in\n{text}");
        }
    }

    #[test]
    fn hot_series_count_like_labelled_ones_and_appear_on_first_use() {
        let metrics = Metrics::new().unwrap();
        let before = String::from_utf8(metrics.encode().unwrap()).unwrap();
        assert!(!before.contains("imagegate_cache_count_total"), "{before}");
        assert!(
            !before.contains("ratify_verification_request_count"),
            "{before}"
        );
        for _ in 0..3 {
            metrics.inc_cache("verdict", true);
            metrics.inc_blob_cache(false, "");
            metrics.observe_verification_request(Duration::from_millis(1));
        }
        metrics.inc_cache("verdict", false);
        metrics.inc_cache("other", true);
        metrics.inc_blob_cache(false, "team-a");
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        for series in [
            "imagegate_cache_count_total{cache=\"verdict\",hit=\"true\"} 3",
            "imagegate_cache_count_total{cache=\"verdict\",hit=\"false\"} 1",
            "imagegate_cache_count_total{cache=\"other\",hit=\"true\"} 1",
            "ratify_blob_cache_count_total{hit=\"false\",workload_namespace=\"\"} 3",
            "ratify_blob_cache_count_total{hit=\"false\",workload_namespace=\"team-a\"} 1",
            "ratify_verification_request_count 3",
        ] {
            assert!(text.contains(series), "missing {series} in\n{text}");
        }
        assert!(!text.contains("cache=\"tag\""), "{text}");
    }

    #[test]
    fn handles_are_shared() {
        let metrics = Metrics::new().unwrap();
        metrics.clone().inc_tls_reload("server_cert", false);
        assert_eq!(metrics.tls_reload_count("server_cert", false), 1);
        assert_eq!(metrics.tls_reload_count("server_cert", true), 0);
    }

    #[test]
    fn verifier_series_are_kept_for_a_bounded_number_of_subjects() {
        let metrics = Metrics::with_max_subjects(2).unwrap();
        let run = |subject, success| {
            metrics.observe_verifier(VerifierRun {
                verifier: "verifier-notation",
                subject,
                success,
                error: None,
                namespace: "",
                duration: Duration::from_millis(5),
            });
        };
        run("r/a@sha256:aa", true);
        run("r/a@sha256:aa", false);
        run("r/b@sha256:bb", true);
        run("r/a@sha256:aa", true);
        // Full: "b" was verified least recently and loses its series; "a" keeps both of its.
        run("r/c@sha256:cc", true);
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        let count = |subject: &str, success: &str| {
            format!(
                "ratify_verifier_duration_count{{error=\"\",subject=\"{subject}\",success=\"{success}\",verifier=\"verifier-notation\",workload_namespace=\"\"}}"
            )
        };
        assert!(
            text.contains(&format!("{} 2", count("r/a@sha256:aa", "true"))),
            "{text}"
        );
        assert!(
            text.contains(&format!("{} 1", count("r/a@sha256:aa", "false"))),
            "{text}"
        );
        assert!(
            text.contains(&format!("{} 1", count("r/c@sha256:cc", "true"))),
            "{text}"
        );
        assert!(!text.contains("r/b@sha256:bb"), "{text}");
        assert!(
            text.contains("imagegate_metrics_subjects_evicted_total 1"),
            "{text}"
        );
        assert_eq!(metrics.subject_series(), 2);
        // An evicted subject verified again starts a fresh series.
        run("r/b@sha256:bb", true);
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        assert!(
            text.contains(&format!("{} 1", count("r/b@sha256:bb", "true"))),
            "{text}"
        );
        assert!(!text.contains("r/a@sha256:aa"), "{text}");
        assert!(
            text.contains("imagegate_metrics_subjects_evicted_total 2"),
            "{text}"
        );
    }

    /// Issue 16 item 2: thousands of distinct failures (distinct subjects, every cause kind,
    /// several namespaces) never grow `ratify_verifier_duration` past its series cap, the
    /// `error` label only ever holds a cause kind, and the scrape stays bounded.
    #[test]
    fn thousands_of_distinct_failures_keep_series_and_scrape_bounded() {
        use imagegate_ratify::CauseKind;
        let (max_subjects, max_series) = (300, 500);
        let metrics = Metrics::with_limits(max_subjects, max_series).unwrap();
        let kinds = CauseKind::ALL;
        for i in 0..5000usize {
            let subject = format!("registry.test/app{i}@sha256:{i:064x}");
            // Each subject fails with three different kinds in three namespaces.
            for j in 0..3 {
                metrics.observe_verifier(VerifierRun {
                    verifier: "verifier-notation",
                    subject: &subject,
                    success: false,
                    error: Some(kinds[(i + j) % kinds.len()]),
                    namespace: ["", "team-a", "team-b"][j],
                    duration: Duration::from_millis(5),
                });
            }
            assert!(metrics.verifier_series() <= max_series, "at {i}");
            assert!(metrics.subject_series() <= max_subjects, "at {i}");
        }
        let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
        let counts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("ratify_verifier_duration_count{"))
            .collect();
        assert_eq!(counts.len(), metrics.verifier_series());
        assert!(counts.len() <= max_series && counts.len() > max_series / 2);
        let labels: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        for line in &counts {
            let error = line
                .split("error=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap();
            assert!(labels.contains(&error), "{line}");
        }
        // One series is 15 lines of at most ~260 bytes here; the rest of the registry is small.
        let per_series = text.len() / counts.len();
        assert!(per_series < 4_000, "{per_series} bytes per series");
        assert!(text.len() < max_series * 4_000, "{} bytes", text.len());
        let evicted = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap()
        };
        assert!(evicted("imagegate_metrics_series_evicted_total ") >= 15_000 - 500);
        assert!(evicted("imagegate_metrics_subjects_evicted_total ") >= 5000 - 300);
    }
}
