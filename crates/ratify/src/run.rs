//! One verifier run as Ratify's `ratify_verifier_duration` histogram labels it; the engine
//! records it and the HTTP edge's metrics observe it (one type for both).

use std::time::Duration;

use crate::code::CauseKind;

/// One verifier run, for `ratify_verifier_duration` (labels `verifier`, `subject`, `success`,
/// `error`, `workload_namespace`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifierRun<'a> {
    /// The verifier's name (e.g. `verifier-notation`).
    pub verifier: &'a str,
    /// The subject reference (high cardinality, as in Ratify; bounded by the metrics).
    pub subject: &'a str,
    /// Whether the verifier succeeded.
    pub success: bool,
    /// Why it failed, as a bounded kind (never error text, which a hostile registry could
    /// vary without end); `None` on success.
    pub error: Option<CauseKind>,
    /// The namespace of a `[namespace]image` key, or empty.
    pub namespace: &'a str,
    /// How long it took.
    pub duration: Duration,
}

impl VerifierRun<'_> {
    /// The `error` label value: the cause kind, or empty.
    pub fn error_label(&self) -> &'static str {
        self.error.map_or("", CauseKind::as_str)
    }
}
