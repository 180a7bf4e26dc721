//! `imagegate.concurrency.maxSignaturesPerSubject` at its boundary, against the real registry
//! and the real notation verifier: a subject with exactly the limit's number of signatures
//! verifies; one more fails with the limit's own message, before any signature manifest or
//! envelope is fetched (the expensive part).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::sync::Arc;

use common::{config_json, counted_engine, Calls};
use imagegate_engine::Engine;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::{sign_subject, Pki, Registry, SignImageOptions, SIGNING_TIME};

const LIMIT: usize = 3;

/// Pushes an image to `repo` and signs it `count` times (distinct signing times, so distinct
/// envelopes and signature manifests); returns the digest key.
async fn image_with_signatures(registry: &Registry, pki: &Pki, repo: &str, count: usize) -> String {
    let pusher = registry.pusher(repo);
    let subject = pusher.image("v1").await;
    let reference = pusher.reference("v1").with_digest(&subject.digest);
    for i in 0..count {
        let mut opts = SignImageOptions::new(EnvelopeFormat::Jws);
        opts.sign.signing_time = SIGNING_TIME + time::Duration::seconds(i as i64);
        sign_subject(&pusher, reference.clone(), &subject, pki, &opts).await;
    }
    format!("{}/{repo}@{}", registry.host(), subject.digest)
}

/// An engine trusting `pki`, with the limit set, counting registry calls into `calls`.
fn engine(dir: &tempfile::TempDir, pki: &Pki, calls: Arc<Calls>) -> Engine {
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&pki.trust_policy_json("s")).unwrap();
    let mut config = config_json(policy, &[root], serde_json::json!({"default": "all"}));
    config["imagegate"] = serde_json::json!({"concurrency": {"maxSignaturesPerSubject": LIMIT}});
    counted_engine(dir.path(), &config, calls)
}

#[tokio::test]
async fn max_signatures_per_subject_is_enforced_at_its_boundary() {
    let registry = Registry::start();
    let pki = Pki::generate();
    let at_limit = image_with_signatures(&registry, &pki, "limit/at", LIMIT).await;
    let over_limit = image_with_signatures(&registry, &pki, "limit/over", LIMIT + 1).await;
    let dir = tempfile::tempdir().unwrap();

    // Exactly the limit: every signature is fetched and verified.
    let calls = Arc::new(Calls::default());
    let result = engine(&dir, &pki, calls.clone())
        .verify_key(&at_limit, "at")
        .await
        .unwrap();
    assert!(result.is_success, "{result:#?}");
    assert_eq!(result.verifier_reports.len(), LIMIT, "{result:#?}");
    let [_, referrers, manifests, blobs] = calls.snapshot();
    assert!(referrers >= 1);
    assert_eq!(
        (manifests, blobs),
        (LIMIT, LIMIT),
        "one manifest and one envelope per signature"
    );

    // One over: refused with the limit's own message, and nothing of any signature fetched.
    let calls = Arc::new(Calls::default());
    let result = engine(&dir, &pki, calls.clone())
        .verify_key(&over_limit, "over")
        .await
        .unwrap();
    assert!(!result.is_success);
    let value = serde_json::to_value(&result).unwrap();
    let reason = value["verifierReports"][0]["errorReason"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        reason.contains(&format!(
            "the subject has {} signature referrers, more than the limit of {LIMIT} \
             (imagegate.concurrency.maxSignaturesPerSubject)",
            LIMIT + 1
        )),
        "{value:#}"
    );
    let [_, referrers, manifests, blobs] = calls.snapshot();
    assert!(referrers >= 1);
    assert_eq!(
        (manifests, blobs),
        (0, 0),
        "no signature fetched over the limit"
    );
}
