//! Ratify v1 and v2 served by one provider (one listener, one engine, one cache), end to end
//! with the real registry and notation: v2's exact answer, request order and `[ns]` keys, v2
//! mutate, v2's empty answer to an unreadable body, the same decisions through both
//! protocols, and one set of registry requests for a v1 and a v2 request of one cold image.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

#[path = "../../engine/tests/common/mod.rs"]
mod common;
#[path = "common/provider.rs"]
mod provider;

use std::net::SocketAddr;
use std::sync::Arc;

use common::fixture::{self, E2E_DN, E2E_SIGNATURE, E2E_SUBJECT};
use common::{config_json, counted_engine, judged_images, registry, vector_json, Calls};
use imagegate_provider::{Metrics, Server};
use imagegate_testkit::vectors_dir;

async fn post_raw(addr: SocketAddr, path: &str, body: Vec<u8>) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

async fn post(addr: SocketAddr, path: &str, keys: &[String]) -> String {
    let body = serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": keys}
    });
    let (status, text) = post_raw(addr, path, serde_json::to_vec(&body).unwrap()).await;
    assert_eq!(status, 200, "{text}");
    text
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// The engine (strict policy, `cert`, content caches off so that registry counts tell one
/// verification from two) behind a plain-HTTP provider.
async fn start(dir: &std::path::Path, cert: &str, calls: Arc<Calls>) -> (Server, SocketAddr) {
    let mut config = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join(cert)],
        serde_json::json!({"application/vnd.cncf.notary.signature": "any"}),
    );
    config["imagegate"] =
        serde_json::json!({"cache": {"manifestCacheBytes": 0, "blobCacheBytes": 0}});
    let engine = counted_engine(dir, &config, calls);
    provider::start(engine, Metrics::new().unwrap()).await
}

const V1: &str = "/ratify/gatekeeper/v1/verify";
const V2: &str = "/ratify/gatekeeper/v2/verify";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_answers_exactly_in_request_order_with_namespaced_keys() {
    let p = registry().pusher("v2ep/app");
    fixture::push_e2e(&p).await;
    let unsigned = fixture::push_unsigned(&p).await;
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(dir.path(), "cert-e2e.crt", Arc::default()).await;
    let host = registry().host();
    let signed = format!("{host}/v2ep/app@{E2E_SUBJECT}");
    let keys = vec![
        format!("[team-a]{signed}"),
        format!("{host}/v2ep/app@{unsigned}"),
        "nginx:1.25".to_owned(),
        format!("{host}/v2ep/app:v1"),
    ];
    let value = format!(
        r#"{{"succeeded":true,"artifactReports":[{{"subject":"{signed}","artifact":"{E2E_SIGNATURE}","results":[{{"verifierName":"verifier-notation","description":"Notation signature verification succeeded","detail":"{{\"Issuer\":\"{E2E_DN}\",\"SN\":\"{E2E_DN}\"}}"}}]}}]}}"#
    );
    let expected = format!(
        concat!(
            r#"{{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse","response":{{"items":["#,
            r#"{{"key":"{k0}","value":{value}}},"#,
            r#"{{"key":"{k1}","value":{{"succeeded":false,"artifactReports":null}}}},"#,
            r#"{{"key":"nginx:1.25","error":"failed to parse reference: invalid reference: missing registry or repository"}},"#,
            r#"{{"key":"{k3}","value":{value}}}]}}}}"#
        ),
        k0 = keys[0],
        k1 = keys[1],
        k3 = keys[3],
        value = value,
    );
    // Cold, then warm (cached verdicts): the same bytes.
    assert_eq!(post(addr, V2, &keys).await, expected);
    assert_eq!(post(addr, V2, &keys).await, expected);

    // v2 mutate: tag pinned, digest unchanged, a failure echoes the key minus `[ns]`.
    let m = post(
        addr,
        "/ratify/gatekeeper/v2/mutate",
        &[format!("{host}/v2ep/app:v1"), "[ns]nginx:1.25".to_owned()],
    )
    .await;
    let m = json(&m);
    assert_eq!(m["apiVersion"], "externaldata.gatekeeper.sh/v1beta1");
    assert_eq!(m["response"]["idempotent"], true);
    assert_eq!(m["response"]["items"][0]["value"], signed.as_str());
    assert_eq!(m["response"]["items"][1]["value"], "nginx:1.25");
    assert!(m["response"]["items"][1]["error"].is_string());

    // A body v2 cannot read: HTTP 200, empty body (v1 keeps its 400 with a systemError).
    let (status, text) = post_raw(addr, V2, b"{not json".to_vec()).await;
    assert_eq!((status, text.as_str()), (200, ""));
    let (status, text) = post_raw(addr, V1, b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    assert!(json(&text)["response"]["systemError"].is_string());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_verification_per_image_whatever_the_protocol() {
    let host = registry().host();
    for repo in ["v2ep/once-a", "v2ep/once-b"] {
        fixture::push_e2e(&registry().pusher(repo)).await;
    }
    let calls = Arc::new(Calls::default());
    let dir = tempfile::tempdir().unwrap();
    let (server, addr) = start(dir.path(), "cert-e2e.crt", calls.clone()).await;
    // v1 then v2 for one cold digest key; v2 then v1 for one cold tag key.
    let digest_key = format!("{host}/v2ep/once-a@{E2E_SUBJECT}");
    let tag_key = format!("{host}/v2ep/once-b:v1");
    for (paths, key, expected) in [
        ([V1, V2], &digest_key, [0, 1, 1, 1]),
        ([V2, V1], &tag_key, [1, 1, 1, 1]),
    ] {
        let before = calls.snapshot();
        for path in paths {
            let text = post(addr, path, std::slice::from_ref(key)).await;
            let v = json(&text)["response"]["items"][0]["value"].clone();
            let ok = if path == V1 {
                &v["isSuccess"]
            } else {
                &v["succeeded"]
            };
            assert_eq!(ok, true, "{path} {key}: {text}");
        }
        let after = calls.snapshot();
        let cost: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        // resolve (tags only), referrers, signature manifest, envelope: once.
        assert_eq!(cost, expected, "{key}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_decide_the_same() {
    let host = registry().host();
    let [signed, signed_tag, mixed, unsigned] = judged_images("v2ep/same-").await;
    let keys = vec![
        signed,
        format!("[team-a]{signed_tag}"),
        mixed,
        unsigned,
        format!("{host}/v2ep/same-missing:nope"),
    ];
    for cert in ["cert-e2e.crt", "cert-expired_e2e.crt"] {
        let dir = tempfile::tempdir().unwrap();
        let (server, addr) = start(dir.path(), cert, Arc::default()).await;
        let v1 = json(&post(addr, V1, &keys).await);
        let v2 = json(&post(addr, V2, &keys).await);
        for (i, key) in keys.iter().enumerate() {
            let (a, b) = (&v1["response"]["items"][i], &v2["response"]["items"][i]);
            assert_eq!(a["key"], b["key"]);
            assert_eq!(
                a["value"]["isSuccess"], b["value"]["succeeded"],
                "{cert} {key}"
            );
            assert_eq!(
                a["error"].is_string(),
                b["error"].is_string(),
                "{cert} {key}"
            );
        }
        let passed = v2["response"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["value"]["succeeded"] == true)
            .count();
        assert_eq!(passed, if cert == "cert-e2e.crt" { 3 } else { 0 }, "{cert}");
        server.stop().await.unwrap();
    }
}
