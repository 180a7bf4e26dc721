//! The one place where typed errors become Ratify error codes (`errors/types.go`).
//!
//! A Ratify error renders as `"<CODE>: <detail>"`; that string goes into a report's
//! `errorReason` or a response item's `error`.

use std::fmt;

use imagegate_oci::{OciError, Operation};

/// The Ratify v1 error codes the engine emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatifyCode {
    /// Registry credentials were refused.
    AuthDenied,
    /// Missing or invalid store / verifier / policy for the request's scope.
    ConfigInvalid,
    /// Fallback for executor-level failures (e.g. a timeout).
    ExecutorFailure,
    /// A blob (signature envelope) could not be fetched.
    GetBlobContentFailure,
    /// A referrer's manifest could not be fetched.
    GetReferrerManifestFailure,
    /// The subject (tag → digest) could not be resolved.
    GetSubjectDescriptorFailure,
    /// Referrers could not be listed.
    ListReferrersFailure,
    /// A manifest is not what the verifier needs.
    ManifestInvalid,
    /// No verifier produced a report for the subject.
    NoVerifierReport,
    /// The request key is not a valid image reference.
    ReferenceInvalid,
    /// A verifier failed to verify a referrer.
    VerifyReferenceFailure,
}

impl RatifyCode {
    /// The code as Ratify spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthDenied => "AUTH_DENIED",
            Self::ConfigInvalid => "CONFIG_INVALID",
            Self::ExecutorFailure => "EXECUTOR_FAILURE",
            Self::GetBlobContentFailure => "GET_BLOB_CONTENT_FAILURE",
            Self::GetReferrerManifestFailure => "GET_REFERRER_MANIFEST_FAILURE",
            Self::GetSubjectDescriptorFailure => "GET_SUBJECT_DESCRIPTOR_FAILURE",
            Self::ListReferrersFailure => "LIST_REFERRERS_FAILURE",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::NoVerifierReport => "NO_VERIFIER_REPORT",
            Self::ReferenceInvalid => "REFERENCE_INVALID",
            Self::VerifyReferenceFailure => "VERIFY_REFERENCE_FAILURE",
        }
    }

    /// `"<CODE>: <detail>"`.
    pub fn with(self, detail: impl fmt::Display) -> String {
        format!("{}: {detail}", self.as_str())
    }
}

impl fmt::Display for RatifyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The code for a registry error: by the operation that failed, as Ratify's ORAS store wraps
/// them; a malformed reference is `REFERENCE_INVALID` wherever it surfaces.
pub fn for_oci(err: &OciError) -> RatifyCode {
    match err {
        OciError::InvalidReference { .. } => RatifyCode::ReferenceInvalid,
        OciError::Config(_) => RatifyCode::ConfigInvalid,
        other => match other.operation() {
            Some(Operation::Resolve) => RatifyCode::GetSubjectDescriptorFailure,
            Some(Operation::ListReferrers) => RatifyCode::ListReferrersFailure,
            Some(Operation::FetchManifest) => RatifyCode::GetReferrerManifestFailure,
            Some(Operation::FetchBlob) => RatifyCode::GetBlobContentFailure,
            _ => RatifyCode::ExecutorFailure,
        },
    }
}

/// Whether a registry error may heal by itself (the registry unreachable, a timeout, an HTTP
/// 5xx or 429 answer) rather than being a definitive answer about the content. Only transient
/// failures let a stale verdict be served (`imagegate.cache.staleGraceSeconds`).
pub fn is_transient(err: &OciError) -> bool {
    match err {
        OciError::Transport { .. }
        | OciError::Timeout { .. }
        | OciError::RetriesExhausted { .. } => true,
        OciError::Status { status, .. } => *status == 429 || (500..600).contains(status),
        _ => false,
    }
}

/// `"<CODE>: <error>"` for a registry error.
pub fn oci_reason(err: &OciError) -> String {
    for_oci(err).with(err)
}

/// The code for a notation verification failure (Ratify wraps every verifier error in
/// `VERIFY_REFERENCE_FAILURE`).
pub fn for_notation(_err: &imagegate_notation::Error) -> RatifyCode {
    RatifyCode::VerifyReferenceFailure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op_err(op: Operation) -> OciError {
        OciError::NotFound {
            op,
            reference: "r".into(),
            detail: "d".into(),
        }
    }

    #[test]
    fn maps_each_operation() {
        let table = [
            (Operation::Resolve, "GET_SUBJECT_DESCRIPTOR_FAILURE"),
            (Operation::ListReferrers, "LIST_REFERRERS_FAILURE"),
            (Operation::FetchManifest, "GET_REFERRER_MANIFEST_FAILURE"),
            (Operation::FetchBlob, "GET_BLOB_CONTENT_FAILURE"),
        ];
        for (op, code) in table {
            let e = op_err(op);
            assert_eq!(for_oci(&e).as_str(), code);
            assert!(oci_reason(&e).starts_with(&format!("{code}: cannot ")));
        }
        let bad = OciError::InvalidReference {
            input: "X".into(),
            reason: "r".into(),
        };
        assert_eq!(for_oci(&bad), RatifyCode::ReferenceInvalid);
        assert_eq!(
            for_oci(&OciError::Config("c".into())),
            RatifyCode::ConfigInvalid
        );
        assert!(!is_transient(&bad));
        assert!(!is_transient(&op_err(Operation::FetchBlob)));
        let status = |status| OciError::Status {
            op: Operation::ListReferrers,
            reference: "r".into(),
            status,
            detail: String::new(),
        };
        assert!(is_transient(&status(503)) && is_transient(&status(429)));
        assert!(!is_transient(&status(400)) && !is_transient(&status(404)));
        let transport = OciError::Transport {
            op: Operation::Resolve,
            reference: "r".into(),
            detail: "connection refused".into(),
        };
        assert!(is_transient(&transport));
        assert_eq!(
            RatifyCode::NoVerifierReport.with("x"),
            "NO_VERIFIER_REPORT: x"
        );
    }
}
