//! The engine's metrics seam. `imagegate-cli` implements it on the provider's Prometheus
//! handle (`imagegate_cli::adapter::PrometheusSink`); tests or other front ends may supply
//! their own.

use std::time::Duration;

/// One verifier run, for a `ratify_verifier_duration`-style histogram.
#[derive(Debug, Clone, Copy)]
pub struct VerifierRunRecord<'a> {
    /// Verifier name.
    pub verifier: &'a str,
    /// Subject reference.
    pub subject: &'a str,
    /// Whether it succeeded.
    pub success: bool,
    /// The `errorReason`, or empty.
    pub error: &'a str,
    /// Request namespace, or empty.
    pub namespace: &'a str,
    /// How long it took.
    pub duration: Duration,
}

/// Receives the engine's measurements. Implementations must be cheap and must not block.
pub trait MetricsSink: Send + Sync + 'static {
    /// One lookup in a named cache (`verdict`, `tag`, `referrers`, `manifest`, `blob`).
    fn cache_lookup(&self, cache: &'static str, hit: bool);
    /// One verifier run.
    fn verifier_run(&self, run: VerifierRunRecord<'_>);
    /// One verdict served stale (stale-if-error); `success` is the served decision.
    /// Default: ignored.
    fn stale_verdict(&self, success: bool) {
        let _ = success;
    }
}
