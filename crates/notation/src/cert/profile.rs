//! Per-certificate Notation profile checks (notation.md §8): what rustls-webpki does not check
//! (key usage bits, the code-signing EKU deny list, key sizes, role-specific rules).

use x509_parser::prelude::X509Certificate;

use super::error::CertError;
use crate::alg::SigningKey;

/// Rules for the code-signing leaf: basicConstraints `cA=false` if present; a critical keyUsage
/// with digitalSignature and none of the encipherment/CA bits; EKU, when present, with
/// codeSigning and none of the forbidden purposes; an RSA 2048/3072/4096 or EC P-256/384/521 key.
pub(crate) fn check_code_signing_leaf(
    cert: &X509Certificate<'_>,
    subject: &str,
) -> Result<(), CertError> {
    // The spec and notation-go require a *critical* keyUsage on code-signing certificates.
    check_leaf_common(cert, subject, KeyUsageCriticality::Required)?;
    let eku = cert
        .extended_key_usage()
        .map_err(|e| CertError::InvalidExtension {
            subject: subject.to_owned(),
            reason: e.to_string(),
        })?;
    if let Some(eku) = eku {
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
    check_leaf_common(cert, subject, KeyUsageCriticality::NotRequired)?;
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

/// A keyUsage extension must be present and critical (notation-core-go
/// `validateCodeSigningKeyUsagePresent`, for code-signing leaves and CAs).
fn check_key_usage_critical(cert: &X509Certificate<'_>, subject: &str) -> Result<(), CertError> {
    match cert.key_usage() {
        Ok(Some(ku)) if ku.critical => Ok(()),
        Ok(Some(_)) => Err(CertError::KeyUsageNotCritical {
            subject: subject.to_owned(),
        }),
        Ok(None) => Err(CertError::KeyUsageNotPresent {
            subject: subject.to_owned(),
        }),
        Err(e) => Err(CertError::InvalidExtension {
            subject: subject.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// basicConstraints, if present, must say `cA=false`; a malformed or duplicated extension is
/// refused rather than read as absent.
fn check_basic_constraints_leaf(
    cert: &X509Certificate<'_>,
    subject: &str,
) -> Result<(), CertError> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => Err(CertError::LeafIsCa {
            subject: subject.to_owned(),
        }),
        Ok(_) => Ok(()),
        Err(e) => Err(CertError::InvalidExtension {
            subject: subject.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Whether a leaf's keyUsage extension must be critical.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyUsageCriticality {
    /// Code signing (spec and Go).
    Required,
    /// Timestamping (the spec says SHOULD).
    NotRequired,
}

fn check_leaf_common(
    cert: &X509Certificate<'_>,
    subject: &str,
    criticality: KeyUsageCriticality,
) -> Result<(), CertError> {
    check_basic_constraints_leaf(cert, subject)?;
    if criticality == KeyUsageCriticality::Required {
        check_key_usage_critical(cert, subject)?;
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
        (ku.key_encipherment(), "KeyEncipherment"),
        (ku.data_encipherment(), "DataEncipherment"),
        (ku.key_agreement(), "KeyAgreement"),
        (ku.key_cert_sign(), "CertSign"),
        (ku.crl_sign(), "CRLSign"),
        (ku.encipher_only(), "EncipherOnly"),
        (ku.decipher_only(), "DecipherOnly"),
    ];
    let usages: Vec<&'static str> = forbidden
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect();
    if !usages.is_empty() {
        return Err(CertError::LeafKeyUsageForbidden {
            subject: subject.to_owned(),
            usages,
        });
    }
    Ok(())
}

/// Rules for the CA at chain index `index` (> 0), in notation-core-go's order: basicConstraints
/// `cA=true`; a path length constraint, if present, of at least `index - 1`; a critical
/// keyUsage with keyCertSign. As in Go, the basicConstraints critical flag is not required
/// (notation.md §16).
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
    let expected = index.saturating_sub(1);
    if let Some(path_len) = bc.path_len_constraint {
        if usize::try_from(path_len).is_ok_and(|p| p < expected) {
            return Err(CertError::PathLength {
                subject: subject.to_owned(),
                expected,
                path_len,
            });
        }
    }
    check_key_usage_critical(cert, subject)?;
    match cert.key_usage() {
        Ok(Some(ku)) if ku.value.key_cert_sign() => Ok(()),
        _ => Err(CertError::CaKeyUsage {
            subject: subject.to_owned(),
        }),
    }
}
