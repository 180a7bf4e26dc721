//! The crate's error type: one enum with a sub-enum per Notation validation type.
//!
//! Display texts follow the Go implementation's wording (notation.md §15) wherever Ratify or
//! `notation verify` users will compare messages; they add what was wrong and what to check.

use std::fmt;

use time::OffsetDateTime;

use crate::alg::{KeyError, SignatureAlgorithm};
use crate::cert::CertError;
use crate::descriptor::Descriptor;
use crate::envelope::EnvelopeError;
use crate::payload::PayloadError;
use crate::policy::PolicyError;
use crate::revocation::RevocationError;
use crate::store::StoreError;
use crate::timestamp::TimestampError;

/// Any error of signature verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `integrity` check failed (never overridable).
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// The `authenticity` check failed.
    #[error(transparent)]
    Authenticity(#[from] AuthenticityError),
    /// The `authenticTimestamp` check failed.
    #[error(transparent)]
    AuthenticTimestamp(#[from] AuthenticTimestampError),
    /// The `expiry` check failed.
    #[error(transparent)]
    Expiry(#[from] ExpiryError),
    /// The `revocation` check failed.
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// The user-supplied metadata is not in the signed payload.
    #[error(transparent)]
    UserMetadata(#[from] UserMetadataError),
    /// The trust policy is invalid or does not apply to the artifact.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// A trust store could not be loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A timestamp countersignature could not be verified.
    #[error(transparent)]
    Timestamp(#[from] TimestampError),
}

/// Failures of the `integrity` check: the envelope, its signature, its certificate chain or
/// its payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The envelope could not be parsed or breaks the Notation header rules. As in
    /// notation-go, only a failure to decode the envelope at all reads "unable to parse the
    /// digital signature, error : …"; header-rule failures (`missing "crit" header`, …) are
    /// reported as they are, like Go's `Verify` errors.
    #[error("{}", EnvelopeDisplay(.0))]
    Envelope(#[from] EnvelopeError),
    /// The signing certificate's key cannot be used with Notation.
    #[error(transparent)]
    SigningKey(#[from] KeyError),
    /// The declared `alg` differs from the algorithm implied by the signing key.
    #[error("mismatch between signature algorithm derived from signing certificate ({derived}) and signing algorithm specified ({declared})")]
    AlgorithmMismatch {
        /// The algorithm implied by the leaf key.
        derived: SignatureAlgorithm,
        /// The algorithm in the envelope's `alg` header.
        declared: SignatureAlgorithm,
    },
    /// The signature does not verify with the signing certificate's key: the envelope was
    /// modified after signing or signed with another key.
    #[error("signature is invalid. Error: the {algorithm} signature does not verify with the signing certificate's public key")]
    SignatureInvalid {
        /// The algorithm used.
        algorithm: SignatureAlgorithm,
    },
    /// The certificate chain breaks the Notation certificate rules.
    #[error("certificate-chain is invalid, {0}")]
    CertChain(#[from] CertError),
    /// The signed payload is not a valid Notation payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The payload's `targetArtifact` is not the artifact being verified.
    #[error("content descriptor mismatch: the signature is for {signed} but the artifact being verified is {artifact}")]
    ContentDescriptorMismatch {
        /// The descriptor in the signed payload.
        signed: DescriptorDisplay,
        /// The artifact being verified.
        artifact: DescriptorDisplay,
    },
    /// The signature requires a verification plugin; imagegate runs no plugins.
    #[error("verification plugin {name:?} is required by the signature, but verification plugins are not supported by this verifier; the signature cannot be verified")]
    VerificationPluginNotSupported {
        /// The plugin name from `io.cncf.notary.verificationPlugin`.
        name: String,
    },
    /// The signature has critical signed attributes this verifier does not understand; the
    /// spec requires failing (notation.md §4, §16).
    #[error("signature has unknown critical attributes [{}]; a verifier must not accept a signature whose critical attributes it does not understand", .names.join(" "))]
    UnknownCriticalAttributes {
        /// The attribute names.
        names: Vec<String>,
    },
}

/// An envelope error with Go's parse-failure prefix where Go has one.
struct EnvelopeDisplay<'a>(&'a EnvelopeError);

impl fmt::Display for EnvelopeDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_decoding_failure() {
            write!(
                f,
                "unable to parse the digital signature, error : {}",
                self.0
            )
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A descriptor rendered as `mediaType digest (size bytes)` in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescriptorDisplay(pub Descriptor);

impl fmt::Display for DescriptorDisplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({} bytes)",
            self.0.media_type, self.0.digest, self.0.size
        )
    }
}

/// Failures of the `authenticity` check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticityError {
    /// A trust store named by the policy could not be loaded.
    #[error("error while loading the trust store, {0}")]
    TrustStore(StoreError),
    /// The policy names no trust store of the type the signing scheme needs.
    #[error("no trusted certificates are found to verify authenticity: the trust policy has no {store_type} trust store, which the {scheme} signing scheme requires")]
    NoTrustedCertificates {
        /// The store type needed (`ca` or `signingAuthority`).
        store_type: String,
        /// The signing scheme of the signature.
        scheme: String,
    },
    /// No certificate of the chain is in the policy's trust stores.
    #[error("the signature's certificate chain does not contain any trusted certificate")]
    UntrustedChain,
    /// The leaf subject matches none of the policy's trusted identities.
    #[error("signing certificate from the digital signature does not match the X.509 trusted identities {identities} defined in the trust policy {policy:?}")]
    IdentityMismatch {
        /// The policy's `x509.subject` identities, rendered like Go's `%q` of its identity maps.
        identities: String,
        /// The trust policy statement name.
        policy: String,
    },
}

/// Failures of the `authenticTimestamp` check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthenticTimestampError {
    /// Timestamp verification is required but the envelope has no countersignature.
    #[error("no timestamp countersignature was found in the signature envelope")]
    MissingCountersignature,
    /// A `tsa` store named by the policy could not be loaded.
    #[error("failed to load tsa trust store with error: {0}")]
    TsaStore(StoreError),
    /// The countersignature did not verify.
    #[error(transparent)]
    Countersignature(TimestampError),
    /// The timestamp's range starts before a certificate's validity.
    #[error("timestamp can be before certificate {subject:?} validity period, it will be valid from \"{}\"", GoTime(*.not_before))]
    TimestampBeforeCertificate {
        /// The certificate subject, Go DN form.
        subject: String,
        /// The certificate's notBefore.
        not_before: OffsetDateTime,
    },
    /// The timestamp's range ends after a certificate's validity.
    #[error("timestamp can be after certificate {subject:?} validity period, it was expired at \"{}\"", GoTime(*.not_after))]
    TimestampAfterCertificate {
        /// The certificate subject, Go DN form.
        subject: String,
        /// The certificate's notAfter.
        not_after: OffsetDateTime,
    },
    /// Without a verified timestamp, the verification time is before a certificate's validity.
    #[error("verification time is before certificate {subject:?} validity period, it will be valid from \"{}\"", GoTime(*.not_before))]
    NotYetValid {
        /// The certificate subject, Go DN form.
        subject: String,
        /// The certificate's notBefore.
        not_before: OffsetDateTime,
    },
    /// Without a verified timestamp, the verification time is after a certificate's validity.
    #[error("verification time is after certificate {subject:?} validity period, it was expired at \"{}\"", GoTime(*.not_after))]
    Expired {
        /// The certificate subject, Go DN form.
        subject: String,
        /// The certificate's notAfter.
        not_after: OffsetDateTime,
    },
    /// A signing-authority signature carries no authentic signing time.
    #[error("the signature has no authentic signing time (\"io.cncf.notary.authenticSigningTime\"), which the notary.x509.signingAuthority signing scheme requires")]
    MissingAuthenticSigningTime,
    /// The authentic signing time (signing authority scheme) is outside a certificate's
    /// validity.
    #[error("certificate {subject:?} was not valid when the digital signature was produced at \"{}\"", GoTime(*.signing_time))]
    NotValidAtSigningTime {
        /// The certificate subject, Go DN form.
        subject: String,
        /// The authentic signing time.
        signing_time: OffsetDateTime,
    },
}

/// Failure of the `expiry` check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExpiryError {
    /// The verification time is at or after the signature's expiry.
    #[error("digital signature has expired on \"{}\"", GoTime(*.expiry))]
    Expired {
        /// The signature's `io.cncf.notary.expiry`.
        expiry: OffsetDateTime,
    },
}

/// Requested metadata is missing from (or different in) the signed payload annotations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to find specified metadata in the signature: key {key:?} with value {expected:?} is {}", match .found { Some(v) => format!("{v:?} in the signature"), None => "absent from the signature".to_owned() })]
pub struct UserMetadataError {
    /// The requested key.
    pub key: String,
    /// The requested value.
    pub expected: String,
    /// The value in the signature, if the key is present.
    pub found: Option<String>,
}

/// A time printed like Go's `time.RFC1123Z`: `Tue, 27 Jun 2023 06:10:00 +0000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoTime(pub OffsetDateTime);

impl fmt::Display for GoTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
        );
        match self.0.format(FORMAT) {
            Ok(text) => f.write_str(&text),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn go_time_matches_rfc1123z() {
        assert_eq!(
            GoTime(datetime!(2022-07-29 23:59:00 UTC)).to_string(),
            "Fri, 29 Jul 2022 23:59:00 +0000"
        );
        assert_eq!(
            GoTime(datetime!(2023-06-27 13:21:21 +08:00)).to_string(),
            "Tue, 27 Jun 2023 13:21:21 +0800"
        );
    }

    #[test]
    fn only_decoding_failures_carry_the_parse_prefix() {
        let header = IntegrityError::from(EnvelopeError::MissingHeader { name: "crit" });
        assert_eq!(header.to_string(), r#"missing "crit" header"#);
        let chain = IntegrityError::from(EnvelopeError::CertChainMissing);
        assert_eq!(chain.to_string(), "certificate chain is not present");
        let media = IntegrityError::from(EnvelopeError::UnsupportedMediaType {
            media_type: "text/plain".into(),
        });
        assert_eq!(
            media.to_string(),
            r#"unable to parse the digital signature, error : signature envelope format with media type "text/plain" is not supported"#
        );
        assert!(IntegrityError::from(EnvelopeError::NotCoseSign1Tagged)
            .to_string()
            .starts_with("unable to parse the digital signature, error : "));
    }

    #[test]
    fn expiry_message_is_go_wording() {
        let e = ExpiryError::Expired {
            expiry: datetime!(2022-07-29 23:59:00 UTC),
        };
        assert_eq!(
            e.to_string(),
            r#"digital signature has expired on "Fri, 29 Jul 2022 23:59:00 +0000""#
        );
    }
}
