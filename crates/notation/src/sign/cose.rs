//! Building COSE_Sign1 envelopes (`application/cose`, tag 18, notation.md §6).

use coset::cbor::value::Value;
use coset::iana;
use coset::{
    CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate, TaggedCborSerializable as _,
};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::error::SignError;
use super::key::PrivateKey;
use super::options::SignOptions;
use crate::alg::SignatureAlgorithm;
use crate::envelope::{
    HEADER_EXPIRY, HEADER_SIGNING_AGENT, HEADER_SIGNING_SCHEME, HEADER_TIMESTAMP_SIGNATURE,
    PAYLOAD_CONTENT_TYPE,
};

/// The COSE `x5chain` header label.
const X5CHAIN: i64 = 33;

/// Signs `payload` with `key` into a tagged COSE_Sign1 envelope: times as CBOR tag 1
/// (epoch seconds), `crit` listing the critical string labels, and `chain` (leaf first)
/// as an array of byte strings under label 33 in the unprotected header — the shape the
/// Go verifier requires.
///
/// This does not check that `chain[0]` certifies `key` (tests build invalid envelopes
/// with it); [`super::Signer`] does.
pub fn sign_cose(
    payload: &[u8],
    key: &PrivateKey,
    chain: &[CertificateDer<'_>],
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let (signing_time, expiry) = opts.times()?;
    let mut protected = HeaderBuilder::new()
        .algorithm(cose_algorithm(key.algorithm()))
        .content_type(PAYLOAD_CONTENT_TYPE.into());
    for name in opts.critical() {
        protected = protected.add_critical_label(RegisteredLabelWithPrivate::Text(name));
    }
    protected = protected
        .text_value(
            HEADER_SIGNING_SCHEME.into(),
            Value::Text(opts.scheme.as_str().into()),
        )
        .text_value(opts.time_header().into(), epoch(signing_time));
    if let Some(expiry) = expiry {
        protected = protected.text_value(HEADER_EXPIRY.into(), epoch(expiry));
    }
    for (name, value, _) in &opts.extended {
        protected = protected.text_value(name.clone(), Value::Text(value.clone()));
    }
    let certs = chain
        .iter()
        .map(|c| Value::Bytes(c.as_ref().to_vec()))
        .collect();
    let mut unprotected = HeaderBuilder::new().value(X5CHAIN, Value::Array(certs));
    if let Some(agent) = &opts.signing_agent {
        unprotected =
            unprotected.text_value(HEADER_SIGNING_AGENT.into(), Value::Text(agent.clone()));
    }
    if let Some(token) = &opts.timestamp_token {
        unprotected = unprotected.text_value(
            HEADER_TIMESTAMP_SIGNATURE.into(),
            Value::Bytes(token.clone()),
        );
    }
    let sign1 = CoseSign1Builder::new()
        .protected(protected.build())
        .unprotected(unprotected.build())
        .payload(payload.to_vec())
        .try_create_signature(b"", |tbs| key.sign(tbs))?
        .build();
    sign1.to_tagged_vec().map_err(|e| SignError::Encoding {
        format: "COSE",
        reason: e.to_string(),
    })
}

fn cose_algorithm(alg: SignatureAlgorithm) -> iana::Algorithm {
    match alg {
        SignatureAlgorithm::Ps256 => iana::Algorithm::PS256,
        SignatureAlgorithm::Ps384 => iana::Algorithm::PS384,
        SignatureAlgorithm::Ps512 => iana::Algorithm::PS512,
        SignatureAlgorithm::Es256 => iana::Algorithm::ES256,
        SignatureAlgorithm::Es384 => iana::Algorithm::ES384,
        SignatureAlgorithm::Es512 => iana::Algorithm::ES512,
    }
}

/// A CBOR tag-1 epoch-seconds time.
fn epoch(t: OffsetDateTime) -> Value {
    Value::Tag(1, Box::new(Value::Integer(t.unix_timestamp().into())))
}
