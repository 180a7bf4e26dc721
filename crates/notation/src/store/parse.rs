//! Reading certificate files (PEM or DER) and the per-certificate rules of trust stores.

use rustls_pki_types::pem::{PemObject, SectionKind};
use rustls_pki_types::CertificateDer;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dn::DistinguishedName;
use crate::policy::StoreType;
use crate::timestamp::signature::verify_cert_signature;

use super::error::StoreError;

/// Most certificates accepted from one file.
pub const MAX_CERTS_PER_FILE: usize = 1000;

/// Split a file into DER certificates: every `CERTIFICATE` block of a PEM file, or one or
/// more concatenated DER certificates. Other PEM blocks (keys, CRLs, …) are refused.
pub(crate) fn read_certificates(
    file: &str,
    bytes: &[u8],
) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let unreadable = |reason: String| StoreError::Unreadable {
        file: file.to_owned(),
        reason,
    };
    let mut out = Vec::new();
    if contains(bytes, b"-----BEGIN") {
        for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
            let (kind, der) = section.map_err(|e| unreadable(format!("invalid PEM: {e}")))?;
            if kind != SectionKind::Certificate {
                return Err(unreadable(format!(
                    "found a PEM block of kind {kind:?}; trust store files may only contain CERTIFICATE blocks"
                )));
            }
            push_checked(&mut out, file, der)?;
        }
    } else {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (tail, _) = X509Certificate::from_der(rest)
                .map_err(|e| unreadable(format!("not a PEM or DER X.509 certificate: {e}")))?;
            let len = rest.len() - tail.len();
            let (der, tail) = rest.split_at(len);
            push_checked(&mut out, file, der.to_vec())?;
            rest = tail;
        }
    }
    if out.is_empty() {
        return Err(unreadable(
            "no x509 certificate found in the file".to_owned(),
        ));
    }
    Ok(out)
}

fn push_checked(
    out: &mut Vec<CertificateDer<'static>>,
    file: &str,
    der: Vec<u8>,
) -> Result<(), StoreError> {
    if out.len() >= MAX_CERTS_PER_FILE {
        return Err(StoreError::TooManyCertificates {
            file: file.to_owned(),
            max: MAX_CERTS_PER_FILE,
        });
    }
    match X509Certificate::from_der(&der) {
        Ok(([], _)) => {
            out.push(CertificateDer::from(der));
            Ok(())
        }
        Ok(_) => Err(StoreError::Unreadable {
            file: file.to_owned(),
            reason: "trailing data after a certificate in a PEM block".to_owned(),
        }),
        Err(e) => Err(StoreError::Unreadable {
            file: file.to_owned(),
            reason: format!("malformed certificate: {e}"),
        }),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Apply notation-go's trust-store rules to one certificate: `ca` and `signingAuthority`
/// stores accept CA certificates or self-signed certificates; `tsa` stores accept only
/// self-signed root CA certificates.
pub(crate) fn check_certificate(
    store_type: StoreType,
    store_name: &str,
    file: &str,
    der: &CertificateDer<'_>,
) -> Result<(), StoreError> {
    let (_, cert) =
        X509Certificate::from_der(der.as_ref()).map_err(|e| StoreError::Unreadable {
            file: file.to_owned(),
            reason: format!("malformed certificate: {e}"),
        })?;
    let subject = DistinguishedName::from_cert_subject(der.as_ref())
        .map(|d| d.to_string())
        .unwrap_or_default();
    let is_ca = cert.is_ca();
    let self_signature = verify_cert_signature(&cert, cert.public_key());
    match store_type {
        StoreType::Ca | StoreType::SigningAuthority => {
            if is_ca || self_signature.is_ok() {
                Ok(())
            } else {
                Err(StoreError::NotCaOrSelfSigned {
                    file: file.to_owned(),
                    subject,
                })
            }
        }
        StoreType::Tsa => {
            let not_root = |reason: String| StoreError::NotRootCa {
                name: store_name.to_owned(),
                file: file.to_owned(),
                subject: subject.clone(),
                reason,
            };
            if !is_ca {
                return Err(not_root(
                    "it is not a CA certificate (basicConstraints cA is not true)".to_owned(),
                ));
            }
            let can_sign_certs = match cert.key_usage() {
                Ok(Some(ku)) => ku.value.key_cert_sign(),
                Ok(None) => true,
                Err(e) => return Err(not_root(format!("invalid key usage extension: {e}"))),
            };
            if !can_sign_certs {
                return Err(not_root(
                    "its key usage does not include keyCertSign".to_owned(),
                ));
            }
            self_signature.map_err(|e| not_root(format!("it is not self-signed: {e}")))?;
            if cert.tbs_certificate.issuer.as_raw() != cert.tbs_certificate.subject.as_raw() {
                return Err(not_root(
                    "its issuer and subject are not the same".to_owned(),
                ));
            }
            Ok(())
        }
    }
}
