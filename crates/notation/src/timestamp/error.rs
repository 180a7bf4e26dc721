//! Timestamp verification errors. The Display text reproduces notation-go's messages
//! (`verifier.go` `verifyTimestamp`, tspclient-go) so logs and Ratify-style results match.

use crate::revocation::RevocationError;

/// Why a timestamp countersignature failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The envelope carries no timestamp token (empty input).
    #[error("no timestamp countersignature was found in the signature envelope")]
    Missing,
    /// The token is not a parseable CMS `SignedData` with `TSTInfo` content.
    #[error("failed to parse timestamp countersignature with error: {0}")]
    Parse(String),
    /// The `TSTInfo` content cannot be decoded.
    #[error("failed to get the timestamp TSTInfo with error: cannot unmarshal TSTInfo from timestamp token: {0}")]
    TstInfo(String),
    /// The `TSTInfo` is invalid for this signature (version, hash algorithm, or the message
    /// imprint does not match the signature bytes: `mismatched message`).
    #[error(
        "failed to get timestamp from timestamp countersignature with error: invalid TSTInfo: {0}"
    )]
    InvalidTstInfo(String),
    /// No TSA root certificate was supplied.
    #[error("no trusted TSA certificate found in trust store")]
    NoTrustedTsaCertificate,
    /// The CMS signature, its signing certificate or its chain to a TSA root failed.
    #[error("failed to verify the timestamp countersignature with error: failed to verify signed token: {0}")]
    Verify(String),
    /// The TSA certificate chain does not meet the Notary Project certificate requirements.
    #[error("failed to validate the timestamping certificate chain with error: {0}")]
    CertChain(String),
    /// The timestamp's lower bound is before a signing certificate's notBefore.
    #[error("timestamp can be before certificate {subject:?} validity period, it will be valid from {not_before:?}")]
    BeforeCertificateValidity {
        /// Go-form subject of the certificate.
        subject: String,
        /// notBefore in Go's RFC 1123Z form (`Fri, 18 Sep 2099 11:54:34 +0000`).
        not_before: String,
    },
    /// The timestamp's upper bound is after a signing certificate's notAfter.
    #[error("timestamp can be after certificate {subject:?} validity period, it was expired at {not_after:?}")]
    AfterCertificateValidity {
        /// Go-form subject of the certificate.
        subject: String,
        /// notAfter in Go's RFC 1123Z form.
        not_after: String,
    },
    /// A signing certificate could not be parsed while checking it against the timestamp.
    #[error("failed to read signing certificate to check it against the timestamp: {0}")]
    SigningCertificate(String),
    /// The TSA chain is revoked or its revocation status is unknown.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
}
