//! [`imagegate_provider::KeyHandler`] for [`Engine`]: the provider's per-key seam.
//!
//! The provider splits keys, runs them concurrently under per-key deadlines (dropping a
//! future at its deadline) and writes the Gatekeeper response; the engine decides each key.

use futures_util::future::BoxFuture;
use imagegate_provider::{
    KeyContext, KeyHandler, KeyOutcome, Metrics, RenderedJson, RequestKey, VerifierRun,
};

use crate::engine::{Engine, KeyResult};
use crate::metrics::{MetricsSink, VerifierRunRecord};

/// Records into the provider's Prometheus metrics: `imagegate` cache counters, Ratify's
/// `ratify_blob_cache_count`, `ratify_verifier_duration` and `imagegate_stale_verdicts_total`.
impl MetricsSink for Metrics {
    fn cache_lookup(&self, cache: &'static str, hit: bool) {
        self.inc_cache(cache, hit);
        if cache == "blob" {
            self.inc_blob_cache(hit, "");
        }
    }

    fn verifier_run(&self, run: VerifierRunRecord<'_>) {
        self.observe_verifier(VerifierRun {
            verifier: run.verifier,
            subject: run.subject,
            success: run.success,
            error: run.error,
            namespace: run.namespace,
            duration: run.duration,
        });
    }

    fn stale_verdict(&self, success: bool) {
        self.inc_stale_verdict(success);
    }
}

impl KeyHandler for Engine {
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let engine = self.clone();
        Box::pin(async move {
            let result = engine
                .verify_rendered(key.namespace.as_deref(), &key.image, &ctx.trace_id)
                .await;
            outcome(result)
        })
    }

    /// A cached verdict answers at once, before a permit, a timer or a boxed future.
    fn verify_ready(&self, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        self.verify_cached_now(key.namespace.as_deref(), &key.image, trace_id)
            .map(outcome)
    }

    fn mutate(&self, key: RequestKey, _ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let engine = self.clone();
        Box::pin(async move {
            match engine
                .mutate_parts(key.namespace.as_deref(), &key.image)
                .await
            {
                Ok(image) => KeyOutcome::Value(serde_json::Value::String(image)),
                Err(e) => KeyOutcome::Error(e.to_string()),
            }
        })
    }

    fn ready(&self) -> bool {
        Engine::ready(self)
    }
}

fn outcome(result: KeyResult<RenderedJson>) -> KeyOutcome {
    match result {
        Ok(rendered) => KeyOutcome::Rendered(rendered),
        Err(e) => KeyOutcome::Error(e.to_string()),
    }
}
