//! The result of verifying one signature: per-check results plus what was learned about it.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::envelope::SigningScheme;
use crate::error::Error;
use crate::policy::{Action, CheckKind};
use crate::timestamp::TimestampRange;

/// The result of one validation check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Which check.
    pub kind: CheckKind,
    /// The action the trust policy assigns to it (`Skip` when it was not run).
    pub action: Action,
    /// Why it failed; `None` when it passed or was skipped.
    pub error: Option<Error>,
}

impl CheckResult {
    /// Whether this result fails the verification (an enforced failure).
    pub fn is_enforced_failure(&self) -> bool {
        self.action == Action::Enforce && self.error.is_some()
    }

    /// Whether this result is a logged failure (a warning).
    pub fn is_logged_failure(&self) -> bool {
        self.action == Action::Log && self.error.is_some()
    }
}

/// Who signed: facts from the (integrity-checked) certificate chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerInfo {
    /// Leaf subject in Go's DN form, e.g. `CN=e2e,O=Notary,L=Seattle,ST=WA,C=US`.
    pub subject: String,
    /// Leaf issuer in Go's DN form.
    pub issuer: String,
    /// Leaf serial number, lower-case hex.
    pub leaf_serial_hex: String,
    /// SHA-256 of every chain certificate (leaf first), lower-case hex.
    pub chain_thumbprints_sha256: Vec<String>,
}

/// The outcome of verifying one signature against one trust policy statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub(crate) statement: String,
    pub(crate) level: &'static str,
    pub(crate) skipped: bool,
    pub(crate) checks: Vec<CheckResult>,
    pub(crate) user_metadata_error: Option<Error>,
    pub(crate) signer: Option<SignerInfo>,
    pub(crate) signing_scheme: Option<SigningScheme>,
    pub(crate) signing_time: Option<OffsetDateTime>,
    pub(crate) expiry: Option<OffsetDateTime>,
    pub(crate) timestamp: Option<TimestampRange>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) signing_agent: Option<String>,
}

/// The message notation-go prints for a statement with level `skip`.
pub const SKIPPED_MESSAGE: &str = "Trust policy is configured to skip signature verification";

impl Outcome {
    /// True when no enforced check failed and the requested metadata matched (or the policy
    /// level is `skip`).
    pub fn is_verified(&self) -> bool {
        self.failure().is_none()
    }

    /// The failure that rejects the signature: the enforced check failure (verification
    /// stops at the first one), else the user-metadata mismatch.
    pub fn failure(&self) -> Option<&Error> {
        self.checks
            .iter()
            .find(|c| c.is_enforced_failure())
            .and_then(|c| c.error.as_ref())
            .or(self.user_metadata_error.as_ref())
    }

    /// Logged failures: checks that failed but whose action is `log`.
    pub fn warnings(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|c| c.is_logged_failure())
    }

    /// Every check result, in the spec's table order (integrity, authenticity,
    /// authenticTimestamp, expiry, revocation). Checks not reached because an earlier
    /// enforced check failed are absent; checks the policy skips have [`Action::Skip`].
    pub fn checks(&self) -> &[CheckResult] {
        &self.checks
    }

    /// The result of one check, if it was reached.
    pub fn check(&self, kind: CheckKind) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.kind == kind)
    }

    /// Name of the trust policy statement applied.
    pub fn statement(&self) -> &str {
        &self.statement
    }

    /// The verification level: `strict`, `permissive`, `audit`, `skip` or `custom`.
    pub fn level(&self) -> &'static str {
        self.level
    }

    /// True when the policy level is `skip` (nothing was verified; see [`SKIPPED_MESSAGE`]).
    pub fn skipped(&self) -> bool {
        self.skipped
    }

    /// Signer facts, available once integrity passed.
    pub fn signer(&self) -> Option<&SignerInfo> {
        self.signer.as_ref()
    }

    /// The signing scheme, once the envelope was parsed and verified.
    pub fn signing_scheme(&self) -> Option<SigningScheme> {
        self.signing_scheme
    }

    /// The signing time: signer-claimed (`notary.x509`) or authentic (signing authority).
    pub fn signing_time(&self) -> Option<OffsetDateTime> {
        self.signing_time
    }

    /// The signature expiry, if any.
    pub fn expiry(&self) -> Option<OffsetDateTime> {
        self.expiry
    }

    /// The verified timestamp range, if a countersignature was verified.
    pub fn timestamp(&self) -> Option<&TimestampRange> {
        self.timestamp.as_ref()
    }

    /// The signed payload annotations (user metadata).
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.annotations
    }

    /// The signing agent, if the envelope names one.
    pub fn signing_agent(&self) -> Option<&str> {
        self.signing_agent.as_deref()
    }

    /// The user-metadata mismatch, if the requested metadata was not signed.
    pub fn user_metadata_error(&self) -> Option<&Error> {
        self.user_metadata_error.as_ref()
    }
}
