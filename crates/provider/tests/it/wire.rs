//! Wire format of verify and mutate: exact JSON, request order, echoed keys, concurrency bounds.

use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::support::{start, start_with};

/// The `value` the test engine returns, minus the time-dependent `remainingMs`.
fn strip_remaining(mut body: Value) -> Value {
    for item in body["response"]["items"].as_array_mut().unwrap() {
        if let Some(value) = item.get_mut("value").and_then(Value::as_object_mut) {
            assert!(value.remove("remainingMs").is_some());
        }
    }
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_response_is_ratify_shaped_in_request_order() {
    let h = start().await;
    let keys = [
        "registry.test/app:1",
        "[team-a]registry.test/app@sha256:00",
        "registry.test/crlf\r\n",
        "fail/registry.test/x",
        "[]registry.test/cluster",
    ];
    let (status, body) = h.verify(&keys).await;
    assert_eq!(status, 200);
    let value =
        |image: &str, ns: Value| json!({"image": image, "namespace": ns, "traceID": "trace-test"});
    assert_eq!(
        strip_remaining(body),
        json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1alpha1",
            "kind": "ProviderResponse",
            "response": {"items": [
                {"key": "registry.test/app:1", "value": value("registry.test/app:1", Value::Null)},
                {"key": "[team-a]registry.test/app@sha256:00",
                 "value": value("registry.test/app@sha256:00", json!("team-a"))},
                {"key": "registry.test/crlf\r\n", "value": value("registry.test/crlf\r\n", Value::Null)},
                {"key": "fail/registry.test/x",
                 "error": "VERIFY_REFERENCE_FAILURE: test failure for fail/registry.test/x"},
                {"key": "[]registry.test/cluster", "value": value("registry.test/cluster", Value::Null)},
            ]}
        })
    );
}

/// Issue 16 item 4: every item's `key` is exactly the requested key, byte for byte, whatever
/// control character it holds (Gatekeeper caches answers by the returned key, so a key
/// answered under a stripped form would poison another image's entry). On verify and on
/// mutate, for answers and for per-key errors alike, on the raw response bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_control_character_is_echoed_exactly() {
    let h = start().await;
    let controls: Vec<char> = (0u8..=0x1f).chain([0x7f]).map(char::from).collect();
    let mut keys = Vec::new();
    for c in &controls {
        // An answered key, a failing one and an unsplittable one, each with the character.
        keys.push(format!("registry.test/app{c}:v1"));
        keys.push(format!("[ns]fail/registry.test/x{c}y"));
        keys.push(format!("[n{c}s]registry.test/app"));
    }
    let body =
        crate::support::provider_request(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    for path in [
        imagegate_provider::VERIFY_PATH,
        imagegate_provider::MUTATE_PATH,
    ] {
        let response = h
            .client()
            .post(h.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let text = response.text().await.unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let items = parsed["response"]["items"].as_array().unwrap();
        assert_eq!(items.len(), keys.len(), "{path}");
        for (item, key) in items.iter().zip(&keys) {
            assert_eq!(item["key"].as_str(), Some(key.as_str()), "{path}: {key:?}");
            // The wire form is the JSON escape of the exact key (no stripped variant).
            assert!(
                text.contains(&format!(
                    "{{\"key\":{}",
                    serde_json::to_string(key).unwrap()
                )),
                "{path}: {key:?}"
            );
            if path == imagegate_provider::MUTATE_PATH && item.get("error").is_some() {
                assert_eq!(item["value"].as_str(), Some(key.as_str()), "{key:?}");
            }
        }
        // The stripped forms are never answered.
        for c in ['\r', '\n'] {
            let stripped = format!("registry.test/app{c}:v1").replace(c, "");
            assert!(
                items.iter().all(|i| i["key"] != stripped.as_str()),
                "{path}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn items_follow_request_order_not_completion_order() {
    let h = start().await;
    let keys = ["sleep-300/a", "sleep-200/b", "sleep-100/c", "d"];
    let (status, body) = h.verify(&keys).await;
    assert_eq!(status, 200);
    let items = body["response"]["items"].as_array().unwrap();
    let got: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(got, keys);
    assert!(items.iter().all(|i| i.get("error").is_none()), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_is_idempotent_and_echoes_key_on_error() {
    let h = start().await;
    let (status, body) = h
        .mutate(&["registry.test/app:1", "[ns]fail/x", "[ns"])
        .await;
    assert_eq!(status, 200);
    let digest = "ab".repeat(32);
    assert_eq!(
        body,
        json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1alpha1",
            "kind": "ProviderResponse",
            "response": {"idempotent": true, "items": [
                {"key": "registry.test/app:1", "value": format!("registry.test/app:1@sha256:{digest}")},
                {"key": "[ns]fail/x", "value": "[ns]fail/x",
                 "error": "VERIFY_REFERENCE_FAILURE: test failure for fail/x"},
                {"key": "[ns", "value": "[ns",
                 "error": "REFERENCE_INVALID: the key starts with '[' but the namespace prefix is never closed with ']'; use [namespace]image or a bare image reference"},
            ]}
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsplittable_keys_are_per_key_errors() {
    let h = start().await;
    let keys = ["", "[team-a", "[Team A]img", "[ns]", "registry.test/ok"];
    let (status, body) = h.verify(&keys).await;
    assert_eq!(status, 200);
    let items = body["response"]["items"].as_array().unwrap();
    assert_eq!(items.len(), keys.len());
    for item in &items[..4] {
        let error = item["error"].as_str().unwrap();
        assert!(error.starts_with("REFERENCE_INVALID: "), "{error}");
        assert!(item.get("value").is_none());
    }
    assert_eq!(items[4]["value"]["image"], "registry.test/ok");
    // Only the one valid key reached the engine.
    assert_eq!(h.handler.counters.started.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_key_fails_alone() {
    let h = start().await;
    let (status, body) = h.verify(&["panic/x", "registry.test/ok"]).await;
    assert_eq!(status, 200);
    let items = &body["response"]["items"];
    let error = items[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("EXECUTOR_FAILURE: the key handler panicked"),
        "{error}"
    );
    assert_eq!(items[1]["value"]["image"], "registry.test/ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_keys_in_one_request() {
    let h = start_with(true, |c| c.limits.max_keys = 10_000).await;
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("[ns-{}]registry.test/app-{i}:v1", i % 7))
        .collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (status, body) = h.verify(&refs).await;
    assert_eq!(status, 200);
    let items = body["response"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 10_000);
    for (i, (item, key)) in items.iter().zip(&keys).enumerate() {
        assert_eq!(item["key"], key.as_str());
        assert_eq!(item["value"]["image"], format!("registry.test/app-{i}:v1"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_one_request_are_bounded_per_request() {
    let h = start_with(true, |c| {
        c.concurrency.per_request = NonZeroUsize::new(3).unwrap()
    })
    .await;
    let keys = ["sleep-150/1"; 9];
    let started = Instant::now();
    let (status, _) = h.verify(&keys).await;
    assert_eq!(status, 200);
    assert_eq!(h.handler.counters.max_in_flight.load(Ordering::SeqCst), 3);
    // Three waves of 150 ms.
    assert!(started.elapsed() >= Duration::from_millis(450));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_all_requests_are_bounded_globally() {
    let h = start_with(true, |c| {
        c.concurrency.global = NonZeroUsize::new(2).unwrap();
        c.workers = NonZeroUsize::new(2);
    })
    .await;
    let keys = ["sleep-100/1"; 4];
    let (a, b) = tokio::join!(h.verify(&keys), h.verify(&keys));
    assert_eq!((a.0, b.0), (200, 200));
    assert_eq!(h.handler.counters.max_in_flight.load(Ordering::SeqCst), 2);
    assert_eq!(h.handler.counters.finished.load(Ordering::SeqCst), 8);
}
