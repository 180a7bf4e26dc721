//! Certificate Revocation List (RFC 5280 §5) evaluation for one certificate: pure, no I/O and
//! no clock (the caller passes `now`).
//!
//! [`crl_urls`] lists where a certificate's CRLs can be downloaded (the `http://` URIs of its
//! CRL Distribution Points, as the Notary Project specification and notation-go require), and
//! [`evaluate_crl`] decides, from one downloaded CRL, whether the certificate is revoked. The
//! CRL must be issued and signed by the certificate's issuer, be current (`thisUpdate <= now <
//! nextUpdate`, `nextUpdate` present) and carry no critical extension this module does not
//! understand.
//!
//! Delta CRLs are not supported yet: a certificate with a Freshest-CRL extension (which
//! announces delta CRLs that must be consulted) gives [`CrlError::DeltaRequired`], and a CRL
//! that is itself a delta CRL gives [`CrlError::DeltaCrl`]. Indirect CRLs are refused
//! ([`CrlError::OutOfScope`]). Callers turn every error into an "unknown" status.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_parser::extensions::{
    DistributionPointName, GeneralName, IssuingDistributionPoint, ParsedExtension,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::{CertificateRevocationList, RevokedCertificate};

/// Largest CRL accepted, in bytes (16 MiB). Larger downloads are refused with
/// [`CrlError::TooLarge`]; this also bounds the memory the parsed list takes.
pub const MAX_CRL_SIZE: usize = 16 * 1024 * 1024;

/// Most revoked-certificate entries walked in one CRL ([`CrlError::TooManyEntries`] beyond).
pub const MAX_CRL_ENTRIES: usize = 1_000_000;

/// Freshest CRL (delta CRL distribution points), RFC 5280 §4.2.1.15 / §5.2.6.
const OID_FRESHEST_CRL: &str = "2.5.29.46";
/// Delta CRL indicator, RFC 5280 §5.2.4.
const OID_DELTA_CRL_INDICATOR: &str = "2.5.29.27";
/// CRL number, RFC 5280 §5.2.3.
const OID_CRL_NUMBER: &str = "2.5.29.20";
/// Authority key identifier, RFC 5280 §5.2.1.
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";
/// Issuing distribution point, RFC 5280 §5.2.5.
const OID_ISSUING_DISTRIBUTION_POINT: &str = "2.5.29.28";
/// CRL entry extension: reason code, RFC 5280 §5.3.1.
const OID_REASON_CODE: &str = "2.5.29.21";
/// CRL entry extension: invalidity date, RFC 5280 §5.3.2.
const OID_INVALIDITY_DATE: &str = "2.5.29.24";

/// Reason code `certificateHold` (RFC 5280 §5.3.1).
const REASON_CERTIFICATE_HOLD: u8 = 6;
/// Reason code `removeFromCRL` (RFC 5280 §5.3.1).
const REASON_REMOVE_FROM_CRL: u8 = 8;

/// What a valid CRL says about a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrlAnswer {
    /// Not listed, listed as `removeFromCRL`, or revoked only after the authentic signing time.
    Good,
    /// Listed as revoked (any reason but `removeFromCRL`; `certificateHold` counts).
    Revoked {
        /// When the CA revoked it (`revocationDate` of the entry).
        revocation_time: OffsetDateTime,
        /// The entry's reason code (RFC 5280 §5.3.1), if it has one.
        reason: Option<u8>,
    },
}

/// Why a CRL could not answer for a certificate; the status is then unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// The CRL is larger than [`MAX_CRL_SIZE`].
    #[error("CRL is {size} bytes, more than the {limit}-byte limit; use a CA that publishes smaller (partitioned) CRLs")]
    TooLarge {
        /// Size of the CRL.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The CRL lists more than [`MAX_CRL_ENTRIES`] entries.
    #[error("CRL lists {count} revoked certificates, more than the {limit}-entry limit")]
    TooManyEntries {
        /// Number of entries.
        count: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a DER CertificateList.
    #[error("malformed CRL: {0}; the distribution point must serve a DER-encoded CRL")]
    Malformed(String),
    /// The certificate being checked or its issuer cannot be parsed.
    #[error("malformed certificate: {0}")]
    Certificate(String),
    /// The CRL's issuer is not the certificate's issuer.
    #[error("CRL issued by {crl_issuer:?}, not by the certificate's issuer {expected:?}")]
    WrongIssuer {
        /// The CRL's issuer name.
        crl_issuer: String,
        /// The issuing certificate's subject.
        expected: String,
    },
    /// The issuer's key usage does not allow signing CRLs.
    #[error(
        "the issuer certificate {issuer:?} has a key usage without cRLSign, so it cannot sign CRLs"
    )]
    NotCrlSigner {
        /// The issuing certificate's subject.
        issuer: String,
    },
    /// The CRL's signature does not verify with the issuer's key.
    #[error("CRL is not signed by the certificate's issuer {issuer:?}: {reason}")]
    BadSignature {
        /// The issuing certificate's subject.
        issuer: String,
        /// What failed.
        reason: String,
    },
    /// The CRL has no `nextUpdate`, so its freshness cannot be judged.
    #[error("CRL has no nextUpdate; its freshness cannot be judged")]
    NoNextUpdate,
    /// The CRL's `nextUpdate` has passed.
    #[error("CRL is stale: its nextUpdate {next_update} is not after the current time {now}; the CA must publish a fresh CRL")]
    Stale {
        /// The CRL's `nextUpdate`.
        next_update: OffsetDateTime,
        /// The verification time.
        now: OffsetDateTime,
    },
    /// The CRL's `thisUpdate` is in the future.
    #[error("CRL is not valid yet: its thisUpdate {this_update} is after the current time {now}; check the clock")]
    NotYetValid {
        /// The CRL's `thisUpdate`.
        this_update: OffsetDateTime,
        /// The verification time.
        now: OffsetDateTime,
    },
    /// The certificate announces delta CRLs (Freshest CRL extension), which are not supported.
    #[error("the certificate has a Freshest CRL extension, so a delta CRL must be checked, and delta CRLs are not supported")]
    DeltaRequired,
    /// The CRL is a delta CRL (delta CRL indicator), which is not supported.
    #[error("the CRL is a delta CRL (deltaCRLIndicator), and delta CRLs are not supported")]
    DeltaCrl,
    /// The CRL (or one of its entries) has a critical extension this checker does not know.
    #[error("CRL has an unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// The extension's OID.
        oid: String,
    },
    /// A known extension of the CRL or an entry cannot be decoded.
    #[error("CRL has an invalid extension {oid}: {reason}")]
    InvalidExtension {
        /// The extension's OID.
        oid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The CRL's issuing distribution point says it does not cover this certificate.
    #[error("CRL does not cover this certificate: {0}")]
    OutOfScope(&'static str),
}

/// The `http://` URIs of the certificate's CRL Distribution Points (fullName), in order.
/// Other schemes (`https`, `ldap`, …) are left out, as in notation-go. Empty if there are none
/// or if the certificate cannot be parsed.
pub fn crl_urls(cert: &CertificateDer<'_>) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(cert.as_ref()) else {
        return Vec::new();
    };
    cdp_uris(&cert)
        .into_iter()
        .filter(|u| is_http(u))
        .map(str::to_owned)
        .collect()
}

/// Whether `url` has the `http` scheme (case-insensitive, as URL schemes are).
fn is_http(url: &str) -> bool {
    url.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("http://"))
}

/// All URIs of the CRL Distribution Points' full names, in order, whatever their scheme.
pub(super) fn cdp_uris<'a>(cert: &'a X509Certificate<'_>) -> Vec<&'a str> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(cdp) = ext.parsed_extension() {
            for point in &cdp.points {
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    for name in names {
                        if let GeneralName::URI(uri) = name {
                            out.push(*uri);
                        }
                    }
                }
            }
        }
    }
    out
}

/// Decide from `crl_der` whether `cert` (issued by `issuer`) is revoked at `now`.
///
/// `authentic_signing_time` is set for the signing-authority scheme: an entry whose invalidity
/// date is after it does not count (the key was still good when the signature was made).
/// Every failure to establish a trustworthy answer is an error, never [`CrlAnswer::Good`].
pub fn evaluate_crl(
    cert: &CertificateDer<'_>,
    issuer: &CertificateDer<'_>,
    crl_der: &[u8],
    now: OffsetDateTime,
    authentic_signing_time: Option<OffsetDateTime>,
) -> Result<CrlAnswer, CrlError> {
    if crl_der.len() > MAX_CRL_SIZE {
        return Err(CrlError::TooLarge {
            size: crl_der.len(),
            limit: MAX_CRL_SIZE,
        });
    }
    let (_, cert) = X509Certificate::from_der(cert.as_ref())
        .map_err(|e| CrlError::Certificate(e.to_string()))?;
    let (_, issuer) = X509Certificate::from_der(issuer.as_ref())
        .map_err(|e| CrlError::Certificate(e.to_string()))?;
    if cert
        .extensions()
        .iter()
        .any(|e| e.oid.to_id_string() == OID_FRESHEST_CRL)
    {
        return Err(CrlError::DeltaRequired);
    }
    let crl = match CertificateRevocationList::from_der(crl_der) {
        Ok((rest, _)) if !rest.is_empty() => {
            return Err(CrlError::Malformed("trailing data after the CRL".into()))
        }
        Ok((_, crl)) => crl,
        Err(e) => return Err(CrlError::Malformed(e.to_string())),
    };
    check_issuer(&crl, &issuer)?;
    check_times(&crl, now)?;
    check_extensions(&crl, &cert)?;
    lookup(&crl, &cert, authentic_signing_time)
}

/// The CRL is issued (name) and signed (key) by `issuer`, which may sign CRLs.
fn check_issuer(
    crl: &CertificateRevocationList<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), CrlError> {
    let issuer_name = || issuer.subject().to_string();
    if crl.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(CrlError::WrongIssuer {
            crl_issuer: crl.issuer().to_string(),
            expected: issuer_name(),
        });
    }
    match issuer.key_usage() {
        Ok(Some(ku)) if !ku.value.crl_sign() => {
            return Err(CrlError::NotCrlSigner {
                issuer: issuer_name(),
            })
        }
        Ok(_) => {}
        Err(e) => return Err(CrlError::Certificate(e.to_string())),
    }
    let bad_signature = |reason: String| CrlError::BadSignature {
        issuer: issuer_name(),
        reason,
    };
    if crl.tbs_cert_list.signature != crl.signature_algorithm {
        return Err(bad_signature(
            "the signed and the outer signature algorithms differ".into(),
        ));
    }
    crate::timestamp::signature::verify(
        issuer.public_key(),
        &crl.signature_algorithm,
        None,
        crl.tbs_cert_list.as_ref(),
        &crl.signature_value.data,
    )
    .map_err(|e| bad_signature(e.to_string()))
}

/// `thisUpdate <= now < nextUpdate`, with `nextUpdate` present.
fn check_times(crl: &CertificateRevocationList<'_>, now: OffsetDateTime) -> Result<(), CrlError> {
    let next_update = crl
        .next_update()
        .ok_or(CrlError::NoNextUpdate)?
        .to_datetime();
    if now >= next_update {
        return Err(CrlError::Stale { next_update, now });
    }
    let this_update = crl.last_update().to_datetime();
    if this_update > now {
        return Err(CrlError::NotYetValid { this_update, now });
    }
    Ok(())
}

/// No delta CRL, no unknown critical extension, and a scope that covers `cert`.
fn check_extensions(
    crl: &CertificateRevocationList<'_>,
    cert: &X509Certificate<'_>,
) -> Result<(), CrlError> {
    for ext in crl.extensions() {
        let oid = ext.oid.to_id_string();
        match oid.as_str() {
            OID_DELTA_CRL_INDICATOR => return Err(CrlError::DeltaCrl),
            OID_ISSUING_DISTRIBUTION_POINT => match ext.parsed_extension() {
                ParsedExtension::IssuingDistributionPoint(idp) => check_scope(idp, cert)?,
                _ => {
                    return Err(CrlError::InvalidExtension {
                        oid,
                        reason: "cannot decode the issuing distribution point".into(),
                    })
                }
            },
            OID_CRL_NUMBER | OID_AUTHORITY_KEY_ID | OID_FRESHEST_CRL => {}
            _ if ext.critical => {
                return Err(CrlError::UnsupportedCriticalExtension { oid: oid.clone() })
            }
            _ => {}
        }
    }
    Ok(())
}

/// The issuing distribution point's scope covers `cert` (RFC 5280 §5.2.5).
fn check_scope(
    idp: &IssuingDistributionPoint<'_>,
    cert: &X509Certificate<'_>,
) -> Result<(), CrlError> {
    if idp.indirect_crl {
        return Err(CrlError::OutOfScope("indirect CRLs are not supported"));
    }
    if idp.only_contains_attribute_certs {
        return Err(CrlError::OutOfScope(
            "the CRL only covers attribute certificates",
        ));
    }
    let is_ca = cert.is_ca();
    if idp.only_contains_user_certs && is_ca {
        return Err(CrlError::OutOfScope(
            "the CRL only covers end-entity certificates and this is a CA certificate",
        ));
    }
    if idp.only_contains_ca_certs && !is_ca {
        return Err(CrlError::OutOfScope(
            "the CRL only covers CA certificates and this is an end-entity certificate",
        ));
    }
    Ok(())
}

/// Look up `cert`'s serial number (notation-go rules: the most recent `certificateHold` /
/// `removeFromCRL` entry decides among temporary entries; any other reason revokes).
fn lookup(
    crl: &CertificateRevocationList<'_>,
    cert: &X509Certificate<'_>,
    authentic_signing_time: Option<OffsetDateTime>,
) -> Result<CrlAnswer, CrlError> {
    let entries = &crl.tbs_cert_list.revoked_certificates;
    if entries.len() > MAX_CRL_ENTRIES {
        return Err(CrlError::TooManyEntries {
            count: entries.len(),
            limit: MAX_CRL_ENTRIES,
        });
    }
    let serial = &cert.tbs_certificate.serial;
    // The latest temporary entry (hold or removal): its reason and revocation time.
    let mut latest_temporary: Option<(u8, OffsetDateTime)> = None;
    for entry in entries.iter().filter(|e| e.serial() == serial) {
        let (reason, invalidity) = entry_extensions(entry)?;
        if let (Some(signed), Some(invalid)) = (authentic_signing_time, invalidity) {
            if signed < invalid {
                // The key was still valid when the signature was made.
                continue;
            }
        }
        let revocation_time = entry.revocation_date.to_datetime();
        match reason {
            Some(r @ (REASON_CERTIFICATE_HOLD | REASON_REMOVE_FROM_CRL)) => {
                if latest_temporary.is_none_or(|(_, t)| t < revocation_time) {
                    latest_temporary = Some((r, revocation_time));
                }
            }
            _ => {
                return Ok(CrlAnswer::Revoked {
                    revocation_time,
                    reason,
                })
            }
        }
    }
    Ok(match latest_temporary {
        Some((REASON_CERTIFICATE_HOLD, revocation_time)) => CrlAnswer::Revoked {
            revocation_time,
            reason: Some(REASON_CERTIFICATE_HOLD),
        },
        _ => CrlAnswer::Good,
    })
}

/// An entry's reason code and invalidity date; unknown critical entry extensions (e.g. the
/// certificate issuer of an indirect CRL) are refused.
fn entry_extensions(
    entry: &RevokedCertificate<'_>,
) -> Result<(Option<u8>, Option<OffsetDateTime>), CrlError> {
    let (mut reason, mut invalidity) = (None, None);
    for ext in entry.extensions() {
        let oid = ext.oid.to_id_string();
        let invalid = |what: &str| CrlError::InvalidExtension {
            oid: oid.clone(),
            reason: format!("cannot decode the {what} of a revoked-certificate entry"),
        };
        match (oid.as_str(), ext.parsed_extension()) {
            (OID_REASON_CODE, ParsedExtension::ReasonCode(code)) => reason = Some(code.0),
            (OID_REASON_CODE, _) => return Err(invalid("reason code")),
            (OID_INVALIDITY_DATE, ParsedExtension::InvalidityDate(date)) => {
                invalidity = Some(date.to_datetime());
            }
            (OID_INVALIDITY_DATE, _) => return Err(invalid("invalidity date")),
            _ if ext.critical => {
                return Err(CrlError::UnsupportedCriticalExtension { oid: oid.clone() })
            }
            _ => {}
        }
    }
    Ok((reason, invalidity))
}

/// The `nextUpdate` of a CRL, to know how long it may be cached; `None` if the bytes are not
/// a CRL or it has no `nextUpdate`. Says nothing about the CRL's validity: use
/// [`evaluate_crl`] for that.
pub fn crl_next_update(crl_der: &[u8]) -> Option<OffsetDateTime> {
    if crl_der.len() > MAX_CRL_SIZE {
        return None;
    }
    let (_, crl) = CertificateRevocationList::from_der(crl_der).ok()?;
    crl.next_update().map(|t| t.to_datetime())
}
