//! Stale-if-error against a real registry that is stopped mid-test: within
//! `imagegate.cache.staleGraceSeconds` the last verdict is served marked stale (and counted in
//! `imagegate_stale_verdicts_total`); after it, the failed re-verification is served.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

// The engine tests' registry fixtures, shared rather than copied.
#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::fixture::{self, E2E_SUBJECT};
use common::{config_json, options, vector_json, write_config};
use imagegate_cli::adapter::PrometheusSink;
use imagegate_engine::{Engine, EngineOptions, VerifyResult, STALE_MARKER};
use imagegate_provider::Metrics;
use imagegate_testkit::{vectors_dir, Registry};

/// verdict TTL 1 s (referrers too), the given grace, one registry attempt, 2 s deadline.
fn engine(dir: &tempfile::TempDir, grace: u64, stale_failures: bool, metrics: &Metrics) -> Engine {
    let mut config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({"default": "all"}),
    );
    config["store"]["plugins"][0]["ttl"] = serde_json::json!(1);
    config["executor"]["verificationRequestTimeout"] = serde_json::json!(2000);
    config["imagegate"] = serde_json::json!({
        "cache": {"verdictTtlSeconds": 1, "failureTtlSeconds": 1,
                  "staleGraceSeconds": grace, "serveStaleFailures": stale_failures},
        "registry": {"maxAttempts": 1, "requestTimeoutMs": 1000, "connectTimeoutMs": 500}
    });
    let opts = EngineOptions {
        metrics: Some(PrometheusSink::shared(metrics)),
        ..options()
    };
    Engine::from_config_file(&write_config(dir.path(), &config), opts).unwrap()
}

fn is_stale(r: &VerifyResult) -> bool {
    assert!(!r.verifier_reports.is_empty(), "{r:?}");
    r.verifier_reports
        .iter()
        .all(|rep| rep.message.contains(STALE_MARKER))
}

fn stale_count(metrics: &Metrics, success: bool) -> u64 {
    let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
    let series = format!("imagegate_stale_verdicts_total{{success=\"{success}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// Verifies `key` and checks the answer came within the 2 s deadline (plus scheduling slack).
async fn verify(engine: &Engine, key: &str) -> VerifyResult {
    let started = Instant::now();
    let r = engine.verify_key(key, "t").await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    r
}

#[tokio::test]
async fn registry_outage_serves_the_last_success_stale_within_the_grace_only() {
    let registry = Registry::start();
    fixture::push_e2e(&registry.pusher("stale/app")).await;
    let key = format!("{}/stale/app@{E2E_SUBJECT}", registry.host());
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new().unwrap();
    let engine = engine(&dir, 4, false, &metrics);
    let (off_dir, off_metrics) = (tempfile::tempdir().unwrap(), Metrics::new().unwrap());
    let no_grace = self::engine(&off_dir, 0, false, &off_metrics);

    let fresh = verify(&engine, &key).await;
    assert!(fresh.is_success && !is_stale(&fresh), "{fresh:?}");
    let decided = Instant::now();
    assert!(verify(&no_grace, &key).await.is_success);

    drop(registry);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let stale = verify(&engine, &key).await;
    assert!(stale.is_success, "the last success is served: {stale:?}");
    assert!(is_stale(&stale), "{stale:?}");
    let message = &stale.verifier_reports[0].message;
    assert!(message.contains("(LIST_REFERRERS_FAILURE)"), "{message}");
    assert!(
        message.starts_with("Notation signature verification success"),
        "{message}"
    );
    assert_eq!(stale_count(&metrics, true), 1);

    let off = verify(&no_grace, &key).await;
    assert!(
        !off.is_success && !is_stale(&off),
        "grace 0 is off: {off:?}"
    );
    assert_eq!(stale_count(&off_metrics, true), 0);

    // Past TTL + grace (1 s + 4 s) the failed re-verification is the answer.
    let end = decided + Duration::from_millis(5300);
    tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
    let after = verify(&engine, &key).await;
    assert!(!after.is_success && !is_stale(&after), "{after:?}");
    assert!(
        after.verifier_reports[0]
            .error_reason
            .starts_with("LIST_REFERRERS_FAILURE: "),
        "{after:?}"
    );
    assert_eq!(stale_count(&metrics, true), 1);
}

#[tokio::test]
async fn stale_failures_are_served_only_when_switched_on() {
    let registry = Registry::start();
    let pusher = registry.pusher("stale/unsigned");
    let digest = fixture::push_unsigned(&pusher).await;
    let key = format!("{}/stale/unsigned@{digest}", registry.host());
    let (dir_on, dir_off) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (m_on, m_off) = (Metrics::new().unwrap(), Metrics::new().unwrap());
    let on = engine(&dir_on, 30, true, &m_on);
    let off = engine(&dir_off, 30, false, &m_off);
    for e in [&on, &off] {
        let r = verify(e, &key).await;
        assert!(
            !r.is_success && !is_stale(&r),
            "unsigned fails definitively: {r:?}"
        );
    }

    drop(registry);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let served = verify(&on, &key).await;
    assert!(!served.is_success && is_stale(&served), "{served:?}");
    assert!(
        !served.verifier_reports[0]
            .error_reason
            .starts_with("LIST_REFERRERS_FAILURE"),
        "the last definitive failure is served: {served:?}"
    );
    assert_eq!(stale_count(&m_on, false), 1);

    let not = verify(&off, &key).await;
    assert!(!not.is_success && !is_stale(&not), "{not:?}");
    assert!(
        not.verifier_reports[0]
            .error_reason
            .starts_with("LIST_REFERRERS_FAILURE: "),
        "{not:?}"
    );
    assert_eq!(stale_count(&m_off, false), 0);
}
