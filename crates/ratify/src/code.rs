//! Ratify's error codes ([`RatifyCode`]), imagegate's bounded classification of causes
//! ([`CauseKind`]) and the typed per-key failure ([`Failure`]) that carries both to the edge.
//!
//! A Ratify error renders as `"<CODE>: <detail>"` (Ratify v1 `errors/types.go`). That text is
//! produced in exactly one place, [`RatifyCode::render`]; everything else keeps the code, the
//! cause kind and the detail apart until a response item, a report's `errorReason` or a log
//! line needs the text.

use std::fmt;

/// The Ratify v1 error codes imagegate emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RatifyCode {
    /// Registry credentials were refused.
    AuthDenied,
    /// Missing or invalid store / verifier / policy for the request's scope.
    ConfigInvalid,
    /// A result could not be encoded.
    DataEncodingFailure,
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
    /// Every code, for tables and tests.
    pub const ALL: [Self; 12] = [
        Self::AuthDenied,
        Self::ConfigInvalid,
        Self::DataEncodingFailure,
        Self::ExecutorFailure,
        Self::GetBlobContentFailure,
        Self::GetReferrerManifestFailure,
        Self::GetSubjectDescriptorFailure,
        Self::ListReferrersFailure,
        Self::ManifestInvalid,
        Self::NoVerifierReport,
        Self::ReferenceInvalid,
        Self::VerifyReferenceFailure,
    ];

    /// The code as Ratify spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthDenied => "AUTH_DENIED",
            Self::ConfigInvalid => "CONFIG_INVALID",
            Self::DataEncodingFailure => "DATA_ENCODING_FAILURE",
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

    /// Ratify's wire text for an error with this code: `"<CODE>: <detail>"`. The one function
    /// that renders it.
    pub fn render(self, detail: impl fmt::Display) -> String {
        format!("{}: {detail}", self.as_str())
    }

    /// Same as [`RatifyCode::render`] (the name the call sites read best with).
    pub fn with(self, detail: impl fmt::Display) -> String {
        self.render(detail)
    }
}

impl fmt::Display for RatifyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a key or a signature failed, in a small closed set: what logs and metric labels carry
/// instead of error text (whose values are unbounded and may come from a hostile registry).
///
/// The wire never shows it; it is imagegate's classification beside Ratify's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CauseKind {
    /// Invalid configuration: a missing store, policy or verifier, an unusable trust store.
    Config,
    /// A certificate was expired (or not yet valid) when it had to be valid.
    Expired,
    /// A bug or an impossible state in imagegate.
    Internal,
    /// The registry served content that is malformed or not what was asked for (bad
    /// manifest, digest or size mismatch, an index where a manifest belongs).
    InvalidContent,
    /// The signature envelope, its signature or its certificate chain does not verify.
    InvalidSignature,
    /// The timestamp countersignature could not be verified.
    InvalidTimestamp,
    /// A bound was hit: content too large, too many referrers or signatures.
    LimitExceeded,
    /// The subject, a referrer or a blob does not exist in the registry.
    NotFound,
    /// The request key is not a valid image reference.
    ReferenceInvalid,
    /// The registry refused the credentials, access, or the token exchange failed.
    RegistryAuth,
    /// The registry broke the distribution protocol (a refused redirect, an odd answer).
    RegistryProtocol,
    /// The registry answered with an unexpected HTTP status (including overload: 429, 5xx).
    RegistryStatus,
    /// The registry could not be reached (DNS, connect, TLS, reset).
    RegistryUnreachable,
    /// A certificate of the signature or timestamp chain is revoked (or its status unknown
    /// where the policy enforces it).
    Revoked,
    /// Something did not finish within its deadline.
    Timeout,
    /// The trust policy does not apply or its conditions are not met (no applicable
    /// statement, missing user metadata).
    TrustPolicy,
    /// The subject has no signature a verifier could check.
    Unsigned,
    /// The signature is valid but its signer is not trusted.
    UntrustedSigner,
}

impl CauseKind {
    /// Every cause kind: the complete set of values a metric label can take.
    pub const ALL: [Self; 18] = [
        Self::Config,
        Self::Expired,
        Self::Internal,
        Self::InvalidContent,
        Self::InvalidSignature,
        Self::InvalidTimestamp,
        Self::LimitExceeded,
        Self::NotFound,
        Self::ReferenceInvalid,
        Self::RegistryAuth,
        Self::RegistryProtocol,
        Self::RegistryStatus,
        Self::RegistryUnreachable,
        Self::Revoked,
        Self::Timeout,
        Self::TrustPolicy,
        Self::Unsigned,
        Self::UntrustedSigner,
    ];

    /// The kind in `snake_case`, for logs and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Expired => "expired",
            Self::Internal => "internal",
            Self::InvalidContent => "invalid_content",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidTimestamp => "invalid_timestamp",
            Self::LimitExceeded => "limit_exceeded",
            Self::NotFound => "not_found",
            Self::ReferenceInvalid => "reference_invalid",
            Self::RegistryAuth => "registry_auth",
            Self::RegistryProtocol => "registry_protocol",
            Self::RegistryStatus => "registry_status",
            Self::RegistryUnreachable => "registry_unreachable",
            Self::Revoked => "revoked",
            Self::Timeout => "timeout",
            Self::TrustPolicy => "trust_policy",
            Self::Unsigned => "unsigned",
            Self::UntrustedSigner => "untrusted_signer",
        }
    }
}

impl fmt::Display for CauseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The classification of a failure without its text: the Ratify code its wire text starts
/// with (`None` where Ratify writes the detail bare, e.g. a Notation verification error in a
/// report's `errorReason`) and its [`CauseKind`]. Small and `Copy`, so reports can carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cause {
    /// The Ratify code, if the wire text carries one.
    pub code: Option<RatifyCode>,
    /// The cause kind.
    pub kind: CauseKind,
}

impl Cause {
    /// A cause whose wire text starts with `code`.
    pub fn new(code: RatifyCode, kind: CauseKind) -> Self {
        Self {
            code: Some(code),
            kind,
        }
    }

    /// A cause whose wire text is the bare detail.
    pub fn bare(kind: CauseKind) -> Self {
        Self { code: None, kind }
    }

    /// The wire text of a failure of this cause with `detail`.
    pub fn render(self, detail: impl fmt::Display) -> String {
        match self.code {
            Some(code) => code.render(detail),
            None => detail.to_string(),
        }
    }
}

/// A per-key failure, typed until it is written: the Ratify code, the cause kind and the
/// detail (what went wrong and what to do). Its `Display` is Ratify's wire text,
/// `"<CODE>: <detail>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.code.render(&self.detail))]
pub struct Failure {
    /// The Ratify error code.
    pub code: RatifyCode,
    /// The cause kind (logs, metrics).
    pub kind: CauseKind,
    /// What went wrong and what to do.
    pub detail: String,
}

impl Failure {
    /// A failure with `code`, `kind` and the display text of `detail`.
    pub fn new(code: RatifyCode, kind: CauseKind, detail: impl fmt::Display) -> Self {
        Self {
            code,
            kind,
            detail: detail.to_string(),
        }
    }

    /// The failure's classification.
    pub fn cause(&self) -> Cause {
        Cause::new(self.code, self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_spelled_as_ratify_spells_them() {
        for code in RatifyCode::ALL {
            let s = code.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(code.render("x"), format!("{s}: x"));
            assert_eq!(code.to_string(), s);
        }
        assert_eq!(
            RatifyCode::NoVerifierReport.with("x"),
            "NO_VERIFIER_REPORT: x"
        );
    }

    #[test]
    fn cause_kinds_are_distinct_snake_case_labels() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in CauseKind::ALL {
            let s = kind.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "duplicate label {s}");
        }
    }

    #[test]
    fn failures_render_as_code_colon_detail() {
        let f = Failure::new(
            RatifyCode::ReferenceInvalid,
            CauseKind::ReferenceInvalid,
            "bad \"key\"",
        );
        assert_eq!(f.to_string(), "REFERENCE_INVALID: bad \"key\"");
        assert_eq!(f.cause().render(&f.detail), f.to_string());
        assert_eq!(Cause::bare(CauseKind::UntrustedSigner).render("d"), "d");
    }
}
