//! Signature envelopes: parsing JWS and COSE into one checked, format-neutral value.
//!
//! [`parse`] decodes the envelope chosen by its media type, enforces the size limits and the
//! Notation header rules (`crit`, signing scheme, times, content type, certificate chain
//! present) and keeps the exact signed bytes. It does no cryptography:
//! [`ParsedEnvelope::verify_signature`] then checks the signature with the leaf key.

mod attributes;
mod cose;
mod error;
mod jws;

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

pub use attributes::{
    SignedAttributes, SigningScheme, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY,
    HEADER_SIGNING_AGENT, HEADER_SIGNING_SCHEME, HEADER_SIGNING_TIME, HEADER_TIMESTAMP_SIGNATURE,
    HEADER_VERIFICATION_PLUGIN, HEADER_VERIFICATION_PLUGIN_MIN_VERSION, PAYLOAD_CONTENT_TYPE,
};
pub use error::EnvelopeError;

use crate::alg::{KeyError, SignatureAlgorithm, SigningKey};
use crate::error::IntegrityError;
use crate::limits::Limits;

/// Media type of JWS envelopes.
pub const JWS_MEDIA_TYPE: &str = "application/jose+json";
/// Media type of COSE envelopes.
pub const COSE_MEDIA_TYPE: &str = "application/cose";

/// The encoding of an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EnvelopeFormat {
    /// Flattened JWS JSON, `application/jose+json`.
    Jws,
    /// COSE_Sign1, `application/cose`.
    Cose,
}

impl EnvelopeFormat {
    /// The envelope media type.
    pub fn media_type(self) -> &'static str {
        match self {
            EnvelopeFormat::Jws => JWS_MEDIA_TYPE,
            EnvelopeFormat::Cose => COSE_MEDIA_TYPE,
        }
    }

    /// The format for a media type, if supported.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        match media_type {
            JWS_MEDIA_TYPE => Some(EnvelopeFormat::Jws),
            COSE_MEDIA_TYPE => Some(EnvelopeFormat::Cose),
            _ => None,
        }
    }
}

/// A parsed envelope whose headers passed the Notation rules. Nothing in it is authenticated
/// until [`ParsedEnvelope::verify_signature`] succeeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEnvelope {
    pub(crate) format: EnvelopeFormat,
    pub(crate) algorithm: SignatureAlgorithm,
    pub(crate) attributes: SignedAttributes,
    pub(crate) cert_chain: Vec<CertificateDer<'static>>,
    pub(crate) timestamp_token: Option<Vec<u8>>,
    pub(crate) signing_agent: Option<String>,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    pub(crate) signing_input: Vec<u8>,
}

/// Parse an envelope of the given media type (notation.md §5, §6).
///
/// Oversized input is rejected before any decoding. An unsupported media type gives Go's
/// `signature envelope format with media type "…" is not supported`.
pub fn parse(
    bytes: &[u8],
    media_type: &str,
    limits: &Limits,
) -> Result<ParsedEnvelope, EnvelopeError> {
    let format = EnvelopeFormat::from_media_type(media_type).ok_or_else(|| {
        EnvelopeError::UnsupportedMediaType {
            media_type: media_type.to_owned(),
        }
    })?;
    if bytes.len() > limits.max_envelope_bytes {
        return Err(EnvelopeError::TooLarge {
            what: "signature envelope",
            size: bytes.len(),
            limit: limits.max_envelope_bytes,
        });
    }
    match format {
        EnvelopeFormat::Jws => jws::parse(bytes, limits),
        EnvelopeFormat::Cose => cose::parse(bytes, limits),
    }
}

impl ParsedEnvelope {
    /// The envelope encoding.
    pub fn format(&self) -> EnvelopeFormat {
        self.format
    }

    /// The algorithm declared in the protected header (`alg`).
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The signed attributes.
    pub fn signed_attributes(&self) -> &SignedAttributes {
        &self.attributes
    }

    /// The signing scheme.
    pub fn signing_scheme(&self) -> SigningScheme {
        self.attributes.signing_scheme
    }

    /// The signer-claimed signing time (`notary.x509` only).
    pub fn signing_time(&self) -> Option<OffsetDateTime> {
        self.attributes.signing_time
    }

    /// The authentic signing time (`notary.x509.signingAuthority` only).
    pub fn authentic_signing_time(&self) -> Option<OffsetDateTime> {
        self.attributes.authentic_signing_time
    }

    /// The signature expiry, if any.
    pub fn expiry(&self) -> Option<OffsetDateTime> {
        self.attributes.expiry
    }

    /// The payload content type.
    pub fn content_type(&self) -> &str {
        &self.attributes.content_type
    }

    /// The certificate chain, DER, leaf first (never empty).
    pub fn cert_chain(&self) -> &[CertificateDer<'static>] {
        &self.cert_chain
    }

    /// The RFC 3161 timestamp token (unsigned attribute), if present.
    pub fn timestamp_token(&self) -> Option<&[u8]> {
        self.timestamp_token.as_deref()
    }

    /// The signing agent (unsigned, diagnostic only), if present.
    pub fn signing_agent(&self) -> Option<&str> {
        self.signing_agent.as_deref()
    }

    /// The payload bytes (decoded JWS payload or COSE payload bstr).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The primitive signature bytes (what an RFC 3161 timestamp's imprint covers).
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The exact bytes that were signed (JWS signing input or COSE `Sig_structure`).
    pub fn signing_input(&self) -> &[u8] {
        &self.signing_input
    }

    /// Check the signature with the leaf certificate's key: the algorithm implied by the key
    /// (notation.md §7) must equal the declared `alg`, then the signature must verify over the
    /// exact signing input.
    pub fn verify_signature(&self) -> Result<(), IntegrityError> {
        let key = self.signing_key()?;
        if key.algorithm != self.algorithm {
            return Err(IntegrityError::AlgorithmMismatch {
                derived: key.algorithm,
                declared: self.algorithm,
            });
        }
        if key.verify(&self.signing_input, &self.signature) {
            Ok(())
        } else {
            Err(IntegrityError::SignatureInvalid {
                algorithm: self.algorithm,
            })
        }
    }

    fn signing_key(&self) -> Result<SigningKey, IntegrityError> {
        let leaf = self
            .cert_chain
            .first()
            .ok_or(EnvelopeError::CertChainMissing)?;
        let (_, cert) = X509Certificate::from_der(leaf.as_ref()).map_err(|e| {
            IntegrityError::SigningKey(KeyError::MalformedCertificate {
                reason: e.to_string(),
            })
        })?;
        Ok(SigningKey::from_cert(&cert)?)
    }
}
