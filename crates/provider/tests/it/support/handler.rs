//! A test engine: echoes keys, sleeps, fails or panics on request, and counts what it saw.
//!
//! Image names steer it: `sleep-<ms>/...` sleeps first, `fail/...` returns an error,
//! `panic/...` panics; anything else is echoed back.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use imagegate_provider::{
    Failure, KeyContext, KeyHandler, KeyOutcome, Metrics, RequestKey, VerifierRun,
};
use imagegate_ratify::{CauseKind, RatifyCode};
use serde_json::json;
use tokio::time::Instant;

#[derive(Default)]
pub struct Counters {
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub started: AtomicUsize,
    pub finished: AtomicUsize,
    /// Futures dropped before they finished (cancelled at their deadline).
    pub cancelled: AtomicUsize,
}

pub struct TestHandler {
    pub ready: AtomicBool,
    pub counters: Arc<Counters>,
    pub metrics: Metrics,
}

impl TestHandler {
    pub fn new(metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            ready: AtomicBool::new(true),
            counters: Arc::default(),
            metrics,
        })
    }

    fn run(
        &self,
        key: RequestKey,
        ctx: KeyContext,
        mutate: bool,
    ) -> BoxFuture<'static, KeyOutcome> {
        let counters = Arc::clone(&self.counters);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let mut guard = Flight::start(counters);
            let remaining_ms = ctx
                .deadline
                .saturating_duration_since(Instant::now())
                .as_millis() as u64;
            if let Some(ms) = sleep_ms(&key.image) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            tracing::info!(image = %key.image, "test engine decided a key");
            guard.done = true;
            if key.image.starts_with("panic/") {
                panic!("test engine asked to panic");
            }
            if key.image.starts_with("fail/") {
                return KeyOutcome::Error(Failure::new(
                    RatifyCode::VerifyReferenceFailure,
                    CauseKind::InvalidSignature,
                    format_args!("test failure for {}", key.image),
                ));
            }
            if mutate {
                return KeyOutcome::Value(json!(format!(
                    "{}@sha256:{}",
                    key.image,
                    "ab".repeat(32)
                )));
            }
            metrics.inc_registry_request(
                200,
                "registry.test",
                key.namespace.as_deref().unwrap_or(""),
            );
            metrics.inc_blob_cache(false, "");
            metrics.observe_verifier(VerifierRun {
                verifier: "verifier-notation",
                subject: &key.image,
                success: true,
                error: "",
                namespace: "",
                duration: Duration::from_millis(3),
            });
            KeyOutcome::Value(json!({
                "image": key.image,
                "namespace": key.namespace,
                "traceID": ctx.trace_id,
                "remainingMs": remaining_ms,
            }))
        })
    }
}

impl KeyHandler for TestHandler {
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        self.run(key, ctx, false)
    }

    fn mutate(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        self.run(key, ctx, true)
    }

    fn ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

fn sleep_ms(image: &str) -> Option<u64> {
    image
        .strip_prefix("sleep-")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// Tracks concurrency and cancellation of one key future.
struct Flight {
    counters: Arc<Counters>,
    done: bool,
}

impl Flight {
    fn start(counters: Arc<Counters>) -> Self {
        counters.started.fetch_add(1, Ordering::SeqCst);
        let now = counters.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        counters.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self {
            counters,
            done: false,
        }
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        self.counters.in_flight.fetch_sub(1, Ordering::SeqCst);
        let counter = if self.done {
            &self.counters.finished
        } else {
            &self.counters.cancelled
        };
        counter.fetch_add(1, Ordering::SeqCst);
    }
}
