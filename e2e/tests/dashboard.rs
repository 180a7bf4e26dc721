//! `deploy/grafana/imagegate.json` queries only what a running `imagegate serve` exports.
//!
//! The real server (mTLS, Debian's registry) answers a few verifications: a signed and an
//! unsigned image, a repeat (verdict cache hit), a mutation, a malformed request, a stale
//! answer once the registry is gone, and a client-CA rotation. Then `/metrics` is scraped and
//! every metric name in the dashboard's PromQL must be among the exported series.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code
#![allow(clippy::disallowed_methods)] // compares the published expiry with the real wall clock

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use imagegate_e2e::binary::imagegate_binary;
use imagegate_e2e::engine_config::engine_config;
use imagegate_e2e::images::{fixture_cert, push_image, push_notation_fixture, FIXTURE_SUBJECT};
use imagegate_e2e::mtls::MtlsMaterial;
use imagegate_e2e::paths::repo_root;
use imagegate_e2e::process::ProviderProcess;
use imagegate_e2e::wire::{ProviderRequest, ProviderResponse};
use imagegate_oci::Reference;
use imagegate_testkit::Registry;

/// How long to wait for the server to record an event (stale answer, TLS reload). The TLS
/// poller looks every 5 s; a stale answer needs the 1 s verdict TTL to pass.
const EVENT_DEADLINE: Duration = Duration::from_secs(60);

/// Every `ratify_…` / `imagegate_…` metric name in the dashboard's queries.
fn dashboard_metric_names() -> BTreeSet<String> {
    let path = repo_root().join("deploy/grafana/imagegate.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(dashboard["uid"], "imagegate-provider");
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(
            panel["datasource"]["uid"], "${datasource}",
            "{}",
            panel["title"]
        );
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "panel {} has no query", panel["title"]);
        exprs.extend(
            targets
                .iter()
                .map(|t| t["expr"].as_str().unwrap().to_owned()),
        );
    }
    let mut names = BTreeSet::new();
    for expr in &exprs {
        // Identifiers: runs of [a-zA-Z0-9_:]; metric names here all carry our prefixes.
        for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')) {
            if word.starts_with("ratify_") || word.starts_with("imagegate_") {
                names.insert(word.to_owned());
            }
        }
    }
    names
}

/// Series names in a Prometheus text exposition.
fn exported_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_owned)
        .collect()
}

struct Client {
    runtime: tokio::runtime::Runtime,
    https: reqwest::Client,
    plain: reqwest::Client,
    port: u16,
    metrics_port: u16,
}

impl Client {
    fn provider(&self, op: &str, body: Vec<u8>) -> (u16, ProviderResponse) {
        let url = format!("https://localhost:{}/ratify/gatekeeper/v1/{op}", self.port);
        self.runtime.block_on(async {
            let response = self
                .https
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json().await.unwrap())
        })
    }

    fn verify(&self, keys: &[&str]) -> ProviderResponse {
        let body = ProviderRequest::new(keys.iter().map(|k| (*k).to_owned()).collect());
        let (status, response) = self.provider("verify", serde_json::to_vec(&body).unwrap());
        assert_eq!(status, 200, "{response:?}");
        response
    }

    fn metrics(&self) -> String {
        let url = format!("http://127.0.0.1:{}/metrics", self.metrics_port);
        self.runtime.block_on(async {
            let response = self.plain.get(url).send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200);
            response.text().await.unwrap()
        })
    }

    /// Scrapes until `name` is exported (or the deadline passes), doing `poke` before each try.
    fn wait_for(&self, name: &str, mut poke: impl FnMut()) -> bool {
        let deadline = Instant::now() + EVENT_DEADLINE;
        while Instant::now() < deadline {
            poke();
            if exported_names(&self.metrics()).contains(name) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    }
}

fn is_success(response: &ProviderResponse, key: &str) -> bool {
    let item = response
        .response
        .items
        .iter()
        .find(|i| i.key == key)
        .unwrap_or_else(|| panic!("no item for {key}: {response:?}"));
    item.value["isSuccess"] == true
}

#[test]
fn every_metric_the_dashboard_queries_is_exported_by_a_running_server() {
    let wanted = dashboard_metric_names();
    assert!(wanted.len() >= 8, "{wanted:?}");

    let work = tempfile::tempdir().unwrap();
    let registry = Registry::start();
    let client = registry.client();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let repo = Reference::parse(&format!("{}/dash/signed:v1", registry.host())).unwrap();
    runtime
        .block_on(push_notation_fixture(&client, &repo))
        .unwrap();
    let unsigned_ref = Reference::parse(&format!("{}/dash/unsigned:v1", registry.host())).unwrap();
    let unsigned = runtime
        .block_on(push_image(&client, &unsigned_ref, "dashboard test image\n"))
        .unwrap();
    let signed_key = format!("{}/dash/signed@{FIXTURE_SUBJECT}", registry.host());
    let unsigned_key = format!("{}/dash/unsigned@{}", registry.host(), unsigned.digest);

    // Short verdict TTL and a stale-if-error window, so a stale answer can be produced.
    let mut config = engine_config(&[fixture_cert()]);
    config["imagegate"] =
        serde_json::json!({"cache": {"verdictTtlSeconds": 1, "staleGraceSeconds": 600}});
    let config_path = work.path().join("config.json");
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let mtls = MtlsMaterial::generate().unwrap();
    let tls = mtls.write(work.path()).unwrap();
    let mut server = ProviderProcess::start(
        &imagegate_binary().unwrap(),
        &config_path,
        &tls,
        work.path(),
    )
    .unwrap();

    let roots = reqwest::Certificate::from_pem_bundle(mtls.server_ca_pem.as_bytes()).unwrap();
    let identity = reqwest::Identity::from_pem(mtls.client_identity_pem().as_bytes()).unwrap();
    let api = Client {
        https: reqwest::Client::builder()
            .tls_certs_only(roots)
            .identity(identity)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        plain: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        runtime,
        port: server.port,
        metrics_port: server.metrics_port,
    };

    // Verdicts: one success, one failure, then a repeat answered from the verdict cache.
    let first = api.verify(&[&signed_key, &unsigned_key]);
    assert!(is_success(&first, &signed_key), "{first:?}");
    assert!(!is_success(&first, &unsigned_key), "{first:?}");
    assert!(is_success(&api.verify(&[&signed_key]), &signed_key));
    // A mutation (tag to digest) and a malformed request (a system error).
    let tagged = format!("{}/dash/signed:v1", registry.host());
    let body = serde_json::to_vec(&ProviderRequest::new(vec![tagged])).unwrap();
    let (status, _) = api.provider("mutate", body);
    assert_eq!(status, 200);
    let (status, refused) = api.provider("verify", b"{not json".to_vec());
    assert_ne!(status, 200);
    assert!(!refused.response.system_error.is_empty(), "{refused:?}");

    // Every registry request is counted by host and status (Ratify's series): the signed
    // image's manifest, referrers and signature were fetched from the test registry.
    let registry_host = registry.host();
    let counted = api.metrics();
    let ok_series = format!(
        "ratify_registry_request_count_total{{registry_host=\"{registry_host}\",status_code=\"200\",workload_namespace=\"\"}}"
    );
    let ok_count: u64 = counted
        .lines()
        .find_map(|l| l.strip_prefix(&ok_series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {ok_series} in\n{counted}"));
    assert!(ok_count >= 3, "{ok_count} registry requests answered 200");

    // Stale answers: the registry is gone, the 1 s verdict has expired, re-verification fails
    // transiently, and the last good verdict is served within the grace window.
    drop(registry);
    let stale = api.wait_for("imagegate_stale_verdicts_total", || {
        assert!(is_success(&api.verify(&[&signed_key]), &signed_key));
    });
    assert!(
        stale,
        "no stale answer was recorded; log:\n{}",
        server.log()
    );

    // A configuration reload: config.json changes (a longer verdict TTL) and is put in force.
    config["imagegate"]["cache"]["verdictTtlSeconds"] = serde_json::json!(2);
    std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
    let config_reloaded = api.wait_for("imagegate_config_reload_count_total", || {});
    assert!(
        config_reloaded,
        "no configuration reload was recorded; log:\n{}",
        server.log()
    );

    // A TLS reload: the client CA file is rotated (to another valid CA certificate).
    std::fs::write(&tls.client_ca, &mtls.server_ca_pem).unwrap();
    let reloaded = api.wait_for("imagegate_tls_reload_count_total", || {});
    assert!(
        reloaded,
        "no TLS reload was recorded; log:\n{}",
        server.log()
    );

    let text = api.metrics();
    let exported = exported_names(&text);
    let missing: Vec<&String> = wanted.difference(&exported).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries metrics that imagegate serve does not export: {missing:?}\n\
         exported: {exported:?}"
    );
    assert!(
        text.contains("imagegate_tls_reload_count_total{material=\"client_ca\",result=\"ok\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("imagegate_config_reload_count_total{result=\"ok\"} 1"),
        "{text}"
    );
    // The serving certificate's expiry is published (the test CA issues it for a year or more).
    let not_after: i64 = text
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "imagegate_tls_cert_not_after_timestamp_seconds{material=\"server_cert\"} ",
            )
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no serving certificate expiry in\n{text}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(not_after > i64::try_from(now).unwrap(), "{not_after}");
    server.stop();
}
