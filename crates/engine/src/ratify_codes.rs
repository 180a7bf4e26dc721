//! The one place where the typed errors of the layers below (registry, Notation) are
//! classified: each becomes a [`Cause`], a Ratify code (`errors/types.go`) and a bounded
//! [`CauseKind`]. The wire text itself is rendered by `imagegate-ratify`
//! ([`RatifyCode::render`], [`Failure`]'s `Display`).
//!
//! The functions are named translations in the manner of rustls' `pki_error`: one match per
//! error type, each with a table test below.

use imagegate_notation::error::{AuthenticTimestampError, AuthenticityError};
use imagegate_oci::{OciError, Operation};

pub use imagegate_ratify::{Cause, CauseKind, Failure, RatifyCode};

/// The cause of a registry error: the code by the operation that failed, as Ratify's ORAS
/// store wraps them (a malformed reference is `REFERENCE_INVALID` wherever it surfaces), and
/// the kind by what went wrong.
pub fn for_oci(err: &OciError) -> Cause {
    let code = match err {
        OciError::InvalidReference { .. } => RatifyCode::ReferenceInvalid,
        OciError::Config(_) => RatifyCode::ConfigInvalid,
        other => match other.operation() {
            Some(Operation::Resolve) => RatifyCode::GetSubjectDescriptorFailure,
            Some(Operation::ListReferrers) => RatifyCode::ListReferrersFailure,
            Some(Operation::FetchManifest) => RatifyCode::GetReferrerManifestFailure,
            Some(Operation::FetchBlob) => RatifyCode::GetBlobContentFailure,
            _ => RatifyCode::ExecutorFailure,
        },
    };
    Cause::new(code, oci_kind(err))
}

/// What went wrong in a registry error.
fn oci_kind(err: &OciError) -> CauseKind {
    match err {
        OciError::InvalidReference { .. } => CauseKind::ReferenceInvalid,
        OciError::Config(_) => CauseKind::Config,
        OciError::Transport { .. } => CauseKind::RegistryUnreachable,
        OciError::Timeout { .. } => CauseKind::Timeout,
        OciError::NotFound { .. } => CauseKind::NotFound,
        OciError::Unauthorized { .. }
        | OciError::Forbidden { .. }
        | OciError::TokenExchange { .. } => CauseKind::RegistryAuth,
        OciError::Status { .. } | OciError::RetriesExhausted { .. } => CauseKind::RegistryStatus,
        OciError::TooLarge { .. } | OciError::TooManyReferrers { .. } => CauseKind::LimitExceeded,
        OciError::DigestMismatch { .. }
        | OciError::SizeMismatch { .. }
        | OciError::InvalidManifest { .. }
        | OciError::InvalidDigest { .. } => CauseKind::InvalidContent,
        OciError::Redirect { .. } | OciError::Protocol { .. } | OciError::DigestRequired { .. } => {
            CauseKind::RegistryProtocol
        }
        // `OciError` is non-exhaustive: a variant added later is classified here until it
        // gets its own arm (the table test names every variant known today).
        _ => CauseKind::Internal,
    }
}

/// A registry error as a per-key [`Failure`].
pub fn oci_failure(err: &OciError) -> Failure {
    let cause = for_oci(err);
    Failure::new(
        cause.code.unwrap_or(RatifyCode::ExecutorFailure),
        cause.kind,
        err,
    )
}

/// `"<CODE>: <error>"` for a registry error (a report's `errorReason`).
pub fn oci_reason(err: &OciError) -> String {
    for_oci(err).render(err)
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

/// The cause of a Notation verification failure. Ratify wraps every verifier error in
/// `VERIFY_REFERENCE_FAILURE`, so the code is the same for all; the kind tells an untrusted
/// signer from an expired certificate, a revoked one or a broken signature.
pub fn for_notation(err: &imagegate_notation::Error) -> Cause {
    Cause::new(RatifyCode::VerifyReferenceFailure, notation_kind(err))
}

/// What went wrong in a Notation verification failure.
pub fn notation_kind(err: &imagegate_notation::Error) -> CauseKind {
    use imagegate_notation::Error as E;
    match err {
        E::Integrity(_) => CauseKind::InvalidSignature,
        E::Authenticity(AuthenticityError::TrustStore(_)) => CauseKind::Config,
        E::Authenticity(AuthenticityError::NoTrustedCertificates { .. }) => CauseKind::TrustPolicy,
        E::Authenticity(_) => CauseKind::UntrustedSigner,
        E::AuthenticTimestamp(AuthenticTimestampError::TsaStore(_)) => CauseKind::Config,
        E::AuthenticTimestamp(
            AuthenticTimestampError::MissingCountersignature
            | AuthenticTimestampError::Countersignature(_),
        ) => CauseKind::InvalidTimestamp,
        E::AuthenticTimestamp(AuthenticTimestampError::MissingAuthenticSigningTime) => {
            CauseKind::InvalidSignature
        }
        E::AuthenticTimestamp(_) | E::Expiry(_) => CauseKind::Expired,
        E::Revocation(_) => CauseKind::Revoked,
        E::UserMetadata(_) | E::Policy(_) => CauseKind::TrustPolicy,
        E::Store(_) => CauseKind::Config,
        E::Timestamp(_) => CauseKind::InvalidTimestamp,
        // `Error` is non-exhaustive.
        _ => CauseKind::Internal,
    }
}

#[cfg(test)]
mod tests {
    use imagegate_notation::error::{ExpiryError, IntegrityError, UserMetadataError};
    use imagegate_notation::policy::{PolicyError, StoreType};
    use imagegate_notation::revocation::{CertPurpose, RevocationError};
    use imagegate_notation::store::StoreError;
    use imagegate_notation::timestamp::TimestampError;
    use imagegate_notation::Error as NotationError;

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
            (Operation::PushBlob, "EXECUTOR_FAILURE"),
        ];
        for (op, code) in table {
            let e = op_err(op);
            assert_eq!(for_oci(&e).code.map(RatifyCode::as_str), Some(code));
            assert!(oci_reason(&e).starts_with(&format!("{code}: cannot ")));
            assert_eq!(oci_failure(&e).to_string(), oci_reason(&e));
        }
        let bad = OciError::InvalidReference {
            input: "X".into(),
            reason: "r".into(),
        };
        assert_eq!(
            for_oci(&bad),
            Cause::new(RatifyCode::ReferenceInvalid, CauseKind::ReferenceInvalid)
        );
        assert_eq!(
            for_oci(&OciError::Config("c".into())),
            Cause::new(RatifyCode::ConfigInvalid, CauseKind::Config)
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
    }

    /// Every registry error variant and the kind it maps to.
    #[test]
    fn maps_every_registry_error_to_its_kind() {
        let op = Operation::FetchBlob;
        let r = || "registry.test/app@sha256:00".to_owned();
        let table: Vec<(OciError, CauseKind)> = vec![
            (
                OciError::InvalidReference {
                    input: r(),
                    reason: "x".into(),
                },
                CauseKind::ReferenceInvalid,
            ),
            (OciError::Config("x".into()), CauseKind::Config),
            (
                OciError::Transport {
                    op,
                    reference: r(),
                    detail: "refused".into(),
                },
                CauseKind::RegistryUnreachable,
            ),
            (
                OciError::Timeout {
                    op,
                    reference: r(),
                    after: std::time::Duration::from_secs(1),
                },
                CauseKind::Timeout,
            ),
            (
                OciError::NotFound {
                    op,
                    reference: r(),
                    detail: String::new(),
                },
                CauseKind::NotFound,
            ),
            (
                OciError::Unauthorized {
                    op,
                    reference: r(),
                    registry: "registry.test".into(),
                    detail: String::new(),
                },
                CauseKind::RegistryAuth,
            ),
            (
                OciError::Forbidden { op, reference: r() },
                CauseKind::RegistryAuth,
            ),
            (
                OciError::TokenExchange {
                    op,
                    reference: r(),
                    realm: "https://auth.test".into(),
                    detail: String::new(),
                },
                CauseKind::RegistryAuth,
            ),
            (
                OciError::Status {
                    op,
                    reference: r(),
                    status: 500,
                    detail: String::new(),
                },
                CauseKind::RegistryStatus,
            ),
            (
                OciError::RetriesExhausted {
                    op,
                    reference: r(),
                    status: 429,
                    attempts: 3,
                },
                CauseKind::RegistryStatus,
            ),
            (
                OciError::TooLarge {
                    op,
                    reference: r(),
                    limit: 1,
                    actual: None,
                },
                CauseKind::LimitExceeded,
            ),
            (
                OciError::DigestMismatch {
                    op,
                    reference: r(),
                    expected: "a".into(),
                    actual: "b".into(),
                },
                CauseKind::InvalidContent,
            ),
            (
                OciError::SizeMismatch {
                    op,
                    reference: r(),
                    expected: 1,
                    actual: 2,
                    truncated: false,
                },
                CauseKind::InvalidContent,
            ),
            (
                OciError::InvalidManifest {
                    op,
                    reference: r(),
                    detail: String::new(),
                },
                CauseKind::InvalidContent,
            ),
            (
                OciError::TooManyReferrers {
                    op,
                    reference: r(),
                    limit: 1,
                    what: "entries",
                },
                CauseKind::LimitExceeded,
            ),
            (
                OciError::Redirect {
                    op,
                    reference: r(),
                    detail: String::new(),
                },
                CauseKind::RegistryProtocol,
            ),
            (
                OciError::Protocol {
                    op,
                    reference: r(),
                    detail: String::new(),
                },
                CauseKind::RegistryProtocol,
            ),
            (
                OciError::DigestRequired { op, reference: r() },
                CauseKind::RegistryProtocol,
            ),
        ];
        for (err, kind) in table {
            assert_eq!(for_oci(&err).kind, kind, "{err:?}");
            // The wire text is the code and the error's own text, unchanged.
            assert_eq!(
                oci_failure(&err).to_string(),
                format!("{}: {err}", for_oci(&err).code.unwrap())
            );
        }
    }

    /// Every Notation failure family and the kind it maps to; the code is always
    /// `VERIFY_REFERENCE_FAILURE`, as in Ratify.
    #[test]
    fn maps_every_notation_failure_to_its_kind() {
        let store = || StoreError::NotFound {
            store_type: StoreType::Ca,
            name: "s".into(),
        };
        let t = time::macros::datetime!(2025-01-01 00:00 UTC);
        let table: Vec<(NotationError, CauseKind)> = vec![
            (
                IntegrityError::SignatureInvalid {
                    algorithm: imagegate_notation::alg::SignatureAlgorithm::Ps256,
                }
                .into(),
                CauseKind::InvalidSignature,
            ),
            (
                AuthenticityError::UntrustedChain.into(),
                CauseKind::UntrustedSigner,
            ),
            (
                AuthenticityError::IdentityMismatch {
                    identities: "[]".into(),
                    policy: "p".into(),
                }
                .into(),
                CauseKind::UntrustedSigner,
            ),
            (
                AuthenticityError::NoTrustedCertificates {
                    store_type: "ca".into(),
                    scheme: "notary.x509".into(),
                }
                .into(),
                CauseKind::TrustPolicy,
            ),
            (
                AuthenticityError::TrustStore(store()).into(),
                CauseKind::Config,
            ),
            (
                AuthenticTimestampError::Expired {
                    subject: "CN=s".into(),
                    not_after: t,
                }
                .into(),
                CauseKind::Expired,
            ),
            (
                AuthenticTimestampError::NotYetValid {
                    subject: "CN=s".into(),
                    not_before: t,
                }
                .into(),
                CauseKind::Expired,
            ),
            (
                AuthenticTimestampError::MissingCountersignature.into(),
                CauseKind::InvalidTimestamp,
            ),
            (
                AuthenticTimestampError::TsaStore(store()).into(),
                CauseKind::Config,
            ),
            (
                AuthenticTimestampError::MissingAuthenticSigningTime.into(),
                CauseKind::InvalidSignature,
            ),
            (
                ExpiryError::Expired { expiry: t }.into(),
                CauseKind::Expired,
            ),
            (
                RevocationError::Revoked {
                    purpose: CertPurpose::CodeSigning,
                    subject: "CN=s".into(),
                }
                .into(),
                CauseKind::Revoked,
            ),
            (
                UserMetadataError {
                    key: "k".into(),
                    expected: "v".into(),
                    found: None,
                }
                .into(),
                CauseKind::TrustPolicy,
            ),
            (
                PolicyError::NoApplicableTrustPolicy {
                    reference: "r".into(),
                }
                .into(),
                CauseKind::TrustPolicy,
            ),
            (store().into(), CauseKind::Config),
            (
                TimestampError::Parse("x".into()).into(),
                CauseKind::InvalidTimestamp,
            ),
        ];
        for (err, kind) in table {
            let cause = for_notation(&err);
            assert_eq!(cause.kind, kind, "{err:?}");
            assert_eq!(cause.code, Some(RatifyCode::VerifyReferenceFailure));
            assert_eq!(
                cause.render(&err),
                format!("VERIFY_REFERENCE_FAILURE: {err}")
            );
        }
    }
}
