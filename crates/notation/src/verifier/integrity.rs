//! The `integrity` check and the proof token that it passed.

use crate::cert::{self, CertificateInfo, ChainCache};
use crate::envelope::{self, ParsedEnvelope};
use crate::error::{DescriptorDisplay, IntegrityError};
use crate::payload::Payload;

use super::VerifyRequest;

/// Proof that the integrity check passed: the envelope parsed, its signature verified with the
/// leaf key, its chain is valid as given, and its payload signs the artifact.
///
/// Only [`check`] constructs it (the fields are private to this module), and every later
/// check takes it as input: no code path can run authenticity, expiry, timestamp or
/// revocation checks, or report a verified outcome, without integrity having passed.
/// Integrity is therefore not overridable by construction; the trust policy is never
/// consulted for it.
#[derive(Debug)]
pub(crate) struct IntegrityVerified {
    envelope: ParsedEnvelope,
    chain: Vec<CertificateInfo>,
    payload: Payload,
}

impl IntegrityVerified {
    pub(crate) fn envelope(&self) -> &ParsedEnvelope {
        &self.envelope
    }

    pub(crate) fn chain(&self) -> &[CertificateInfo] {
        &self.chain
    }

    pub(crate) fn payload(&self) -> &Payload {
        &self.payload
    }
}

/// Run the integrity check (notation.md §14.1 step 3, §14.2 step 2).
pub(crate) fn check(
    req: &VerifyRequest<'_>,
    cache: Option<&ChainCache>,
) -> Result<IntegrityVerified, IntegrityError> {
    let envelope = envelope::parse(req.envelope, req.envelope_media_type, req.limits)?;
    envelope.verify_signature()?;
    let chain = match cache {
        Some(cache) => cache.validate(envelope.cert_chain())?,
        None => cert::validate_signing_chain(envelope.cert_chain())?,
    };
    if let Some(name) = &envelope.signed_attributes().verification_plugin {
        return Err(IntegrityError::VerificationPluginNotSupported { name: name.clone() });
    }
    let unknown = &envelope.signed_attributes().unknown_critical;
    if !unknown.is_empty() {
        return Err(IntegrityError::UnknownCriticalAttributes {
            names: unknown.clone(),
        });
    }
    let payload = Payload::from_json(envelope.payload())?;
    if !payload.matches(req.artifact) {
        return Err(IntegrityError::ContentDescriptorMismatch {
            signed: DescriptorDisplay(payload.descriptor()),
            artifact: DescriptorDisplay(req.artifact.clone()),
        });
    }
    Ok(IntegrityVerified {
        envelope,
        chain,
        payload,
    })
}
