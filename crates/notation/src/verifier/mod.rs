//! The verification entry point: one signature envelope against one artifact and trust policy.
//!
//! Steps, in notation-go's order (notation.md §14.2):
//!
//! 1. find the trust policy statement for the artifact reference (none → `Err`);
//!    level `skip` → a skipped, verified [`Outcome`];
//! 2. **integrity** (always enforced): parse the envelope, check `alg` against the leaf key
//!    and the signature over the exact signed bytes, validate the chain as given, refuse
//!    verification plugins and unknown critical attributes, and match the payload's
//!    `targetArtifact` with the artifact descriptor;
//! 3. **authenticity**: a chain certificate equals a trusted certificate of the scheme's
//!    store type, and the leaf matches a trusted identity;
//! 4. **expiry**: `now` is before the signature's expiry;
//! 5. **authenticTimestamp**: the RFC 3161 countersignature (when the policy asks for it) or
//!    `now` lies inside every chain certificate's validity;
//! 6. **revocation** of the signing chain through the injected checker;
//! 7. the requested user metadata is present in the signed annotations.
//!
//! A failure whose action is `enforce` stops verification; a `log` failure is recorded and
//! verification continues; a `skip` check is not run.

mod checks;
mod integrity;

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::cert::ChainCache;
use crate::descriptor::Descriptor;
use crate::error::{Error, UserMetadataError};
use crate::limits::Limits;
use crate::outcome::{CheckResult, Outcome, SignerInfo};
use crate::policy::{Action, CheckKind, TrustPolicyDocument, TrustPolicyStatement};
use crate::revocation::RevocationChecker;
use crate::store::TrustStore;
use crate::timestamp::TimestampRange;

use integrity::IntegrityVerified;

/// Everything needed to verify one signature. The clock and the revocation checker are
/// injected; the crate reads neither the clock nor the network.
#[derive(Clone, Copy)]
pub struct VerifyRequest<'a> {
    /// The envelope bytes (the signature manifest's layer blob).
    pub envelope: &'a [u8],
    /// The envelope media type: `application/jose+json` or `application/cose`.
    pub envelope_media_type: &'a str,
    /// The artifact being verified (the resolved manifest descriptor).
    pub artifact: &'a Descriptor,
    /// The artifact reference used to select the trust policy statement,
    /// `registry/repository@sha256:…`.
    pub artifact_reference: &'a str,
    /// The trust policy.
    pub policy: &'a TrustPolicyDocument,
    /// The trust stores the policy refers to.
    pub trust_store: &'a TrustStore,
    /// The verification time.
    pub now: OffsetDateTime,
    /// The revocation checker for the signing chain and the TSA chain.
    pub revocation: &'a dyn RevocationChecker,
    /// Size limits.
    pub limits: &'a Limits,
    /// Metadata that must be present, with equal values, in the signed annotations.
    pub user_metadata: &'a [(String, String)],
}

/// Verify one signature. `Err` only when no outcome can be produced (no applicable trust
/// policy statement); every verification failure is reported inside the [`Outcome`].
///
/// The signing chain is validated afresh on every call; [`verify_with_cache`] avoids that
/// for chains seen before.
pub fn verify(req: &VerifyRequest<'_>) -> Result<Outcome, Error> {
    run(req, None)
}

/// [`verify`], with the signing chain's validation answered from `cache` when the exact same
/// chain passed before (see [`ChainCache`] for why that is sound). The outcome is the same
/// as [`verify`]'s.
pub fn verify_with_cache(req: &VerifyRequest<'_>, cache: &ChainCache) -> Result<Outcome, Error> {
    run(req, Some(cache))
}

fn run(req: &VerifyRequest<'_>, cache: Option<&ChainCache>) -> Result<Outcome, Error> {
    let statement = req.policy.statement_for(req.artifact_reference)?;
    let mut run = Run::new(statement);
    if statement.is_skip() {
        run.outcome.skipped = true;
        for kind in ORDER {
            run.outcome.checks.push(CheckResult {
                kind,
                action: Action::Skip,
                error: None,
            });
        }
        return Ok(run.outcome);
    }

    let verified = match integrity::check(req, cache) {
        Ok(v) => v,
        Err(e) => {
            run.push(CheckKind::Integrity, Action::Enforce, Some(e.into()));
            return Ok(run.finish());
        }
    };
    run.integrity_passed(&verified);

    if run.step(CheckKind::Authenticity, || {
        checks::authenticity(&verified, statement, req).map_err(Error::from)
    }) {
        return Ok(run.finish());
    }
    if run.step(CheckKind::Expiry, || {
        checks::expiry(&verified, req.now).map_err(Error::from)
    }) {
        return Ok(run.finish());
    }
    let mut timestamp: Option<TimestampRange> = None;
    if run.step(CheckKind::AuthenticTimestamp, || {
        timestamp = checks::authentic_timestamp(&verified, statement, req)?;
        Ok(())
    }) {
        return Ok(run.finish());
    }
    run.outcome.timestamp = timestamp;
    if run.step(CheckKind::Revocation, || checks::revocation(&verified, req)) {
        return Ok(run.finish());
    }
    run.outcome.user_metadata_error = user_metadata(verified.payload().annotations(), req);
    Ok(run.finish())
}

/// The spec's table order, used for listing results.
const ORDER: [CheckKind; 5] = [
    CheckKind::Integrity,
    CheckKind::Authenticity,
    CheckKind::AuthenticTimestamp,
    CheckKind::Expiry,
    CheckKind::Revocation,
];

/// Accumulates check results while the steps run.
struct Run<'s> {
    statement: &'s TrustPolicyStatement,
    outcome: Outcome,
}

impl<'s> Run<'s> {
    fn new(statement: &'s TrustPolicyStatement) -> Self {
        let outcome = Outcome {
            statement: statement.name().to_owned(),
            level: statement.level().name(),
            skipped: false,
            checks: Vec::with_capacity(ORDER.len()),
            user_metadata_error: None,
            signer: None,
            signing_scheme: None,
            signing_time: None,
            expiry: None,
            timestamp: None,
            annotations: BTreeMap::new(),
            signing_agent: None,
        };
        Self { statement, outcome }
    }

    fn push(&mut self, kind: CheckKind, action: Action, error: Option<Error>) {
        self.outcome.checks.push(CheckResult {
            kind,
            action,
            error,
        });
    }

    /// Integrity passed: record it (always enforced) and the facts it established.
    fn integrity_passed(&mut self, v: &IntegrityVerified) {
        self.push(CheckKind::Integrity, Action::Enforce, None);
        let env = v.envelope();
        let o = &mut self.outcome;
        if let Some(leaf) = v.chain().first() {
            o.signer = Some(SignerInfo {
                subject: leaf.subject.clone(),
                issuer: leaf.issuer.clone(),
                leaf_serial_hex: leaf.serial_hex.clone(),
                chain_thumbprints_sha256: v.chain().iter().map(|c| c.sha256.clone()).collect(),
            });
        }
        o.signing_scheme = Some(env.signing_scheme());
        o.signing_time = env.signing_time().or(env.authentic_signing_time());
        o.expiry = env.expiry();
        o.annotations = v.payload().annotations().clone();
        o.signing_agent = env.signing_agent().map(str::to_owned);
    }

    /// Run one policy-governed check unless its action is `skip`. Returns true when it failed
    /// with action `enforce` (verification stops).
    fn step(&mut self, kind: CheckKind, f: impl FnOnce() -> Result<(), Error>) -> bool {
        let action = self.statement.action(kind);
        if action == Action::Skip {
            self.push(kind, action, None);
            return false;
        }
        let error = f().err();
        let stop = action == Action::Enforce && error.is_some();
        self.push(kind, action, error);
        stop
    }

    fn finish(mut self) -> Outcome {
        self.outcome
            .checks
            .sort_by_key(|c| ORDER.iter().position(|k| *k == c.kind));
        self.outcome
    }
}

/// Every requested key must be signed with the same value.
fn user_metadata(annotations: &BTreeMap<String, String>, req: &VerifyRequest<'_>) -> Option<Error> {
    req.user_metadata.iter().find_map(|(key, expected)| {
        let found = annotations.get(key);
        (found != Some(expected)).then(|| {
            Error::UserMetadata(UserMetadataError {
                key: key.clone(),
                expected: expected.clone(),
                found: found.cloned(),
            })
        })
    })
}
