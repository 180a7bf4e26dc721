//! Verifiers: one signature (referrer) in, one [`VerifierReport`] out.
//!
//! [`Verifier`] is the seam for further verifier types (cosign comes later): the executor picks,
//! per referrer, the first configured verifier whose [`ArtifactTypes`] match (Ratify's config
//! policy rule) and gives it a [`VerifyEnv`] for cached registry access, the verification time
//! and a bounded pool for CPU work.

mod notation;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use imagegate_notation::revocation::RevocationChecker;
use imagegate_oci::{Descriptor, Manifest, OciError, Reference};
use imagegate_ratify::Wording;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::cache::Caches;
use crate::config::VerifierSpec;
use crate::registry::Registry;
use crate::report::VerifierReport;

pub use crate::config::ArtifactTypes;
pub use notation::{NotationVerifier, NOTATION_TYPE, SUCCESS_MESSAGE};

/// The subject being verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The normalised reference as requested (tag or digest form); the reports' `subject`.
    pub display: String,
    /// The reference pinned to the subject digest.
    pub reference: Reference,
    /// The digest being verified.
    pub digest: String,
    /// The subject's manifest descriptor when it was resolved (tag keys); digest keys take it
    /// from the signature manifest's `subject`, whose digest must equal [`Subject::digest`].
    pub descriptor: Option<imagegate_notation::Descriptor>,
}

impl Subject {
    /// `registry/repository@digest`, the reference a trust policy is evaluated against.
    pub fn artifact_reference(&self) -> String {
        format!(
            "{}/{}@{}",
            self.reference.registry, self.reference.repository, self.digest
        )
    }
}

/// What a verifier may use: cached registry access, the verification time, the revocation
/// checker and the bounded pool for CPU-heavy work.
pub struct VerifyEnv {
    pub(crate) caches: Arc<Caches>,
    pub(crate) registry: Arc<dyn Registry>,
    pub(crate) scope: String,
    pub(crate) now: OffsetDateTime,
    pub(crate) revocation: Arc<dyn RevocationChecker>,
    pub(crate) cpu: Arc<Semaphore>,
    /// The wording of failed reports' `message` (`imagegate.messages`).
    pub(crate) wording: Wording,
    /// Set when a registry fetch failed for a transient reason (see
    /// [`crate::ratify_codes::is_transient`]): the decision may then be served stale.
    pub(crate) transient: AtomicBool,
}

impl fmt::Debug for VerifyEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyEnv").field("now", &self.now).finish()
    }
}

/// Why [`VerifyEnv::run_cpu`] produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the verification task did not complete ({0}); retry the request")]
pub struct CpuTaskError(String);

impl VerifyEnv {
    /// The verification time, read once per request.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// The wording of failed reports' `message`.
    pub fn wording(&self) -> Wording {
        self.wording
    }

    /// The revocation checker.
    pub fn revocation(&self) -> Arc<dyn RevocationChecker> {
        self.revocation.clone()
    }

    /// A manifest of `r`'s repository by digest, from the cache or the registry (single-flight).
    pub async fn manifest(
        &self,
        r: &Reference,
        digest: &str,
    ) -> Result<Arc<Manifest>, Arc<OciError>> {
        let key = content_key(&self.scope, r, digest);
        let fetched = self
            .caches
            .manifest(key, self.registry.fetch_manifest(r, digest))
            .await;
        self.note(fetched)
    }

    /// A blob of `r`'s repository, from the cache or the registry (single-flight).
    pub async fn blob(&self, r: &Reference, desc: &Descriptor) -> Result<Bytes, Arc<OciError>> {
        let key = content_key(&self.scope, r, &desc.digest);
        let fetched = self
            .caches
            .blob(key, self.registry.fetch_blob(r, desc))
            .await;
        self.note(fetched)
    }

    /// Whether a registry fetch of this decision failed for a transient reason.
    pub fn saw_transient_failure(&self) -> bool {
        self.transient.load(Ordering::Relaxed)
    }

    /// Remembers a transient fetch failure, passing the result through.
    pub(crate) fn note<T>(&self, r: Result<T, Arc<OciError>>) -> Result<T, Arc<OciError>> {
        if let Err(e) = &r {
            if crate::ratify_codes::is_transient(e) {
                self.transient.store(true, Ordering::Relaxed);
            }
        }
        r
    }

    /// Runs CPU-bound work on the blocking pool, at most `maxVerifications` at a time.
    pub async fn run_cpu<T, F>(&self, work: F) -> Result<T, CpuTaskError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let _permit = self
            .cpu
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| CpuTaskError(e.to_string()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| CpuTaskError(e.to_string()))
    }
}

/// A registry error for a cause-first `message`: what happened and during which step,
/// without the reference (the report and every template show it already), e.g. `listing
/// referrers: the registry could not be reached (connection refused); check …`.
pub(crate) fn oci_brief(err: &OciError) -> String {
    let text = err.to_string();
    let Some(op) = err.operation() else {
        return text;
    };
    // Every operation error reads "cannot <op> <reference>: <what happened>"; a reference
    // never contains ": ".
    let rest = text
        .strip_prefix("cannot ")
        .and_then(|t| t.split_once(": "))
        .map(|(_, rest)| rest);
    let Some(rest) = rest else {
        return text;
    };
    let step = match op {
        imagegate_oci::Operation::Resolve => "resolving the image",
        imagegate_oci::Operation::ListReferrers => "listing referrers",
        imagegate_oci::Operation::FetchManifest => "fetching the signature manifest",
        imagegate_oci::Operation::FetchBlob => "fetching the signature envelope",
        _ => return text,
    };
    format!("{step}: {rest}")
}

/// `<scope>registry/repository@digest`: content is cached per repository and per credential
/// scope.
pub(crate) fn content_key(scope: &str, r: &Reference, digest: &str) -> String {
    format!("{scope}{}/{}@{digest}", r.registry, r.repository)
}

/// Builds the verifier a [`VerifierSpec`] describes. Called when a configuration generation
/// becomes the executor's state: the configuration itself stays plain data.
pub fn build(spec: &VerifierSpec) -> Arc<dyn Verifier> {
    Arc::new(NotationVerifier::new(
        &spec.name,
        &spec.kind,
        spec.artifact_types.clone(),
        spec.policy.clone(),
        spec.store.clone(),
    ))
}

/// A verifier of one kind of referrer.
pub trait Verifier: Send + Sync + fmt::Debug + 'static {
    /// The configured name (`name`; CRD `metadata.name`).
    fn name(&self) -> &str;
    /// The verifier type (`type`, else `name`), e.g. `notation`.
    fn verifier_type(&self) -> &str;
    /// The artifact types it handles.
    fn artifact_types(&self) -> &ArtifactTypes;
    /// Verifies one referrer of `subject`. Never fails: every problem becomes a failed report
    /// whose `errorReason` carries a Ratify error code.
    fn verify<'a>(
        &'a self,
        subject: &'a Subject,
        referrer: &'a Descriptor,
        env: &'a VerifyEnv,
    ) -> BoxFuture<'a, VerifierReport>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagegate_oci::Operation;

    #[test]
    fn registry_errors_are_briefed_without_the_reference() {
        let reference = "registry.test:5000/app@sha256:00".to_owned();
        let transport = OciError::Transport {
            op: Operation::ListReferrers,
            reference: reference.clone(),
            detail: "connection refused".into(),
        };
        let brief = oci_brief(&transport);
        assert!(
            brief.starts_with(
                "listing referrers: the registry could not be reached (connection refused)"
            ),
            "{brief}"
        );
        assert!(!brief.contains(&reference), "{brief}");
        let missing = OciError::NotFound {
            op: Operation::FetchBlob,
            reference: reference.clone(),
            detail: "BLOB_UNKNOWN".into(),
        };
        assert!(oci_brief(&missing).starts_with(
            "fetching the signature envelope: not found in the registry (BLOB_UNKNOWN)"
        ));
        // Errors without an operation, or of operations the verifier never runs, are whole.
        let config = OciError::Config("bad".into());
        assert_eq!(oci_brief(&config), config.to_string());
        let push = OciError::DigestRequired {
            op: Operation::PushBlob,
            reference,
        };
        assert_eq!(oci_brief(&push), push.to_string());
    }
}
