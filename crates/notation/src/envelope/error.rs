//! Why an envelope could not be parsed or failed the Notation header rules.

/// A malformed envelope or one that breaks the Notation envelope rules (notation.md §4-§6).
///
/// The Display text follows the Go implementation's messages (notation.md §15) so operators
/// and tests can compare outputs with `notation verify`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The media type is neither `application/jose+json` nor `application/cose`.
    #[error("signature envelope format with media type {media_type:?} is not supported")]
    UnsupportedMediaType {
        /// The media type that was given.
        media_type: String,
    },
    /// An input exceeds one of the configured [`Limits`](crate::limits::Limits).
    #[error("{what} is {size} bytes, larger than the limit of {limit} bytes; the signature is rejected before parsing")]
    TooLarge {
        /// Which part was too large.
        what: &'static str,
        /// Its size in bytes.
        size: usize,
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The certificate chain holds more certificates than allowed.
    #[error("the certificate chain has {len} certificates, more than the limit of {limit}")]
    ChainTooLong {
        /// Number of certificates in the envelope.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The JWS JSON (or a decoded JSON header) could not be parsed.
    #[error("signature envelope format is invalid: {reason}")]
    Json {
        /// The JSON parser's description of the problem.
        reason: String,
    },
    /// The COSE_Sign1 CBOR could not be parsed.
    #[error("signature envelope format is invalid: {reason}")]
    Cbor {
        /// The CBOR decoder's description of the problem.
        reason: String,
    },
    /// The COSE envelope is not a tagged `COSE_Sign1` (tag 18, array of four).
    #[error("cbor: invalid COSE_Sign1_Tagged object")]
    NotCoseSign1Tagged,
    /// A base64 (JWS) value contains a character outside its alphabet, or padding where
    /// unpadded base64url is required (RFC 7515 §2).
    #[error(
        "signature is invalid. Error: illegal base64 data at input byte {position} (in {field})"
    )]
    Base64 {
        /// Which member was being decoded, e.g. `payload`.
        field: &'static str,
        /// Offset of the first offending character (Go's numbering).
        position: usize,
    },
    /// A required member or header is missing.
    #[error("missing {name:?} header")]
    MissingHeader {
        /// The header name, e.g. `crit`.
        name: &'static str,
    },
    /// A member or header has the wrong type or an unusable value.
    #[error("{name:?} header has an invalid value: {reason}")]
    InvalidHeader {
        /// The header name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `crit` lists a header that is not present in the protected header.
    #[error("{name:?} header is marked critical but not present")]
    CriticalNotPresent {
        /// The header name listed in `crit`.
        name: String,
    },
    /// `crit` lists a header name that the envelope format reserves (JWS registered names,
    /// COSE labels 0-8).
    #[error("{name:?} header must not be marked critical: it is a registered header of the envelope format")]
    RegisteredHeaderInCrit {
        /// The offending name or label.
        name: String,
    },
    /// Headers that the Notation spec requires to be critical are not listed in `crit`.
    #[error("these required headers are not marked as critical: [{}]", .names.join(" "))]
    NotMarkedCritical {
        /// The headers missing from `crit`.
        names: Vec<String>,
    },
    /// The signing scheme is not `notary.x509` or `notary.x509.signingAuthority`.
    #[error("unsupported SigningScheme: {scheme:?}")]
    UnsupportedSigningScheme {
        /// The scheme found in the envelope.
        scheme: String,
    },
    /// A header required by the signing scheme is missing.
    #[error("{name:?} header must be present for {scheme} signing scheme")]
    MissingSchemeHeader {
        /// The header name.
        name: &'static str,
        /// The signing scheme.
        scheme: &'static str,
    },
    /// A header forbidden by the signing scheme is present.
    #[error("{name:?} header must not be present for {scheme} signing scheme")]
    ForbiddenSchemeHeader {
        /// The header name.
        name: &'static str,
        /// The signing scheme.
        scheme: &'static str,
    },
    /// The signing time is missing for a `notary.x509` signature.
    #[error("signing-time not present")]
    SigningTimeMissing,
    /// The expiry is not after the signing time.
    #[error("expiry cannot be equal or before the signing time")]
    ExpiryNotAfterSigningTime,
    /// The payload content type is not `application/vnd.cncf.notary.payload.v1+json`.
    #[error("payload content type {content_type:?} not supported")]
    UnsupportedContentType {
        /// The content type found.
        content_type: String,
    },
    /// The `alg` header names an algorithm Notation does not allow.
    #[error("signature algorithm {alg:?} is not supported")]
    UnsupportedAlgorithm {
        /// The algorithm as written in the envelope.
        alg: String,
    },
    /// No certificate chain (`x5c` / COSE label 33) is present.
    #[error("certificate chain is not present")]
    CertChainMissing,
    /// The COSE payload is detached (nil); Notation requires it to be embedded.
    #[error("signature envelope format is invalid: the payload is detached; Notation requires an embedded payload")]
    DetachedPayload,
}

impl EnvelopeError {
    /// Whether the envelope could not be decoded at all (unsupported media type, malformed
    /// JSON or CBOR, oversized), as opposed to decoding into headers that break the Notation
    /// rules. notation-go reports the former as "unable to parse the digital signature".
    pub fn is_decoding_failure(&self) -> bool {
        matches!(
            self,
            Self::UnsupportedMediaType { .. }
                | Self::TooLarge { .. }
                | Self::Json { .. }
                | Self::Cbor { .. }
                | Self::NotCoseSign1Tagged
        )
    }
}
