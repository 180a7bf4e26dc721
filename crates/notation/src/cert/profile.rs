//! Per-certificate Notation profile checks (notation.md §8): what rustls-webpki does not check
//! (key usage bits, the code-signing EKU deny list, key sizes, role-specific rules).

use x509_parser::prelude::X509Certificate;

use super::error::CertError;
use crate::alg::SigningKey;

/// Rules for the code-signing leaf: basicConstraints `cA=false` if present; keyUsage present
/// with digitalSignature and none of the encipherment/CA bits; EKU, when present, with
/// codeSigning and none of the forbidden purposes; an RSA 2048/3072/4096 or EC P-256/384/521 key.
pub(crate) fn check_code_signing_leaf(
    cert: &X509Certificate<'_>,
    subject: &str,
) -> Result<(), CertError> {
    check_leaf_common(cert, subject)?;
    if let Ok(Some(eku)) = cert.extended_key_usage() {
        let eku = eku.value;
        // Go denies serverAuth, clientAuth, emailProtection, timeStamping and OCSPSigning; the
        // spec also denies anyExtendedKeyUsage (notation.md §16: forbid all six).
        let forbidden = [
            (eku.any, "anyExtendedKeyUsage"),
            (eku.server_auth, "serverAuth"),
            (eku.client_auth, "clientAuth"),
            (eku.email_protection, "emailProtection"),
            (eku.time_stamping, "timeStamping"),
            (eku.ocsp_signing, "OCSPSigning"),
        ];
        if let Some((_, usage)) = forbidden.into_iter().find(|(set, _)| *set) {
            return Err(CertError::LeafExtendedKeyUsageForbidden {
                subject: subject.to_owned(),
                usage,
            });
        }
        if !eku.code_signing {
            return Err(CertError::LeafCodeSigningMissing {
                subject: subject.to_owned(),
            });
        }
    } else if cert.extended_key_usage().is_err() {
        return Err(CertError::LeafCodeSigningMissing {
            subject: subject.to_owned(),
        });
    }
    SigningKey::from_cert(cert)
        .map(|_| ())
        .map_err(|source| CertError::Key {
            subject: subject.to_owned(),
            source,
        })
}

/// Rules for a timestamping leaf: the leaf rules plus a critical EKU that is exactly
/// `timeStamping`.
pub(crate) fn check_timestamping_leaf_parsed(
    cert: &X509Certificate<'_>,
    subject: &str,
) -> Result<(), CertError> {
    check_leaf_common(cert, subject)?;
    let bad = || CertError::TimestampingUsage {
        subject: subject.to_owned(),
    };
    let eku = cert
        .extended_key_usage()
        .map_err(|_| bad())?
        .ok_or_else(bad)?;
    let v = eku.value;
    let only_timestamping = v.time_stamping
        && !(v.any
            || v.server_auth
            || v.client_auth
            || v.code_signing
            || v.email_protection
            || v.ocsp_signing)
        && v.other.is_empty();
    if !eku.critical || !only_timestamping {
        return Err(bad());
    }
    Ok(())
}

fn check_leaf_common(cert: &X509Certificate<'_>, subject: &str) -> Result<(), CertError> {
    if let Ok(Some(bc)) = cert.basic_constraints() {
        if bc.value.ca {
            return Err(CertError::LeafIsCa {
                subject: subject.to_owned(),
            });
        }
    }
    let ku = match cert.key_usage() {
        Ok(Some(ku)) => ku.value,
        _ => {
            return Err(CertError::LeafKeyUsageMissing {
                subject: subject.to_owned(),
            })
        }
    };
    if !ku.digital_signature() {
        return Err(CertError::LeafKeyUsageMissing {
            subject: subject.to_owned(),
        });
    }
    let forbidden = [
        (ku.key_encipherment(), "\"KeyEncipherment\""),
        (ku.data_encipherment(), "\"DataEncipherment\""),
        (ku.key_agreement(), "\"KeyAgreement\""),
        (ku.key_cert_sign(), "\"CertSign\""),
        (ku.crl_sign(), "\"CRLSign\""),
        (ku.encipher_only(), "\"EncipherOnly\""),
        (ku.decipher_only(), "\"DecipherOnly\""),
    ];
    if let Some((_, usage)) = forbidden.into_iter().find(|(set, _)| *set) {
        return Err(CertError::LeafKeyUsageForbidden {
            subject: subject.to_owned(),
            usage,
        });
    }
    Ok(())
}

/// Rules for the CA at chain index `index` (> 0): basicConstraints `cA=true`; a critical
/// keyUsage with keyCertSign; a path length constraint, if present, of at least `index - 1`.
/// As in Go, the basicConstraints critical flag is not required (notation.md §16).
pub(crate) fn check_ca(
    cert: &X509Certificate<'_>,
    subject: &str,
    index: usize,
) -> Result<(), CertError> {
    let bc = match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => bc.value,
        _ => {
            return Err(CertError::NotCa {
                subject: subject.to_owned(),
            })
        }
    };
    match cert.key_usage() {
        Ok(Some(ku)) if ku.critical && ku.value.key_cert_sign() => {}
        _ => {
            return Err(CertError::CaKeyUsage {
                subject: subject.to_owned(),
            })
        }
    }
    if let Some(path_len) = bc.path_len_constraint {
        if (path_len as usize) < index.saturating_sub(1) {
            return Err(CertError::PathLength {
                subject: subject.to_owned(),
                path_len,
            });
        }
    }
    Ok(())
}
