//! The engine's metrics seam. `imagegate-cli` implements it on the provider's Prometheus
//! handle (`imagegate_cli::adapter::PrometheusSink`); tests or other front ends may supply
//! their own.

pub use imagegate_ratify::VerifierRun;

/// Receives the engine's measurements. Implementations must be cheap and must not block.
pub trait MetricsSink: Send + Sync + 'static {
    /// One lookup in a named cache (`verdict`, `tag`, `referrers`, `manifest`, `blob`).
    fn cache_lookup(&self, cache: &'static str, hit: bool);
    /// One verifier run.
    fn verifier_run(&self, run: VerifierRun<'_>);
    /// One verdict served stale (stale-if-error); `success` is the served decision.
    /// Default: ignored.
    fn stale_verdict(&self, success: bool) {
        let _ = success;
    }
    /// A changed configuration (files or Kubernetes objects) was put in force (`ok`) or
    /// rejected, the previous one staying in force. Default: ignored.
    fn config_reload(&self, ok: bool) {
        let _ = ok;
    }
    /// One HTTP request to a registry or its token service that got an answer: the
    /// registry's `host[:port]`, the status code, and the namespace whose store sent it (empty
    /// for the cluster's store). Requests without an answer are not counted (as in Ratify).
    /// Default: ignored.
    fn registry_request(&self, host: &str, status_code: u16, namespace: &str) {
        let _ = (host, status_code, namespace);
    }
}
