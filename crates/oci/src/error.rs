//! The error type of every registry operation.

use std::fmt;
use std::time::Duration;

/// The registry operation that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// Resolving a tag or digest to a manifest descriptor.
    Resolve,
    /// Listing the referrers of a subject.
    ListReferrers,
    /// Fetching a manifest by digest.
    FetchManifest,
    /// Fetching a blob by descriptor.
    FetchBlob,
    /// Uploading a blob.
    PushBlob,
    /// Uploading a manifest (by tag or digest).
    PushManifest,
    /// Adding a referrer to the subject's referrers tag index.
    AttachReferrer,
}

impl Operation {
    /// The registry access the operation needs: `pull`, or `push` for uploads.
    pub fn access(self) -> &'static str {
        match self {
            Self::PushBlob | Self::PushManifest | Self::AttachReferrer => "push",
            _ => "pull",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Resolve => "resolve",
            Self::ListReferrers => "list referrers of",
            Self::FetchManifest => "fetch manifest of",
            Self::FetchBlob => "fetch blob of",
            Self::PushBlob => "push blob to",
            Self::PushManifest => "push manifest",
            Self::AttachReferrer => "attach a referrer to",
        })
    }
}

/// Errors from registry access. Each names the operation and reference, says what
/// went wrong and what to do; none carries a credential or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OciError {
    /// The image reference could not be parsed.
    #[error("invalid image reference {input:?}: {reason}; use [registry/]repository[:tag][@sha256:<hex>]")]
    InvalidReference {
        /// The input (truncated).
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The client configuration is unusable.
    #[error("invalid registry client configuration: {0}")]
    Config(String),
    /// The registry could not be reached (DNS, connect, TLS, connection reset).
    #[error("cannot {op} {reference}: the registry could not be reached ({detail}); check the host, port, TLS roots and network policy")]
    Transport {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Transport error text (no secrets).
        detail: String,
    },
    /// A request or the whole operation exceeded its deadline.
    #[error("cannot {op} {reference}: no complete answer within {after:?}; the registry is slow or stalled, retry later or raise the timeout")]
    Timeout {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The manifest, blob or repository does not exist.
    #[error("cannot {op} {reference}: not found in the registry ({detail}); check the reference and that it was pushed")]
    NotFound {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Registry error code/message, if any.
        detail: String,
    },
    /// The registry refused the credentials (or none were available).
    #[error("cannot {op} {reference}: the registry at {registry} requires authentication that failed ({detail}); configure {} credentials for it", op.access())]
    Unauthorized {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Registry host.
        registry: String,
        /// What failed (no secrets).
        detail: String,
    },
    /// Authenticated, but not allowed.
    #[error("cannot {op} {reference}: access denied by the registry (403); grant {} access to these credentials", op.access())]
    Forbidden {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
    },
    /// The bearer token exchange with the registry's token service failed.
    #[error("cannot {op} {reference}: token service {realm} failed: {detail}")]
    TokenExchange {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// The token realm URL.
        realm: String,
        /// What failed (no secrets).
        detail: String,
    },
    /// The registry answered with an unexpected status.
    #[error("cannot {op} {reference}: registry answered HTTP {status} ({detail})")]
    Status {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// HTTP status code.
        status: u16,
        /// Registry error code/message, if any.
        detail: String,
    },
    /// Retries on 429/5xx were exhausted.
    #[error("cannot {op} {reference}: registry still answered HTTP {status} after {attempts} attempts; it is overloaded or rate limiting, retry later")]
    RetriesExhausted {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Last HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Content is larger than the configured cap.
    #[error("cannot {op} {reference}: content is larger than the limit of {limit} bytes{}; raise the limit only if this artifact is trusted", actual.map(|a| format!(" (declared {a} bytes)")).unwrap_or_default())]
    TooLarge {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// The cap.
        limit: u64,
        /// The declared size, when known before reading.
        actual: Option<u64>,
    },
    /// The bytes served do not hash to the requested digest.
    #[error("cannot {op} {reference}: content digest is {actual} but {expected} was requested; the registry served wrong or tampered content")]
    DigestMismatch {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Requested digest.
        expected: String,
        /// Digest of what was served.
        actual: String,
    },
    /// The bytes served are not the size the descriptor declares.
    #[error("cannot {op} {reference}: descriptor says {expected} bytes but the registry served {actual}{}", if *truncated { " or more" } else { "" })]
    SizeMismatch {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Declared size.
        expected: u64,
        /// Bytes received.
        actual: u64,
        /// Whether reading stopped early because there was more than declared.
        truncated: bool,
    },
    /// The manifest or referrers document is not valid.
    #[error("cannot {op} {reference}: {detail}")]
    InvalidManifest {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// What is wrong.
        detail: String,
    },
    /// A digest in a reference, descriptor or header is malformed or unsupported.
    #[error("cannot {op} {reference}: {source}")]
    InvalidDigest {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// The digest problem.
        #[source]
        source: crate::digest::DigestError,
    },
    /// More referrers (or pages) than the configured bound.
    #[error("cannot {op} {reference}: more than {limit} {what}; the subject has an abusive number of referrers")]
    TooManyReferrers {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// The bound.
        limit: usize,
        /// `entries` or `pages`.
        what: &'static str,
    },
    /// A redirect was refused (loop, too many, downgrade to plain HTTP, or odd target).
    #[error("cannot {op} {reference}: redirect refused ({detail})")]
    Redirect {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Why.
        detail: String,
    },
    /// The registry answered an upload in a way the distribution protocol does not
    /// allow (no upload location, an upload location on another host, a digest
    /// other than the one sent).
    #[error("cannot {op} {reference}: {detail}; the registry does not follow the OCI distribution upload protocol")]
    Protocol {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// What the registry did.
        detail: String,
    },
    /// The budget of registry content in memory was spent and did not free up in time
    /// (or `wanted` exceeds one registry's share of it).
    #[error("cannot {op} {reference}: {wanted} bytes of registry content could not be reserved{} (one registry may hold {budget} bytes in memory at once); the registry serves too much content at once, retry later", if *waited { " before the deadline" } else { "" })]
    BudgetExhausted {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
        /// Bytes the fetch needed.
        wanted: u64,
        /// One registry's share of the budget.
        budget: u64,
        /// Whether the fetch waited (false: it could never fit).
        waited: bool,
    },
    /// The reference needs a digest for this operation.
    #[error("cannot {op} {reference}: a digest is required (resolve the tag first)")]
    DigestRequired {
        /// Operation.
        op: Operation,
        /// Reference.
        reference: String,
    },
}

impl OciError {
    /// The operation that failed, if the error came from one.
    pub fn operation(&self) -> Option<Operation> {
        match self {
            Self::InvalidReference { .. } | Self::Config(_) => None,
            Self::Transport { op, .. }
            | Self::Timeout { op, .. }
            | Self::NotFound { op, .. }
            | Self::Unauthorized { op, .. }
            | Self::Forbidden { op, .. }
            | Self::TokenExchange { op, .. }
            | Self::Status { op, .. }
            | Self::RetriesExhausted { op, .. }
            | Self::TooLarge { op, .. }
            | Self::DigestMismatch { op, .. }
            | Self::SizeMismatch { op, .. }
            | Self::InvalidManifest { op, .. }
            | Self::InvalidDigest { op, .. }
            | Self::TooManyReferrers { op, .. }
            | Self::Redirect { op, .. }
            | Self::Protocol { op, .. }
            | Self::BudgetExhausted { op, .. }
            | Self::DigestRequired { op, .. } => Some(*op),
        }
    }
}
