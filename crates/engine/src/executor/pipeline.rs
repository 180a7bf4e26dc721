//! The I/O half of a decision: referrers, then each signature through its verifier, then the
//! pure policy decision ([`decide`]).
//!
//! The signatures of one subject run at most `imagegate.concurrency.maxSignaturesInFlight` at
//! a time (each fetches its manifest and envelope, then verifies), in listing order, and the
//! rest are not started once the config policy's decision cannot change
//! ([`crate::policy::ConfigPolicy::settled`]): under `any`, the first success of a type
//! settles that type; under `all`, the first failure settles the subject. The decision is
//! taken on the shortest settled *prefix* of the listing, so the reports are the same on every
//! run whatever order the signatures finish in. Signatures after that prefix have no report,
//! which is the one visible difference from Ratify (it verifies them all and lists every
//! report); the verdict is the same.

use std::sync::Arc;

use futures_util::stream::{FuturesUnordered, StreamExt as _};
use imagegate_oci::{Descriptor, OciError};
use imagegate_ratify::{
    cause_first, labelled, Cause, CauseKind, RatifyCode, VerifierReport, Wording, IMAGE_NOT_FOUND,
    NO_REFERRERS_FOUND, RESOLVING_DESCRIPTOR,
};

use super::{Access, Shared, State};
use crate::cache::Verdict;
use crate::config::{PolicySpec, Resolved};
use crate::metrics::VerifierRun;
use crate::policy::ReportSummary;
use crate::ratify_codes;
use crate::verifier::{content_key, oci_brief, Subject, Verifier, VerifyEnv};

/// I/O (referrers, signatures) then the pure policy decision.
pub(super) async fn decide(
    shared: &Shared,
    state: &State,
    access: &Access,
    resolved: Resolved<'_>,
    subject: &Subject,
    namespace: Option<&str>,
) -> Verdict {
    let wording = state.config.settings.messages;
    let fail = |cause: Cause, detail: &dyn std::fmt::Display, brief: &str, transient: bool| {
        Verdict::new(
            false,
            vec![subject_failure(subject, wording, cause, detail, brief)],
            transient,
        )
    };
    let Some(store) = resolved.stores.first() else {
        let cause = Cause::new(RatifyCode::ConfigInvalid, CauseKind::Config);
        return fail(cause, &"no store", "no store", false);
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
                &oci_brief(&e),
                ratify_codes::is_transient(&e),
            );
        }
    };
    // Config policy: only the first verifier whose artifact types match runs per referrer.
    let verifiers = state.verifiers(resolved.verifier_scope);
    let candidates: Vec<(&Descriptor, &Arc<dyn Verifier>)> = referrers
        .iter()
        .filter_map(|d| {
            let at = d.artifact_type.as_deref().unwrap_or_default();
            verifiers
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
        return fail(cause, &detail, &detail, false);
    }
    let env = VerifyEnv {
        caches: shared.caches.clone(),
        registry,
        scope: access.scope.clone(),
        now: shared.clock.now(),
        revocation: shared.revocation.clone(),
        cpu: shared.cpu.clone(),
        wording,
        transient: std::sync::atomic::AtomicBool::new(false),
    };
    let policy = resolved.policy.map(|PolicySpec::Config(p)| p);
    let in_flight = state.config.settings.concurrency.max_signatures_in_flight;
    let run = |index: usize| {
        let env = &env;
        let candidate = candidates.get(index).copied();
        async move {
            let (d, verifier) = candidate?;
            let started = tokio::time::Instant::now();
            let report = verifier.verify(subject, d, env).await;
            if let Some(sink) = &shared.metrics {
                sink.verifier_run(VerifierRun {
                    verifier: verifier.name(),
                    subject: &subject.display,
                    success: report.is_success,
                    error: report.cause.map(|c| c.kind),
                    namespace: namespace.unwrap_or_default(),
                    duration: started.elapsed(),
                });
            }
            Some(report)
        }
    };
    let types: Vec<&str> = candidates
        .iter()
        .map(|(d, _)| d.artifact_type.as_deref().unwrap_or_default())
        .collect();
    let reports = bounded_until_settled(&types, in_flight, policy, run).await;
    if reports.is_empty() {
        return unsigned_or_missing(env.registry.as_ref(), subject, wording).await;
    }
    let is_success = match resolved.policy {
        Some(PolicySpec::Config(p)) => p.decide(&summaries(&reports)),
        None => false,
    };
    let transient = !is_success && env.saw_transient_failure();
    Verdict::new(is_success, reports, transient)
}

/// Runs `run(i)` for every index of `types` (the candidates' artifact types), at most
/// `in_flight` at a time and in order, until all have finished or `policy` is settled
/// ([`crate::policy::ConfigPolicy::settled`]) by the finished *prefix* of the candidates; the
/// reports of that prefix in candidate order. Deciding on the prefix, not on whichever
/// signatures happened to finish first, makes the answer the same on every run (the one a
/// sequential verifier gives). Dropping the unfinished futures cancels their fetches.
async fn bounded_until_settled<F, Fut>(
    types: &[&str],
    in_flight: usize,
    policy: Option<&crate::policy::ConfigPolicy>,
    run: F,
) -> Vec<VerifierReport>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Option<VerifierReport>>,
{
    let mut next = 0;
    let mut running = FuturesUnordered::new();
    // Per candidate: `None` while running or not started, then its report if it has one.
    let mut results: Vec<Option<Option<VerifierReport>>> = (0..types.len()).map(|_| None).collect();
    let mut prefix = 0;
    // Whether more candidates may start: not once the finished ones, in any order, settle the
    // policy (then only the earlier ones still running are awaited, to settle the prefix).
    let mut launching = true;
    loop {
        while launching && running.len() < in_flight.max(1) && next < types.len() {
            let index = next;
            let work = run(index);
            running.push(async move { (index, work.await) });
            next += 1;
        }
        let Some((index, report)) = running.next().await else {
            break;
        };
        if let Some(slot) = results.get_mut(index) {
            *slot = Some(report);
        }
        let Some(policy) = policy else {
            continue;
        };
        // The shortest finished prefix that settles the policy, so the answer does not depend
        // on which signature finished first.
        while results.get(prefix).is_some_and(Option::is_some) {
            prefix += 1;
            let pending = types[prefix..].iter().copied();
            let finished = summaries(results[..prefix].iter().flatten().flatten());
            if policy.settled(&finished, pending).is_some() {
                results.truncate(prefix);
                return results.into_iter().flatten().flatten().collect();
            }
        }
        if launching {
            let finished = summaries(results.iter().flatten().flatten());
            let unfinished = types
                .iter()
                .zip(&results)
                .filter(|(_, r)| r.is_none())
                .map(|(t, _)| *t);
            launching = policy.settled(&finished, unfinished).is_none();
        }
    }
    results.into_iter().flatten().flatten().collect()
}

/// What the policy reads of `reports`.
fn summaries<'a>(reports: impl IntoIterator<Item = &'a VerifierReport>) -> Vec<ReportSummary<'a>> {
    reports
        .into_iter()
        .map(|r| ReportSummary {
            artifact_type: &r.artifact_type,
            is_success: r.is_success,
        })
        .collect()
}

/// The verdict for a subject with no signature a verifier ran on: unsigned, or (digest keys
/// only, whose subject was never fetched) missing from the registry. Telling the two apart
/// costs one request (`HEAD` of the manifest by digest), made only on this failure path; a
/// tag key's subject was just resolved, so it exists. When that request fails for another
/// reason the answer stays "unsigned": the listing already succeeded.
async fn unsigned_or_missing(
    registry: &dyn crate::registry::Registry,
    subject: &Subject,
    wording: Wording,
) -> Verdict {
    if subject.descriptor.is_none() {
        if let Err(e) = registry.resolve(&subject.reference).await {
            if matches!(e, OciError::NotFound { .. }) {
                let r = subject_failure(subject, wording, ratify_codes::for_oci(&e), &e, "");
                return Verdict::new(false, vec![r], false);
            }
            tracing::debug!(
                subject = %subject.display,
                error = %e,
                "cannot tell a missing image from an unsigned one; answering unsigned"
            );
        }
    }
    let r = subject_failure(
        subject,
        wording,
        Cause::bare(CauseKind::Unsigned),
        &format_args!(
            "No verification results for the artifact {}. Ensure verifiers are properly \
             configured and that artifact metadata is attached",
            subject.display
        ),
        "",
    );
    Verdict::new(false, vec![r], false)
}

/// A failed report about the subject as a whole (no verifier attribution), as Ratify's
/// `ErrorToVerifyResult` builds it: `errorReason` is `detail` with `cause`'s code; `message`
/// is Ratify's or the cause first ([`Wording`]), with `brief` where the cause has no wording
/// of its own.
fn subject_failure(
    subject: &Subject,
    wording: Wording,
    cause: Cause,
    detail: &dyn std::fmt::Display,
    brief: &str,
) -> VerifierReport {
    let message = match wording {
        Wording::Ratify => format!("failed to verify artifact: {}", subject.display),
        Wording::CauseFirst => subject_message(subject, cause.kind, brief),
    };
    VerifierReport {
        subject: subject.display.clone(),
        is_success: false,
        message,
        error_reason: cause.render(detail),
        cause: Some(cause),
        ..VerifierReport::default()
    }
}

/// The cause-first `message` of a subject failure. Azure's Image Integrity template rewords
/// a message containing [`NO_REFERRERS_FOUND`] as "signature artifact not found" and one
/// containing [`RESOLVING_DESCRIPTOR`] as a hint to check the registry permissions, so the
/// unsigned and the refused-credentials messages carry those words.
fn subject_message(subject: &Subject, kind: CauseKind, brief: &str) -> String {
    let s = &subject.display;
    match kind {
        CauseKind::Unsigned => cause_first(
            kind,
            format_args!("{NO_REFERRERS_FOUND}: no signature for {s}"),
        ),
        CauseKind::NotFound => labelled(
            IMAGE_NOT_FOUND,
            format_args!("{s} does not exist in the registry"),
        ),
        CauseKind::RegistryAuth => cause_first(
            kind,
            format_args!(
                "{RESOLVING_DESCRIPTOR} or listing referrers was refused by {}; check the \
                 store's credentials",
                subject.reference.registry
            ),
        ),
        _ => cause_first(kind, brief),
    }
}
