//! One structured log line per key outcome, for the operator who holds a trace ID from a
//! denial and wants to know why.
//!
//! Levels, as an operator reads them:
//!
//! * `info`: a verdict that was computed (verified now, not served from the cache), allowed or
//!   denied by policy (unsigned, untrusted signer, expired, revoked, not found…): the
//!   system working as configured.
//! * `warn`: a key that failed for a reason the operator must act on (registry unreachable
//!   or refusing credentials, a timeout, configuration, an internal error), whether it ended
//!   as a failed verdict, a per-key error or a deadline.
//! * `debug`: a verdict served from the cache or shared with a concurrent request for the same
//!   image (the line of the request that computed it is at `info`/`warn`).
//!
//! Fields: `namespace`, `subject`, `digest`, `is_success`, `verifier`, `cause` (a
//! [`CauseKind`], `none` on success), `code` (Ratify's code, if any), `signer` (the signing
//! certificate's subject on success), `reason` (the failed report's `errorReason`, the text
//! Gatekeeper receives as well), `duration_ms`, `cache` (`miss`: computed now; `hit`: from the cache or shared with a
//! concurrent request for the same image; `none`: no verdict).
//! The trace ID comes from the provider's `request` span (`span.trace_id` in JSON lines,
//! `request{trace_id=…}` in text). Nothing here is secret: every value is also in the
//! answer sent to Gatekeeper, and registry credentials never reach a report.

use imagegate_ratify::{CauseKind, Extensions, Failure, VerifierReport};
use tokio::time::Instant;

use crate::cache::Decision;

/// How the verdict of a key was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CacheStatus {
    /// Computed by this call.
    Miss,
    /// Not computed by this call: found in the verdict cache, or computed by a concurrent
    /// call for the same key and shared.
    Hit,
    /// No verdict (a per-key error or a deadline).
    None,
}

impl CacheStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Miss => "miss",
            Self::Hit => "hit",
            Self::None => "none",
        }
    }
}

/// Whether a cause calls for the operator (infrastructure, configuration, a bug) rather than
/// being a policy answer about the image.
pub(crate) fn needs_operator(kind: CauseKind) -> bool {
    matches!(
        kind,
        CauseKind::Config
            | CauseKind::Internal
            | CauseKind::RegistryAuth
            | CauseKind::RegistryProtocol
            | CauseKind::RegistryStatus
            | CauseKind::RegistryUnreachable
            | CauseKind::Timeout
    )
}

/// The report that explains a verdict: on success the first successful one, otherwise the
/// first failed one.
fn deciding(reports: &[VerifierReport], is_success: bool) -> Option<&VerifierReport> {
    reports.iter().find(|r| r.is_success == is_success)
}

/// The signing certificate's subject (`extensions.SN`) of a notation report.
fn signer(report: &VerifierReport) -> &str {
    report
        .extensions
        .as_ref()
        .and_then(Extensions::signer_subject)
        .unwrap_or_default()
}

/// Logs a key's [`Line`] at `level` with `message` (tracing wants both at the call site).
macro_rules! key_line {
    ($level:ident, $line:expr, $message:literal) => {{
        let l = $line;
        tracing::$level!(
            namespace = l.namespace,
            subject = l.subject,
            digest = l.digest,
            is_success = l.is_success,
            verifier = l.verifier,
            cause = l.cause,
            code = l.code,
            signer = l.signer,
            reason = l.reason,
            duration_ms = l.duration_ms,
            cache = l.cache,
            $message
        )
    }};
}

/// The outcome of one key as it is being decided: logs exactly once, when it is told the
/// outcome, or when it is dropped without one (the key's deadline passed and its future was
/// dropped).
pub(crate) struct KeyLog<'a> {
    namespace: Option<&'a str>,
    image: &'a str,
    started: Instant,
    /// The subject digest, once known.
    pub(crate) digest: Option<String>,
    done: bool,
}

impl<'a> KeyLog<'a> {
    /// Starts timing the key `image` requested from `namespace`.
    pub(crate) fn start(namespace: Option<&'a str>, image: &'a str) -> Self {
        Self {
            namespace,
            image,
            started: Instant::now(),
            digest: None,
            done: false,
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Logs a decision (a stale one is logged where it is served, at `warn`).
    pub(crate) fn verdict(mut self, subject: &str, decision: &Decision, cache: CacheStatus) {
        self.done = true;
        if decision.is_stale() {
            return;
        }
        let is_success = decision.is_success();
        let report = deciding(decision.reports(), is_success);
        let cause = report.and_then(|r| r.cause);
        let kind = match (is_success, cause) {
            (true, _) => "none",
            (false, Some(c)) => c.kind.as_str(),
            (false, None) => "unclassified",
        };
        let code = cause.and_then(|c| c.code).map_or("", |c| c.as_str());
        let line = Line {
            is_success,
            verifier: report.map_or("", |r| r.verifier_name.as_str()),
            cause: kind,
            code,
            signer: report.map_or("", signer),
            reason: report.map_or("", |r| r.error_reason.as_str()),
            cache: cache.as_str(),
            ..self.line(subject)
        };
        match cache {
            CacheStatus::Hit => key_line!(debug, line, "verdict"),
            _ if cause.is_some_and(|c| needs_operator(c.kind)) => key_line!(warn, line, "verdict"),
            _ => key_line!(info, line, "verdict"),
        }
    }

    /// Logs a per-key error (no verdict: an invalid reference, a tag that cannot be
    /// resolved, a missing component).
    pub(crate) fn failure(mut self, failure: &Failure) {
        self.done = true;
        self.error_line(failure.kind, failure.code.as_str(), &failure.to_string());
    }

    fn error_line(&self, kind: CauseKind, code: &str, reason: &str) {
        let line = Line {
            cause: kind.as_str(),
            code,
            reason,
            ..self.line(self.image)
        };
        if needs_operator(kind) {
            key_line!(warn, line, "key failed without a verdict");
        } else {
            key_line!(info, line, "key failed without a verdict");
        }
    }

    /// The line about `subject` with this key's namespace, digest and time so far, and no
    /// outcome yet.
    fn line<'b>(&'b self, subject: &'b str) -> Line<'b> {
        Line {
            namespace: self.namespace.unwrap_or_default(),
            subject,
            digest: self.digest.as_deref().unwrap_or_default(),
            is_success: false,
            verifier: "",
            cause: "",
            code: "",
            signer: "",
            reason: "",
            duration_ms: self.elapsed_ms(),
            cache: CacheStatus::None.as_str(),
        }
    }
}

/// The fields of every line a key logs, in the order they are logged.
struct Line<'a> {
    namespace: &'a str,
    subject: &'a str,
    digest: &'a str,
    is_success: bool,
    verifier: &'a str,
    cause: &'a str,
    code: &'a str,
    signer: &'a str,
    reason: &'a str,
    duration_ms: u64,
    cache: &'a str,
}

impl Drop for KeyLog<'_> {
    /// A key dropped before its outcome: its deadline passed (the engine's executor timeout or
    /// the provider's per-key deadline dropped the work).
    fn drop(&mut self) {
        if !self.done {
            self.error_line(
                CauseKind::Timeout,
                "EXECUTOR_FAILURE",
                "the key's deadline passed before it was decided",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagegate_ratify::Cause;

    #[test]
    fn the_deciding_report_explains_the_verdict() {
        let mut ok = VerifierReport::for_verifier("v", "notation");
        ok.is_success = true;
        ok.extensions = Some(serde_json::json!({"Issuer": "CN=i", "SN": "CN=s"}).into());
        let failed = VerifierReport {
            cause: Some(Cause::bare(CauseKind::UntrustedSigner)),
            ..VerifierReport::for_verifier("w", "notation")
        };
        let reports = [failed.clone(), ok.clone()];
        assert_eq!(deciding(&reports, true).map(signer), Some("CN=s"));
        assert_eq!(
            deciding(&reports, false).map(|r| r.verifier_name.as_str()),
            Some("w")
        );
        assert_eq!(signer(&failed), "");
        assert!(deciding(&[ok], false).is_none());
    }

    #[test]
    fn operator_causes_are_infrastructure_not_policy() {
        for kind in CauseKind::ALL {
            let policy = matches!(
                kind,
                CauseKind::Unsigned
                    | CauseKind::UntrustedSigner
                    | CauseKind::Expired
                    | CauseKind::Revoked
                    | CauseKind::NotFound
                    | CauseKind::InvalidSignature
                    | CauseKind::InvalidTimestamp
                    | CauseKind::TrustPolicy
                    | CauseKind::ReferenceInvalid
                    | CauseKind::InvalidContent
                    | CauseKind::LimitExceeded
            );
            assert_eq!(needs_operator(kind), !policy, "{kind}");
        }
    }
}
