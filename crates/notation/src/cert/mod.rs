//! Certificates: the Notation certificate profile and chain validation (notation.md §8).

mod cache;
mod chain;
mod error;
mod profile;
mod signature;

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

pub use cache::ChainCache;
pub use chain::{validate_signing_chain, validate_signing_chain_uncached};
pub use error::CertError;

use crate::dn::DistinguishedName;

/// The facts about one certificate that verification reports and judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateInfo {
    /// Subject in Go's `pkix.Name.String()` form, e.g. `CN=e2e,O=Notary,L=Seattle,ST=WA,C=US`.
    pub subject: String,
    /// Issuer in the same form.
    pub issuer: String,
    /// Serial number, lower-case hex without leading zeros.
    pub serial_hex: String,
    /// Start of the validity period.
    pub not_before: OffsetDateTime,
    /// End of the validity period.
    pub not_after: OffsetDateTime,
    /// SHA-256 of the DER, lower-case hex (the `io.cncf.notary.x509chain.thumbprint#S256` form).
    pub sha256: String,
}

impl CertificateInfo {
    /// Extract the facts from a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Malformed {
            index: 0,
            reason: e.to_string(),
        })?;
        Ok(Self::from_parsed(der, &cert))
    }

    fn from_parsed(der: &[u8], cert: &X509Certificate<'_>) -> Self {
        let subject = DistinguishedName::from_cert_subject(der)
            .map(|d| d.to_string())
            .unwrap_or_else(|_| cert.subject().to_string());
        let issuer = DistinguishedName::from_cert_issuer(der)
            .map(|d| d.to_string())
            .unwrap_or_else(|_| cert.issuer().to_string());
        let validity = cert.validity();
        Self {
            subject,
            issuer,
            serial_hex: cert.serial.to_str_radix(16),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            sha256: hex::encode(crate::alg::HashAlgorithm::Sha256.digest(der)),
        }
    }

    /// Whether `t` lies inside the validity period (bounds included, as in Go).
    pub fn is_valid_at(&self, t: OffsetDateTime) -> bool {
        self.not_before <= t && t <= self.not_after
    }
}

/// Check a timestamping (TSA) leaf against the Notation profile: not a CA, keyUsage with
/// digitalSignature, a critical extended key usage that is exactly `timeStamping`.
pub fn check_timestamping_leaf(der: &[u8]) -> Result<(), CertError> {
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| CertError::Malformed {
        index: 0,
        reason: e.to_string(),
    })?;
    let info = CertificateInfo::from_parsed(der, &cert);
    profile::check_timestamping_leaf_parsed(&cert, &info.subject)
}

type Parsed<'a> = (Vec<X509Certificate<'a>>, Vec<CertificateInfo>);

/// Parse every certificate of a chain.
fn parse_all<'a>(chain: &'a [CertificateDer<'static>]) -> Result<Parsed<'a>, CertError> {
    if chain.is_empty() {
        return Err(CertError::Empty);
    }
    let mut parsed = Vec::with_capacity(chain.len());
    let mut infos = Vec::with_capacity(chain.len());
    for (index, der) in chain.iter().enumerate() {
        let (rest, cert) =
            X509Certificate::from_der(der.as_ref()).map_err(|e| CertError::Malformed {
                index,
                reason: e.to_string(),
            })?;
        if !rest.is_empty() {
            return Err(CertError::Malformed {
                index,
                reason: "trailing data after the certificate".into(),
            });
        }
        infos.push(CertificateInfo::from_parsed(der.as_ref(), &cert));
        parsed.push(cert);
    }
    Ok((parsed, infos))
}
