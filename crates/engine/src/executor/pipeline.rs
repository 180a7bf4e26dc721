//! The I/O half of a decision: referrers, then each signature through its verifier, then the
//! pure policy decision ([`decide`]).

use std::sync::Arc;

use futures_util::future::join_all;
use imagegate_oci::Descriptor;
use imagegate_ratify::{Cause, CauseKind, RatifyCode, VerifierReport};

use super::{Access, Shared, State};
use crate::cache::Verdict;
use crate::config::{PolicySpec, Resolved};
use crate::metrics::VerifierRun;
use crate::policy::ReportSummary;
use crate::ratify_codes;
use crate::verifier::{content_key, Subject, Verifier, VerifyEnv};

/// I/O (referrers, signatures) then the pure policy decision.
pub(super) async fn decide(
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
                sink.verifier_run(VerifierRun {
                    verifier: verifier.name(),
                    subject: &subject.display,
                    success: report.is_success,
                    error: report.cause.map(|c| c.kind),
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
