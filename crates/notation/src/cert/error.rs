//! Why a certificate chain breaks the Notation certificate rules (notation.md §8).

use crate::alg::KeyError;

/// A certificate or chain that breaks the Notation certificate requirements. Subjects are
/// printed in Go's DN form so messages match `notation verify`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The chain is empty.
    #[error("certificate chain is not present")]
    Empty,
    /// A certificate is not valid DER X.509.
    #[error("certificate at index {index} of the chain cannot be parsed: {reason}")]
    Malformed {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// The parser's description.
        reason: String,
    },
    /// A leaf that is self-signed appears in a chain of more than one certificate.
    #[error("leaf certificate with subject {subject:?} is self-signed. Certificate chain must not contain self-signed leaf certificate")]
    LeafSelfSigned {
        /// The subject, Go DN form.
        subject: String,
    },
    /// An intermediate certificate is self-signed.
    #[error("intermediate certificate with subject {subject:?} is self-signed. Certificate chain must not contain self-signed intermediate certificate")]
    IntermediateSelfSigned {
        /// The subject, Go DN form.
        subject: String,
    },
    /// The last certificate is not a self-signed root.
    #[error("root certificate with subject {subject:?} is not self-signed. Certificate chain must end with a valid self-signed root certificate")]
    RootNotSelfSigned {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A certificate's issuer name is not the next certificate's subject: the chain must be
    /// ordered leaf first, each certificate issued by the next one.
    #[error("certificate with subject {subject:?} is not issued by {issuer:?}")]
    NotIssuedBy {
        /// The subject of the certificate, Go DN form.
        subject: String,
        /// The subject of the next certificate, Go DN form.
        issuer: String,
    },
    /// A certificate signature uses SHA-1.
    #[error("certificate with subject {subject:?} is signed with SHA-1, which is not allowed")]
    WeakSignatureAlgorithm {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A certificate signature algorithm is not supported.
    #[error("certificate with subject {subject:?} uses the unsupported signature algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The subject, Go DN form.
        subject: String,
        /// The algorithm OID, dotted.
        oid: String,
    },
    /// A CA certificate lacks `basicConstraints` with `cA=true`.
    #[error("certificate with subject {subject:?}: ca field in basic constraints must be present, critical, and set to true")]
    NotCa {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A CA certificate's `keyUsage` lacks `keyCertSign`.
    #[error("certificate with subject {subject:?}: key usage must have the bit positions for key cert sign set")]
    CaKeyUsage {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A code-signing leaf or CA certificate has no `keyUsage` extension.
    #[error("certificate with subject {subject:?}: key usage extension must be present")]
    KeyUsageNotPresent {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A code-signing leaf or CA certificate has a `keyUsage` extension that is not critical.
    #[error("certificate with subject {subject:?}: key usage extension must be marked critical")]
    KeyUsageNotCritical {
        /// The subject, Go DN form.
        subject: String,
    },
    /// A certificate extension the Notation rules evaluate cannot be decoded (malformed or
    /// present twice).
    #[error("certificate with subject {subject:?} has an invalid extension: {reason}")]
    InvalidExtension {
        /// The subject, Go DN form.
        subject: String,
        /// The parser's description.
        reason: String,
    },
    /// A CA's path length constraint is smaller than the number of CAs below it.
    #[error("certificate with subject {subject:?}: expected path length of {expected} but certificate has path length {path_len} instead")]
    PathLength {
        /// The subject, Go DN form.
        subject: String,
        /// The number of CA certificates below this one in the chain.
        expected: usize,
        /// The `pathLenConstraint`.
        path_len: u32,
    },
    /// The leaf is a CA certificate.
    #[error("certificate with subject {subject:?}: if the basic constraints extension is present, the ca field must be set to false")]
    LeafIsCa {
        /// The subject, Go DN form.
        subject: String,
    },
    /// The leaf's key usage lacks `digitalSignature` (or, for a timestamping leaf, the
    /// extension is missing).
    #[error("the certificate with subject {subject:?} is invalid. The key usage must have the bit positions for \"Digital Signature\" set")]
    LeafKeyUsageMissing {
        /// The subject, Go DN form.
        subject: String,
    },
    /// The leaf's key usage has bits Notation forbids.
    #[error("the certificate with subject {subject:?} is invalid. The key usage must be \"Digital Signature\" only, but found {}", .usages.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "))]
    LeafKeyUsageForbidden {
        /// The subject, Go DN form.
        subject: String,
        /// The forbidden usages found, in Go's names (`KeyEncipherment`, `CertSign`, …).
        usages: Vec<&'static str>,
    },
    /// The code-signing leaf's extended key usage has a purpose Notation forbids.
    #[error("the certificate with subject {subject:?} is invalid. The extended key usage must not contain {usage} usage")]
    LeafExtendedKeyUsageForbidden {
        /// The subject, Go DN form.
        subject: String,
        /// The forbidden purpose.
        usage: &'static str,
    },
    /// The code-signing leaf has an extended key usage extension without `codeSigning`.
    #[error("the certificate with subject {subject:?} is invalid. The extended key usage, when present, must contain codeSigning")]
    LeafCodeSigningMissing {
        /// The subject, Go DN form.
        subject: String,
    },
    /// The timestamping leaf's extended key usage is not exactly a critical `timeStamping`.
    #[error("timestamping certificate with subject {subject:?} must have a critical extended key usage extension containing exactly timeStamping")]
    TimestampingUsage {
        /// The subject, Go DN form.
        subject: String,
    },
    /// The leaf key cannot be used with Notation.
    #[error("certificate with subject {subject:?}: {source}")]
    Key {
        /// The subject, Go DN form.
        subject: String,
        /// The key problem.
        source: KeyError,
    },
    /// Path validation (rustls-webpki) rejected the chain.
    #[error("the chain does not validate: {reason}")]
    Path {
        /// What the path validator reported.
        reason: String,
    },
}
