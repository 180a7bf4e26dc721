//! The policy-governed checks: authenticity, expiry, authentic timestamp and revocation.
//! Each takes the integrity proof and returns `Ok` or the typed failure.

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use crate::cert::CertificateInfo;
use crate::dn::DistinguishedName;
use crate::envelope::SigningScheme;
use crate::error::{AuthenticTimestampError, AuthenticityError, Error, ExpiryError};
use crate::policy::{StoreType, TrustPolicyStatement, TrustedIdentity, VerifyTimestamp};
use crate::revocation::{self, CertPurpose};
use crate::timestamp::{self, TimestampRange};

use super::integrity::IntegrityVerified;
use super::VerifyRequest;

/// Authenticity (notation.md §14.2 steps 4-5): some chain certificate is byte-equal to a
/// certificate of the policy's stores of the scheme's type, and the leaf matches a trusted
/// identity.
pub(crate) fn authenticity(
    v: &IntegrityVerified,
    statement: &TrustPolicyStatement,
    req: &VerifyRequest<'_>,
) -> Result<(), AuthenticityError> {
    let scheme = v.envelope().signing_scheme();
    let store_type = match scheme {
        SigningScheme::X509 => StoreType::Ca,
        SigningScheme::X509SigningAuthority => StoreType::SigningAuthority,
    };
    let mut trusted: Vec<&CertificateDer<'static>> = Vec::new();
    for store in statement.trust_stores_of(store_type) {
        let certs = req
            .trust_store
            .certificates(store_type, &store.name)
            .map_err(AuthenticityError::TrustStore)?;
        trusted.extend(certs);
    }
    if trusted.is_empty() {
        return Err(AuthenticityError::NoTrustedCertificates {
            store_type: store_type.to_string(),
            scheme: scheme.to_string(),
        });
    }
    let chain = v.envelope().cert_chain();
    if !chain
        .iter()
        .any(|c| trusted.iter().any(|t| t.as_ref() == c.as_ref()))
    {
        return Err(AuthenticityError::UntrustedChain);
    }
    let any = statement
        .trusted_identities()
        .iter()
        .any(|i| matches!(i, TrustedIdentity::Any));
    let matched = any
        || chain
            .first()
            .and_then(|leaf| DistinguishedName::from_cert_subject(leaf.as_ref()).ok())
            .is_some_and(|dn| statement.identity_matches(&dn));
    if !matched {
        return Err(AuthenticityError::IdentityMismatch {
            identities: statement.x509_identities_go_repr(),
            policy: statement.name().to_owned(),
        });
    }
    Ok(())
}

/// Expiry (notation.md §14.2 step 6): fails when `now >= expiry`.
pub(crate) fn expiry(v: &IntegrityVerified, now: OffsetDateTime) -> Result<(), ExpiryError> {
    match v.envelope().expiry() {
        Some(expiry) if now >= expiry => Err(ExpiryError::Expired { expiry }),
        _ => Ok(()),
    }
}

/// Authentic timestamp (notation.md §12, §14.2 step 7). Returns the verified timestamp range
/// when a countersignature was verified.
pub(crate) fn authentic_timestamp(
    v: &IntegrityVerified,
    statement: &TrustPolicyStatement,
    req: &VerifyRequest<'_>,
) -> Result<Option<TimestampRange>, AuthenticTimestampError> {
    let chain = v.chain();
    if v.envelope().signing_scheme() == SigningScheme::X509SigningAuthority {
        signing_authority_time(chain, v.envelope().authentic_signing_time())?;
        return Ok(None);
    }

    let tsa_enabled = statement.trust_stores_of(StoreType::Tsa).next().is_some();
    let verify_token = tsa_enabled
        && match statement.verify_timestamp() {
            VerifyTimestamp::Always => true,
            VerifyTimestamp::AfterCertExpiry => chain.iter().any(|c| req.now > c.not_after),
        };
    if !verify_token {
        for cert in chain {
            if req.now < cert.not_before {
                return Err(AuthenticTimestampError::NotYetValid {
                    subject: cert.subject.clone(),
                    not_before: cert.not_before,
                });
            }
            if req.now > cert.not_after {
                return Err(AuthenticTimestampError::Expired {
                    subject: cert.subject.clone(),
                    not_after: cert.not_after,
                });
            }
        }
        return Ok(None);
    }

    let token = v
        .envelope()
        .timestamp_token()
        .ok_or(AuthenticTimestampError::MissingCountersignature)?;
    let mut roots = Vec::new();
    for store in statement.trust_stores_of(StoreType::Tsa) {
        let certs = req
            .trust_store
            .certificates(StoreType::Tsa, &store.name)
            .map_err(AuthenticTimestampError::TsaStore)?;
        roots.extend(certs.iter().cloned());
    }
    let verified =
        timestamp::verify_timestamp(token, v.envelope().signature(), &roots, req.revocation)
            .map_err(AuthenticTimestampError::Countersignature)?;
    let range = verified.range;
    for cert in chain {
        if range.earliest < cert.not_before {
            return Err(AuthenticTimestampError::TimestampBeforeCertificate {
                subject: cert.subject.clone(),
                not_before: cert.not_before,
            });
        }
        if range.latest > cert.not_after {
            return Err(AuthenticTimestampError::TimestampAfterCertificate {
                subject: cert.subject.clone(),
                not_after: cert.not_after,
            });
        }
    }
    Ok(Some(range))
}

/// Signing-authority scheme: the authentic signing time must lie inside every chain
/// certificate's validity (bounds included). Its absence fails closed; the envelope rules
/// already require it for this scheme.
fn signing_authority_time(
    chain: &[CertificateInfo],
    authentic_signing_time: Option<OffsetDateTime>,
) -> Result<(), AuthenticTimestampError> {
    let signing_time =
        authentic_signing_time.ok_or(AuthenticTimestampError::MissingAuthenticSigningTime)?;
    match chain.iter().find(|c| !c.is_valid_at(signing_time)) {
        Some(cert) => Err(AuthenticTimestampError::NotValidAtSigningTime {
            subject: cert.subject.clone(),
            signing_time,
        }),
        None => Ok(()),
    }
}

/// Revocation of the signing chain (notation.md §13) through the injected checker.
pub(crate) fn revocation(v: &IntegrityVerified, req: &VerifyRequest<'_>) -> Result<(), Error> {
    let authentic_time = match v.envelope().signing_scheme() {
        SigningScheme::X509SigningAuthority => v.envelope().authentic_signing_time(),
        SigningScheme::X509 => None,
    };
    revocation::check_chain(
        req.revocation,
        v.envelope().cert_chain(),
        CertPurpose::CodeSigning,
        authentic_time,
    )
    .map_err(Error::Revocation)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn cert(not_before: OffsetDateTime, not_after: OffsetDateTime) -> CertificateInfo {
        CertificateInfo {
            subject: "CN=sa,O=imagegate,ST=WA,C=US".into(),
            issuer: "CN=sa,O=imagegate,ST=WA,C=US".into(),
            serial_hex: "1".into(),
            not_before,
            not_after,
            sha256: String::new(),
        }
    }

    #[test]
    fn signing_authority_time_fails_closed_and_includes_bounds() {
        let start = datetime!(2025-01-01 0:00 UTC);
        let end = datetime!(2026-01-01 0:00 UTC);
        let chain = [cert(start, end)];
        assert_eq!(
            signing_authority_time(&chain, None),
            Err(AuthenticTimestampError::MissingAuthenticSigningTime)
        );
        assert_eq!(signing_authority_time(&chain, Some(start)), Ok(()));
        assert_eq!(signing_authority_time(&chain, Some(end)), Ok(()));
        for outside in [start - time::Duration::SECOND, end + time::Duration::SECOND] {
            assert!(matches!(
                signing_authority_time(&chain, Some(outside)),
                Err(AuthenticTimestampError::NotValidAtSigningTime { .. })
            ));
        }
    }
}
