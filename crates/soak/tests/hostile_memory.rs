//! Issue 16 item 1 through the real `imagegate serve` process: a hostile registry lists many
//! signature manifests per subject, each naming its own large, digest-correct envelope, and
//! 16 such keys arrive together with keys of a healthy registry. The provider's peak RSS
//! (`VmHWM`) must stay within a documented bound of its warm baseline, the process must live,
//! and every healthy key must get its correct verdict.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::time::Duration;

use imagegate_soak::hostile::{HostileOptions, HostileRegistry};
use imagegate_soak::images::{self, Trust};
use imagegate_soak::provider::{Layout, Provider, VERIFY_DEADLINE};
use imagegate_soak::registry::Registry;
use imagegate_soak::tls;

/// Peak RSS growth allowed over the warm baseline. The registry client holds at most
/// 16 MiB of one registry's content (32 MiB overall) at once; the rest is allocator slack,
/// connection buffers and the verifier's copies. Without the budget this scenario asks for
/// 16 keys x 24 envelopes x 1 MiB = 384 MiB.
const BOUND_KIB: u64 = 96 * 1024;

fn imagegate_bin() -> PathBuf {
    std::env::var_os("IMAGEGATE_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/imagegate"),
        PathBuf::from,
    )
}

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

async fn verify(client: &reqwest::Client, url: &str, keys: &[String]) -> serde_json::Value {
    let body = serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": keys}
    });
    let response = client.post(url).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let v: serde_json::Value = response.json().await.unwrap();
    assert!(
        v["response"]["systemError"]
            .as_str()
            .unwrap_or("")
            .is_empty(),
        "{v}"
    );
    v
}

/// `Some(isSuccess)` of `key`'s item, `None` for a per-key error.
fn outcome(answer: &serde_json::Value, key: &str) -> Option<bool> {
    let items = answer["response"]["items"].as_array().unwrap();
    let item = items
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("{key} not answered"));
    item["value"]["isSuccess"].as_bool()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_envelopes_cannot_exhaust_memory() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::start(dir.path()).await.unwrap();
    let set = images::push(registry.addr(), registry.addr(), 20, dir.path())
        .await
        .unwrap();
    let hostile = HostileRegistry::start(HostileOptions {
        subjects: 16,
        signatures: 24,
        envelope_bytes: 1024 * 1024 - 256,
    });

    let layout = Layout::new(
        dir.path(),
        (set.first_root.clone(), set.second_root.clone()),
    )
    .unwrap();
    let server_ca = tls::Ca::new("hostile server CA").unwrap();
    let client_ca = tls::Ca::new("hostile client CA").unwrap();
    let identity = client_ca.client("gatekeeper").unwrap();
    tls::write_server_files(
        &layout.cert_dir,
        &server_ca.server("imagegate hostile").unwrap(),
    )
    .unwrap();
    tls::write_atomic(&layout.client_ca, client_ca.cert_pem.as_bytes()).unwrap();
    layout.write_config(Trust::Both).unwrap();
    let provider = Provider::start(&imagegate_bin(), &layout, &dir.path().join("provider.log"))
        .await
        .unwrap();
    let client = tls::client(
        &server_ca,
        &identity,
        layout.provider,
        VERIFY_DEADLINE + Duration::from_secs(10),
    )
    .unwrap();
    let url = format!(
        "https://{}:{}/ratify/gatekeeper/v1/verify",
        tls::SERVER_NAME,
        layout.provider.port()
    );

    // Warm baseline: half of the healthy images, verified correctly.
    let (first, second) = set.images.split_at(10);
    let keys: Vec<String> = first.iter().map(|i| i.key.clone()).collect();
    let answer = verify(&client, &url, &keys).await;
    for image in first {
        assert_eq!(
            outcome(&answer, &image.key),
            Some(image.group.passes(Trust::Both)),
            "{answer}"
        );
    }
    let baseline = status_kib(provider.pid(), "VmHWM:");

    // The attack: four concurrent requests, each with every hostile key and the other half
    // of the healthy images (cold).
    let mut requests = Vec::new();
    for _ in 0..4 {
        let mut keys: Vec<String> = hostile.keys().to_vec();
        keys.extend(second.iter().map(|i| i.key.clone()));
        let (client, url) = (client.clone(), url.clone());
        requests.push(tokio::spawn(
            async move { verify(&client, &url, &keys).await },
        ));
    }
    for r in requests {
        let answer = r.await.unwrap();
        for image in second {
            assert_eq!(
                outcome(&answer, &image.key),
                Some(image.group.passes(Trust::Both)),
                "healthy key {} while the hostile registry is asked: {answer}",
                image.key
            );
        }
        for key in hostile.keys() {
            assert_ne!(outcome(&answer, key), Some(true), "{answer}");
        }
    }
    assert!(provider.alive(), "{}", provider.log_tail(30));
    let peak = status_kib(provider.pid(), "VmHWM:");
    let served = hostile.requests.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "hostile_memory: VmHWM baseline {baseline} KiB, peak {peak} KiB (+{} KiB, bound +{BOUND_KIB} KiB); hostile registry requests {served}",
        peak.saturating_sub(baseline)
    );
    assert!(
        served > 16,
        "the hostile registry was asked ({served} requests)"
    );
    assert!(
        peak.saturating_sub(baseline) <= BOUND_KIB,
        "peak RSS grew by {} KiB (bound {BOUND_KIB} KiB)",
        peak.saturating_sub(baseline)
    );
    tokio::task::block_in_place(|| provider.stop());
    let mut registry = registry;
    tokio::task::block_in_place(|| registry.down());
}
