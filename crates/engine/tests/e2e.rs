//! The engine against the real registry, the real oci client and the real notation verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
#![allow(clippy::disallowed_methods)] // Measures real elapsed time: an edge, not product code.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fixture::{self, E2E_DN, E2E_SIGNATURE, E2E_SUBJECT};
use common::registry;
use common::{config_json, options, vector_json, write_config, Calls};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_oci::NOTARY_SIGNATURE;
use imagegate_testkit::{vectors_dir, Pusher};

async fn pushed_e2e(repo: &str) -> Pusher {
    let p = registry().pusher(repo);
    fixture::push_e2e(&p).await;
    p
}

fn engine_with(
    dir: &tempfile::TempDir,
    policy: &str,
    cert: &str,
    artifact_policies: serde_json::Value,
    opts: EngineOptions,
) -> Engine {
    let config = config_json(
        vector_json(policy),
        &[vectors_dir().join(cert)],
        artifact_policies,
    );
    let path = write_config(dir.path(), &config);
    Engine::from_config_file(&path, opts).unwrap()
}

/// [`engine_with`] writing Ratify's report messages (`imagegate.messages: "ratify"`).
fn ratify_worded(
    dir: &tempfile::TempDir,
    policy: &str,
    cert: &str,
    artifact_policies: serde_json::Value,
) -> Engine {
    let mut config = config_json(
        vector_json(policy),
        &[vectors_dir().join(cert)],
        artifact_policies,
    );
    config["imagegate"] = serde_json::json!({"messages": "ratify"});
    let path = write_config(dir.path(), &config);
    Engine::from_config_file(&path, options()).unwrap()
}

fn strict_engine(dir: &tempfile::TempDir) -> Engine {
    engine_with(
        dir,
        "trustpolicy-strict.json",
        "cert-e2e.crt",
        serde_json::json!({"default": "all"}),
        options(),
    )
}

fn image(repo: &str, rest: &str) -> String {
    format!("{}/{repo}{rest}", registry().host())
}

#[tokio::test]
async fn e2e_fixture_verifies_with_issuer_and_sn() {
    pushed_e2e("e2e/valid").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = strict_engine(&dir);
    let key = image("e2e/valid", &format!("@{E2E_SUBJECT}"));
    let result = engine.verify_key(&key, "trace-1").await.unwrap();
    assert!(result.is_success, "{result:#?}");
    assert_eq!(result.version, "0.2.0");
    assert_eq!(result.trace_id, "trace-1");
    assert_eq!(result.timestamp, "2025-01-01T00:00:00Z");
    let value = serde_json::to_value(&result).unwrap();
    let report = &value["verifierReports"][0];
    assert_eq!(
        report,
        &serde_json::json!({
            "subject": key,
            "isSuccess": true,
            "name": "verifier-notation", "verifierName": "verifier-notation",
            "type": "notation", "verifierType": "notation",
            "referenceDigest": E2E_SIGNATURE,
            "artifactType": NOTARY_SIGNATURE,
            "message": "Notation signature verification success",
            "extensions": {"Issuer": E2E_DN, "SN": E2E_DN}
        })
    );
    assert_eq!(value["verifierReports"].as_array().unwrap().len(), 1);

    // A tag key resolves to the same digest and verifies; its subject stays in tag form.
    let tagged = image("e2e/valid", ":v1");
    let by_tag = engine.verify_key(&tagged, "t").await.unwrap();
    assert!(by_tag.is_success);
    assert_eq!(by_tag.verifier_reports[0].subject, tagged);

    // Mutation pins the tag; digests pass through untouched.
    let pinned = engine.mutate_key(&tagged, "t").await.unwrap();
    assert_eq!(pinned, image("e2e/valid", &format!("@{E2E_SUBJECT}")));
    assert_eq!(engine.mutate_key(&key, "t").await.unwrap(), key);

    // The CLI path explains it.
    let report = engine.verify_image(&key).await;
    assert!(report.is_success());
    let text = report.explain();
    assert!(text.contains("VERIFIED") && text.contains(E2E_DN), "{text}");
}

#[tokio::test]
async fn unsigned_image_fails_with_ratify_message() {
    let p = registry().pusher("e2e/unsigned");
    let digest = fixture::push_unsigned(&p).await;
    let dir = tempfile::tempdir().unwrap();
    let engine = ratify_worded(
        &dir,
        "trustpolicy-strict.json",
        "cert-e2e.crt",
        serde_json::json!({"default": "all"}),
    );
    let key = image("e2e/unsigned", &format!("@{digest}"));
    let result = engine.verify_key(&key, "t").await.unwrap();
    assert!(!result.is_success);
    let value = serde_json::to_value(&result).unwrap();
    assert_eq!(
        value["verifierReports"],
        serde_json::json!([{
            "subject": key,
            "isSuccess": false,
            "message": format!("failed to verify artifact: {key}"),
            "errorReason": format!(
                "No verification results for the artifact {key}. Ensure verifiers are properly \
                 configured and that artifact metadata is attached")
        }])
    );
}

#[tokio::test]
async fn untrusted_signer_and_identity_mismatch_fail_with_notation_reason() {
    pushed_e2e("e2e/untrusted").await;
    let key = image("e2e/untrusted", &format!("@{E2E_SUBJECT}"));
    let dir = tempfile::tempdir().unwrap();
    let other_cert = ratify_worded(
        &dir,
        "trustpolicy-strict.json",
        "cert-expired_e2e.crt",
        serde_json::json!({}),
    );
    let r = other_cert.verify_key(&key, "t").await.unwrap();
    assert!(!r.is_success);
    let report = &r.verifier_reports[0];
    assert!(!report.is_success);
    assert_eq!(report.verifier_name, "verifier-notation");
    assert_eq!(report.reference_digest, E2E_SIGNATURE);
    assert!(report
        .message
        .starts_with("Failed to validate the Notation signature: {MediaType:"));
    assert_eq!(
        report.error_reason,
        "the signature's certificate chain does not contain any trusted certificate"
    );
    assert!(report.extensions.is_none());

    let dir2 = tempfile::tempdir().unwrap();
    let mismatch = engine_with(
        &dir2,
        "trustpolicy-trusted-identity-mismatch.json",
        "cert-e2e.crt",
        serde_json::json!({}),
        options(),
    );
    let r = mismatch.verify_key(&key, "t").await.unwrap();
    assert!(!r.is_success);
    assert!(
        r.verifier_reports[0]
            .error_reason
            .contains("does not match the X.509 trusted identities"),
        "{:?}",
        r.verifier_reports[0]
    );
}

#[tokio::test]
async fn config_policy_any_all_default_over_real_signatures() {
    let p = pushed_e2e("e2e/policy").await;
    let invalid = fixture::add_invalid_signature(&p).await;
    let key = image("e2e/policy", &format!("@{E2E_SUBJECT}"));
    let cases = [
        (serde_json::json!({NOTARY_SIGNATURE: "any"}), true),
        (serde_json::json!({NOTARY_SIGNATURE: "all"}), false),
        (serde_json::json!({"default": "any"}), true),
        (serde_json::json!({"default": "all"}), false),
        (serde_json::json!({}), false),
        // A listed type with no report at all fails even though the signatures pass "any".
        (
            serde_json::json!({NOTARY_SIGNATURE: "any", "application/spdx+json": "any"}),
            false,
        ),
    ];
    let mut bad_seen = 0;
    for (policies, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine_with(
            &dir,
            "trustpolicy-strict.json",
            "cert-e2e.crt",
            policies.clone(),
            options(),
        );
        let r = engine.verify_key(&key, "t").await.unwrap();
        assert_eq!(r.is_success, expected, "{policies}: {r:#?}");
        // Verification stops once the decision cannot change, so the signature that finished
        // second may have no report (`any`: after the success; `all`: after the failure).
        assert!((1..=2).contains(&r.verifier_reports.len()), "{r:#?}");
        let Some(bad) = r
            .verifier_reports
            .iter()
            .find(|x| x.reference_digest == invalid)
        else {
            continue;
        };
        bad_seen += 1;
        assert!(!bad.is_success);
        assert!(
            bad.error_reason
                .contains("application/vnd.oci.image.layer.v1.tar")
                && bad.error_reason.contains("is not supported"),
            "{bad:?}"
        );
    }
    // Under `all` (three cases) the failing signature always runs and decides; with a listed
    // type missing nothing settles early. Those four always report it.
    assert!(bad_seen >= 4, "{bad_seen}");
}

#[tokio::test]
async fn fifty_concurrent_keys_make_one_fetch_per_object() {
    pushed_e2e("e2e/stampede").await;
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(Calls::default());
    let opts = EngineOptions {
        registry_wrapper: Some(common::counting(calls.clone())),
        ..options()
    };
    let engine = engine_with(
        &dir,
        "trustpolicy-strict.json",
        "cert-e2e.crt",
        serde_json::json!({}),
        opts,
    );
    let key = image("e2e/stampede", &format!("@{E2E_SUBJECT}"));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (engine, key) = (engine.clone(), key.clone());
            tokio::spawn(async move { engine.verify_key(&key, &format!("t{i}")).await })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap().is_success);
    }
    // resolve, referrers, manifests, blobs: a digest key needs no resolve.
    assert_eq!(calls.snapshot(), [0, 1, 1, 1]);
    let stats = engine.stats();
    assert_eq!(stats.verdicts, (49, 1));
    assert_eq!(
        (stats.referrers.1, stats.manifests.1, stats.blobs.1),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn concurrent_tag_keys_resolve_once() {
    pushed_e2e("e2e/stampede-tag").await;
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(Calls::default());
    let opts = EngineOptions {
        registry_wrapper: Some(common::counting(calls.clone())),
        ..options()
    };
    let engine = engine_with(
        &dir,
        "trustpolicy-strict.json",
        "cert-e2e.crt",
        serde_json::json!({}),
        opts,
    );
    let key = image("e2e/stampede-tag", ":v1");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (engine, key) = (engine.clone(), key.clone());
            tokio::spawn(async move {
                if i % 2 == 0 {
                    engine.verify_key(&key, "t").await.map(|r| r.is_success)
                } else {
                    engine
                        .mutate_key(&key, "t")
                        .await
                        .map(|m| m.ends_with(E2E_SUBJECT))
                }
            })
        })
        .collect();
    for t in tasks {
        assert!(t.await.unwrap().unwrap());
    }
    assert_eq!(calls.snapshot(), [1, 1, 1, 1]);
    assert_eq!(engine.stats().tags, (49, 1));
}

#[tokio::test]
async fn registry_down_fails_within_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    config["executor"]["verificationRequestTimeout"] = serde_json::json!(1500);
    config["executor"]["mutationRequestTimeout"] = serde_json::json!(1500);
    let engine = Engine::from_config_file(&write_config(dir.path(), &config), options()).unwrap();
    // A port held by a socket that is bound but not listening: connections are refused, and
    // no other process can start listening there while the test runs.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let down = held.local_addr().unwrap().to_string();
    // Each call is bounded by its deadline (retries of the refused connection included); the
    // margin allows for a loaded machine, a call without a deadline would retry far longer.
    let deadline = Duration::from_millis(1500);
    let bounded = |started: Instant, what: &str| {
        assert!(
            started.elapsed() < deadline + deadline / 2,
            "{what} took {:?}",
            started.elapsed()
        );
    };
    let started = Instant::now();
    let key = format!("{down}/app@{E2E_SUBJECT}");
    let r = engine.verify_key(&key, "t").await.unwrap();
    bounded(started, "verify by digest");
    assert!(!r.is_success);
    assert!(
        r.verifier_reports[0]
            .error_reason
            .starts_with("LIST_REFERRERS_FAILURE: "),
        "{:?}",
        r.verifier_reports[0]
    );
    let started = Instant::now();
    let tag = engine
        .verify_key(&format!("{down}/app:v1"), "t")
        .await
        .unwrap_err();
    bounded(started, "verify by tag");
    let text = tag.to_string();
    assert!(
        text.starts_with("GET_SUBJECT_DESCRIPTOR_FAILURE: ")
            || text.starts_with("EXECUTOR_FAILURE: operation timed out"),
        "{text}"
    );
    let started = Instant::now();
    let m = engine
        .mutate_key(&format!("{down}/app:v1"), "t")
        .await
        .unwrap_err();
    bounded(started, "mutate");
    assert!(!m.to_string().is_empty());
    drop(held);
}

#[tokio::test]
async fn missing_signature_manifest_is_a_failed_report() {
    // The referrers index lists the signature, but the signature manifest is gone.
    pushed_e2e("e2e/dangling").await;
    let deleted = reqwest::Client::new()
        .delete(format!(
            "{}/v2/e2e/dangling/manifests/{E2E_SIGNATURE}",
            registry().url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 202);
    let dir = tempfile::tempdir().unwrap();
    let engine = strict_engine(&dir);
    let r = engine
        .verify_key(&image("e2e/dangling", &format!("@{E2E_SUBJECT}")), "t")
        .await
        .unwrap();
    assert!(!r.is_success);
    let report = &r.verifier_reports[0];
    assert_eq!(report.reference_digest, E2E_SIGNATURE);
    assert!(
        report
            .error_reason
            .starts_with("GET_REFERRER_MANIFEST_FAILURE: "),
        "{report:?}"
    );
}

#[tokio::test]
async fn stalled_registry_hits_the_per_key_timeout() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    config["executor"]["verificationRequestTimeout"] = serde_json::json!(800);
    let engine = Engine::from_config_file(&write_config(dir.path(), &config), options()).unwrap();
    let started = Instant::now();
    let e = engine
        .verify_key(&format!("{addr}/app@{E2E_SUBJECT}"), "t")
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "EXECUTOR_FAILURE: operation timed out after duration 800ms"
    );
    assert!(
        started.elapsed() < Duration::from_millis(2000),
        "{:?}",
        started.elapsed()
    );
    hold.abort();
}

#[tokio::test]
async fn invalid_reference_is_a_per_key_error() {
    let dir = tempfile::tempdir().unwrap();
    let engine = strict_engine(&dir);
    for bad in ["Upper/Case:x", "repo@sha256:abc", "[ns]", ""] {
        let e = engine.verify_key(bad, "t").await.unwrap_err();
        assert!(
            e.to_string().starts_with("REFERENCE_INVALID: "),
            "{bad}: {e}"
        );
    }
}
