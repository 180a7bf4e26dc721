//! Building flattened JWS envelopes (`application/jose+json`, notation.md §5).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Map, Value};

use super::error::SignError;
use super::key::PrivateKey;
use super::options::{rfc3339, SignOptions};
use crate::envelope::{
    HEADER_EXPIRY, HEADER_SIGNING_AGENT, HEADER_SIGNING_SCHEME, HEADER_TIMESTAMP_SIGNATURE,
    PAYLOAD_CONTENT_TYPE,
};

/// Signs `payload` with `key` into a flattened JWS envelope carrying `chain` (leaf first)
/// in `x5c`. The protected header has sorted keys, as the Go signer writes it.
///
/// This does not check that `chain[0]` certifies `key` (tests build invalid envelopes
/// with it); [`super::Signer`] does.
pub fn sign_jws(
    payload: &[u8],
    key: &PrivateKey,
    chain: &[CertificateDer<'_>],
    opts: &SignOptions,
) -> Result<Vec<u8>, SignError> {
    let (signing_time, expiry) = opts.times()?;
    // serde_json's map is ordered (BTreeMap): keys come out sorted.
    let mut protected = Map::new();
    protected.insert("alg".into(), json!(key.algorithm().jws_name()));
    protected.insert("crit".into(), json!(opts.critical()));
    protected.insert("cty".into(), json!(PAYLOAD_CONTENT_TYPE));
    protected.insert(HEADER_SIGNING_SCHEME.into(), json!(opts.scheme.as_str()));
    protected.insert(opts.time_header().into(), json!(rfc3339(signing_time)?));
    if let Some(expiry) = expiry {
        protected.insert(HEADER_EXPIRY.into(), json!(rfc3339(expiry)?));
    }
    for (name, value, _) in &opts.extended {
        protected.insert(name.clone(), json!(value));
    }
    let protected = serde_json::to_vec(&Value::Object(protected)).map_err(encoding)?;
    let protected_b64 = URL_SAFE_NO_PAD.encode(protected);
    let payload_b64 = URL_SAFE_NO_PAD.encode(payload);
    let signature = key.sign(format!("{protected_b64}.{payload_b64}").as_bytes())?;

    let mut header = Map::new();
    let x5c: Vec<String> = chain.iter().map(|c| STANDARD.encode(c.as_ref())).collect();
    header.insert("x5c".into(), json!(x5c));
    if let Some(agent) = &opts.signing_agent {
        header.insert(HEADER_SIGNING_AGENT.into(), json!(agent));
    }
    if let Some(token) = &opts.timestamp_token {
        header.insert(
            HEADER_TIMESTAMP_SIGNATURE.into(),
            json!(STANDARD.encode(token)),
        );
    }
    let envelope = json!({
        "payload": payload_b64,
        "protected": protected_b64,
        "header": header,
        "signature": URL_SAFE_NO_PAD.encode(signature),
    });
    serde_json::to_vec(&envelope).map_err(encoding)
}

fn encoding(e: serde_json::Error) -> SignError {
    SignError::Encoding {
        format: "JWS",
        reason: e.to_string(),
    }
}
