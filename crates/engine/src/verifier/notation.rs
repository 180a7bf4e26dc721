//! The `notation` verifier: Notary Project signatures through `imagegate-notation`.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use imagegate_notation::policy::{StoreType, TrustPolicyDocument};
use imagegate_notation::store::TrustStore;
use imagegate_notation::{verify_with_cache, ChainCache, Limits, Outcome, VerifyRequest};
use imagegate_oci::{Descriptor, ParsedManifest};

use super::{ArtifactTypes, Subject, Verifier, VerifyEnv};
use imagegate_notation::error::AuthenticityError;
use imagegate_ratify::{
    cause_first, Cause, CauseKind, Extensions, RatifyCode, VerifierReport, Wording,
};

use crate::ratify_codes;

/// The verifier type name.
pub const NOTATION_TYPE: &str = "notation";
/// Ratify's success message.
pub const SUCCESS_MESSAGE: &str = "Notation signature verification success";

/// A configured notation verifier: trust policy and the trust stores it refers to.
#[derive(Debug)]
pub struct NotationVerifier {
    name: String,
    kind: String,
    artifact_types: ArtifactTypes,
    policy: Arc<TrustPolicyDocument>,
    store: Arc<TrustStore>,
    limits: Arc<Limits>,
    /// Chains already validated for this configuration generation (chain validation depends
    /// only on the chain bytes, so a hit skips the costly signature checks of the chain).
    chains: Arc<ChainCache>,
}

impl NotationVerifier {
    /// A verifier named `name` of type `kind` (normally `notation`).
    pub fn new(
        name: &str,
        kind: &str,
        artifact_types: ArtifactTypes,
        policy: Arc<TrustPolicyDocument>,
        store: Arc<TrustStore>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            kind: kind.to_owned(),
            artifact_types,
            policy,
            store,
            limits: Arc::new(Limits::DEFAULT),
            chains: Arc::new(ChainCache::new()),
        }
    }

    /// The trust policy.
    pub fn policy(&self) -> &TrustPolicyDocument {
        &self.policy
    }

    /// The trust stores.
    pub fn trust_store(&self) -> &TrustStore {
        &self.store
    }

    fn report(&self, subject: &Subject, referrer: &Descriptor) -> VerifierReport {
        let mut r = VerifierReport::for_verifier(&self.name, &self.kind);
        r.subject = subject.display.clone();
        r.reference_digest = referrer.digest.clone();
        r.artifact_type = referrer.artifact_type.clone().unwrap_or_default();
        r
    }

    /// A failed report: `errorReason` is `detail` rendered with `cause`'s code (if any);
    /// `message` is Ratify's or the cause first with `detail` ([`Wording`]).
    fn failed(
        &self,
        subject: &Subject,
        referrer: &Descriptor,
        wording: Wording,
        cause: Cause,
        detail: &dyn std::fmt::Display,
    ) -> VerifierReport {
        let message = match wording {
            Wording::Ratify => ratify_message(referrer),
            Wording::CauseFirst => cause_first(cause.kind, detail),
        };
        self.failed_with(subject, referrer, cause, detail, message)
    }

    /// A failed report for a registry error: the cause-first `message` leaves out the
    /// reference ([`super::oci_brief`]).
    fn fetch_failed(
        &self,
        subject: &Subject,
        referrer: &Descriptor,
        wording: Wording,
        err: &imagegate_oci::OciError,
    ) -> VerifierReport {
        let cause = ratify_codes::for_oci(err);
        let message = match wording {
            Wording::Ratify => ratify_message(referrer),
            Wording::CauseFirst => cause_first(cause.kind, super::oci_brief(err)),
        };
        self.failed_with(subject, referrer, cause, err, message)
    }

    /// A failed report with `message` as given.
    fn failed_with(
        &self,
        subject: &Subject,
        referrer: &Descriptor,
        cause: Cause,
        detail: &dyn std::fmt::Display,
        message: String,
    ) -> VerifierReport {
        let mut r = self.report(subject, referrer);
        r.message = message;
        r.error_reason = cause.render(detail);
        r.cause = Some(cause);
        r
    }

    /// The cause-first message of a signature that verified but whose signer is not trusted:
    /// who signed and which trust stores or identities did not accept it. `None` when the
    /// failure is not about the signer's trust or the signer is unknown.
    fn signer_message(
        &self,
        outcome: &Outcome,
        failure: &imagegate_notation::Error,
    ) -> Option<String> {
        let signer = outcome.signer()?;
        let statement = self
            .policy
            .statements()
            .iter()
            .find(|s| s.name() == outcome.statement());
        let detail = match failure {
            imagegate_notation::Error::Authenticity(AuthenticityError::UntrustedChain) => {
                // The stores that could have vouched for a signer: not the TSA ones.
                let stores: Vec<String> = statement
                    .map(|s| {
                        s.trust_stores()
                            .iter()
                            .filter(|t| t.store_type != StoreType::Tsa)
                            .map(ToString::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                let plural = if stores.len() == 1 { "" } else { "s" };
                format!(
                    "{} is not in trust store{plural} {}",
                    signer.subject,
                    stores.join(", ")
                )
            }
            imagegate_notation::Error::Authenticity(AuthenticityError::IdentityMismatch {
                ..
            }) => format!(
                "{} is not a trusted identity of trust policy {}",
                signer.subject,
                outcome.statement()
            ),
            _ => return None,
        };
        Some(cause_first(CauseKind::UntrustedSigner, detail))
    }

    async fn run(
        &self,
        subject: &Subject,
        referrer: &Descriptor,
        env: &VerifyEnv,
    ) -> VerifierReport {
        let wording = env.wording();
        let manifest = match env.manifest(&subject.reference, &referrer.digest).await {
            Ok(m) => m,
            Err(e) => return self.fetch_failed(subject, referrer, wording, &e),
        };
        let invalid = Cause::new(RatifyCode::ManifestInvalid, CauseKind::InvalidContent);
        let ParsedManifest::Image(image) = &manifest.parsed else {
            return self.failed(
                subject,
                referrer,
                wording,
                invalid,
                &"the signature referrer is an image index, not a signature manifest",
            );
        };
        let layer = match image.signature_envelope() {
            Ok(l) => l.clone(),
            Err(e) => return self.failed(subject, referrer, wording, invalid, &e),
        };
        let artifact = match (&subject.descriptor, &image.subject) {
            (Some(d), _) => d.clone(),
            (None, Some(s)) if s.digest == subject.digest => {
                imagegate_notation::Descriptor::new(s.media_type.clone(), s.digest.clone(), s.size)
            }
            (None, s) => {
                let found = s.as_ref().map_or("none", |s| s.digest.as_str());
                return self.failed(
                    subject,
                    referrer,
                    wording,
                    invalid,
                    &format_args!(
                        "the signature manifest's subject is {found}, not {}",
                        subject.digest
                    ),
                );
            }
        };
        let envelope = match env.blob(&subject.reference, &layer).await {
            Ok(b) => b,
            Err(e) => return self.fetch_failed(subject, referrer, wording, &e),
        };
        let (policy, store, limits, chains) = (
            self.policy.clone(),
            self.store.clone(),
            self.limits.clone(),
            self.chains.clone(),
        );
        let (revocation, now) = (env.revocation(), env.now());
        let artifact_reference = subject.artifact_reference();
        let media_type = layer.media_type.clone();
        let result = env
            .run_cpu(move || {
                let request = VerifyRequest {
                    envelope: &envelope,
                    envelope_media_type: &media_type,
                    artifact: &artifact,
                    artifact_reference: &artifact_reference,
                    policy: &policy,
                    trust_store: &store,
                    now,
                    revocation: revocation.as_ref(),
                    limits: &limits,
                    user_metadata: &[],
                };
                verify_with_cache(&request, &chains)
            })
            .await;
        match result {
            // The CPU pool is gone or the verification task failed.
            Err(e) => self.failed(
                subject,
                referrer,
                wording,
                Cause::new(RatifyCode::VerifyReferenceFailure, CauseKind::Internal),
                &e,
            ),
            // No outcome at all (e.g. no applicable trust policy statement).
            Ok(Err(e)) => self.failed(
                subject,
                referrer,
                wording,
                ratify_codes::for_notation(&e),
                &e,
            ),
            Ok(Ok(outcome)) => self.outcome_report(subject, referrer, wording, &outcome),
        }
    }

    fn outcome_report(
        &self,
        subject: &Subject,
        referrer: &Descriptor,
        wording: Wording,
        outcome: &Outcome,
    ) -> VerifierReport {
        if let Some(failure) = outcome.failure() {
            // Ratify puts notation-go's error text in `errorReason` without a code.
            let cause = Cause::bare(ratify_codes::notation_kind(failure));
            if wording == Wording::CauseFirst {
                if let Some(message) = self.signer_message(outcome, failure) {
                    return self.failed_with(subject, referrer, cause, failure, message);
                }
            }
            return self.failed(subject, referrer, wording, cause, failure);
        }
        // Checks the trust policy level only logs (permissive, audit): notation-go logs them
        // as warnings, and so do we, or "log" would be indistinguishable from "skip".
        for warning in outcome.warnings() {
            if let Some(error) = &warning.error {
                tracing::warn!(
                    subject = %subject.display,
                    signature = %referrer.digest,
                    statement = outcome.statement(),
                    level = outcome.level(),
                    check = warning.kind.as_str(),
                    %error,
                    "validation failed with validation action set to \"logged\""
                );
            }
        }
        let mut r = self.report(subject, referrer);
        r.is_success = true;
        if outcome.skipped() {
            r.message = imagegate_notation::outcome::SKIPPED_MESSAGE.to_owned();
            return r;
        }
        r.message = SUCCESS_MESSAGE.to_owned();
        if let Some(signer) = outcome.signer() {
            r.extensions = Some(Extensions::Signer {
                issuer: signer.issuer.clone(),
                subject: signer.subject.clone(),
            });
        }
        r
    }
}

impl Verifier for NotationVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn verifier_type(&self) -> &str {
        &self.kind
    }

    fn artifact_types(&self) -> &ArtifactTypes {
        &self.artifact_types
    }

    fn verify<'a>(
        &'a self,
        subject: &'a Subject,
        referrer: &'a Descriptor,
        env: &'a VerifyEnv,
    ) -> BoxFuture<'a, VerifierReport> {
        Box::pin(self.run(subject, referrer, env))
    }
}

/// Ratify's `message` of a failed notation report.
fn ratify_message(referrer: &Descriptor) -> String {
    format!(
        "Failed to validate the Notation signature: {}",
        go_descriptor(referrer)
    )
}

/// A descriptor in the shape Go's `%+v` prints the fields Ratify shows.
fn go_descriptor(d: &Descriptor) -> String {
    format!(
        "{{MediaType:{} Digest:{} Size:{} ArtifactType:{}}}",
        d.media_type,
        d.digest,
        d.size,
        d.artifact_type.as_deref().unwrap_or_default()
    )
}
