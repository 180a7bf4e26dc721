//! Validation of an envelope's certificate chain "as given" (notation.md §8).
//!
//! Notation does no path building: `x5c` must be ordered leaf → intermediates → self-signed
//! root, each certificate issued by the next. The ordering, self-signature and profile rules
//! are checked here with Go's messages; the links (signatures, basicConstraints, path length,
//! critical extensions, the codeSigning EKU policy) are validated with rustls-webpki, using the
//! last certificate as the only anchor and the middle ones as intermediates, and requiring the
//! path webpki found to be exactly the given order.
//!
//! Certificate validity periods are *not* judged here: that is the `authenticTimestamp` step
//! (notation.md §14.2). webpki needs a time, so it is given one at which every certificate of
//! the chain is valid (the latest notBefore); a chain whose periods never overlap is rejected.

use std::cell::Cell;
use std::time::Duration;

use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::X509Certificate;

use super::error::CertError;
use super::profile;
use super::signature::{self, SignatureCheck};
use super::{parse_all, CertificateInfo};

/// DER content of the id-kp-codeSigning OID 1.3.6.1.5.5.7.3.3.
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Validate a code-signing chain (leaf first) and return the facts about each certificate.
///
/// A pure function of the chain bytes: no clock, no trust store, no policy. To avoid
/// repeating the work for chains seen before, use a [`ChainCache`](super::ChainCache).
pub fn validate_signing_chain(
    chain: &[CertificateDer<'static>],
) -> Result<Vec<CertificateInfo>, CertError> {
    let (parsed, infos) = parse_all(chain)?;
    let (leaf, leaf_info) = match (parsed.first(), infos.first()) {
        (Some(leaf), Some(info)) => (leaf, info),
        _ => return Err(CertError::Empty),
    };
    profile::check_code_signing_leaf(leaf, &leaf_info.subject)?;
    check_structure(&parsed, &infos)?;
    check_path(chain, &infos)?;
    Ok(infos)
}

/// The same as [`validate_signing_chain`], which no longer remembers anything itself. Kept
/// for callers written when it did (benchmarks, fuzz targets).
pub fn validate_signing_chain_uncached(
    chain: &[CertificateDer<'static>],
) -> Result<Vec<CertificateInfo>, CertError> {
    validate_signing_chain(chain)
}

/// Go's ordering rules: no self-signed certificate before the last one, each issuer name
/// equal to the next subject, CA rules for every certificate after the leaf, and a valid
/// self-signed root at the end (for a chain of one, webpki checks the self-signature).
fn check_structure(
    parsed: &[X509Certificate<'_>],
    infos: &[CertificateInfo],
) -> Result<(), CertError> {
    let last = parsed.len() - 1;
    for (i, (cert, info)) in parsed.iter().zip(infos).enumerate() {
        if i > 0 {
            profile::check_ca(cert, &info.subject, i)?;
        }
        if i == last {
            break;
        }
        let next = &parsed[i + 1];
        if cert.issuer().as_raw() == cert.subject().as_raw() && signature::is_self_signed(cert) {
            return Err(if i == 0 {
                CertError::LeafSelfSigned {
                    subject: info.subject.clone(),
                }
            } else {
                CertError::IntermediateSelfSigned {
                    subject: info.subject.clone(),
                }
            });
        }
        if cert.issuer().as_raw() != next.subject().as_raw() {
            return Err(CertError::NotIssuedBy {
                subject: info.subject.clone(),
                issuer: infos[i + 1].subject.clone(),
            });
        }
    }
    let root = &parsed[last];
    let subject = || infos[last].subject.clone();
    if root.issuer().as_raw() != root.subject().as_raw() {
        return Err(CertError::RootNotSelfSigned { subject: subject() });
    }
    if last > 0 {
        match signature::check(root, root) {
            SignatureCheck::Valid => {}
            SignatureCheck::Invalid => {
                return Err(CertError::RootNotSelfSigned { subject: subject() })
            }
            SignatureCheck::Sha1 => {
                return Err(CertError::WeakSignatureAlgorithm { subject: subject() })
            }
            SignatureCheck::Unsupported => {
                return Err(CertError::UnsupportedSignatureAlgorithm {
                    subject: subject(),
                    oid: root.signature_algorithm.algorithm.to_id_string(),
                })
            }
        }
    }
    Ok(())
}

/// The links, validated by rustls-webpki at a time inside every certificate's validity.
fn check_path(
    chain: &[CertificateDer<'static>],
    infos: &[CertificateInfo],
) -> Result<(), CertError> {
    let (Some(leaf), Some(root)) = (chain.first(), chain.last()) else {
        return Err(CertError::Empty);
    };
    let intermediates = chain.get(1..chain.len().saturating_sub(1)).unwrap_or(&[]);
    let time = common_valid_time(infos)?;
    let anchor = webpki::anchor_from_trusted_cert(root).map_err(chain_error)?;
    let anchors = [anchor];
    let end_entity = webpki::EndEntityCert::try_from(leaf).map_err(chain_error)?;

    let wrong_order = Cell::new(false);
    let same_order = |path: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let found = path.intermediate_certificates().map(|c| c.der());
        if found
            .map(|d| d.as_ref().to_vec())
            .eq(intermediates.iter().map(|d| d.as_ref().to_vec()))
        {
            Ok(())
        } else {
            wrong_order.set(true);
            Err(webpki::Error::UnknownIssuer)
        }
    };
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            time,
            webpki::KeyUsage::required_if_present(EKU_CODE_SIGNING),
            None,
            Some(&same_order),
        )
        .map(|_| ())
        .map_err(|e| {
            if wrong_order.get() {
                CertError::Path {
                    reason: "the certificates are not in leaf-to-root order".into(),
                }
            } else {
                chain_error(e)
            }
        })
}

/// The latest notBefore, if it is not after the earliest notAfter.
fn common_valid_time(infos: &[CertificateInfo]) -> Result<UnixTime, CertError> {
    let start = infos
        .iter()
        .map(|i| i.not_before)
        .max()
        .ok_or(CertError::Empty)?;
    let end = infos
        .iter()
        .map(|i| i.not_after)
        .min()
        .ok_or(CertError::Empty)?;
    if start > end {
        return Err(CertError::DisjointValidity);
    }
    let secs = u64::try_from(start.unix_timestamp()).unwrap_or(0);
    Ok(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// Translate a rustls-webpki error into the Notation certificate error it stands for.
pub(crate) fn chain_error(err: webpki::Error) -> CertError {
    use webpki::Error as E;
    let reason = match err {
        E::CaUsedAsEndEntity => "the leaf certificate is a CA certificate",
        E::EndEntityUsedAsCa => "a certificate after the leaf is not a CA certificate",
        E::UnknownIssuer => "a certificate is not issued by the next certificate of the chain",
        E::InvalidSignatureForPublicKey => {
            "a certificate's signature does not verify with the next certificate's key"
        }
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate uses an unsupported signature algorithm"
        }
        E::UnsupportedCriticalExtension => "a certificate has an unsupported critical extension",
        E::PathLenConstraintViolated => "a path length constraint is violated",
        E::RequiredEkuNotFoundContext(_) => {
            "a certificate's extended key usage does not allow code signing"
        }
        E::BadDer | E::BadDerTime | E::TrailingData(_) => "a certificate is not valid DER",
        E::UnsupportedCertVersion => "a certificate is not an X.509 v3 certificate",
        E::NameConstraintViolation => "a name constraint is violated",
        other => {
            return CertError::Path {
                reason: format!("{other:?}"),
            }
        }
    };
    CertError::Path {
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch() -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(0))
    }

    #[test]
    fn webpki_errors_map_to_notation_reasons() {
        let reason = |e| match chain_error(e) {
            CertError::Path { reason } => reason,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(
            reason(webpki::Error::CaUsedAsEndEntity),
            "the leaf certificate is a CA certificate"
        );
        assert!(reason(webpki::Error::UnknownIssuer).contains("not issued by the next certificate"));
        assert!(reason(webpki::Error::InvalidSignatureForPublicKey)
            .contains("signature does not verify"));
        assert!(reason(webpki::Error::UnsupportedCriticalExtension).contains("critical extension"));
        assert!(reason(webpki::Error::CertExpired {
            time: epoch(),
            not_after: epoch()
        })
        .starts_with("CertExpired"));
    }

    #[test]
    fn empty_chain_is_rejected() {
        assert_eq!(validate_signing_chain(&[]), Err(CertError::Empty));
    }
}
