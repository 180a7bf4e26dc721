//! The pipeline for one key: parse → resolve → referrers → verify each → decide.
//!
//! Registry and verifier failures never escape as errors once the subject digest is known:
//! as under Ratify's config policy they become failed reports (and a failed, cached verdict).
//! Only an invalid reference, a missing component and a failed tag resolution are per-key
//! errors.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::future::join_all;
use imagegate_notation::revocation::RevocationChecker;
use imagegate_oci::{Descriptor, Reference};
use tokio::sync::Semaphore;

use crate::cache::{Caches, Stale, Verdict, VerdictKey};
use crate::clock::Clock;
use crate::config::{EngineConfig, PolicySpec, Resolved};
use crate::engine::KeyError;
use crate::metrics::{MetricsSink, VerifierRunRecord};
use crate::policy::ReportSummary;
use crate::ratify_codes::{self, RatifyCode};
use crate::registry::Registry;
use crate::report::{VerifierReport, VerifyResult, RESULT_VERSION};
use crate::verifier::{content_key, Subject, Verifier, VerifyEnv};

/// One configuration generation with its registry clients.
pub(crate) struct State {
    pub(crate) generation: u64,
    pub(crate) config: Arc<EngineConfig>,
    /// The client of the cluster store.
    pub(crate) registry: Arc<dyn Registry>,
    /// Clients of namespaces that define their own stores (own credentials).
    pub(crate) namespaced: BTreeMap<String, Arc<dyn Registry>>,
}

/// The registry client for a request and the cache scope that goes with its credentials.
pub(crate) struct Access {
    pub(crate) registry: Arc<dyn Registry>,
    /// Prefix of every content and tag cache key: empty for the cluster store, `ns:` for a
    /// namespace with its own store, so content fetched with one tenant's credentials is never
    /// served to another.
    pub(crate) scope: String,
}

impl State {
    pub(crate) fn access(&self, namespace: Option<&str>) -> Access {
        match namespace.and_then(|ns| self.namespaced.get(ns).map(|r| (ns, r))) {
            Some((ns, r)) => Access {
                registry: r.clone(),
                scope: format!("{ns}:"),
            },
            None => Access {
                registry: self.registry.clone(),
                scope: String::new(),
            },
        }
    }
}

/// What lives across generations.
pub(crate) struct Shared {
    pub(crate) caches: Arc<Caches>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Arc<dyn RevocationChecker>,
    pub(crate) cpu: Arc<Semaphore>,
    pub(crate) metrics: Option<Arc<dyn MetricsSink>>,
}

/// The decided verdict for a key, and why it is stale if it is.
pub(crate) struct Decided {
    pub(crate) verdict: Arc<Verdict>,
    pub(crate) stale: Option<Stale>,
}

/// Verifies `image` for a request from `namespace`. `revalidate_budget` bounds the
/// re-verification of an expired verdict that could be served stale.
pub(crate) async fn verify(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
    revalidate_budget: std::time::Duration,
) -> Result<Decided, KeyError> {
    let reference = parse(image)?;
    let resolved = state.config.resolve(namespace);
    check_components(&resolved)?;
    let access = state.access(namespace);
    let subject = subject(shared, &access, reference).await?;
    let key = VerdictKey {
        namespace: namespace.map(str::to_owned),
        subject: subject.display.clone(),
        digest: subject.digest.clone(),
        generation: state.generation,
    };
    let served = shared
        .caches
        .verdict(
            key,
            revalidate_budget,
            decide(shared, state, &access, resolved, &subject, namespace),
        )
        .await;
    if let Some(stale) = &served.stale {
        tracing::warn!(
            subject = %subject.display,
            namespace = namespace.unwrap_or_default(),
            is_success = served.verdict.is_success,
            past_ttl_ms = u64::try_from(stale.past_ttl.as_millis()).unwrap_or(u64::MAX),
            cause = %stale.cause,
            "re-verification failed transiently; serving the last verdict marked stale"
        );
        if let Some(sink) = &shared.metrics {
            sink.stale_verdict(served.verdict.is_success);
        }
    }
    Ok(Decided {
        verdict: served.verdict,
        stale: served.stale,
    })
}

/// Resolves `image` to `registry/repository@digest` (digest references pass through
/// unchanged, without a registry call).
pub(crate) async fn mutate(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
) -> Result<String, KeyError> {
    let reference = parse(image)?;
    if reference.digest.is_some() {
        return Ok(image.to_owned());
    }
    let digest = resolve_tag(shared, &state.access(namespace), &reference)
        .await?
        .digest;
    Ok(format!(
        "{}/{}@{digest}",
        reference.registry, reference.repository
    ))
}

/// The Ratify result object for a verdict. A stale verdict keeps Ratify's schema: each
/// report's `message` gets a [`stale_suffix`].
pub(crate) fn result(
    shared: &Shared,
    verdict: &Verdict,
    stale: Option<&Stale>,
    trace_id: &str,
) -> VerifyResult {
    let timestamp = crate::clock::rfc3339_nano(shared.clock.now());
    let mut verifier_reports = verdict.reports.clone();
    if let Some(stale) = stale {
        let suffix = stale_suffix(stale);
        for r in &mut verifier_reports {
            r.message.push_str(&suffix);
        }
    }
    VerifyResult {
        version: RESULT_VERSION.to_owned(),
        is_success: verdict.is_success,
        verifier_reports,
        trace_id: trace_id.to_owned(),
        timestamp,
    }
}

/// The marker appended to the `message` of every report of a stale verdict; starts with
/// [`crate::STALE_MARKER`].
pub(crate) fn stale_suffix(stale: &Stale) -> String {
    let code = stale.cause.split(':').next().unwrap_or_default();
    format!(
        "{}, {}s past its TTL, because re-verification failed transiently ({code}); \
         see imagegate.cache.staleGraceSeconds)",
        crate::STALE_MARKER,
        stale.past_ttl.as_secs()
    )
}

fn parse(image: &str) -> Result<Reference, KeyError> {
    Reference::parse(image).map_err(|e| KeyError::new(RatifyCode::ReferenceInvalid, e))
}

fn check_components(r: &Resolved<'_>) -> Result<(), KeyError> {
    let missing = if r.stores.is_empty() {
        "referrer store config should have at least one store"
    } else if r.policy.is_none() {
        "policy provider config is not provided"
    } else if r.verifiers.is_empty() {
        "verifiers config should have at least one verifier"
    } else {
        return Ok(());
    };
    Err(KeyError::new(RatifyCode::ConfigInvalid, missing))
}

async fn resolve_tag(
    shared: &Shared,
    access: &Access,
    reference: &Reference,
) -> Result<imagegate_oci::ResolvedManifest, KeyError> {
    shared
        .caches
        .tag(
            format!("{}{reference}", access.scope),
            access.registry.resolve(reference),
        )
        .await
        .map_err(|e| KeyError::new(ratify_codes::for_oci(&e), e))
}

async fn subject(
    shared: &Shared,
    access: &Access,
    reference: Reference,
) -> Result<Subject, KeyError> {
    let display = reference.to_string();
    let (digest, descriptor) = match &reference.digest {
        Some(d) => (d.clone(), None),
        None => {
            let r = resolve_tag(shared, access, &reference).await?;
            let desc = imagegate_notation::Descriptor::new(r.media_type, r.digest.clone(), r.size);
            (r.digest, Some(desc))
        }
    };
    Ok(Subject {
        display,
        reference: reference.with_digest(&digest),
        digest,
        descriptor,
    })
}

/// I/O (referrers, signatures) then the pure policy decision.
async fn decide(
    shared: &Shared,
    state: &State,
    access: &Access,
    resolved: Resolved<'_>,
    subject: &Subject,
    namespace: Option<&str>,
) -> Verdict {
    let fail = |reason: String, transient: bool| Verdict {
        is_success: false,
        reports: vec![subject_failure(subject, reason)],
        transient,
    };
    let Some(store) = resolved.stores.first() else {
        return fail(RatifyCode::ConfigInvalid.with("no store"), false);
    };
    let registry = access.registry.clone();
    let referrers = shared
        .caches
        .referrers(
            content_key(&access.scope, &subject.reference, &subject.digest),
            store.referrers_ttl,
            registry.referrers(&subject.reference, None),
        )
        .await;
    let referrers = match referrers {
        Ok(r) => r,
        Err(e) => {
            return fail(ratify_codes::oci_reason(&e), ratify_codes::is_transient(&e));
        }
    };
    // Config policy: only the first verifier whose artifact types match runs per referrer.
    let candidates: Vec<(&Descriptor, &Arc<dyn Verifier>)> = referrers
        .iter()
        .filter_map(|d| {
            let at = d.artifact_type.as_deref().unwrap_or_default();
            resolved
                .verifiers
                .iter()
                .find(|v| v.artifact_types().matches(at))
                .map(|v| (d, v))
        })
        .collect();
    let max = state
        .config
        .settings
        .concurrency
        .max_signatures_per_subject
        .max(1);
    if candidates.len() > max {
        return fail(
            RatifyCode::ListReferrersFailure.with(format!(
                "the subject has {} signature referrers, more than the limit of {max} \
             (imagegate.concurrency.maxSignaturesPerSubject); remove stale signatures",
                candidates.len()
            )),
            false,
        );
    }
    let env = VerifyEnv {
        caches: shared.caches.clone(),
        registry,
        scope: access.scope.clone(),
        now: shared.clock.now(),
        revocation: shared.revocation.clone(),
        cpu: shared.cpu.clone(),
        transient: std::sync::atomic::AtomicBool::new(false),
    };
    let reports: Vec<VerifierReport> = join_all(candidates.iter().map(|(d, verifier)| {
        let env = &env;
        async move {
            let started = tokio::time::Instant::now();
            let report = verifier.verify(subject, d, env).await;
            if let Some(sink) = &shared.metrics {
                sink.verifier_run(VerifierRunRecord {
                    verifier: verifier.name(),
                    subject: &subject.display,
                    success: report.is_success,
                    error: &report.error_reason,
                    namespace: namespace.unwrap_or_default(),
                    duration: started.elapsed(),
                });
            }
            report
        }
    }))
    .await;
    if reports.is_empty() {
        let mut r = subject_failure(
            subject,
            format!(
                "No verification results for the artifact {}. Ensure verifiers are properly \
                 configured and that artifact metadata is attached",
                subject.display
            ),
        );
        r.message = format!("failed to verify artifact: {}", subject.display);
        return Verdict {
            is_success: false,
            reports: vec![r],
            transient: false,
        };
    }
    let summaries: Vec<ReportSummary<'_>> = reports
        .iter()
        .map(|r| ReportSummary {
            artifact_type: &r.artifact_type,
            is_success: r.is_success,
        })
        .collect();
    let is_success = match resolved.policy {
        Some(PolicySpec::Config(p)) => p.decide(&summaries),
        None => false,
    };
    Verdict {
        is_success,
        reports,
        transient: !is_success && env.saw_transient_failure(),
    }
}

/// A failed report about the subject as a whole (no verifier attribution), as Ratify's
/// `ErrorToVerifyResult` builds it.
fn subject_failure(subject: &Subject, reason: String) -> VerifierReport {
    VerifierReport {
        subject: subject.display.clone(),
        is_success: false,
        message: format!("failed to verify artifact: {}", subject.display),
        error_reason: reason,
        ..VerifierReport::default()
    }
}
