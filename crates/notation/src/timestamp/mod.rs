//! RFC 3161 timestamp countersignatures (`io.cncf.notary.timestampSignature`).
//!
//! [`verify_timestamp`] checks a `TimeStampToken` (CMS `SignedData` carrying a `TSTInfo`)
//! against the primitive signature bytes of an envelope, the way notation-go does
//! (`verifier.go` `verifyTimestamp` with tspclient-go):
//!
//! 1. BER is normalised to DER; the content type must be id-ct-TSTInfo;
//! 2. the `TSTInfo` must be version 1 and its message imprint must equal the hash of the
//!    signature bytes under the imprint's own algorithm (SHA-256/384/512);
//! 3. the signer's certificate is the one named by its `signing-certificate-v2` attribute
//!    (issuerSerial, else the signer identifier) and must match the attribute's hash;
//! 4. that certificate must chain, through the token's certificates, to one of the TSA roots
//!    at the timestamp's genTime, with extended key usage timeStamping;
//! 5. the CMS signature over the signed attributes must verify; the content-type attribute
//!    must be id-ct-TSTInfo and the message-digest attribute the hash of the `TSTInfo`; a
//!    signing-time attribute must lie inside the chain's validity;
//! 6. the signing certificate's EKU must be exactly timeStamping and critical, and the chain
//!    must meet the Notary Project certificate profile;
//! 7. the TSA chain's revocation status is checked with the injected checker.
//!
//! The result is the time range `[genTime − accuracy, genTime + accuracy]`.
//! [`verify_timestamp_for_chain`] additionally requires that range to lie within every
//! certificate of the signing chain, in Go's order (before the revocation check).

mod chain;
mod cms;
mod der;
mod error;
pub(crate) mod signature;
mod signer;
mod tstinfo;

use rustls_pki_types::CertificateDer;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::dn::DistinguishedName;
use crate::revocation::{check_chain, CertPurpose, RevocationChecker};

use self::tstinfo::TstInfo;

pub use error::TimestampError;

/// Go's `time.RFC1123Z` layout, used in validity-period messages.
const RFC1123Z: &[BorrowedFormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
);

/// Format a time like Go's `t.Format(time.RFC1123Z)`, e.g. `Tue, 18 Sep 2001 11:54:34 +0000`.
pub fn format_rfc1123z(t: OffsetDateTime) -> String {
    t.format(RFC1123Z).unwrap_or_else(|_| t.to_string())
}

/// The time interval in which the TSA asserts the signature existed:
/// `[genTime − accuracy, genTime + accuracy]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimestampRange {
    /// Earliest possible time (`genTime − accuracy`).
    pub earliest: OffsetDateTime,
    /// Latest possible time (`genTime + accuracy`).
    pub latest: OffsetDateTime,
}

impl TimestampRange {
    /// Whether the whole range lies within `[not_before, not_after]` (tspclient
    /// `BoundedAfter(notBefore) && BoundedBefore(notAfter)`).
    pub fn is_within(&self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> bool {
        self.earliest >= not_before && self.latest <= not_after
    }

    /// Require the range to lie within the validity of every certificate of `chain`, with
    /// notation-go's messages ("timestamp can be before certificate … validity period …").
    pub fn check_chain_validity(&self, chain: &[CertificateDer<'_>]) -> Result<(), TimestampError> {
        for der in chain {
            let (_, cert) = X509Certificate::from_der(der.as_ref())
                .map_err(|e| TimestampError::SigningCertificate(e.to_string()))?;
            let validity = cert.validity();
            let not_before = validity.not_before.to_datetime();
            let not_after = validity.not_after.to_datetime();
            let subject = || {
                DistinguishedName::from_cert_subject(der.as_ref())
                    .map(|d| d.to_string())
                    .unwrap_or_default()
            };
            if self.earliest < not_before {
                return Err(TimestampError::BeforeCertificateValidity {
                    subject: subject(),
                    not_before: format_rfc1123z(not_before),
                });
            }
            if self.latest > not_after {
                return Err(TimestampError::AfterCertificateValidity {
                    subject: subject(),
                    not_after: format_rfc1123z(not_after),
                });
            }
        }
        Ok(())
    }
}

/// A verified timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// The time range asserted by the TSA.
    pub range: TimestampRange,
    /// The TSA certificate chain that was validated, leaf first, root last.
    pub tsa_chain: Vec<CertificateDer<'static>>,
}

/// Verify an RFC 3161 timestamp token over `signature_bytes` (the envelope's primitive
/// signature: the decoded JWS `signature`, or the COSE signature bstr), against the TSA root
/// certificates of the policy's `tsa` stores, checking the TSA chain's revocation with
/// `revocation` ([`CertPurpose::Timestamping`]).
///
/// The range is not compared with the signing chain; use [`verify_timestamp_for_chain`] or
/// [`TimestampRange::check_chain_validity`] for that.
pub fn verify_timestamp(
    token: &[u8],
    signature_bytes: &[u8],
    tsa_roots: &[CertificateDer<'static>],
    revocation: &dyn RevocationChecker,
) -> Result<VerifiedTimestamp, TimestampError> {
    verify(token, signature_bytes, None, tsa_roots, revocation)
}

/// [`verify_timestamp`] plus the check that the timestamp range lies within the validity of
/// every certificate of `signing_chain`, performed in notation-go's order (after the TSA
/// chain validation, before the TSA revocation check).
pub fn verify_timestamp_for_chain(
    token: &[u8],
    signature_bytes: &[u8],
    signing_chain: &[CertificateDer<'_>],
    tsa_roots: &[CertificateDer<'static>],
    revocation: &dyn RevocationChecker,
) -> Result<VerifiedTimestamp, TimestampError> {
    verify(
        token,
        signature_bytes,
        Some(signing_chain),
        tsa_roots,
        revocation,
    )
}

fn verify(
    token: &[u8],
    signature_bytes: &[u8],
    signing_chain: Option<&[CertificateDer<'_>]>,
    tsa_roots: &[CertificateDer<'static>],
    revocation: &dyn RevocationChecker,
) -> Result<VerifiedTimestamp, TimestampError> {
    if token.is_empty() {
        return Err(TimestampError::Missing);
    }
    let normalised = der::ber_to_der(token)
        .map_err(|e| TimestampError::Parse(cms::CmsParseError::Ber(e).to_string()))?;
    let signed =
        cms::parse_signed_data(&normalised).map_err(|e| TimestampError::Parse(e.to_string()))?;
    if signed.content_type != cms::OID_TST_INFO {
        return Err(TimestampError::Parse(format!(
            "unexpected content type: {}",
            signed.content_type
        )));
    }
    let info =
        TstInfo::parse(&signed.content).map_err(|e| TimestampError::TstInfo(e.to_string()))?;
    let range = validate_tst_info(&info, signature_bytes)?;
    if tsa_roots.is_empty() {
        return Err(TimestampError::NoTrustedTsaCertificate);
    }
    let tsa_chain = signer::verify_signed_token(&signed, tsa_roots, info.gen_time)
        .map_err(TimestampError::Verify)?;
    chain::validate_profile(&tsa_chain).map_err(TimestampError::CertChain)?;
    if let Some(signing_chain) = signing_chain {
        range.check_chain_validity(signing_chain)?;
    }
    check_chain(revocation, &tsa_chain, CertPurpose::Timestamping, None)?;
    Ok(VerifiedTimestamp { range, tsa_chain })
}

/// tspclient `TSTInfo.Validate`: version, imprint algorithm and value; returns the range.
fn validate_tst_info(
    info: &TstInfo,
    signature_bytes: &[u8],
) -> Result<TimestampRange, TimestampError> {
    if info.version != 1 {
        return Err(TimestampError::InvalidTstInfo(format!(
            "timestamp token info version must be 1, but got {}",
            info.version
        )));
    }
    let hash = info.imprint_hash().ok_or_else(|| {
        TimestampError::InvalidTstInfo(format!(
            "unrecognized hash algorithm: {}",
            info.imprint_hash_oid
        ))
    })?;
    if hash.digest(signature_bytes) != info.hashed_message {
        return Err(TimestampError::InvalidTstInfo(
            "mismatched message".to_owned(),
        ));
    }
    let accuracy = info.effective_accuracy();
    let out_of_range =
        || TimestampError::InvalidTstInfo("genTime and accuracy are out of range".to_owned());
    Ok(TimestampRange {
        earliest: info
            .gen_time
            .checked_sub(accuracy)
            .ok_or_else(out_of_range)?,
        latest: info
            .gen_time
            .checked_add(accuracy)
            .ok_or_else(out_of_range)?,
    })
}
