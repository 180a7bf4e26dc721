//! Certificate revocation: the checker interface, result summary, CRL evaluation, an offline
//! checker and a test double.
//!
//! The verifier hands a validated chain (leaf first, root last) to a [`RevocationChecker`] and
//! turns the per-certificate answers into a verdict with [`summarize`]. As in notation-go
//! (`notation-core-go/revocation`), the root is never checked (always
//! [`RevocationStatus::NonRevokable`]), a certificate without OCSP or CRL URLs is
//! non-revokable, and a revoked or undeterminable certificate fails the check.
//!
//! This crate does no I/O. [`crl`] holds the pure half of CRL checking: [`crl::crl_urls`]
//! says where to download a certificate's CRLs and [`crl::evaluate_crl`] judges a downloaded
//! CRL (issuer, signature, freshness, delta and critical extensions, serial lookup). The
//! download, caching and the checker built on them live in the engine
//! (`imagegate_engine::revocation::CrlRevocationChecker`). OCSP and delta CRLs are not
//! supported. The [`OfflineRevocationChecker`] reports certificates that carry revocation URLs
//! as [`RevocationStatus::Unknown`].

use std::collections::BTreeMap;
use std::fmt;

use rustls_pki_types::CertificateDer;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dn::DistinguishedName;

pub mod crl;

pub use crl::{crl_next_update, crl_urls, evaluate_crl, CrlAnswer, CrlError, MAX_CRL_SIZE};

/// OID of the OCSP access method in Authority Information Access.
const OID_AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";

/// What the checked chain is used for; selects the wording of errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertPurpose {
    /// The code-signing chain of a signature envelope ("signing certificate …").
    CodeSigning,
    /// The TSA chain inside an RFC 3161 timestamp token ("timestamping certificate …").
    Timestamping,
}

impl CertPurpose {
    fn word(self) -> &'static str {
        match self {
            Self::CodeSigning => "signing",
            Self::Timestamping => "timestamping",
        }
    }
}

impl fmt::Display for CertPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Revocation status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationStatus {
    /// Checked and not revoked.
    Ok,
    /// The certificate carries no revocation information, or it is the root.
    NonRevokable,
    /// The certificate is revoked.
    Revoked,
    /// The status could not be determined.
    Unknown,
}

impl RevocationStatus {
    /// Whether this status lets verification pass.
    pub fn is_good(self) -> bool {
        matches!(self, Self::Ok | Self::NonRevokable)
    }
}

/// How a status was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationMethod {
    /// No server was asked (root, no URLs, offline, or a fixed answer).
    NotChecked,
    /// OCSP.
    Ocsp,
    /// CRL.
    Crl,
    /// OCSP first, then CRL because OCSP gave no answer.
    OcspFallbackCrl,
}

/// Result for one certificate of a chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CertRevocation {
    /// Certificate subject in Go's `pkix.Name.String()` form.
    pub subject: String,
    /// Its status.
    pub status: RevocationStatus,
    /// How the status was obtained.
    pub method: RevocationMethod,
}

/// Checks the revocation status of a validated chain.
pub trait RevocationChecker: Send + Sync {
    /// Check a validated chain (leaf first, root last) and return one result per certificate,
    /// in chain order. The root is never checked (always [`RevocationStatus::NonRevokable`]).
    /// `authentic_signing_time` is set for the signing-authority scheme only: a revocation
    /// whose invalidity date is after it does not count.
    fn check(
        &self,
        chain: &[CertificateDer<'static>],
        purpose: CertPurpose,
        authentic_signing_time: Option<time::OffsetDateTime>,
    ) -> Vec<CertRevocation>;
}

/// A revocation check failure, worded like notation-go.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// A certificate of the chain is revoked.
    #[error("{purpose} certificate with subject {subject:?} is revoked")]
    Revoked {
        /// Which chain was checked.
        purpose: CertPurpose,
        /// Subject of the revoked certificate (the one closest to the leaf).
        subject: String,
    },
    /// The status of a certificate could not be determined.
    #[error("{purpose} certificate with subject {subject:?} revocation status is unknown")]
    Unknown {
        /// Which chain was checked.
        purpose: CertPurpose,
        /// Subject of the undeterminable certificate (the one closest to the leaf).
        subject: String,
    },
    /// The checker returned a different number of results than the chain has certificates.
    #[error("unable to check revocation status, err: the revocation checker returned {got} results for the {expected} certificates of the {purpose} certificate chain")]
    IncompleteResult {
        /// Which chain was checked.
        purpose: CertPurpose,
        /// Number of certificates in the chain.
        expected: usize,
        /// Number of results returned.
        got: usize,
    },
    /// The checker returned no result at all.
    #[error("unable to check revocation status, err: the revocation checker returned no result for the {purpose} certificate chain")]
    NoResult {
        /// Which chain was checked.
        purpose: CertPurpose,
    },
}

/// Summarise per-certificate results: all [`RevocationStatus::is_good`] → `Ok(())`; any
/// revoked → [`RevocationError::Revoked`]; otherwise → [`RevocationError::Unknown`]. The
/// subject reported is the problematic certificate closest to the leaf.
pub fn summarize(results: &[CertRevocation], purpose: CertPurpose) -> Result<(), RevocationError> {
    if results.is_empty() {
        return Err(RevocationError::NoResult { purpose });
    }
    if let Some(r) = results
        .iter()
        .find(|r| r.status == RevocationStatus::Revoked)
    {
        return Err(RevocationError::Revoked {
            purpose,
            subject: r.subject.clone(),
        });
    }
    match results.iter().find(|r| !r.status.is_good()) {
        Some(r) => Err(RevocationError::Unknown {
            purpose,
            subject: r.subject.clone(),
        }),
        None => Ok(()),
    }
}

/// Ask `checker` about `chain` and [`summarize`] the answer, which must hold exactly one
/// result per certificate: a checker that skips certificates must not let a chain pass.
pub fn check_chain(
    checker: &dyn RevocationChecker,
    chain: &[CertificateDer<'static>],
    purpose: CertPurpose,
    authentic_signing_time: Option<time::OffsetDateTime>,
) -> Result<(), RevocationError> {
    let results = checker.check(chain, purpose, authentic_signing_time);
    if !results.is_empty() && results.len() != chain.len() {
        return Err(RevocationError::IncompleteResult {
            purpose,
            expected: chain.len(),
            got: results.len(),
        });
    }
    summarize(&results, purpose)
}

/// Go-form subject of a certificate, or an empty string if it cannot be parsed.
fn subject_of(cert: &CertificateDer<'_>) -> String {
    DistinguishedName::from_cert_subject(cert.as_ref())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

/// Whether a certificate carries OCSP (AIA) or CRL (CDP) URLs; `None` if it cannot be parsed.
pub fn has_revocation_urls(cert: &CertificateDer<'_>) -> Option<bool> {
    let (_, cert) = X509Certificate::from_der(cert.as_ref()).ok()?;
    let mut found = false;
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            found |= aia.accessdescs.iter().any(|d| {
                d.access_method.to_id_string() == OID_AD_OCSP
                    && matches!(d.access_location, GeneralName::URI(_))
            });
        }
    }
    found |= !crl::cdp_uris(&cert).is_empty();
    Some(found)
}

/// Offline checker: the root and certificates without OCSP/CRL URLs are
/// [`RevocationStatus::NonRevokable`]; certificates with such URLs (or that cannot be parsed)
/// are [`RevocationStatus::Unknown`], since their status cannot be fetched without network.
#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineRevocationChecker;

impl RevocationChecker for OfflineRevocationChecker {
    fn check(
        &self,
        chain: &[CertificateDer<'static>],
        _purpose: CertPurpose,
        _authentic_signing_time: Option<time::OffsetDateTime>,
    ) -> Vec<CertRevocation> {
        let last = chain.len().saturating_sub(1);
        chain
            .iter()
            .enumerate()
            .map(|(i, cert)| {
                let status = if i == last || has_revocation_urls(cert) == Some(false) {
                    RevocationStatus::NonRevokable
                } else {
                    RevocationStatus::Unknown
                };
                CertRevocation {
                    subject: subject_of(cert),
                    status,
                    method: RevocationMethod::NotChecked,
                }
            })
            .collect()
    }
}

/// Test double: answers a fixed status for every non-root certificate, optionally overridden
/// per subject (Go form, e.g. `CN=e2e,O=Notary,L=Seattle,ST=WA,C=US`). The root is always
/// [`RevocationStatus::NonRevokable`].
#[derive(Debug, Clone)]
pub struct FixedRevocationChecker {
    default: RevocationStatus,
    by_subject: BTreeMap<String, RevocationStatus>,
}

impl FixedRevocationChecker {
    /// Answer `status` for every non-root certificate.
    pub fn new(status: RevocationStatus) -> Self {
        Self {
            default: status,
            by_subject: BTreeMap::new(),
        }
    }

    /// Answer `status` for non-root certificates with this Go-form subject.
    pub fn with_subject(mut self, subject: impl Into<String>, status: RevocationStatus) -> Self {
        self.by_subject.insert(subject.into(), status);
        self
    }
}

impl RevocationChecker for FixedRevocationChecker {
    fn check(
        &self,
        chain: &[CertificateDer<'static>],
        _purpose: CertPurpose,
        _authentic_signing_time: Option<time::OffsetDateTime>,
    ) -> Vec<CertRevocation> {
        let last = chain.len().saturating_sub(1);
        chain
            .iter()
            .enumerate()
            .map(|(i, cert)| {
                let subject = subject_of(cert);
                let status = if i == last {
                    RevocationStatus::NonRevokable
                } else {
                    self.by_subject
                        .get(&subject)
                        .copied()
                        .unwrap_or(self.default)
                };
                CertRevocation {
                    subject,
                    status,
                    method: RevocationMethod::NotChecked,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers "good" for the first certificate only, forgetting the rest.
    struct Forgetful;

    impl RevocationChecker for Forgetful {
        fn check(
            &self,
            _chain: &[CertificateDer<'static>],
            _purpose: CertPurpose,
            _authentic_signing_time: Option<time::OffsetDateTime>,
        ) -> Vec<CertRevocation> {
            vec![CertRevocation {
                subject: "CN=leaf".into(),
                status: RevocationStatus::Ok,
                method: RevocationMethod::Ocsp,
            }]
        }
    }

    fn chain(len: usize) -> Vec<CertificateDer<'static>> {
        (0..len)
            .map(|i| CertificateDer::from(vec![i as u8]))
            .collect()
    }

    #[test]
    fn a_result_per_certificate_is_required() {
        assert_eq!(
            check_chain(&Forgetful, &chain(3), CertPurpose::CodeSigning, None),
            Err(RevocationError::IncompleteResult {
                purpose: CertPurpose::CodeSigning,
                expected: 3,
                got: 1,
            })
        );
        assert_eq!(
            check_chain(&Forgetful, &chain(1), CertPurpose::Timestamping, None),
            Ok(())
        );
        let fixed = FixedRevocationChecker::new(RevocationStatus::Revoked);
        assert!(matches!(
            check_chain(&fixed, &chain(2), CertPurpose::CodeSigning, None),
            Err(RevocationError::Revoked { .. })
        ));
    }
}
