//! Structured logs: every line logged while serving a request carries its trace ID, and
//! request content stays out of info-level lines.
//!
//! Its own test binary, because it installs the process-wide subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use imagegate_provider::{
    KeyContext, KeyHandler, KeyOutcome, Metrics, RequestKey, Server, ServerConfig, Transport,
    VERIFY_PATH,
};
use serde_json::Value;

/// Collects log output in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct LoggingEngine;

impl KeyHandler for LoggingEngine {
    fn verify(&self, key: RequestKey, _ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        Box::pin(async move {
            tracing::info!("engine verified a key");
            KeyOutcome::Value(Value::String(key.image))
        })
    }

    fn mutate(&self, key: RequestKey, _ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        Box::pin(async move { KeyOutcome::Value(Value::String(key.image)) })
    }

    fn ready(&self) -> bool {
        true
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_line_carries_the_trace_id() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_env_filter("info")
        .with_writer(move || writer.clone())
        .init();

    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = ServerConfig::new(Transport::PlaintextForDevelopment);
    config.provider_addr = local;
    config.health_addr = None;
    config.metrics_addr = None;
    config.workers = std::num::NonZeroUsize::new(1);
    let metrics = Metrics::new().unwrap();
    let server = Server::start(config, Arc::new(LoggingEngine), metrics)
        .await
        .unwrap();
    let url = format!("http://{}{VERIFY_PATH}", server.addrs().provider);
    let client = reqwest::Client::new();
    let secret_key = "registry.test/do-not-log-me:v1";
    for (trace, body) in [
        (
            "trace-ok-1",
            format!(r#"{{"request":{{"keys":["{secret_key}"]}}}}"#),
        ),
        ("trace-bad-2", "not json at all".to_owned()),
    ] {
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-ms-correlation-request-id", trace)
            .body(body)
            .send()
            .await
            .unwrap();
    }
    server.stop().await.unwrap();

    let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let with_trace = |trace: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| l["span"]["trace_id"] == trace)
            .collect()
    };
    let messages = |trace: &str| -> Vec<String> {
        with_trace(trace)
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        messages("trace-ok-1"),
        ["engine verified a key", "request served"],
        "{text}"
    );
    assert_eq!(messages("trace-bad-2"), ["request refused"], "{text}");
    let refused = with_trace("trace-bad-2")[0];
    assert_eq!(refused["level"], "WARN");
    assert_eq!(refused["code"], "NOT_JSON");
    // Keys and bodies stay out of info-level logs.
    assert!(!text.contains("do-not-log-me"), "{text}");
    assert!(!text.contains("not json at all"), "{text}");
}
