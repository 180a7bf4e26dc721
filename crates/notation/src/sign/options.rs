//! The signed and unsigned attributes of a new signature.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::SignError;
use crate::envelope::{
    SigningScheme, HEADER_AUTHENTIC_SIGNING_TIME, HEADER_EXPIRY, HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
};

/// The attributes of a new signature (notation.md §4). Times are written in whole
/// seconds (the spec says fractional seconds SHOULD NOT be used), in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    /// The signing scheme.
    pub scheme: SigningScheme,
    /// The signing time (`notary.x509`) or authentic signing time (signing authority).
    pub signing_time: OffsetDateTime,
    /// Optional expiry; must be after `signing_time`.
    pub expiry: Option<OffsetDateTime>,
    /// Optional signing agent (unsigned), e.g. `imagegate/0.1.0`.
    pub signing_agent: Option<String>,
    /// Extended protected attributes `(name, value, critical)`; critical ones are listed in
    /// `crit`.
    pub extended: Vec<(String, String, bool)>,
    /// Optional RFC 3161 timestamp token over the signature (unsigned).
    pub timestamp_token: Option<Vec<u8>>,
}

impl SignOptions {
    /// `notary.x509` signed at `signing_time`, no expiry, signing agent `imagegate/<version>`.
    pub fn x509(signing_time: OffsetDateTime) -> Self {
        Self {
            scheme: SigningScheme::X509,
            signing_time,
            expiry: None,
            signing_agent: Some(concat!("imagegate/", env!("CARGO_PKG_VERSION")).to_owned()),
            extended: Vec::new(),
            timestamp_token: None,
        }
    }

    /// The header carrying the signing time for this scheme.
    pub(crate) fn time_header(&self) -> &'static str {
        match self.scheme {
            SigningScheme::X509 => HEADER_SIGNING_TIME,
            SigningScheme::X509SigningAuthority => HEADER_AUTHENTIC_SIGNING_TIME,
        }
    }

    /// The `crit` list, in the Go signer's order.
    pub(crate) fn critical(&self) -> Vec<String> {
        let mut crit = vec![HEADER_SIGNING_SCHEME.to_owned()];
        if self.scheme == SigningScheme::X509SigningAuthority {
            crit.push(HEADER_AUTHENTIC_SIGNING_TIME.to_owned());
        }
        if self.expiry.is_some() {
            crit.push(HEADER_EXPIRY.to_owned());
        }
        crit.extend(
            self.extended
                .iter()
                .filter(|(_, _, critical)| *critical)
                .map(|(name, _, _)| name.clone()),
        );
        crit
    }

    /// The signing time and expiry in whole seconds, UTC, checked for order.
    pub(crate) fn times(&self) -> Result<(OffsetDateTime, Option<OffsetDateTime>), SignError> {
        let signing = whole_seconds(self.signing_time)?;
        let expiry = self.expiry.map(whole_seconds).transpose()?;
        if let Some(e) = expiry {
            if e <= signing {
                return Err(SignError::ExpiryNotAfterSigningTime {
                    signing_time: rfc3339(signing)?,
                    expiry: rfc3339(e)?,
                });
            }
        }
        Ok((signing, expiry))
    }
}

fn whole_seconds(t: OffsetDateTime) -> Result<OffsetDateTime, SignError> {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| SignError::Time {
            time: format!("{t:?}"),
            reason: e.to_string(),
        })
}

/// RFC 3339 text of a time, e.g. `2025-06-01T00:00:00Z`.
pub(crate) fn rfc3339(t: OffsetDateTime) -> Result<String, SignError> {
    t.format(&Rfc3339).map_err(|e| SignError::Time {
        time: format!("{t:?}"),
        reason: e.to_string(),
    })
}
