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
//! (notation.md §14.2), which `permissive` and `audit` only log. notation-go validates the chain
//! at verification without a time (`ValidateCodeSigningCertChain(chain, nil)`), and so does
//! this module: webpki needs a time, so it is given one at which the leaf and the
//! intermediates are all valid (the latest notBefore; webpki never judges the anchor's dates).
//! When no such instant exists (an intermediate expired before the leaf was issued, say), the
//! links are checked without webpki and without a time: each certificate's signature with the
//! next certificate's key, an intermediate's extended key usage, and no critical extension
//! outside the ones these rules read ([`check_links_untimed`]). Either way the chain's
//! structure is judged, never the clock.

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
    match common_valid_time(&infos) {
        Some(time) => check_path(chain, time)?,
        None => check_links_untimed(&parsed, &infos)?,
    }
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

/// The links, validated by rustls-webpki at `time`, an instant inside the validity of the leaf
/// and of every intermediate.
fn check_path(chain: &[CertificateDer<'static>], time: UnixTime) -> Result<(), CertError> {
    let (Some(leaf), Some(root)) = (chain.first(), chain.last()) else {
        return Err(CertError::Empty);
    };
    let intermediates = chain.get(1..chain.len().saturating_sub(1)).unwrap_or(&[]);
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

/// The latest notBefore of the certificates webpki judges by date (all but the anchor; the
/// single certificate of a chain of one), if it is not after their earliest notAfter.
fn common_valid_time(infos: &[CertificateInfo]) -> Option<UnixTime> {
    let dated = match infos.len() {
        0 | 1 => infos,
        n => infos.get(..n - 1)?,
    };
    let start = dated.iter().map(|i| i.not_before).max()?;
    let end = dated.iter().map(|i| i.not_after).min()?;
    if start > end {
        return None;
    }
    let secs = u64::try_from(start.unix_timestamp()).unwrap_or(0);
    Some(UnixTime::since_unix_epoch(Duration::from_secs(secs)))
}

/// Critical extensions the untimed link check understands: keyUsage, subjectAltName,
/// basicConstraints and extKeyUsage (dotted OIDs). Any other critical extension (name
/// constraints, policy constraints, …) is refused, as webpki would refuse what it cannot judge.
const UNTIMED_CRITICAL_EXTENSIONS: [&str; 4] = ["2.5.29.15", "2.5.29.17", "2.5.29.19", "2.5.29.37"];

/// The links of a chain whose leaf and intermediates have no instant of common validity,
/// checked without a time as notation-go does (each certificate issued by the next: name
/// match and CA rules are in [`check_structure`], the signature here), plus what webpki would
/// otherwise enforce on the path: an intermediate's extended key usage, when present, allows
/// code signing, and no certificate carries a critical extension these rules do not read.
fn check_links_untimed(
    parsed: &[X509Certificate<'_>],
    infos: &[CertificateInfo],
) -> Result<(), CertError> {
    let path_error = |reason: &str| CertError::Path {
        reason: reason.to_owned(),
    };
    for (i, (cert, info)) in parsed.iter().zip(infos).enumerate() {
        let unknown_critical = cert.extensions().iter().any(|ext| {
            ext.critical && !UNTIMED_CRITICAL_EXTENSIONS.contains(&ext.oid.to_id_string().as_str())
        });
        if unknown_critical {
            return Err(path_error(
                "a certificate has an unsupported critical extension",
            ));
        }
        let Some(issuer) = parsed.get(i + 1) else {
            break;
        };
        if i > 0 {
            let allows_code_signing = match cert.extended_key_usage() {
                Ok(None) => true,
                Ok(Some(eku)) => eku.value.code_signing,
                Err(_) => false,
            };
            if !allows_code_signing {
                return Err(path_error(
                    "a certificate's extended key usage does not allow code signing",
                ));
            }
        }
        match signature::check(cert, issuer) {
            SignatureCheck::Valid => {}
            SignatureCheck::Invalid => {
                return Err(path_error(
                    "a certificate's signature does not verify with the next certificate's key",
                ))
            }
            SignatureCheck::Sha1 => {
                return Err(CertError::WeakSignatureAlgorithm {
                    subject: info.subject.clone(),
                })
            }
            SignatureCheck::Unsupported => {
                return Err(CertError::UnsupportedSignatureAlgorithm {
                    subject: info.subject.clone(),
                    oid: cert.signature_algorithm.algorithm.to_id_string(),
                })
            }
        }
    }
    Ok(())
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
