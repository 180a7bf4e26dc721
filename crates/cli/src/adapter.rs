//! The two adapters between the engine and the provider.
//!
//! * [`EngineHandler`]: the provider's [`KeyHandler`] on an [`Engine`]. The provider splits
//!   keys, runs them concurrently under per-key deadlines (dropping a future at its deadline)
//!   and writes the Gatekeeper response; the engine decides each key. Failures cross typed
//!   ([`imagegate_ratify::Failure`]).
//! * [`GatedHandler`]: the same on the engine of Kubernetes mode, which exists only once the
//!   first configuration from the API server is in force (`CONFIG_INVALID` and not ready
//!   until then).
//! * [`PrometheusSink`]: the engine's [`MetricsSink`] on the provider's [`Metrics`].

use std::sync::Arc;

use futures_util::future::BoxFuture;
use imagegate_engine::metrics::MetricsSink;
use imagegate_engine::{Decision, Engine, KeyResult};
use imagegate_kube::Gate;
use imagegate_provider::{
    Deadlines, KeyContext, KeyHandler, KeyOutcome, Metrics, RenderedJson, RequestKey,
};
use imagegate_ratify::v2::V2Outcome;
use imagegate_ratify::{CauseKind, Failure, RatifyCode, SplitKey, VerifierRun};

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
/// `imagegate_stale_verdicts_total` and `ratify_registry_request_count_total`.
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

    fn verifier_run(&self, run: VerifierRun<'_>) {
        self.0.observe_verifier(run);
    }

    fn stale_verdict(&self, success: bool) {
        self.0.inc_stale_verdict(success);
    }

    fn config_reload(&self, ok: bool) {
        self.0.inc_config_reload(ok);
    }

    fn registry_request(&self, host: &str, status_code: u16, namespace: &str) {
        self.0.inc_registry_request(status_code, host, namespace);
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
        Some(match self.0.verify_v2_rendered_now(split(key))? {
            Ok(value) => KeyOutcome::Rendered(RenderedJson::from_rendered(value)),
            Err(e) => KeyOutcome::Error(e),
        })
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

    /// The executor timeouts of the configuration in force: a reload that changes
    /// `verificationRequestTimeout` or `mutationRequestTimeout` applies to the next request.
    fn deadlines(&self) -> Option<Deadlines> {
        let executor = self.0.executor_timeouts();
        Some(Deadlines {
            verify: executor.verification_timeout,
            mutate: executor.mutation_timeout,
        })
    }
}

fn outcome(result: KeyResult<RenderedJson>) -> KeyOutcome {
    match result {
        Ok(rendered) => KeyOutcome::Rendered(rendered),
        Err(e) => KeyOutcome::Error(e),
    }
}

/// [`KeyHandler`] for the engine behind a Kubernetes-mode [`Gate`].
#[derive(Clone, Debug)]
pub struct GatedHandler(pub Gate);

impl GatedHandler {
    fn engine(&self) -> Option<EngineHandler> {
        self.0.engine().map(EngineHandler)
    }
}

/// What every key gets while the gate is closed.
fn not_loaded() -> KeyOutcome {
    KeyOutcome::Error(Failure::new(
        RatifyCode::ConfigInvalid,
        CauseKind::Config,
        imagegate_kube::NOT_LOADED,
    ))
}

impl KeyHandler for GatedHandler {
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        match self.engine() {
            Some(handler) => handler.verify(key, ctx),
            None => Box::pin(async { not_loaded() }),
        }
    }

    fn verify_ready(&self, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        match self.engine() {
            Some(handler) => handler.verify_ready(key, trace_id),
            None => Some(not_loaded()),
        }
    }

    fn verify_v2(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        match self.engine() {
            Some(handler) => handler.verify_v2(key, ctx),
            None => Box::pin(async { not_loaded() }),
        }
    }

    fn verify_v2_ready(&self, key: &RequestKey) -> Option<KeyOutcome> {
        match self.engine() {
            Some(handler) => handler.verify_v2_ready(key),
            None => Some(not_loaded()),
        }
    }

    fn mutate(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        match self.engine() {
            Some(handler) => handler.mutate(key, ctx),
            None => Box::pin(async { not_loaded() }),
        }
    }

    fn ready(&self) -> bool {
        self.engine().is_some_and(|handler| handler.ready())
    }

    fn deadlines(&self) -> Option<Deadlines> {
        self.engine().and_then(|handler| handler.deadlines())
    }
}

fn v2_outcome(outcome: V2Outcome) -> KeyOutcome {
    match outcome {
        V2Outcome::Value(v) => KeyOutcome::Rendered(RenderedJson::from_rendered(v.render())),
        V2Outcome::Error(e) => KeyOutcome::Error(e),
    }
}
