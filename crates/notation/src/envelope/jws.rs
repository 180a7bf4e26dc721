//! Flattened JWS JSON serialization (`application/jose+json`, notation.md §5).
//!
//! Hand-written on serde: the received `protected` and `payload` strings are kept verbatim as
//! the signing input (`ASCII(protected || "." || payload)`); they are never re-encoded.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use rustls_pki_types::CertificateDer;
use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::attributes::{
    RawAttributes, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY, HEADER_SIGNING_AGENT,
    HEADER_SIGNING_SCHEME, HEADER_SIGNING_TIME, HEADER_TIMESTAMP_SIGNATURE,
    HEADER_VERIFICATION_PLUGIN, HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
};
use super::error::EnvelopeError;
use super::{EnvelopeFormat, ParsedEnvelope};
use crate::alg::SignatureAlgorithm;
use crate::limits::Limits;

/// Header names registered by RFC 7515 §4.1; Notation forbids listing them in `crit`.
const REGISTERED: [&str; 11] = [
    "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
];

/// The four members of a flattened JWS; unknown members are ignored as in Go.
#[derive(Deserialize)]
struct JwsJson {
    payload: String,
    protected: String,
    #[serde(default)]
    header: Map<String, Value>,
    signature: String,
}

/// Parse a JWS envelope. The size of `bytes` was checked by the caller.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedEnvelope, EnvelopeError> {
    let jws: JwsJson = serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Json {
        reason: e.to_string(),
    })?;

    let protected_bytes = decode_url(
        "protected",
        &jws.protected,
        limits.max_protected_header_bytes,
    )?;
    let protected: Map<String, Value> =
        serde_json::from_slice(&protected_bytes).map_err(|e| EnvelopeError::Json {
            reason: format!("protected header: {e}"),
        })?;

    let alg_name = match protected.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(invalid("alg", "expected a string")),
        None => return Err(EnvelopeError::MissingHeader { name: "alg" }),
    };
    let algorithm = SignatureAlgorithm::from_jws_name(alg_name).ok_or_else(|| {
        EnvelopeError::UnsupportedAlgorithm {
            alg: alg_name.to_owned(),
        }
    })?;

    let raw = raw_attributes(&protected)?;
    let attributes = raw.finish("cty")?;

    let (cert_chain, timestamp_token, signing_agent) = unprotected(&jws.header, limits)?;
    let payload = decode_url("payload", &jws.payload, limits.max_payload_bytes)?;
    // The longest Notation signature is an RSA-4096 one (512 bytes).
    let signature = decode_url("signature", &jws.signature, 1024)?;

    let mut signing_input = Vec::with_capacity(jws.protected.len() + 1 + jws.payload.len());
    signing_input.extend_from_slice(jws.protected.as_bytes());
    signing_input.push(b'.');
    signing_input.extend_from_slice(jws.payload.as_bytes());

    Ok(ParsedEnvelope {
        format: EnvelopeFormat::Jws,
        algorithm,
        attributes,
        cert_chain,
        timestamp_token,
        signing_agent,
        payload,
        signature,
        signing_input,
    })
}

fn invalid(name: &str, reason: &str) -> EnvelopeError {
    EnvelopeError::InvalidHeader {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn raw_attributes(protected: &Map<String, Value>) -> Result<RawAttributes, EnvelopeError> {
    let crit = match protected.get("crit") {
        None => None,
        Some(Value::Array(items)) => {
            let mut names = Vec::with_capacity(items.len());
            for item in items {
                let Value::String(name) = item else {
                    return Err(invalid("crit", "expected an array of strings"));
                };
                if REGISTERED.contains(&name.as_str()) {
                    return Err(EnvelopeError::RegisteredHeaderInCrit { name: name.clone() });
                }
                names.push(name.clone());
            }
            Some(names)
        }
        Some(_) => return Err(invalid("crit", "expected an array of strings")),
    };
    Ok(RawAttributes {
        crit,
        present: protected.keys().cloned().collect(),
        content_type: opt_string(protected, "cty")?,
        signing_scheme: opt_string(protected, HEADER_SIGNING_SCHEME)?,
        signing_time: opt_time(protected, HEADER_SIGNING_TIME)?,
        authentic_signing_time: opt_time(protected, HEADER_AUTHENTIC_SIGNING_TIME)?,
        expiry: opt_time(protected, HEADER_EXPIRY)?,
        verification_plugin: opt_string(protected, HEADER_VERIFICATION_PLUGIN)?,
        verification_plugin_min_version: opt_string(
            protected,
            HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
        )?,
    })
}

fn opt_string(map: &Map<String, Value>, name: &str) -> Result<Option<String>, EnvelopeError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(name, "expected a string")),
    }
}

fn opt_time(map: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, EnvelopeError> {
    let Some(text) = opt_string(map, name)? else {
        return Ok(None);
    };
    OffsetDateTime::parse(&text, &Rfc3339)
        .map(Some)
        .map_err(|e| invalid(name, &format!("expected an RFC 3339 time: {e}")))
}

type Unprotected = (
    Vec<CertificateDer<'static>>,
    Option<Vec<u8>>,
    Option<String>,
);

/// The unprotected `header`: `x5c` (required), timestamp token and signing agent (optional).
fn unprotected(header: &Map<String, Value>, limits: &Limits) -> Result<Unprotected, EnvelopeError> {
    let certs = match header.get("x5c") {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None => return Err(EnvelopeError::CertChainMissing),
        Some(_) => return Err(invalid("x5c", "expected an array of base64 strings")),
    };
    if certs.len() > limits.max_cert_chain_len {
        return Err(EnvelopeError::ChainTooLong {
            len: certs.len(),
            limit: limits.max_cert_chain_len,
        });
    }
    let mut chain = Vec::with_capacity(certs.len());
    for item in certs {
        let Value::String(text) = item else {
            return Err(invalid("x5c", "expected an array of base64 strings"));
        };
        chain.push(CertificateDer::from(decode_std(
            "x5c",
            text,
            limits.max_cert_bytes,
        )?));
    }
    let token = match header.get(HEADER_TIMESTAMP_SIGNATURE) {
        None => None,
        Some(Value::String(text)) => Some(decode_std(
            HEADER_TIMESTAMP_SIGNATURE,
            text,
            limits.max_timestamp_token_bytes,
        )?),
        Some(_) => {
            return Err(invalid(
                HEADER_TIMESTAMP_SIGNATURE,
                "expected a base64 string",
            ))
        }
    };
    // Go matches JSON keys case-insensitively; the notation-go fixtures spell this
    // `io.cncf.notary.SigningAgent`. The agent is diagnostic only, so follow Go here.
    let agent = header
        .get(HEADER_SIGNING_AGENT)
        .or_else(|| {
            header
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(HEADER_SIGNING_AGENT))
                .map(|(_, v)| v)
        })
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok((chain, token, agent))
}

/// Decode unpadded base64url (RFC 7515 §2), bounded by `limit` decoded bytes.
fn decode_url(field: &'static str, text: &str, limit: usize) -> Result<Vec<u8>, EnvelopeError> {
    check_decoded_len(field, text, limit)?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| base64_error(field, text, e))
}

/// Decode standard, padded base64 (RFC 7515 §4.1.6 for `x5c`), bounded by `limit` bytes.
fn decode_std(field: &'static str, text: &str, limit: usize) -> Result<Vec<u8>, EnvelopeError> {
    check_decoded_len(field, text, limit)?;
    STANDARD
        .decode(text)
        .map_err(|e| base64_error(field, text, e))
}

fn check_decoded_len(field: &'static str, text: &str, limit: usize) -> Result<(), EnvelopeError> {
    let size = decoded_len(text);
    if size > limit {
        return Err(EnvelopeError::TooLarge {
            what: field,
            size,
            limit,
        });
    }
    Ok(())
}

/// The number of bytes `text` decodes to, padded or not, computed before decoding: exact for
/// valid base64, and never less than what a decoder could produce from invalid text.
fn decoded_len(text: &str) -> usize {
    let len = text.len();
    let padding = text
        .bytes()
        .rev()
        .take(2)
        .take_while(|b| *b == b'=')
        .count();
    (len / 4 * 3 + len % 4 * 3 / 4).saturating_sub(padding)
}

/// Map a base64 error to Go's "illegal base64 data at input byte N" position.
fn base64_error(field: &'static str, text: &str, err: base64::DecodeError) -> EnvelopeError {
    let position = match err {
        base64::DecodeError::InvalidByte(pos, _)
        | base64::DecodeError::InvalidLastSymbol(pos, _) => pos,
        base64::DecodeError::InvalidLength(len) => len,
        base64::DecodeError::InvalidPadding => text.find('=').unwrap_or(text.len()),
    };
    EnvelopeError::Base64 { field, position }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn decoded_len_is_exact_for_padded_and_unpadded_base64() {
        for n in 0..200 {
            let bytes = vec![0xa5; n];
            assert_eq!(
                decoded_len(&URL_SAFE_NO_PAD.encode(&bytes)),
                n,
                "unpadded {n}"
            );
            assert_eq!(decoded_len(&STANDARD.encode(&bytes)), n, "padded {n}");
        }
    }

    /// An (unsigned) JWS envelope with this protected header and `chain_len` dummy certificates.
    fn envelope(protected: &Value, chain_len: usize) -> Vec<u8> {
        let x5c: Vec<String> = (0..chain_len)
            .map(|_| STANDARD.encode([0x30, 0x00]))
            .collect();
        json!({
            "payload": URL_SAFE_NO_PAD.encode(b"{}"),
            "protected": URL_SAFE_NO_PAD.encode(protected.to_string()),
            "header": {"x5c": x5c},
            "signature": URL_SAFE_NO_PAD.encode([1u8, 2, 3]),
        })
        .to_string()
        .into_bytes()
    }

    fn x509_header() -> Value {
        json!({
            "alg": "ES256",
            "crit": [HEADER_SIGNING_SCHEME],
            "cty": super::super::PAYLOAD_CONTENT_TYPE,
            HEADER_SIGNING_SCHEME: "notary.x509",
            HEADER_SIGNING_TIME: "2025-01-21T09:17:46Z",
        })
    }

    fn parse_header(protected: &Value) -> Result<ParsedEnvelope, EnvelopeError> {
        parse(&envelope(protected, 1), &Limits::DEFAULT)
    }

    #[test]
    fn well_formed_header_parses_with_exact_signing_input() {
        let bytes = envelope(&x509_header(), 1);
        let env = parse(&bytes, &Limits::DEFAULT).unwrap();
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        let expected = format!(
            "{}.{}",
            json["protected"].as_str().unwrap(),
            json["payload"].as_str().unwrap()
        );
        assert_eq!(env.signing_input(), expected.as_bytes());
        assert_eq!(env.algorithm(), SignatureAlgorithm::Es256);
    }

    #[test]
    fn only_the_six_notation_algorithms_are_accepted() {
        for alg in ["none", "HS256", "RS256", "EdDSA", "ps256"] {
            let mut header = x509_header();
            header["alg"] = json!(alg);
            assert_eq!(
                parse_header(&header).unwrap_err(),
                EnvelopeError::UnsupportedAlgorithm {
                    alg: alg.to_owned()
                }
            );
        }
        let mut header = x509_header();
        header["alg"] = json!(-7);
        assert!(matches!(
            parse_header(&header).unwrap_err(),
            EnvelopeError::InvalidHeader { .. }
        ));
    }

    #[test]
    fn registered_headers_cannot_be_critical() {
        for name in ["alg", "x5c", "cty", "crit"] {
            let mut header = x509_header();
            header["crit"] = json!([HEADER_SIGNING_SCHEME, name]);
            assert_eq!(
                parse_header(&header).unwrap_err(),
                EnvelopeError::RegisteredHeaderInCrit {
                    name: name.to_owned()
                }
            );
        }
    }

    #[test]
    fn scheme_specific_times_are_enforced() {
        // notary.x509 must not carry an authentic signing time.
        let mut header = x509_header();
        header[HEADER_AUTHENTIC_SIGNING_TIME] = json!("2025-01-21T09:17:46Z");
        header["crit"] = json!([HEADER_SIGNING_SCHEME, HEADER_AUTHENTIC_SIGNING_TIME]);
        assert_eq!(
            parse_header(&header).unwrap_err(),
            EnvelopeError::ForbiddenSchemeHeader {
                name: HEADER_AUTHENTIC_SIGNING_TIME,
                scheme: "notary.x509"
            }
        );
        // notary.x509.signingAuthority must carry one, marked critical.
        let mut header = x509_header();
        header[HEADER_SIGNING_SCHEME] = json!("notary.x509.signingAuthority");
        header.as_object_mut().unwrap().remove(HEADER_SIGNING_TIME);
        let err = parse_header(&header).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#""io.cncf.notary.authenticSigningTime" header must be present for notary.x509.signingAuthority signing scheme"#
        );
        header[HEADER_AUTHENTIC_SIGNING_TIME] = json!("2025-01-21T09:17:46Z");
        assert_eq!(
            parse_header(&header).unwrap_err(),
            EnvelopeError::NotMarkedCritical {
                names: vec![HEADER_AUTHENTIC_SIGNING_TIME.to_owned()]
            }
        );
        header["crit"] = json!([HEADER_SIGNING_SCHEME, HEADER_AUTHENTIC_SIGNING_TIME]);
        let env = parse_header(&header).unwrap();
        assert_eq!(
            env.signing_scheme(),
            super::super::SigningScheme::X509SigningAuthority
        );
        assert!(env.signing_time().is_none());
    }

    #[test]
    fn chain_length_is_bounded_and_required() {
        let limits = Limits::DEFAULT;
        assert!(parse(
            &envelope(&x509_header(), limits.max_cert_chain_len),
            &limits
        )
        .is_ok());
        assert_eq!(
            parse(
                &envelope(&x509_header(), limits.max_cert_chain_len + 1),
                &limits
            )
            .unwrap_err(),
            EnvelopeError::ChainTooLong {
                len: limits.max_cert_chain_len + 1,
                limit: limits.max_cert_chain_len
            }
        );
        assert_eq!(
            parse(&envelope(&x509_header(), 0), &limits).unwrap_err(),
            EnvelopeError::CertChainMissing
        );
    }

    #[test]
    fn padded_base64url_is_rejected_at_the_padding() {
        let err = decode_url("payload", "eyJhIjoxfQ=", 100).unwrap_err();
        assert_eq!(
            err,
            EnvelopeError::Base64 {
                field: "payload",
                position: 10
            }
        );
        assert!(err
            .to_string()
            .starts_with("signature is invalid. Error: illegal base64 data at input byte 10"));
    }

    #[test]
    fn standard_alphabet_is_rejected_in_base64url() {
        assert!(decode_url("payload", "ab+/", 100).is_err());
        assert_eq!(decode_url("payload", "ab-_", 100).unwrap().len(), 3);
    }

    #[test]
    fn limits_are_checked_before_decoding() {
        let err = decode_url("payload", &"A".repeat(4000), 100).unwrap_err();
        assert!(matches!(
            err,
            EnvelopeError::TooLarge {
                what: "payload",
                ..
            }
        ));
    }
}
