//! The CMS signer of a timestamp token (tspclient-go `SignedToken.Verify`): locating the
//! signing certificate, building its chain to a TSA root, and verifying the CMS signature and
//! signed attributes.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::x509::AlgorithmIdentifier;

use super::cms::{self, SignedData, SignerId, SignerInfo};
use super::signature::{self, Hash};
use super::{chain, der, tstinfo};

/// tspclient `SignedToken.Verify`: the first signer info that verifies wins; otherwise the
/// last error is returned. Returns the TSA chain (leaf first).
pub(super) fn verify_signed_token(
    signed: &SignedData<'_>,
    roots: &[CertificateDer<'static>],
    gen_time: OffsetDateTime,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut last_error = "signerInfo not found".to_owned();
    for signer in &signed.signer_infos {
        match verify_signer(signed, signer, roots, gen_time) {
            Ok(chain) => return Ok(chain),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

fn verify_signer(
    signed: &SignedData<'_>,
    signer: &SignerInfo<'_>,
    roots: &[CertificateDer<'static>],
    gen_time: OffsetDateTime,
) -> Result<Vec<CertificateDer<'static>>, String> {
    let signing_cert = signing_certificate(signed, signer)?;
    if signer.version != 1 {
        return Err(format!(
            "cms verification failure: invalid signer info version: only version 1 is supported; got {}",
            signer.version
        ));
    }
    let intermediates: Vec<&[u8]> = signed
        .certificates
        .iter()
        .copied()
        .filter(|c| *c != signing_cert)
        .collect();
    let tsa_chain = chain::build_path(signing_cert, &intermediates, roots, gen_time)
        .map_err(|e| format!("cms verification failure: {e}"))?;
    verify_cms_signature(signed, signer, signing_cert)?;
    verify_signed_attributes(signed, signer, &tsa_chain)?;
    chain::check_signing_cert_eku(signing_cert)?;
    Ok(tsa_chain)
}

/// tspclient `SigningCertificate`: locate the certificate named by `signing-certificate-v2`
/// (issuerSerial, else the signer identifier) and check its hash.
fn signing_certificate<'a>(
    signed: &SignedData<'a>,
    signer: &SignerInfo<'_>,
) -> Result<&'a [u8], String> {
    let attr = signer
        .attribute(cms::OID_ATTR_SIGNING_CERTIFICATE_V2)
        .map_err(|e| format!("failed to get SigningCertificateV2 from signed attributes: {e}"))?
        .ok_or("failed to get SigningCertificateV2 from signed attributes: attribute not found")?;
    let ess = cms::parse_signing_certificate_v2(attr)
        .map_err(|e| format!("failed to get SigningCertificateV2 from signed attributes: {e}"))?;
    let candidate = match ess.issuer_serial {
        Some((issuer, serial)) => find_by_issuer_serial(signed, issuer, serial),
        None => match signer.sid {
            SignerId::IssuerSerial { issuer, serial } => {
                find_by_issuer_serial(signed, issuer, serial)
            }
            SignerId::SubjectKeyId(ski) => find_by_ski(signed, ski),
        },
    }
    .ok_or("signing certificate not found in the timestamp token")?;
    let hash = Hash::from_oid(&ess.hash_oid)
        .ok_or("unsupported certificate hash algorithm in SigningCertificateV2 attribute")?;
    if hash.digest(candidate) != ess.cert_hash {
        return Err(
            "signing certificate hash does not match CertHash in signed attribute".to_owned(),
        );
    }
    Ok(candidate)
}

fn find_by_issuer_serial<'a>(
    signed: &SignedData<'a>,
    issuer: &[u8],
    serial: &[u8],
) -> Option<&'a [u8]> {
    let want = der::integer_magnitude(serial);
    signed.certificates.iter().copied().find(|der| {
        X509Certificate::from_der(der).is_ok_and(|(_, c)| {
            c.tbs_certificate.issuer.as_raw() == issuer
                && der::integer_magnitude(c.tbs_certificate.raw_serial()) == want
        })
    })
}

fn find_by_ski<'a>(signed: &SignedData<'a>, ski: &[u8]) -> Option<&'a [u8]> {
    use x509_parser::extensions::ParsedExtension;
    signed.certificates.iter().copied().find(|der| {
        X509Certificate::from_der(der).is_ok_and(|(_, c)| {
            c.extensions().iter().any(|e| {
                matches!(e.parsed_extension(), ParsedExtension::SubjectKeyIdentifier(k) if k.0 == ski)
            })
        })
    })
}

/// RFC 5652 §5.6: the signature over the DER signed attributes (or the content when there
/// are none) with the signing certificate's key.
fn verify_cms_signature(
    signed: &SignedData<'_>,
    signer: &SignerInfo<'_>,
    cert_der: &[u8],
) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| format!("cms verification failure: {e}"))?;
    let (_, alg) = AlgorithmIdentifier::from_der(signer.signature_algorithm)
        .map_err(|_| "cms verification failure: unknown signature algorithm".to_owned())?;
    let attrs = signer.signed_attrs_der();
    let message: &[u8] = match &attrs {
        Some(der) => der,
        None => &signed.content,
    };
    signature::verify(
        cert.public_key(),
        &alg,
        Some(&signer.digest_oid),
        message,
        signer.signature,
    )
    .map_err(|e| match e {
        signature::SigError::Unsupported(_) => {
            "cms verification failure: unknown signature algorithm".to_owned()
        }
        // Go's wording for each key type.
        signature::SigError::Invalid if signature::is_ec_key(cert.public_key()) => {
            "cms verification failure: x509: ECDSA verification failure".to_owned()
        }
        signature::SigError::Invalid => {
            "cms verification failure: crypto/rsa: verification error".to_owned()
        }
    })
}

/// tspclient `verifySignedAttributes`.
fn verify_signed_attributes(
    signed: &SignedData<'_>,
    signer: &SignerInfo<'_>,
    tsa_chain: &[CertificateDer<'static>],
) -> Result<(), String> {
    let fail = |m: &str| format!("cms verification failure: {m}");
    if signer.signed_attrs_raw.is_none() {
        return Err(fail("missing signed attributes"));
    }
    let content_type = signer
        .attribute(cms::OID_ATTR_CONTENT_TYPE)
        .map_err(|e| fail(&format!("invalid content type: {e}")))?
        .ok_or_else(|| fail("invalid content type: attribute not found"))?;
    let content_type = (content_type.tag == der::tag::OID)
        .then(|| der::oid_string(content_type.content).ok())
        .flatten()
        .ok_or_else(|| fail("invalid content type"))?;
    if content_type != signed.content_type {
        return Err(fail(&format!(
            "mismatch content type: found {content_type:?} in signer info, and {:?} in signed data",
            signed.content_type
        )));
    }
    let digest = signer
        .attribute(cms::OID_ATTR_MESSAGE_DIGEST)
        .map_err(|e| fail(&format!("invalid message digest: {e}")))?
        .filter(|t| t.tag == der::tag::OCTET_STRING)
        .ok_or_else(|| fail("invalid message digest"))?;
    let hash =
        Hash::from_oid(&signer.digest_oid).ok_or_else(|| fail("unsupported digest algorithm"))?;
    if hash.digest(&signed.content) != digest.content {
        return Err(fail("mismatch message digest"));
    }
    let Some(time) = signer
        .attribute(cms::OID_ATTR_SIGNING_TIME)
        .map_err(|e| fail(&format!("invalid signing time: {e}")))?
    else {
        return Ok(());
    };
    let signing_time = match time.tag {
        der::tag::UTC_TIME => tstinfo::parse_utc_time(time.content),
        der::tag::GENERALIZED_TIME => tstinfo::parse_generalized_time(time.content),
        _ => Err(der::DerError::Invalid("signing time")),
    }
    .map_err(|e| fail(&format!("invalid signing time: {e}")))?;
    for der in tsa_chain {
        let (_, cert) =
            X509Certificate::from_der(der.as_ref()).map_err(|e| fail(&e.to_string()))?;
        let v = cert.validity();
        if signing_time < v.not_before.to_datetime() || signing_time > v.not_after.to_datetime() {
            return Err(fail(&format!(
                "signing time, {signing_time}, is outside certificate's validity period"
            )));
        }
    }
    Ok(())
}
