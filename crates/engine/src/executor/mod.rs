//! The pipeline for one key: parse → resolve → referrers → verify each → decide.
//!
//! Registry and verifier failures never escape as errors once the subject digest is known:
//! as under Ratify's config policy they become failed reports (and a failed, cached verdict).
//! Only an invalid reference, a missing component and a failed tag resolution are per-key
//! errors.

pub(crate) mod hosts;
mod memo;
mod outcome_log;
mod pipeline;
mod render;

use std::collections::BTreeMap;
use std::sync::Arc;

use imagegate_notation::revocation::RevocationChecker;
use imagegate_oci::Reference;
use imagegate_ratify::{CauseKind, Failure, RatifyCode};
use tokio::sync::Semaphore;

use crate::cache::{Caches, Decision, Verdict, VerdictKey, VerdictKeyRef};
use crate::clock::Clock;
use crate::config::{EngineConfig, Resolved};
use crate::metrics::MetricsSink;
use crate::ratify_codes;
use crate::registry::Registry;
use crate::verifier::{Subject, Verifier};

/// One configuration generation with its registry clients.
pub(crate) struct State {
    pub(crate) generation: u64,
    pub(crate) config: Arc<EngineConfig>,
    /// The client of the cluster store.
    pub(crate) registry: Arc<dyn Registry>,
    /// Clients of namespaces that define their own stores (own credentials).
    pub(crate) namespaced: BTreeMap<String, Arc<dyn Registry>>,
    /// The cluster's verifiers, built from the configuration's specs.
    pub(crate) verifiers: Vec<Arc<dyn Verifier>>,
    /// Verifiers of namespaces that define their own.
    pub(crate) namespaced_verifiers: BTreeMap<String, Vec<Arc<dyn Verifier>>>,
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
    /// The verifiers of a resolved scope ([`Resolved::verifier_scope`]).
    pub(crate) fn verifiers(&self, scope: Option<&str>) -> &[Arc<dyn Verifier>] {
        scope
            .and_then(|ns| self.namespaced_verifiers.get(ns))
            .unwrap_or(&self.verifiers)
    }

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
    /// Unique per engine in this process (keys per-thread memos of its verdicts).
    pub(crate) id: u64,
    pub(crate) caches: Arc<Caches>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Arc<dyn RevocationChecker>,
    pub(crate) cpu: Arc<Semaphore>,
    /// Registry requests in flight per registry host; every generation's clients share it.
    pub(crate) hosts: Arc<hosts::HostLimits>,
    pub(crate) metrics: Option<Arc<dyn MetricsSink>>,
}

/// Verifies `image` for a request from `namespace`. `revalidate_budget` bounds the
/// re-verification of an expired verdict that could be served stale.
pub(crate) async fn verify(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
    revalidate_budget: std::time::Duration,
) -> Result<Decision, Failure> {
    let mut log = outcome_log::KeyLog::start(namespace, image);
    let computed = std::sync::atomic::AtomicBool::new(false);
    let decided = decide(
        shared,
        state,
        namespace,
        image,
        revalidate_budget,
        &mut log,
        &computed,
    )
    .await;
    match &decided {
        Ok((subject, decision)) => {
            let cache = if computed.load(std::sync::atomic::Ordering::Relaxed) {
                outcome_log::CacheStatus::Miss
            } else {
                outcome_log::CacheStatus::Hit
            };
            log.verdict(subject, decision, cache);
        }
        Err(failure) => log.failure(failure),
    }
    decided.map(|(_, decision)| decision)
}

/// [`verify`] without the log line: the subject as displayed and the decision.
async fn decide(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
    revalidate_budget: std::time::Duration,
    log: &mut outcome_log::KeyLog<'_>,
    computed: &std::sync::atomic::AtomicBool,
) -> Result<(String, Decision), Failure> {
    let reference = parse(image)?;
    let resolved = state.config.resolve(namespace);
    check_components(&resolved)?;
    state.config.check_scope(namespace, image, &reference)?;
    let access = state.access(namespace);
    let subject = subject(shared, &access, reference).await?;
    log.digest = Some(subject.digest.clone());
    let key = VerdictKey {
        namespace: namespace.map(str::to_owned),
        subject: subject.display.clone(),
        digest: subject.digest.clone(),
        generation: state.generation,
    };
    let decision = shared
        .caches
        .verdict(key, revalidate_budget, async {
            let verdict =
                pipeline::decide(shared, state, &access, resolved, &subject, namespace).await;
            computed.store(true, std::sync::atomic::Ordering::Relaxed);
            verdict
        })
        .await;
    if let Some(stale) = &decision.stale {
        tracing::warn!(
            subject = %subject.display,
            namespace = namespace.unwrap_or_default(),
            is_success = decision.verdict.is_success,
            past_ttl_ms = u64::try_from(stale.past_ttl.as_millis()).unwrap_or(u64::MAX),
            cause = stale.cause.map_or("unclassified", |c| c.kind.as_str()),
            reason = %stale.reason,
            "re-verification failed transiently; serving the last verdict marked stale"
        );
        if let Some(sink) = &shared.metrics {
            sink.stale_verdict(decision.verdict.is_success);
        }
    }
    Ok((subject.display, decision))
}

/// The warm path: the verdict for a digest reference when the cache holds one that is served
/// as it is, found without building the verification pipeline; `Ok(None)` when the full
/// pipeline ([`verify`]) must run. Keys are checked exactly as [`verify`] checks them first,
/// and the verdict is looked up under the same key.
pub(crate) async fn cached(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
) -> Result<Option<Arc<Verdict>>, Failure> {
    let scope = memo::Scope {
        engine: shared.id,
        generation: state.generation,
        namespace,
    };
    if let Some(verdict) = memo::recent_verdict(image, &scope, tokio::time::Instant::now()) {
        // Served under this generation before, so its key and components were fine.
        shared.caches.count_verdict_hit();
        return Ok(Some(verdict));
    }
    let Some(subject) = memo::digest_subject(image)? else {
        // A tag is resolved through the tag cache first: the full pipeline does that.
        check_components(&state.config.resolve(namespace))?;
        return Ok(None);
    };
    check_components(&state.config.resolve(namespace))?;
    let key = VerdictKeyRef {
        namespace,
        subject: &subject.name,
        digest: subject.digest(),
        generation: state.generation,
    };
    let verdict = shared.caches.cached_verdict(&key).await;
    if let Some(verdict) = &verdict {
        memo::remember_verdict(image, &scope, verdict);
    }
    Ok(verdict)
}

/// Resolves `image` to `registry/repository@digest` (digest references pass through
/// unchanged, without a registry call).
pub(crate) async fn mutate(
    shared: &Shared,
    state: &State,
    namespace: Option<&str>,
    image: &str,
) -> Result<String, Failure> {
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

fn parse(image: &str) -> Result<Reference, Failure> {
    Reference::parse(image)
        .map_err(|e| Failure::new(RatifyCode::ReferenceInvalid, CauseKind::ReferenceInvalid, e))
}

fn check_components(r: &Resolved<'_>) -> Result<(), Failure> {
    let missing = if r.stores.is_empty() {
        "referrer store config should have at least one store"
    } else if r.policy.is_none() {
        "policy provider config is not provided"
    } else if r.verifiers.is_empty() {
        "verifiers config should have at least one verifier"
    } else {
        return Ok(());
    };
    Err(Failure::new(
        RatifyCode::ConfigInvalid,
        CauseKind::Config,
        missing,
    ))
}

async fn resolve_tag(
    shared: &Shared,
    access: &Access,
    reference: &Reference,
) -> Result<imagegate_oci::ResolvedManifest, Failure> {
    shared
        .caches
        .tag(
            format!("{}{reference}", access.scope),
            access.registry.resolve(reference),
        )
        .await
        .map_err(|e| ratify_codes::oci_failure(&e))
}

async fn subject(
    shared: &Shared,
    access: &Access,
    reference: Reference,
) -> Result<Subject, Failure> {
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

pub(crate) use render::{render, result};
