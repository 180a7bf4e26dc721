//! The v2 answer for a key, built from a verdict's reports (Ratify v1's shape, which the
//! engine keeps), so one verification serves both protocols; and v2's wording of failures.
//!
//! How the reports map (Ratify v2 semantics, reference §3):
//!
//! * a report on a referrer (it has a `referenceDigest`) becomes an [`ArtifactReport`] with
//!   one result: on success the verifier's v2 description and its extensions as `detail`; on
//!   a verification failure the reason, without the v1 error code, as `errorReason`
//!   (notation-go's words where the cause is typed, e.g. an untrusted signer);
//! * a failure to *fetch* (listing referrers, a signature manifest or envelope, credentials,
//!   a malformed signature manifest) is a Go error in v2: the key gets an `error`, no value;
//! * a subject-level report without such a failure (no signature referrer the verifiers
//!   apply to) means nothing was checked: `artifactReports` is `null` (v2's unsigned answer).
//!
//! Known difference: the engine only lists referrers its verifiers apply to, so a referrer no
//! verifier handles (an SBOM) gets no report, where v2 writes one without `results`.

use crate::{CauseKind, Extensions, Failure, RatifyCode, VerifierReport};

use super::result::{ArtifactReport, V2Result, V2VerifierResult};

/// Ratify v2's notation success description.
pub const NOTATION_SUCCEEDED: &str = "Notation signature verification succeeded";
/// The prefix of v2's errors for failures while producing reports.
pub const AGGREGATE_PREFIX: &str = "failed to generate and aggregate verifier reports: ";
/// notation-go's text for a signature no trusted certificate vouches for.
pub const UNTRUSTED_SIGNER: &str = "signature is not produced by a trusted signer";
/// How v2 starts the error for an image no Executor scope covers.
pub const NO_EXECUTOR_PREFIX: &str = "failed to match executor for artifact";

/// One v2 verify item: a result, or the failure whose v2 wording ([`key_error`]) is written
/// as the item's `error` instead.
#[derive(Debug, Clone, PartialEq)]
pub enum V2Outcome {
    /// `value`.
    Value(V2Result),
    /// `error` (no `value`).
    Error(Failure),
}

/// The v2 outcome for a verdict: `subject` is the digested reference of the image
/// (`registry/repository@sha256:…`), `succeeded` the policy decision, `reports` the verdict's
/// reports.
pub fn from_v1(subject: &str, succeeded: bool, reports: &[VerifierReport]) -> V2Outcome {
    let mut artifact_reports = Vec::new();
    for report in reports {
        let (text_code, detail) = split_code(&report.error_reason);
        let code = report.cause.and_then(|c| c.code).or(text_code);
        if let (false, Some(code)) = (report.is_success, code) {
            if aborts(code) {
                let kind = report.cause.map_or(CauseKind::Internal, |c| c.kind);
                return V2Outcome::Error(Failure::new(code, kind, detail));
            }
        }
        if report.reference_digest.is_empty() {
            // Nothing was checked on this subject (no applicable referrer).
            continue;
        }
        let mut result = V2VerifierResult {
            verifier_name: report.verifier_name.clone(),
            ..V2VerifierResult::default()
        };
        if report.is_success {
            result.description = description(&report.verifier_type);
            result.detail = report.extensions.as_ref().map(Extensions::to_value);
        } else {
            let kind = report.cause.map(|c| c.kind);
            result.error_reason = v2_reason(kind, detail);
        }
        artifact_reports.push(ArtifactReport {
            subject: subject.to_owned(),
            artifact: report.reference_digest.clone(),
            results: vec![result],
            artifact_reports: nested(subject, &report.nested_results),
        });
    }
    V2Outcome::Value(V2Result {
        succeeded,
        artifact_reports: (!artifact_reports.is_empty()).then_some(artifact_reports),
    })
}

/// The v2 error text for a key that could not be decided at all.
pub fn key_error(err: &Failure) -> String {
    match err.code {
        _ if err.kind == CauseKind::Timeout => deadline_error(),
        RatifyCode::ReferenceInvalid => format!("failed to parse reference: {}", err.detail),
        RatifyCode::ConfigInvalid if err.detail.starts_with(NO_EXECUTOR_PREFIX) => {
            err.detail.clone()
        }
        _ => format!("{AGGREGATE_PREFIX}{}", err.detail),
    }
}

/// The v2 error text for a key whose deadline passed (v2 runs each request under one
/// context deadline).
pub fn deadline_error() -> String {
    format!("{AGGREGATE_PREFIX}context deadline exceeded")
}

fn nested(subject: &str, reports: &[VerifierReport]) -> Vec<ArtifactReport> {
    match from_v1(subject, false, reports) {
        V2Outcome::Value(v) => v.artifact_reports.unwrap_or_default(),
        V2Outcome::Error(_) => Vec::new(),
    }
}

/// Codes whose failures are Go errors in v2 (the key aborts) rather than verifier results.
fn aborts(code: RatifyCode) -> bool {
    !matches!(
        code,
        RatifyCode::VerifyReferenceFailure | RatifyCode::NoVerifierReport
    )
}

/// The v2 description of a successful verifier of type `kind`.
fn description(kind: &str) -> String {
    match kind {
        "notation" => NOTATION_SUCCEEDED.to_owned(),
        other => format!("{other} verification succeeded"),
    }
}

/// A failure reason in notation-go's words where imagegate words it differently.
fn v2_reason(kind: Option<CauseKind>, detail: &str) -> String {
    if kind == Some(CauseKind::UntrustedSigner)
        || detail.contains("does not contain any trusted certificate")
    {
        return UNTRUSTED_SIGNER.to_owned();
    }
    detail.to_owned()
}

/// Splits `"<CODE>: <detail>"` into the Ratify code and the detail; text without a known code
/// is all detail.
pub fn split_code(reason: &str) -> (Option<RatifyCode>, &str) {
    if let Some((head, rest)) = reason.split_once(": ") {
        if let Some(code) = RatifyCode::ALL.iter().copied().find(|c| c.as_str() == head) {
            return (Some(code), rest);
        }
    }
    (None, reason)
}
