//! Answers for a decision: Ratify's result object, typed ([`result`]) or rendered for the
//! wire ([`render`]); the stale marking.

use imagegate_ratify::{
    render_result, Cause, CauseKind, Failure, RatifyCode, RenderedJson, VerifyResult,
    RESULT_VERSION,
};

use super::Shared;
use crate::cache::{Decision, Stale, Verdict};

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use imagegate_ratify::VerifierReport;
    use tokio::sync::Semaphore;

    use crate::cache::Caches;
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
            hosts: Arc::new(super::super::hosts::HostLimits::new(1)),
            metrics: None,
        }
    }

    fn reports() -> Vec<VerifierReport> {
        let mut ok = VerifierReport::for_verifier("verifier-notation", "notation");
        ok.subject = "registry.test/app@sha256:aa".into();
        ok.is_success = true;
        ok.message = "Notation signature verification success".into();
        ok.extensions = Some(serde_json::json!({"Issuer": "CN=i", "SN": "CN=\"s\""}).into());
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
