//! COSE_Sign1 envelopes (`application/cose`, notation.md §6), decoded with `coset`.
//!
//! The protected header bstr is kept exactly as received (`ProtectedHeader::original_data`), so
//! the `Sig_structure` built by `coset` is the one the signer signed.

use coset::cbor::value::Value;
use coset::iana::EnumI64 as _;
use coset::{
    Algorithm, ContentType, CoseSign1, Header, Label, RegisteredLabelWithPrivate,
    TaggedCborSerializable as _,
};
use rustls_pki_types::CertificateDer;
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

/// COSE header label of `x5chain` (RFC 9360).
const LABEL_X5CHAIN: i64 = 33;
/// CBOR tag 18 (COSE_Sign1) followed by an array of four items.
const TAGGED_SIGN1_PREFIX: [u8; 2] = [0xd2, 0x84];

/// Parse a COSE_Sign1 envelope. The size of `bytes` was checked by the caller.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Result<ParsedEnvelope, EnvelopeError> {
    if !bytes.starts_with(&TAGGED_SIGN1_PREFIX) {
        return Err(EnvelopeError::NotCoseSign1Tagged);
    }
    let sign1 = CoseSign1::from_tagged_slice(bytes).map_err(|e| EnvelopeError::Cbor {
        reason: e.to_string(),
    })?;

    let protected_len = sign1.protected.original_data.as_ref().map_or(0, Vec::len);
    if protected_len > limits.max_protected_header_bytes {
        return Err(EnvelopeError::TooLarge {
            what: "protected header",
            size: protected_len,
            limit: limits.max_protected_header_bytes,
        });
    }
    let protected = &sign1.protected.header;
    let alg_id = match &protected.alg {
        Some(Algorithm::Assigned(alg)) => Some(alg.to_i64()),
        Some(Algorithm::PrivateUse(id)) => Some(*id),
        Some(Algorithm::Text(_)) | None => None,
    };
    let algorithm = alg_id
        .and_then(SignatureAlgorithm::from_cose_id)
        .ok_or_else(|| {
            let alg = match (&protected.alg, alg_id) {
                (_, Some(id)) => format!("COSE algorithm {id}"),
                (Some(Algorithm::Text(t)), None) => t.clone(),
                _ => "(none)".to_owned(),
            };
            EnvelopeError::UnsupportedAlgorithm { alg }
        })?;

    if !sign1.unprotected.crit.is_empty() {
        return Err(EnvelopeError::InvalidHeader {
            name: "crit".into(),
            reason: "crit must be in the protected header".into(),
        });
    }
    let attributes = raw_attributes(protected)?.finish("content type")?;
    let (cert_chain, timestamp_token, signing_agent) = unprotected(&sign1.unprotected, limits)?;

    let payload = sign1
        .payload
        .clone()
        .ok_or(EnvelopeError::DetachedPayload)?;
    if payload.len() > limits.max_payload_bytes {
        return Err(EnvelopeError::TooLarge {
            what: "payload",
            size: payload.len(),
            limit: limits.max_payload_bytes,
        });
    }
    let signing_input = sign1.tbs_data(b"");
    Ok(ParsedEnvelope {
        format: EnvelopeFormat::Cose,
        algorithm,
        attributes,
        cert_chain,
        timestamp_token,
        signing_agent,
        payload,
        signature: sign1.signature,
        signing_input,
    })
}

fn label_name(label: &Label) -> String {
    match label {
        Label::Int(i) => i.to_string(),
        Label::Text(t) => t.clone(),
    }
}

fn invalid(name: &str, reason: &str) -> EnvelopeError {
    EnvelopeError::InvalidHeader {
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

fn raw_attributes(protected: &Header) -> Result<RawAttributes, EnvelopeError> {
    let mut raw = RawAttributes::default();
    if protected.alg.is_some() {
        raw.present.push("1".into());
    }
    if protected.content_type.is_some() {
        raw.present.push("3".into());
    }
    raw.present
        .extend(protected.rest.iter().map(|(l, _)| label_name(l)));

    if !protected.crit.is_empty() {
        let mut names = Vec::with_capacity(protected.crit.len());
        for entry in &protected.crit {
            let name = match entry {
                RegisteredLabelWithPrivate::Assigned(p) => p.to_i64().to_string(),
                RegisteredLabelWithPrivate::PrivateUse(i) => i.to_string(),
                RegisteredLabelWithPrivate::Text(t) => t.clone(),
            };
            if let Ok(n) = name.parse::<i64>() {
                if (0..=8).contains(&n) {
                    return Err(EnvelopeError::RegisteredHeaderInCrit { name });
                }
            }
            names.push(name);
        }
        raw.crit = Some(names);
    }
    raw.content_type = match &protected.content_type {
        None => None,
        Some(ContentType::Text(t)) => Some(t.clone()),
        Some(ContentType::Assigned(format)) => {
            Some(format!("CoAP content format {}", format.to_i64()))
        }
    };
    for (label, value) in &protected.rest {
        let Label::Text(name) = label else { continue };
        match name.as_str() {
            HEADER_SIGNING_SCHEME => raw.signing_scheme = Some(text(name, value)?),
            HEADER_SIGNING_TIME => raw.signing_time = Some(epoch_time(name, value)?),
            HEADER_AUTHENTIC_SIGNING_TIME => {
                raw.authentic_signing_time = Some(epoch_time(name, value)?)
            }
            HEADER_EXPIRY => raw.expiry = Some(epoch_time(name, value)?),
            HEADER_VERIFICATION_PLUGIN => raw.verification_plugin = Some(text(name, value)?),
            HEADER_VERIFICATION_PLUGIN_MIN_VERSION => {
                raw.verification_plugin_min_version = Some(text(name, value)?)
            }
            _ => {}
        }
    }
    Ok(raw)
}

fn text(name: &str, value: &Value) -> Result<String, EnvelopeError> {
    match value {
        Value::Text(t) => Ok(t.clone()),
        _ => Err(invalid(name, "expected a text string")),
    }
}

/// A time is CBOR tag 1 around integer (or float) epoch seconds (RFC 8949 §3.4.2); Go refuses
/// untagged values.
fn epoch_time(name: &str, value: &Value) -> Result<OffsetDateTime, EnvelopeError> {
    let Value::Tag(1, inner) = value else {
        return Err(invalid(name, "expected a tag 1 epoch time"));
    };
    let seconds: i64 = match inner.as_ref() {
        Value::Integer(i) => {
            i64::try_from(i128::from(*i)).map_err(|_| invalid(name, "epoch time out of range"))?
        }
        Value::Float(f) if f.is_finite() && f.abs() < 1e15 => f.floor() as i64,
        _ => return Err(invalid(name, "expected a tag 1 epoch time")),
    };
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| invalid(name, "epoch time out of range"))
}

type Unprotected = (
    Vec<CertificateDer<'static>>,
    Option<Vec<u8>>,
    Option<String>,
);

fn unprotected(header: &Header, limits: &Limits) -> Result<Unprotected, EnvelopeError> {
    let mut chain = None;
    let mut token = None;
    let mut agent = None;
    for (label, value) in &header.rest {
        match label {
            Label::Int(LABEL_X5CHAIN) => {
                let items: Vec<&Vec<u8>> = match value {
                    Value::Array(items) => items
                        .iter()
                        .map(|v| match v {
                            Value::Bytes(b) => Ok(b),
                            _ => Err(invalid("x5chain", "expected an array of byte strings")),
                        })
                        .collect::<Result<_, _>>()?,
                    // RFC 9360 allows a single bstr for a one-certificate chain.
                    Value::Bytes(b) => vec![b],
                    _ => return Err(invalid("x5chain", "expected an array of byte strings")),
                };
                if items.len() > limits.max_cert_chain_len {
                    return Err(EnvelopeError::ChainTooLong {
                        len: items.len(),
                        limit: limits.max_cert_chain_len,
                    });
                }
                if let Some(big) = items.iter().find(|b| b.len() > limits.max_cert_bytes) {
                    return Err(EnvelopeError::TooLarge {
                        what: "certificate",
                        size: big.len(),
                        limit: limits.max_cert_bytes,
                    });
                }
                chain = Some(
                    items
                        .into_iter()
                        .map(|b| CertificateDer::from(b.clone()))
                        .collect(),
                );
            }
            Label::Text(name) if name == HEADER_TIMESTAMP_SIGNATURE => match value {
                Value::Bytes(b) if b.len() > limits.max_timestamp_token_bytes => {
                    return Err(EnvelopeError::TooLarge {
                        what: HEADER_TIMESTAMP_SIGNATURE,
                        size: b.len(),
                        limit: limits.max_timestamp_token_bytes,
                    })
                }
                Value::Bytes(b) => token = Some(b.clone()),
                _ => return Err(invalid(name, "expected a byte string")),
            },
            Label::Text(name) if name == HEADER_SIGNING_AGENT => {
                agent = Some(text(name, value)?);
            }
            _ => {}
        }
    }
    let chain: Vec<CertificateDer<'static>> = chain.unwrap_or_default();
    if chain.is_empty() {
        return Err(EnvelopeError::CertChainMissing);
    }
    Ok((chain, token, agent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use coset::CborSerializable as _;
    use coset::{CoseSign1Builder, HeaderBuilder, ProtectedHeader};

    const SIGNING_TIME: i64 = 1_718_692_031;

    fn time_value(seconds: i64) -> Value {
        Value::Tag(1, Box::new(Value::Integer(seconds.into())))
    }

    /// The protected header of a `notary.x509` envelope, with `crit` set by `crit`.
    fn protected(crit: &[RegisteredLabelWithPrivate<coset::iana::HeaderParameter>]) -> Header {
        let mut header = HeaderBuilder::new()
            .algorithm(coset::iana::Algorithm::ES256)
            .content_type(super::super::PAYLOAD_CONTENT_TYPE.to_owned())
            .text_value(
                HEADER_SIGNING_SCHEME.to_owned(),
                Value::Text("notary.x509".into()),
            )
            .text_value(HEADER_SIGNING_TIME.to_owned(), time_value(SIGNING_TIME))
            .build();
        header.crit = crit.to_vec();
        header
    }

    fn scheme_crit() -> RegisteredLabelWithPrivate<coset::iana::HeaderParameter> {
        RegisteredLabelWithPrivate::Text(HEADER_SIGNING_SCHEME.to_owned())
    }

    fn x5chain() -> Header {
        HeaderBuilder::new()
            .value(
                LABEL_X5CHAIN,
                Value::Array(vec![Value::Bytes(vec![0x30, 0x00])]),
            )
            .build()
    }

    fn envelope(protected: Header, unprotected: Header, payload: Option<&[u8]>) -> Vec<u8> {
        let mut builder = CoseSign1Builder::new()
            .protected(protected)
            .unprotected(unprotected)
            .signature(vec![1, 2, 3]);
        if let Some(payload) = payload {
            builder = builder.payload(payload.to_vec());
        }
        builder.build().to_tagged_vec().unwrap()
    }

    #[test]
    fn well_formed_envelope_parses() {
        let bytes = envelope(protected(&[scheme_crit()]), x5chain(), Some(b"{}"));
        let env = parse(&bytes, &Limits::DEFAULT).unwrap();
        assert_eq!(env.algorithm(), SignatureAlgorithm::Es256);
        assert_eq!(
            env.signing_time().map(OffsetDateTime::unix_timestamp),
            Some(SIGNING_TIME)
        );
        assert_eq!(env.cert_chain().len(), 1);
    }

    #[test]
    fn signing_input_uses_the_protected_bytes_as_received() {
        // A protected map in an order no encoder would choose: content type, signing time,
        // signing scheme, crit, then alg. Re-encoding it would change the signed bytes.
        let map = Value::Map(vec![
            (
                Value::Integer(3.into()),
                Value::Text(super::super::PAYLOAD_CONTENT_TYPE.into()),
            ),
            (
                Value::Text(HEADER_SIGNING_TIME.into()),
                time_value(SIGNING_TIME),
            ),
            (
                Value::Text(HEADER_SIGNING_SCHEME.into()),
                Value::Text("notary.x509".into()),
            ),
            (
                Value::Integer(2.into()),
                Value::Array(vec![Value::Text(HEADER_SIGNING_SCHEME.into())]),
            ),
            (Value::Integer(1.into()), Value::Integer((-7).into())),
        ]);
        let mut protected_bytes = Vec::new();
        coset::cbor::ser::into_writer(&map, &mut protected_bytes).unwrap();
        let mut sign1 = CoseSign1Builder::new()
            .unprotected(x5chain())
            .payload(b"{}".to_vec())
            .signature(vec![1, 2, 3])
            .build();
        sign1.protected = ProtectedHeader {
            original_data: Some(protected_bytes.clone()),
            header: Header::default(),
        };
        let bytes = sign1.to_tagged_vec().unwrap();
        let env = parse(&bytes, &Limits::DEFAULT).unwrap();

        let expected = Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(protected_bytes.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(b"{}".to_vec()),
        ]);
        let mut expected_bytes = Vec::new();
        coset::cbor::ser::into_writer(&expected, &mut expected_bytes).unwrap();
        assert_eq!(env.signing_input(), expected_bytes.as_slice());
        assert_eq!(
            env.signed_attributes().signing_scheme,
            super::super::SigningScheme::X509
        );
    }

    #[test]
    fn crit_rules() {
        // Missing crit.
        let err = parse(
            &envelope(protected(&[]), x5chain(), Some(b"{}")),
            &Limits::DEFAULT,
        )
        .unwrap_err();
        assert_eq!(err, EnvelopeError::MissingHeader { name: "crit" });
        // A registered label (alg, 1) listed as critical.
        let alg = RegisteredLabelWithPrivate::Assigned(coset::iana::HeaderParameter::Alg);
        assert_eq!(
            parse(
                &envelope(protected(&[scheme_crit(), alg]), x5chain(), Some(b"{}")),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::RegisteredHeaderInCrit { name: "1".into() }
        );
        // crit in the unprotected bucket.
        let mut unprotected = x5chain();
        unprotected.crit = vec![scheme_crit()];
        assert!(matches!(
            parse(
                &envelope(protected(&[scheme_crit()]), unprotected, Some(b"{}")),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::InvalidHeader { name, .. } if name == "crit"
        ));
    }

    #[test]
    fn payload_chain_and_algorithm_are_required() {
        assert_eq!(
            parse(
                &envelope(protected(&[scheme_crit()]), x5chain(), None),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::DetachedPayload
        );
        assert_eq!(
            parse(
                &envelope(protected(&[scheme_crit()]), Header::default(), Some(b"{}")),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::CertChainMissing
        );
        // x5chain only in the protected bucket is not read (as in Go).
        let mut with_chain = protected(&[scheme_crit()]);
        with_chain.rest.extend(x5chain().rest);
        assert_eq!(
            parse(
                &envelope(with_chain, Header::default(), Some(b"{}")),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::CertChainMissing
        );
        let mut eddsa = protected(&[scheme_crit()]);
        eddsa.alg = Some(Algorithm::Assigned(coset::iana::Algorithm::EdDSA));
        assert!(matches!(
            parse(&envelope(eddsa, x5chain(), Some(b"{}")), &Limits::DEFAULT).unwrap_err(),
            EnvelopeError::UnsupportedAlgorithm { .. }
        ));
        let mut untagged = protected(&[scheme_crit()]);
        untagged
            .rest
            .retain(|(l, _)| *l != Label::Text(HEADER_SIGNING_TIME.into()));
        untagged.rest.push((
            Label::Text(HEADER_SIGNING_TIME.into()),
            Value::Integer(SIGNING_TIME.into()),
        ));
        assert!(matches!(
            parse(
                &envelope(untagged, x5chain(), Some(b"{}")),
                &Limits::DEFAULT
            )
            .unwrap_err(),
            EnvelopeError::InvalidHeader { .. }
        ));
    }

    #[test]
    fn untagged_is_rejected() {
        let sign1 = CoseSign1Builder::new().payload(b"{}".to_vec()).build();
        let bytes = sign1.to_vec().unwrap();
        assert_eq!(
            parse(&bytes, &Limits::DEFAULT).unwrap_err(),
            EnvelopeError::NotCoseSign1Tagged
        );
    }

    #[test]
    fn huge_declared_lengths_fail_without_allocating() {
        // Tag 18, array(4), then a bstr / array / map declaring 2^64-1 items or bytes.
        for kind in [0x5b_u8, 0x9b, 0xbb] {
            let mut bytes = vec![0xd2, 0x84, kind];
            bytes.extend_from_slice(&[0xff; 8]);
            assert!(matches!(
                parse(&bytes, &Limits::DEFAULT).unwrap_err(),
                EnvelopeError::Cbor { .. }
            ));
        }
    }

    #[test]
    fn epoch_time_requires_tag_1() {
        let v = Value::Tag(1, Box::new(Value::Integer(1_718_692_031.into())));
        assert_eq!(epoch_time("t", &v).unwrap().unix_timestamp(), 1_718_692_031);
        assert!(epoch_time("t", &Value::Integer(5.into())).is_err());
        assert!(epoch_time("t", &Value::Tag(0, Box::new(Value::Text("x".into())))).is_err());
    }
}
