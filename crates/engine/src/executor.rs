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
use imagegate_ratify::{
    render_result, Cause, CauseKind, Failure, RatifyCode, RenderedJson, VerifierReport,
    VerifyResult, RESULT_VERSION,
};
use tokio::sync::Semaphore;

use crate::cache::{Caches, Decision, Stale, Verdict, VerdictKey, VerdictKeyRef};
use crate::clock::Clock;
use crate::config::{EngineConfig, PolicySpec, Resolved};
use crate::metrics::{MetricsSink, VerifierRunRecord};
use crate::policy::ReportSummary;
use crate::ratify_codes;
use crate::registry::Registry;
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
    /// Unique per engine in this process (keys per-thread memos of its verdicts).
    pub(crate) id: u64,
    pub(crate) caches: Arc<Caches>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) revocation: Arc<dyn RevocationChecker>,
    pub(crate) cpu: Arc<Semaphore>,
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
    let reference = parse(image)?;
    let resolved = state.config.resolve(namespace);
    check_components(&resolved)?;
    state.config.check_scope(namespace, image, &reference)?;
    let access = state.access(namespace);
    let subject = subject(shared, &access, reference).await?;
    let key = VerdictKey {
        namespace: namespace.map(str::to_owned),
        subject: subject.display.clone(),
        digest: subject.digest.clone(),
        generation: state.generation,
    };
    let decision = shared
        .caches
        .verdict(
            key,
            revalidate_budget,
            decide(shared, state, &access, resolved, &subject, namespace),
        )
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
    Ok(decision)
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
    let scope = subjects::Scope {
        engine: shared.id,
        generation: state.generation,
        namespace,
    };
    if let Some(verdict) = subjects::recent_verdict(image, &scope, std::time::Instant::now()) {
        // Served under this generation before, so its key and components were fine.
        shared.caches.count_verdict_hit();
        return Ok(Some(verdict));
    }
    let Some(subject) = subjects::digest_subject(image)? else {
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
        subjects::remember_verdict(image, &scope, verdict);
    }
    Ok(verdict)
}

/// The subjects of recently seen digest references, remembered per thread: parsing and
/// normalising a reference costs more than the rest of a cached answer, and Gatekeeper
/// asks about the same images again and again. A pure function of the key text, so an entry
/// is never stale; 64 direct-mapped slots per thread bound the memory.
///
/// With a subject, the verdict last served for it from the verdict cache is remembered
/// too, with the engine, configuration generation and namespace it was served under, until
/// its cache entry's TTL ends ([`Verdict::fresh_until`]): a copy of a cached verdict, served
/// only while the cache itself would serve it, without the cache's hashing and bookkeeping.
mod subjects {
    use std::cell::RefCell;
    use std::fmt::Write as _;
    use std::sync::Arc;

    use imagegate_ratify::Failure;

    use crate::cache::Verdict;

    const SLOTS: usize = 64;

    /// Whom a remembered verdict was served to.
    #[derive(Debug)]
    pub(in crate::executor) struct Scope<'a> {
        /// The engine ([`super::Shared::id`]).
        pub(in crate::executor) engine: u64,
        /// The configuration generation.
        pub(in crate::executor) generation: u64,
        /// The request's namespace.
        pub(in crate::executor) namespace: Option<&'a str>,
    }

    /// A verdict served for a slot's image, with the [`Scope`] it was served under.
    #[derive(Clone, Debug)]
    struct Served {
        engine: u64,
        generation: u64,
        namespace: Option<Box<str>>,
        verdict: Arc<Verdict>,
        fresh_until: std::time::Instant,
    }

    impl Served {
        fn serves(&self, scope: &Scope<'_>) -> bool {
            self.engine == scope.engine
                && self.generation == scope.generation
                && self.namespace.as_deref() == scope.namespace
        }
    }

    /// A digest reference's subject as [`super::subject`] names it.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(super) struct DigestSubject {
        /// `registry/repository[:tag]@digest`.
        pub(super) name: Arc<str>,
        /// Where the digest starts in `name`.
        digest_at: usize,
    }

    impl DigestSubject {
        /// The digest (`sha256:…`).
        pub(super) fn digest(&self) -> &str {
            self.name.get(self.digest_at..).unwrap_or_default()
        }
    }

    /// One remembered image: its text, its subject, the verdict last served for it.
    #[derive(Clone, Debug)]
    struct Entry {
        image: Box<str>,
        subject: DigestSubject,
        served: Option<Served>,
    }

    type Slot = Option<Entry>;

    /// The verdict remembered for `image` under `scope` if its cache entry is still fresh at
    /// `now`.
    pub(in crate::executor) fn recent_verdict(
        image: &str,
        scope: &Scope<'_>,
        now: std::time::Instant,
    ) -> Option<Arc<Verdict>> {
        let slot = slot_of(image);
        MEMO.with(|memo| {
            let memo = memo.borrow();
            let entry = memo.get(slot)?.as_ref()?;
            let served = entry.served.as_ref()?;
            (*entry.image == *image && served.serves(scope) && now < served.fresh_until)
                .then(|| served.verdict.clone())
        })
    }

    /// Remembers `verdict`, just served from the verdict cache for `image` under `scope`.
    pub(in crate::executor) fn remember_verdict(
        image: &str,
        scope: &Scope<'_>,
        verdict: &Arc<Verdict>,
    ) {
        let Some(fresh_until) = verdict.fresh_until else {
            return;
        };
        let slot = slot_of(image);
        MEMO.with(|memo| {
            let mut memo = memo.borrow_mut();
            let Some(Some(entry)) = memo.get_mut(slot) else {
                return;
            };
            if *entry.image == *image {
                entry.served = Some(Served {
                    engine: scope.engine,
                    generation: scope.generation,
                    namespace: scope.namespace.map(Box::from),
                    verdict: verdict.clone(),
                    fresh_until,
                });
            }
        });
    }

    thread_local! {
        static MEMO: RefCell<Vec<Slot>> = RefCell::new(vec![None; SLOTS]);
    }

    /// The subject of `image` if it is a digest reference, `None` for a tag reference, the
    /// parse error for an invalid one (as [`super::verify`] reports it).
    pub(super) fn digest_subject(image: &str) -> Result<Option<DigestSubject>, Failure> {
        let slot = slot_of(image);
        let known = MEMO.with(|memo| {
            let memo = memo.borrow();
            match memo.get(slot) {
                Some(Some(entry)) if *entry.image == *image => Some(entry.subject.clone()),
                _ => None,
            }
        });
        if known.is_some() {
            return Ok(known);
        }
        let reference = super::parse(image)?;
        let Some(digest) = reference.digest.as_deref() else {
            return Ok(None);
        };
        let mut name = String::with_capacity(image.len() + 32);
        let _ = write!(name, "{reference}");
        let digest_at = name.len().saturating_sub(digest.len());
        let subject = DigestSubject {
            name: Arc::from(name),
            digest_at,
        };
        MEMO.with(|memo| {
            if let Some(entry) = memo.borrow_mut().get_mut(slot) {
                *entry = Some(Entry {
                    image: Box::from(image),
                    subject: subject.clone(),
                    served: None,
                });
            }
        });
        Ok(Some(subject))
    }

    /// The slot of `image`: its length and last bytes (a digest's tail for digest keys).
    fn slot_of(image: &str) -> usize {
        let bytes = image.as_bytes();
        let tail = bytes
            .get(bytes.len().saturating_sub(8)..)
            .unwrap_or_default();
        let hash = tail.iter().fold(bytes.len() as u64, |h, &b| {
            h.wrapping_mul(0x100_0000_01b3).wrapping_add(u64::from(b))
        });
        (hash % SLOTS as u64) as usize
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const D: &str = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";

        #[test]
        fn names_subjects_like_the_pipeline_and_remembers_them() {
            for image in [
                format!("registry.test/app@{D}"),
                format!("nginx@{D}"),
                format!("localhost:5000/a/b:v1@{D}"),
            ] {
                let reference = imagegate_oci::Reference::parse(&image).unwrap();
                for _ in 0..2 {
                    let subject = digest_subject(&image).unwrap().unwrap();
                    assert_eq!(&*subject.name, reference.to_string());
                    assert_eq!(subject.digest(), D);
                }
            }
            assert_eq!(digest_subject("registry.test/app:v1").unwrap(), None);
            assert!(digest_subject("Registry.test/UPPER@sha256:00").is_err());
        }

        #[test]
        fn remembered_verdicts_serve_only_their_scope_and_only_while_fresh() {
            let image = format!("registry.test/remembered@{D}");
            let now = std::time::Instant::now();
            let mut verdict = Verdict::new(true, vec![], false);
            verdict.fresh_until = Some(now + std::time::Duration::from_secs(10));
            let verdict = Arc::new(verdict);
            let scope = Scope {
                engine: 7,
                generation: 2,
                namespace: Some("team-a"),
            };
            // Nothing is remembered for an image whose subject was never named.
            remember_verdict(&image, &scope, &verdict);
            assert!(recent_verdict(&image, &scope, now).is_none());
            digest_subject(&image).unwrap().unwrap();
            remember_verdict(&image, &scope, &verdict);
            assert!(recent_verdict(&image, &scope, now).is_some());
            let later = now + std::time::Duration::from_secs(10);
            assert!(recent_verdict(&image, &scope, later).is_none(), "expired");
            for other in [
                Scope { engine: 8, ..scope },
                Scope {
                    generation: 3,
                    ..scope
                },
                Scope {
                    namespace: None,
                    ..scope
                },
                Scope {
                    namespace: Some("team-b"),
                    ..scope
                },
            ] {
                assert!(recent_verdict(&image, &other, now).is_none(), "{other:?}");
            }
            // A verdict never cached (no TTL) is not remembered.
            let uncached = Arc::new(Verdict::new(true, vec![], false));
            let other = Scope {
                generation: 9,
                ..scope
            };
            remember_verdict(&image, &other, &uncached);
            assert!(recent_verdict(&image, &other, now).is_none());
            // Naming the same subject again keeps it; another image in the slot replaces it.
            digest_subject(&image).unwrap().unwrap();
            assert!(recent_verdict(&image, &scope, now).is_some());
            let rival = format!("registry.test/rivalrival@{D}");
            assert_eq!(slot_of(&rival), slot_of(&image));
            digest_subject(&rival).unwrap().unwrap();
            assert!(recent_verdict(&image, &scope, now).is_none());
        }

        #[test]
        fn colliding_slots_never_mix_keys_up() {
            // Same length and same tail: the same slot, told apart by the full text.
            let a = format!("registry.test/aa@{D}");
            let b = format!("registry.test/bb@{D}");
            assert_eq!(slot_of(&a), slot_of(&b));
            for image in [&a, &b, &a, &b] {
                let subject = digest_subject(image).unwrap().unwrap();
                assert_eq!(&*subject.name, image.as_str());
            }
        }
    }
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

/// The Ratify result object for a decision, from its typed reports. A stale verdict keeps
/// Ratify's schema: each report's `message` gets a [`stale_suffix`].
pub(crate) fn result(shared: &Shared, decision: &Decision, trace_id: &str) -> VerifyResult {
    let timestamp = imagegate_ratify::rfc3339_nano(shared.clock.now());
    let mut verifier_reports = decision.verdict.reports.clone();
    if let Some(stale) = &decision.stale {
        let suffix = stale_suffix(stale);
        for r in &mut verifier_reports {
            r.message.push_str(&suffix);
        }
    }
    VerifyResult {
        version: RESULT_VERSION.to_owned(),
        is_success: decision.verdict.is_success,
        verifier_reports,
        trace_id: trace_id.to_owned(),
        timestamp,
    }
}

/// The result object for a decision as the provider writes it: byte for byte the
/// serialisation of [`result`], spliced from the verdict's rendered reports unless it is
/// stale (rare: then built through [`result`]).
pub(crate) fn render(
    shared: &Shared,
    decision: &Decision,
    trace_id: &str,
) -> Result<RenderedJson, Failure> {
    if decision.stale.is_some() {
        let result = result(shared, decision, trace_id);
        let value = serde_json::to_value(&result).map_err(|e| {
            Failure::new(
                RatifyCode::DataEncodingFailure,
                CauseKind::Internal,
                format_args!("cannot render the result ({e}); report this as a bug"),
            )
        })?;
        return Ok(RenderedJson::from_value(&value));
    }
    Ok(render_verdict(shared, &decision.verdict, trace_id))
}

/// The warm path's answer: a fresh verdict spliced into a result object.
pub(crate) fn render_verdict(shared: &Shared, verdict: &Verdict, trace_id: &str) -> RenderedJson {
    render_result(
        verdict.is_success,
        &verdict.rendered,
        trace_id,
        shared.clock.now(),
    )
}

/// The marker appended to the `message` of every report of a stale verdict; starts with
/// [`crate::STALE_MARKER`] and names the failed re-verification's Ratify code (or, for a
/// cause without one, its kind).
pub(crate) fn stale_suffix(stale: &Stale) -> String {
    let code = match stale.cause {
        Some(Cause {
            code: Some(code), ..
        }) => code.as_str(),
        Some(Cause { code: None, kind }) => kind.as_str(),
        None => "",
    };
    format!(
        "{}, {}s past its TTL, because re-verification failed transiently ({code}); \
         see imagegate.cache.staleGraceSeconds)",
        crate::STALE_MARKER,
        stale.past_ttl.as_secs()
    )
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

/// I/O (referrers, signatures) then the pure policy decision.
async fn decide(
    shared: &Shared,
    state: &State,
    access: &Access,
    resolved: Resolved<'_>,
    subject: &Subject,
    namespace: Option<&str>,
) -> Verdict {
    let fail = |cause: Cause, detail: &dyn std::fmt::Display, transient: bool| {
        Verdict::new(
            false,
            vec![subject_failure(subject, cause, detail)],
            transient,
        )
    };
    let Some(store) = resolved.stores.first() else {
        let cause = Cause::new(RatifyCode::ConfigInvalid, CauseKind::Config);
        return fail(cause, &"no store", false);
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
            return fail(
                ratify_codes::for_oci(&e),
                &e,
                ratify_codes::is_transient(&e),
            );
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
        let cause = Cause::new(RatifyCode::ListReferrersFailure, CauseKind::LimitExceeded);
        let detail = format!(
            "the subject has {} signature referrers, more than the limit of {max} \
             (imagegate.concurrency.maxSignaturesPerSubject); remove stale signatures",
            candidates.len()
        );
        return fail(cause, &detail, false);
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
        let r = subject_failure(
            subject,
            Cause::bare(CauseKind::Unsigned),
            &format_args!(
                "No verification results for the artifact {}. Ensure verifiers are properly \
                 configured and that artifact metadata is attached",
                subject.display
            ),
        );
        return Verdict::new(false, vec![r], false);
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
    let transient = !is_success && env.saw_transient_failure();
    Verdict::new(is_success, reports, transient)
}

/// A failed report about the subject as a whole (no verifier attribution), as Ratify's
/// `ErrorToVerifyResult` builds it.
fn subject_failure(
    subject: &Subject,
    cause: Cause,
    detail: &dyn std::fmt::Display,
) -> VerifierReport {
    VerifierReport {
        subject: subject.display.clone(),
        is_success: false,
        message: format!("failed to verify artifact: {}", subject.display),
        error_reason: cause.render(detail),
        cause: Some(cause),
        ..VerifierReport::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::config::CacheSettings;

    fn shared() -> Shared {
        Shared {
            id: u64::MAX,
            caches: Arc::new(Caches::new(&CacheSettings::default(), None)),
            clock: Arc::new(FixedClock(time::macros::datetime!(
                2025-05-01 10:00:00.1234 UTC
            ))),
            revocation: Arc::new(imagegate_notation::revocation::OfflineRevocationChecker),
            cpu: Arc::new(Semaphore::new(1)),
            metrics: None,
        }
    }

    fn reports() -> Vec<VerifierReport> {
        let mut ok = VerifierReport::for_verifier("verifier-notation", "notation");
        ok.subject = "registry.test/app@sha256:aa".into();
        ok.is_success = true;
        ok.message = "Notation signature verification success".into();
        ok.extensions = Some(serde_json::json!({"Issuer": "CN=i", "SN": "CN=\"s\""}));
        let failed = VerifierReport {
            message: "failed\n".into(),
            error_reason: "LIST_REFERRERS_FAILURE: unreachable".into(),
            ..VerifierReport::default()
        };
        vec![ok, failed]
    }

    /// The provider's answer is what serialising the result object gave before: fresh
    /// (spliced) and stale (marked messages) alike, for any trace ID.
    #[test]
    fn rendered_answers_equal_the_serialised_result() {
        let shared = shared();
        let stale = Stale {
            past_ttl: std::time::Duration::from_secs(42),
            cause: Some(Cause::new(
                RatifyCode::ListReferrersFailure,
                CauseKind::RegistryUnreachable,
            )),
            reason: "LIST_REFERRERS_FAILURE: registry unreachable".into(),
        };
        for (is_success, reports) in [(true, reports()), (false, reports()), (false, vec![])] {
            let verdict = Arc::new(Verdict::new(is_success, reports.clone(), false));
            for trace_id in ["6d3c1c9e", "odd \"trace\" \\ \u{1}", ""] {
                for stale in [None, Some(&stale)] {
                    let decision = Decision {
                        verdict: verdict.clone(),
                        stale: stale.cloned(),
                    };
                    let result = result(&shared, &decision, trace_id);
                    assert_eq!(result.verifier_reports.len(), reports.len());
                    let want = serde_json::to_value(&result).unwrap().to_string();
                    let got = render(&shared, &decision, trace_id).unwrap();
                    assert_eq!(got.as_str(), want);
                    let marked = got.as_str().contains(crate::STALE_MARKER);
                    assert_eq!(marked, stale.is_some() && !reports.is_empty());
                    if marked {
                        assert!(got.as_str().contains("(LIST_REFERRERS_FAILURE)"));
                    }
                }
            }
        }
    }
}
