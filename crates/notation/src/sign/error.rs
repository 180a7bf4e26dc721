//! Why a signature could not be produced.

use crate::alg::{KeyError, SignatureAlgorithm};

/// Errors from loading signing material or producing an envelope. Each says what was
/// wrong and what to provide instead; none carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// The private key bytes are not a key this signer can load.
    #[error("private key is not usable: {reason}; provide an unencrypted PKCS#8 (\"PRIVATE KEY\"), SEC 1 (\"EC PRIVATE KEY\") or PKCS#1 (\"RSA PRIVATE KEY\") key, PEM or DER")]
    Key {
        /// What is wrong with it.
        reason: String,
    },
    /// The private key is password-protected.
    #[error("private key is encrypted; decrypt it first (e.g. `openssl pkcs8 -topk8 -nocrypt`)")]
    EncryptedKey,
    /// The key is RSA or EC but not of a size or curve Notation allows.
    #[error("private key cannot sign Notation signatures: {0}")]
    UnsupportedKey(#[source] KeyError),
    /// No certificate was given.
    #[error("certificate chain is empty; provide the signing certificate first, then any intermediates, then the root")]
    EmptyChain,
    /// A certificate of the chain could not be decoded.
    #[error(
        "certificate {index} of the chain (0 = signing certificate) is not valid X.509: {reason}"
    )]
    Certificate {
        /// Position in the chain, leaf = 0.
        index: usize,
        /// The decoder's description.
        reason: String,
    },
    /// The chain's PEM text could not be decoded.
    #[error("certificate chain is not valid PEM: {reason}; provide PEM \"CERTIFICATE\" blocks, signing certificate first")]
    ChainPem {
        /// The decoder's description.
        reason: String,
    },
    /// The signing certificate's key is not usable with Notation.
    #[error("signing certificate key is not usable: {0}")]
    LeafKey(#[source] KeyError),
    /// The private key and the signing certificate imply different algorithms.
    #[error("private key signs with {key} but the signing certificate's key implies {certificate}; use the key that belongs to the certificate")]
    AlgorithmMismatch {
        /// The algorithm of the private key.
        key: SignatureAlgorithm,
        /// The algorithm of the signing certificate's key.
        certificate: SignatureAlgorithm,
    },
    /// The private key does not belong to the signing certificate.
    #[error("private key does not match the public key of the signing certificate (first in the chain); use the certificate issued for this key")]
    KeyMismatch,
    /// The expiry is not after the signing time.
    #[error("expiry {expiry} is not after the signing time {signing_time}; choose a positive validity duration")]
    ExpiryNotAfterSigningTime {
        /// The signing time, RFC 3339.
        signing_time: String,
        /// The expiry, RFC 3339.
        expiry: String,
    },
    /// A time cannot be written as RFC 3339 / epoch seconds (e.g. a year after 9999).
    #[error("time {time} cannot be encoded in a signature: {reason}")]
    Time {
        /// The time, debug-formatted.
        time: String,
        /// The encoder's description.
        reason: String,
    },
    /// The cryptographic library failed to sign.
    #[error("signing with the {algorithm} key failed in the crypto library")]
    Signing {
        /// The algorithm used.
        algorithm: SignatureAlgorithm,
    },
    /// The envelope could not be serialised.
    #[error("cannot encode the {format} envelope: {reason}")]
    Encoding {
        /// `JWS` or `COSE`.
        format: &'static str,
        /// The encoder's description.
        reason: String,
    },
}
