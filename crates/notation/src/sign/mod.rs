//! Producing Notary Project signatures (pure: no I/O, the signing time is a parameter).
//!
//! [`Signer`] pairs a [`PrivateKey`] with its certificate chain after checking that they
//! belong together (the algorithm is derived from the key and must equal the one the
//! signing certificate implies, as the verifier derives it), then builds JWS or COSE
//! envelopes over a payload from [`payload_json`]. [`signature_manifest_annotations`] gives
//! the annotations a signature manifest carries in a registry.
//!
//! ```no_run
//! # fn demo(key_pem: &[u8], chain_pem: &[u8], now: time::OffsetDateTime)
//! # -> Result<(), imagegate_notation::sign::SignError> {
//! use imagegate_notation::envelope::EnvelopeFormat;
//! use imagegate_notation::sign::{SignOptions, Signer};
//! use imagegate_notation::Descriptor;
//!
//! let signer = Signer::from_pem(key_pem, chain_pem)?;
//! let target = Descriptor::new("application/vnd.oci.image.manifest.v1+json", "sha256:…", 517);
//! let envelope = signer.sign_artifact(EnvelopeFormat::Cose, &target, &SignOptions::x509(now))?;
//! # Ok(()) }
//! ```
//!
//! The free functions [`sign_jws`] and [`sign_cose`] skip the key/chain consistency check;
//! tests use them to build deliberately broken envelopes.

mod annotations;
mod chain;
mod cose;
mod error;
mod jws;
mod key;
mod options;
mod payload;

use std::collections::BTreeMap;

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

pub use annotations::{
    chain_thumbprints, signature_manifest_annotations, ANNOTATION_CREATED, ANNOTATION_THUMBPRINTS,
};
pub use chain::parse_chain;
pub use cose::sign_cose;
pub use error::SignError;
pub use jws::sign_jws;
pub use key::PrivateKey;
pub use options::SignOptions;
pub use payload::payload_json;

use crate::alg::{SignatureAlgorithm, SigningKey};
use crate::descriptor::Descriptor;
use crate::envelope::EnvelopeFormat;
use crate::limits::Limits;

/// A private key and the certificate chain (leaf first) that certifies it.
#[derive(Debug)]
pub struct Signer {
    key: PrivateKey,
    chain: Vec<CertificateDer<'static>>,
}

impl Signer {
    /// Pairs `key` with `chain` (leaf first, root last). Fails when the chain is empty or
    /// undecodable, when the leaf's key is not a Notation key, or when `key` is not the
    /// leaf's key (different algorithm or different public key).
    pub fn new(key: PrivateKey, chain: Vec<CertificateDer<'static>>) -> Result<Self, SignError> {
        let leaf = chain.first().ok_or(SignError::EmptyChain)?;
        let (_, cert) =
            X509Certificate::from_der(leaf.as_ref()).map_err(|e| SignError::Certificate {
                index: 0,
                reason: e.to_string(),
            })?;
        let leaf_key = SigningKey::from_cert(&cert).map_err(SignError::LeafKey)?;
        if leaf_key.algorithm != key.algorithm() {
            return Err(SignError::AlgorithmMismatch {
                key: key.algorithm(),
                certificate: leaf_key.algorithm,
            });
        }
        if leaf_key.key != key.public_key() {
            return Err(SignError::KeyMismatch);
        }
        Ok(Self { key, chain })
    }

    /// Loads a key (PEM or DER, see [`PrivateKey::load`]) and a chain (see
    /// [`parse_chain`], default limits) and pairs them with [`Signer::new`].
    pub fn from_pem(key: &[u8], chain: &[u8]) -> Result<Self, SignError> {
        Self::new(
            PrivateKey::load(key)?,
            parse_chain(chain, &Limits::DEFAULT)?,
        )
    }

    /// The signature algorithm (from the key, equal to the leaf's).
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.key.algorithm()
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key.
    pub fn key(&self) -> &PrivateKey {
        &self.key
    }

    /// Signs `payload` into an envelope of `format` carrying the chain.
    pub fn sign(
        &self,
        format: EnvelopeFormat,
        payload: &[u8],
        opts: &SignOptions,
    ) -> Result<Vec<u8>, SignError> {
        match format {
            EnvelopeFormat::Jws => sign_jws(payload, &self.key, &self.chain, opts),
            EnvelopeFormat::Cose => sign_cose(payload, &self.key, &self.chain, opts),
        }
    }

    /// Signs the artifact `target` (no user metadata) into an envelope of `format`.
    pub fn sign_artifact(
        &self,
        format: EnvelopeFormat,
        target: &Descriptor,
        opts: &SignOptions,
    ) -> Result<Vec<u8>, SignError> {
        self.sign(format, &payload_json(target, &BTreeMap::new()), opts)
    }

    /// The signature manifest annotations for a signature made at `signing_time`.
    pub fn manifest_annotations(
        &self,
        signing_time: OffsetDateTime,
    ) -> Result<BTreeMap<String, String>, SignError> {
        signature_manifest_annotations(&self.chain, signing_time)
    }
}

#[cfg(test)]
mod tests;
