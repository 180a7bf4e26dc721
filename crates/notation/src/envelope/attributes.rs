//! Format-neutral signed attributes and the Notation rules that apply to them (notation.md §4).

use std::fmt;

use time::OffsetDateTime;

use super::error::EnvelopeError;

/// The only payload content type Notation defines.
pub const PAYLOAD_CONTENT_TYPE: &str = "application/vnd.cncf.notary.payload.v1+json";

/// Header name of the signing scheme (critical, required).
pub const HEADER_SIGNING_SCHEME: &str = "io.cncf.notary.signingScheme";
/// Header name of the (unauthenticated) signing time, `notary.x509` only.
pub const HEADER_SIGNING_TIME: &str = "io.cncf.notary.signingTime";
/// Header name of the authentic signing time, `notary.x509.signingAuthority` only (critical).
pub const HEADER_AUTHENTIC_SIGNING_TIME: &str = "io.cncf.notary.authenticSigningTime";
/// Header name of the expiry (critical when present).
pub const HEADER_EXPIRY: &str = "io.cncf.notary.expiry";
/// Header name of the verification plugin (critical when present).
pub const HEADER_VERIFICATION_PLUGIN: &str = "io.cncf.notary.verificationPlugin";
/// Header name of the verification plugin's minimum version (critical when present).
pub const HEADER_VERIFICATION_PLUGIN_MIN_VERSION: &str =
    "io.cncf.notary.verificationPluginMinVersion";
/// Unsigned attribute holding the RFC 3161 timestamp token.
pub const HEADER_TIMESTAMP_SIGNATURE: &str = "io.cncf.notary.timestampSignature";
/// Unsigned attribute holding the signing agent.
pub const HEADER_SIGNING_AGENT: &str = "io.cncf.notary.signingAgent";

/// The Notation signing scheme of a signature (notation.md §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningScheme {
    /// `notary.x509`: ordinary signer; anchors from `ca` stores, optional RFC 3161 timestamp.
    X509,
    /// `notary.x509.signingAuthority`: signing service; anchors from `signingAuthority` stores,
    /// authentic signing time in a critical signed attribute.
    X509SigningAuthority,
}

impl SigningScheme {
    /// The wire name, e.g. `notary.x509`.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningScheme::X509 => "notary.x509",
            SigningScheme::X509SigningAuthority => "notary.x509.signingAuthority",
        }
    }

    /// Parse the wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "notary.x509" => Some(SigningScheme::X509),
            "notary.x509.signingAuthority" => Some(SigningScheme::X509SigningAuthority),
            _ => None,
        }
    }
}

impl fmt::Display for SigningScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed attributes of an envelope after the Notation header rules were applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAttributes {
    /// The signing scheme.
    pub signing_scheme: SigningScheme,
    /// The signer-claimed signing time (`notary.x509`); never used for trust decisions.
    pub signing_time: Option<OffsetDateTime>,
    /// The authentic signing time (`notary.x509.signingAuthority`).
    pub authentic_signing_time: Option<OffsetDateTime>,
    /// The "best by" time after which the signature must not be trusted.
    pub expiry: Option<OffsetDateTime>,
    /// The payload content type (always [`PAYLOAD_CONTENT_TYPE`] after parsing).
    pub content_type: String,
    /// The verification plugin the signature requires, if any.
    pub verification_plugin: Option<String>,
    /// The minimum version of that plugin, if given.
    pub verification_plugin_min_version: Option<String>,
    /// Critical attributes listed in `crit` that this verifier does not understand. The spec
    /// says a verifier MUST fail on them; the verifier does so after the signature check.
    pub unknown_critical: Vec<String>,
}

/// Protected header values gathered by a format parser, before the Notation rules.
#[derive(Debug, Default)]
pub(crate) struct RawAttributes {
    /// `crit`, or `None` when the header is absent. COSE integer labels are stringified.
    pub(crate) crit: Option<Vec<String>>,
    /// Names of every protected header present (COSE integer labels stringified).
    pub(crate) present: Vec<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) signing_scheme: Option<String>,
    pub(crate) signing_time: Option<OffsetDateTime>,
    pub(crate) authentic_signing_time: Option<OffsetDateTime>,
    pub(crate) expiry: Option<OffsetDateTime>,
    pub(crate) verification_plugin: Option<String>,
    pub(crate) verification_plugin_min_version: Option<String>,
}

/// Names of the protected attributes this verifier understands.
const KNOWN: [&str; 6] = [
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_VERIFICATION_PLUGIN,
    HEADER_VERIFICATION_PLUGIN_MIN_VERSION,
];

impl RawAttributes {
    /// Apply the Notation rules of notation.md §4-§6 (`crit`, scheme, times, content type).
    pub(crate) fn finish(self, cty_name: &'static str) -> Result<SignedAttributes, EnvelopeError> {
        let crit = self
            .crit
            .ok_or(EnvelopeError::MissingHeader { name: "crit" })?;
        if let Some(name) = crit.iter().find(|c| !self.present.contains(c)) {
            return Err(EnvelopeError::CriticalNotPresent { name: name.clone() });
        }
        let scheme_name = self.signing_scheme.ok_or(EnvelopeError::MissingHeader {
            name: HEADER_SIGNING_SCHEME,
        })?;

        let mut must_be_critical = vec![HEADER_SIGNING_SCHEME];
        if self.authentic_signing_time.is_some() {
            must_be_critical.push(HEADER_AUTHENTIC_SIGNING_TIME);
        }
        if self.expiry.is_some() {
            must_be_critical.push(HEADER_EXPIRY);
        }
        if self.verification_plugin.is_some() {
            must_be_critical.push(HEADER_VERIFICATION_PLUGIN);
        }
        if self.verification_plugin_min_version.is_some() {
            must_be_critical.push(HEADER_VERIFICATION_PLUGIN_MIN_VERSION);
        }
        let missing: Vec<String> = must_be_critical
            .into_iter()
            .filter(|name| !crit.iter().any(|c| c == name))
            .map(str::to_owned)
            .collect();
        if !missing.is_empty() {
            return Err(EnvelopeError::NotMarkedCritical { names: missing });
        }

        let signing_scheme = SigningScheme::from_name(&scheme_name).ok_or(
            EnvelopeError::UnsupportedSigningScheme {
                scheme: scheme_name,
            },
        )?;
        let signed_time = match signing_scheme {
            SigningScheme::X509 => {
                if self.authentic_signing_time.is_some() {
                    return Err(EnvelopeError::ForbiddenSchemeHeader {
                        name: HEADER_AUTHENTIC_SIGNING_TIME,
                        scheme: SigningScheme::X509.as_str(),
                    });
                }
                self.signing_time.ok_or(EnvelopeError::SigningTimeMissing)?
            }
            SigningScheme::X509SigningAuthority => {
                if self.signing_time.is_some() {
                    return Err(EnvelopeError::ForbiddenSchemeHeader {
                        name: HEADER_SIGNING_TIME,
                        scheme: SigningScheme::X509SigningAuthority.as_str(),
                    });
                }
                self.authentic_signing_time
                    .ok_or(EnvelopeError::MissingSchemeHeader {
                        name: HEADER_AUTHENTIC_SIGNING_TIME,
                        scheme: SigningScheme::X509SigningAuthority.as_str(),
                    })?
            }
        };
        if let Some(expiry) = self.expiry {
            if expiry <= signed_time {
                return Err(EnvelopeError::ExpiryNotAfterSigningTime);
            }
        }

        let content_type = self
            .content_type
            .ok_or(EnvelopeError::MissingHeader { name: cty_name })?;
        if content_type != PAYLOAD_CONTENT_TYPE {
            return Err(EnvelopeError::UnsupportedContentType { content_type });
        }

        let unknown_critical = crit
            .into_iter()
            .filter(|c| !KNOWN.contains(&c.as_str()))
            .collect();
        Ok(SignedAttributes {
            signing_scheme,
            signing_time: self.signing_time,
            authentic_signing_time: self.authentic_signing_time,
            expiry: self.expiry,
            content_type,
            verification_plugin: self.verification_plugin,
            verification_plugin_min_version: self.verification_plugin_min_version,
            unknown_critical,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn base() -> RawAttributes {
        RawAttributes {
            crit: Some(vec![HEADER_SIGNING_SCHEME.into()]),
            present: vec![HEADER_SIGNING_SCHEME.into(), HEADER_SIGNING_TIME.into()],
            content_type: Some(PAYLOAD_CONTENT_TYPE.into()),
            signing_scheme: Some("notary.x509".into()),
            signing_time: Some(datetime!(2024-01-01 0:00 UTC)),
            ..RawAttributes::default()
        }
    }

    #[test]
    fn minimal_x509_is_accepted() {
        let a = base().finish("cty").unwrap();
        assert_eq!(a.signing_scheme, SigningScheme::X509);
        assert!(a.unknown_critical.is_empty());
    }

    #[test]
    fn crit_is_required() {
        let raw = RawAttributes {
            crit: None,
            ..base()
        };
        assert_eq!(
            raw.finish("cty").unwrap_err().to_string(),
            r#"missing "crit" header"#
        );
    }

    #[test]
    fn expiry_must_be_critical_and_after_signing_time() {
        let mut raw = base();
        raw.expiry = Some(datetime!(2025-01-01 0:00 UTC));
        raw.present.push(HEADER_EXPIRY.into());
        let err = raw.finish("cty").unwrap_err();
        assert_eq!(
            err.to_string(),
            "these required headers are not marked as critical: [io.cncf.notary.expiry]"
        );
        let mut raw = base();
        raw.expiry = Some(datetime!(2023-01-01 0:00 UTC));
        raw.present.push(HEADER_EXPIRY.into());
        raw.crit.as_mut().unwrap().push(HEADER_EXPIRY.into());
        assert_eq!(
            raw.finish("cty").unwrap_err(),
            EnvelopeError::ExpiryNotAfterSigningTime
        );
    }

    #[test]
    fn unknown_critical_is_recorded_and_must_be_present() {
        let mut raw = base();
        raw.crit.as_mut().unwrap().push("SomeKey".into());
        assert_eq!(
            raw.finish("cty").unwrap_err().to_string(),
            r#""SomeKey" header is marked critical but not present"#
        );
        let mut raw = base();
        raw.crit.as_mut().unwrap().push("SomeKey".into());
        raw.present.push("SomeKey".into());
        assert_eq!(
            raw.finish("cty").unwrap().unknown_critical,
            vec!["SomeKey".to_owned()]
        );
    }

    #[test]
    fn scheme_rules() {
        let raw = RawAttributes {
            signing_scheme: Some("notary.bogus".into()),
            ..base()
        };
        assert!(matches!(
            raw.finish("cty").unwrap_err(),
            EnvelopeError::UnsupportedSigningScheme { .. }
        ));
        let raw = RawAttributes {
            signing_time: None,
            ..base()
        };
        assert_eq!(
            raw.finish("cty").unwrap_err(),
            EnvelopeError::SigningTimeMissing
        );
        let raw = RawAttributes {
            signing_scheme: Some("notary.x509.signingAuthority".into()),
            ..base()
        };
        assert!(matches!(
            raw.finish("cty").unwrap_err(),
            EnvelopeError::ForbiddenSchemeHeader { .. }
        ));
        let raw = RawAttributes {
            content_type: Some("text/plain".into()),
            ..base()
        };
        assert_eq!(
            raw.finish("cty").unwrap_err().to_string(),
            r#"payload content type "text/plain" not supported"#
        );
    }
}
