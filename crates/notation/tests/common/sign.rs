//! A small Notation signer: builds JWS and COSE envelopes for the generated tests.
//!
//! Written to be promoted into the crate for `imagegate sign`: it takes a payload, a signing
//! key, a certificate chain (leaf first) and the signed attributes, and returns envelope bytes
//! in the same shape the Go signer produces (sorted JWS protected header, `crit` listing the
//! scheme, expiry and authentic signing time, `x5c` standard base64, COSE tag 18 with tag-1
//! times and an x5chain array in the unprotected header).

use std::collections::BTreeMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, RsaKeyPair};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use coset::cbor::value::Value;
use coset::iana;
use coset::{
    CoseSign1Builder, HeaderBuilder, RegisteredLabelWithPrivate, TaggedCborSerializable as _,
};
use imagegate_notation::alg::SignatureAlgorithm;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::{
    SigningScheme, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY, HEADER_SIGNING_AGENT,
    HEADER_SIGNING_SCHEME, HEADER_SIGNING_TIME, PAYLOAD_CONTENT_TYPE,
};
use rustls_pki_types::CertificateDer;
use serde_json::{json, Map, Value as Json};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A private key able to produce Notation signatures with one algorithm.
pub struct Signer {
    algorithm: SignatureAlgorithm,
    key: SignerKey,
}

enum SignerKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// Why a key cannot be used for signing.
#[derive(Debug)]
pub struct SignError(pub String);

impl Signer {
    /// Load a PKCS#8 DER private key for `algorithm` (RSA for PS*, EC for ES*).
    pub fn from_pkcs8(algorithm: SignatureAlgorithm, pkcs8: &[u8]) -> Result<Self, SignError> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| SignError(e.to_string());
        let key = match algorithm {
            SignatureAlgorithm::Ps256 | SignatureAlgorithm::Ps384 | SignatureAlgorithm::Ps512 => {
                SignerKey::Rsa(RsaKeyPair::from_pkcs8(pkcs8).map_err(rejected)?)
            }
            SignatureAlgorithm::Es256 => SignerKey::Ec(
                EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(rejected)?,
            ),
            SignatureAlgorithm::Es384 => SignerKey::Ec(
                EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, pkcs8)
                    .map_err(rejected)?,
            ),
            SignatureAlgorithm::Es512 => SignerKey::Ec(
                EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P521_SHA512_FIXED_SIGNING, pkcs8)
                    .map_err(rejected)?,
            ),
        };
        Ok(Self { algorithm, key })
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// Sign `message` (RSASSA-PSS with salt = hash length, or ECDSA `r || s`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = SystemRandom::new();
        let failed = |_| SignError("signing failed".into());
        match &self.key {
            SignerKey::Rsa(key) => {
                let padding: &'static dyn sig::RsaEncoding = match self.algorithm {
                    SignatureAlgorithm::Ps256 => &sig::RSA_PSS_SHA256,
                    SignatureAlgorithm::Ps384 => &sig::RSA_PSS_SHA384,
                    _ => &sig::RSA_PSS_SHA512,
                };
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut out).map_err(failed)?;
                Ok(out)
            }
            SignerKey::Ec(key) => Ok(key.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
        }
    }
}

/// The signed attributes of a new signature.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The signing scheme.
    pub scheme: SigningScheme,
    /// The signing time (`notary.x509`) or authentic signing time (signing authority).
    pub signing_time: OffsetDateTime,
    /// Optional expiry.
    pub expiry: Option<OffsetDateTime>,
    /// Optional signing agent (unsigned).
    pub signing_agent: Option<String>,
    /// Extra protected attributes `(name, value, critical)` (extended attributes).
    pub extended: Vec<(String, String, bool)>,
    /// Optional RFC 3161 token (unsigned).
    pub timestamp_token: Option<Vec<u8>>,
}

impl SignOptions {
    /// `notary.x509` signed at `signing_time`, no expiry.
    pub fn x509(signing_time: OffsetDateTime) -> Self {
        Self {
            scheme: SigningScheme::X509,
            signing_time,
            expiry: None,
            signing_agent: Some("imagegate-test/0.1".into()),
            extended: Vec::new(),
            timestamp_token: None,
        }
    }

    fn time_header(&self) -> &'static str {
        match self.scheme {
            SigningScheme::X509 => HEADER_SIGNING_TIME,
            SigningScheme::X509SigningAuthority => HEADER_AUTHENTIC_SIGNING_TIME,
        }
    }

    /// The `crit` list, in the Go signer's order.
    fn critical(&self) -> Vec<String> {
        let mut crit = vec![HEADER_SIGNING_SCHEME.to_owned()];
        if self.scheme == SigningScheme::X509SigningAuthority {
            crit.push(HEADER_AUTHENTIC_SIGNING_TIME.to_owned());
        }
        if self.expiry.is_some() {
            crit.push(HEADER_EXPIRY.to_owned());
        }
        crit.extend(
            self.extended
                .iter()
                .filter(|(_, _, c)| *c)
                .map(|(n, _, _)| n.clone()),
        );
        crit
    }
}

/// The Notation payload for `target` with optional annotations.
pub fn payload_json(target: &Descriptor, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let mut artifact =
        json!({"mediaType": target.media_type, "digest": target.digest, "size": target.size});
    if !annotations.is_empty() {
        artifact["annotations"] = json!(annotations);
    }
    serde_json::to_vec(&json!({ "targetArtifact": artifact })).unwrap_or_default()
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Build a flattened JWS envelope (`application/jose+json`).
pub fn sign_jws(
    payload: &[u8],
    signer: &Signer,
    chain: &[CertificateDer<'static>],
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let mut protected = Map::new();
    protected.insert("alg".into(), json!(signer.algorithm().jws_name()));
    protected.insert("crit".into(), json!(opts.critical()));
    protected.insert("cty".into(), json!(PAYLOAD_CONTENT_TYPE));
    protected.insert(HEADER_SIGNING_SCHEME.into(), json!(opts.scheme.as_str()));
    protected.insert(opts.time_header().into(), json!(rfc3339(opts.signing_time)));
    if let Some(expiry) = opts.expiry {
        protected.insert(HEADER_EXPIRY.into(), json!(rfc3339(expiry)));
    }
    for (name, value, _) in &opts.extended {
        protected.insert(name.clone(), json!(value));
    }
    let protected_b64 = URL_SAFE_NO_PAD.encode(
        serde_json::to_vec(&Json::Object(protected)).map_err(|e| SignError(e.to_string()))?,
    );
    let payload_b64 = URL_SAFE_NO_PAD.encode(payload);
    let signature = signer.sign(format!("{protected_b64}.{payload_b64}").as_bytes())?;

    let mut header = Map::new();
    header.insert(
        "x5c".into(),
        json!(chain
            .iter()
            .map(|c| STANDARD.encode(c.as_ref()))
            .collect::<Vec<_>>()),
    );
    if let Some(agent) = &opts.signing_agent {
        header.insert(HEADER_SIGNING_AGENT.into(), json!(agent));
    }
    if let Some(token) = &opts.timestamp_token {
        header.insert(
            "io.cncf.notary.timestampSignature".into(),
            json!(STANDARD.encode(token)),
        );
    }
    let envelope = json!({
        "payload": payload_b64,
        "protected": protected_b64,
        "header": header,
        "signature": URL_SAFE_NO_PAD.encode(signature),
    });
    serde_json::to_vec(&envelope).map_err(|e| SignError(e.to_string()))
}

/// Build a COSE_Sign1 envelope (`application/cose`, tag 18).
pub fn sign_cose(
    payload: &[u8],
    signer: &Signer,
    chain: &[CertificateDer<'static>],
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let alg = match signer.algorithm() {
        SignatureAlgorithm::Ps256 => iana::Algorithm::PS256,
        SignatureAlgorithm::Ps384 => iana::Algorithm::PS384,
        SignatureAlgorithm::Ps512 => iana::Algorithm::PS512,
        SignatureAlgorithm::Es256 => iana::Algorithm::ES256,
        SignatureAlgorithm::Es384 => iana::Algorithm::ES384,
        SignatureAlgorithm::Es512 => iana::Algorithm::ES512,
    };
    let epoch =
        |t: OffsetDateTime| Value::Tag(1, Box::new(Value::Integer(t.unix_timestamp().into())));
    let mut protected = HeaderBuilder::new()
        .algorithm(alg)
        .content_type(PAYLOAD_CONTENT_TYPE.into());
    for name in opts.critical() {
        protected = protected.add_critical_label(RegisteredLabelWithPrivate::Text(name));
    }
    protected = protected
        .text_value(
            HEADER_SIGNING_SCHEME.into(),
            Value::Text(opts.scheme.as_str().into()),
        )
        .text_value(opts.time_header().into(), epoch(opts.signing_time));
    if let Some(expiry) = opts.expiry {
        protected = protected.text_value(HEADER_EXPIRY.into(), epoch(expiry));
    }
    for (name, value, _) in &opts.extended {
        protected = protected.text_value(name.clone(), Value::Text(value.clone()));
    }
    let mut unprotected = HeaderBuilder::new().value(
        33,
        Value::Array(
            chain
                .iter()
                .map(|c| Value::Bytes(c.as_ref().to_vec()))
                .collect(),
        ),
    );
    if let Some(agent) = &opts.signing_agent {
        unprotected =
            unprotected.text_value(HEADER_SIGNING_AGENT.into(), Value::Text(agent.clone()));
    }
    if let Some(token) = &opts.timestamp_token {
        unprotected = unprotected.text_value(
            "io.cncf.notary.timestampSignature".into(),
            Value::Bytes(token.clone()),
        );
    }
    let sign1 = CoseSign1Builder::new()
        .protected(protected.build())
        .unprotected(unprotected.build())
        .payload(payload.to_vec())
        .try_create_signature(b"", |tbs| signer.sign(tbs))?
        .build();
    sign1.to_tagged_vec().map_err(|e| SignError(e.to_string()))
}
