//! The two adapters between the engine and the provider.
//!
//! * [`EngineHandler`]: the provider's [`KeyHandler`] on an [`Engine`]. The provider splits
//!   keys, runs them concurrently under per-key deadlines (dropping a future at its deadline)
//!   and writes the Gatekeeper response; the engine decides each key. Failures cross typed
//!   ([`imagegate_ratify::Failure`]).
//! * [`PrometheusSink`]: the engine's [`MetricsSink`] on the provider's [`Metrics`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use imagegate_engine::metrics::{MetricsSink, VerifierRunRecord};
use imagegate_engine::{Decision, Engine, KeyResult};
use imagegate_provider::{
    KeyContext, KeyHandler, KeyOutcome, Metrics, RenderedJson, RequestKey, VerifierRun,
};
use imagegate_ratify::v2::V2Outcome;
use imagegate_ratify::SplitKey;

/// [`KeyHandler`] for an [`Engine`].
#[derive(Clone, Debug)]
pub struct EngineHandler(pub Engine);

impl EngineHandler {
    /// The handler for `engine`, ready to hand to the provider.
    pub fn shared(engine: Engine) -> Arc<Self> {
        Arc::new(Self(engine))
    }
}

/// [`MetricsSink`] for the provider's Prometheus [`Metrics`]: `imagegate` cache counters,
/// Ratify's `ratify_blob_cache_count`, `ratify_verifier_duration` and
/// `imagegate_stale_verdicts_total`.
#[derive(Clone, Debug)]
pub struct PrometheusSink(pub Metrics);

impl PrometheusSink {
    /// The sink for `metrics`, ready to put in [`imagegate_engine::EngineOptions::metrics`].
    pub fn shared(metrics: &Metrics) -> Arc<dyn MetricsSink> {
        Arc::new(Self(metrics.clone()))
    }
}

impl MetricsSink for PrometheusSink {
    fn cache_lookup(&self, cache: &'static str, hit: bool) {
        self.0.inc_cache(cache, hit);
        if cache == "blob" {
            self.0.inc_blob_cache(hit, "");
        }
    }

    fn verifier_run(&self, run: VerifierRunRecord<'_>) {
        self.0.observe_verifier(VerifierRun {
            verifier: run.verifier,
            subject: run.subject,
            success: run.success,
            error: run.error,
            namespace: run.namespace,
            duration: run.duration,
        });
    }

    fn stale_verdict(&self, success: bool) {
        self.0.inc_stale_verdict(success);
    }
}

fn split(key: &RequestKey) -> SplitKey<'_> {
    SplitKey {
        namespace: key.namespace.as_deref(),
        image: &key.image,
    }
}

impl KeyHandler for EngineHandler {
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let engine = self.0.clone();
        Box::pin(async move {
            let rendered = match engine.decide(split(&key)).await {
                Ok(decision) => engine.render(&decision, &ctx.trace_id),
                Err(e) => Err(e),
            };
            outcome(rendered)
        })
    }

    /// A cached verdict answers at once, before a permit, a timer or a boxed future.
    fn verify_ready(&self, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        let decided: KeyResult<Decision> = self.0.decide_now(split(key))?;
        Some(outcome(
            decided.and_then(|decision| self.0.render(&decision, trace_id)),
        ))
    }

    /// Ratify v2: the same verdict as [`KeyHandler::verify`] (one verification whatever the
    /// protocol), rendered as v2's result.
    fn verify_v2(&self, key: RequestKey, _ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let engine = self.0.clone();
        Box::pin(async move { v2_outcome(engine.verify_v2(split(&key)).await) })
    }

    /// A cached verdict for a digest key answers at once.
    fn verify_v2_ready(&self, key: &RequestKey) -> Option<KeyOutcome> {
        self.0.verify_v2_now(split(key)).map(v2_outcome)
    }

    fn mutate(&self, key: RequestKey, _ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let engine = self.0.clone();
        Box::pin(async move {
            match engine.mutate(split(&key)).await {
                Ok(image) => KeyOutcome::Value(serde_json::Value::String(image)),
                Err(e) => KeyOutcome::Error(e),
            }
        })
    }

    fn ready(&self) -> bool {
        self.0.ready()
    }
}

fn outcome(result: KeyResult<RenderedJson>) -> KeyOutcome {
    match result {
        Ok(rendered) => KeyOutcome::Rendered(rendered),
        Err(e) => KeyOutcome::Error(e),
    }
}

fn v2_outcome(outcome: V2Outcome) -> KeyOutcome {
    match outcome {
        V2Outcome::Value(v) => KeyOutcome::Rendered(RenderedJson::from_rendered(v.render())),
        V2Outcome::Error(e) => KeyOutcome::Error(e),
    }
}
