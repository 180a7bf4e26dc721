//! The engine behind the real provider server (plain HTTP on loopback): the adapter to
//! `imagegate_provider::KeyHandler`, end to end with the real registry and notation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

// The engine tests' registry fixtures, shared rather than copied.
#[path = "../../engine/tests/common/mod.rs"]
mod common;
#[path = "common/provider.rs"]
mod provider;

use std::net::SocketAddr;

use common::fixture::{self, E2E_DN, E2E_SUBJECT};
use common::{config_json, options, registry, vector_json, write_config};
use imagegate_cli::adapter::{EngineHandler, PrometheusSink};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_provider::{KeyHandler, Metrics, Server};
use imagegate_testkit::vectors_dir;

async fn post(addr: SocketAddr, path: &str, keys: &[String]) -> serde_json::Value {
    let body = serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": keys}
    });
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("x-ms-correlation-request-id", "trace-from-gatekeeper")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.json().await.unwrap()
}

/// The engine (strict policy trusting the e2e certificate, recording into `metrics`) behind a
/// plain-HTTP provider on a free loopback port.
async fn start_provider(dir: &std::path::Path, metrics: &Metrics) -> (Server, SocketAddr) {
    let config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    let engine = Engine::from_config_file(
        &write_config(dir, &config),
        EngineOptions {
            metrics: Some(PrometheusSink::shared(metrics)),
            ..options()
        },
    )
    .unwrap();
    assert!(KeyHandler::ready(&EngineHandler(engine.clone())));
    provider::start(engine, metrics.clone()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_mutate_through_the_provider() {
    let p = registry().pusher("provider/app");
    fixture::push_e2e(&p).await;
    let unsigned = fixture::push_unsigned(&p).await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new().unwrap();
    let (server, addr) = start_provider(dir.path(), &metrics).await;

    let host = registry().host();
    let signed = format!("{host}/provider/app@{E2E_SUBJECT}");
    let keys = vec![
        format!("[team-a]{signed}"),
        format!("{host}/provider/app@{unsigned}"),
        "Not/A/Valid:Ref".to_owned(),
    ];
    let v = post(addr, "/ratify/gatekeeper/v1/verify", &keys).await;
    let items = v["response"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["key"], keys[0].as_str());
    assert_eq!(items[0]["value"]["isSuccess"], true);
    assert_eq!(items[0]["value"]["traceID"], "trace-from-gatekeeper");
    assert_eq!(
        items[0]["value"]["verifierReports"][0]["extensions"]["SN"],
        E2E_DN
    );
    assert_eq!(
        items[0]["value"]["verifierReports"][0]["subject"],
        signed.as_str()
    );
    assert_eq!(items[1]["value"]["isSuccess"], false);
    assert!(items[2]["error"]
        .as_str()
        .unwrap()
        .starts_with("REFERENCE_INVALID: "));

    let tagged = format!("{host}/provider/app:v1");
    let m = post(
        addr,
        "/ratify/gatekeeper/v1/mutate",
        &[tagged.clone(), signed.clone()],
    )
    .await;
    assert_eq!(m["response"]["idempotent"], true);
    let items = m["response"]["items"].as_array().unwrap();
    assert_eq!(items[0]["key"], tagged.as_str());
    assert_eq!(items[0]["value"], signed.as_str());
    assert_eq!(items[1]["value"], signed.as_str());

    let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
    assert!(text.contains("ratify_verifier_duration"), "{text}");
    assert!(text.contains("ratify_blob_cache_count"), "{text}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifier_metrics_keep_the_most_recent_subjects_only() {
    let host = registry().host();
    let mut subjects = Vec::new();
    for repo in ["metrics/one", "metrics/two", "metrics/three"] {
        fixture::push_e2e(&registry().pusher(repo)).await;
        subjects.push(format!("{host}/{repo}@{E2E_SUBJECT}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::with_max_subjects(2).unwrap();
    let (server, addr) = start_provider(dir.path(), &metrics).await;
    // One request each, in order: the first subject is the least recently verified.
    for subject in &subjects {
        let v = post(
            addr,
            "/ratify/gatekeeper/v1/verify",
            std::slice::from_ref(subject),
        )
        .await;
        assert_eq!(v["response"]["items"][0]["value"]["isSuccess"], true, "{v}");
    }
    let text = String::from_utf8(metrics.encode().unwrap()).unwrap();
    let series = |subject: &str| format!("subject=\"{subject}\"");
    assert!(!text.contains(&series(&subjects[0])), "{text}");
    assert!(text.contains(&series(&subjects[1])), "{text}");
    assert!(text.contains(&series(&subjects[2])), "{text}");
    assert!(
        text.contains("imagegate_metrics_subjects_evicted_total 1"),
        "{text}"
    );
    assert_eq!(metrics.subject_series(), 2);
    server.stop().await.unwrap();
}

/// Issue 16 item 7: the provider's per-key deadlines come from the configuration in force, so
/// raising `verificationRequestTimeout` (not only lowering it) takes effect on reload.
#[test]
fn deadlines_follow_a_configuration_reload() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    config["executor"]["verificationRequestTimeout"] = serde_json::json!(1000);
    let path = write_config(dir.path(), &config);
    let engine = Engine::from_config_file(&path, options()).unwrap();
    let handler = EngineHandler(engine.clone());
    let before = KeyHandler::deadlines(&handler).unwrap();
    assert_eq!(before.verify, std::time::Duration::from_millis(1000));
    config["executor"]["verificationRequestTimeout"] = serde_json::json!(4000);
    config["executor"]["mutationRequestTimeout"] = serde_json::json!(1500);
    write_config(dir.path(), &config);
    engine.reload().unwrap();
    let after = KeyHandler::deadlines(&handler).unwrap();
    assert_eq!(after.verify, std::time::Duration::from_millis(4000));
    assert_eq!(after.mutate, std::time::Duration::from_millis(1500));
}
