//! Human-readable explanation of a verification result, for `imagegate verify`.

use std::fmt::Write as _;

use crate::engine::KeyResult;
use crate::report::{VerifierReport, VerifyResult};

/// Renders what was decided for `image` and why, one signature per paragraph.
pub fn render(image: &str, outcome: &KeyResult<VerifyResult>) -> String {
    let mut out = String::new();
    match outcome {
        Err(e) => {
            let _ = writeln!(out, "{image}: NOT VERIFIED");
            let _ = writeln!(out, "  error: {e}");
        }
        Ok(result) => {
            let verdict = if result.is_success {
                "VERIFIED"
            } else {
                "NOT VERIFIED"
            };
            let _ = writeln!(out, "{image}: {verdict}");
            if result.verifier_reports.is_empty() {
                let _ = writeln!(out, "  no verifier reports");
            }
            for report in &result.verifier_reports {
                render_report(&mut out, report, 1);
            }
            let _ = writeln!(
                out,
                "  trace ID {} at {}",
                result.trace_id, result.timestamp
            );
        }
    }
    out
}

fn render_report(out: &mut String, r: &VerifierReport, depth: usize) {
    let pad = "  ".repeat(depth);
    let status = if r.is_success { "ok" } else { "FAILED" };
    let what = if r.reference_digest.is_empty() {
        r.subject.clone()
    } else {
        format!("signature {}", r.reference_digest)
    };
    let by = if r.verifier_name.is_empty() {
        String::new()
    } else {
        format!(" by verifier {} ({})", r.verifier_name, r.verifier_type)
    };
    let _ = writeln!(out, "{pad}- {what}{by}: {status}");
    if !r.artifact_type.is_empty() {
        let _ = writeln!(out, "{pad}  artifact type: {}", r.artifact_type);
    }
    if !r.message.is_empty() {
        let _ = writeln!(out, "{pad}  {}", r.message);
    }
    if !r.error_reason.is_empty() {
        let _ = writeln!(out, "{pad}  reason: {}", r.error_reason);
    }
    if !r.remediation.is_empty() {
        let _ = writeln!(out, "{pad}  what to do: {}", r.remediation);
    }
    if let Some(ext) = &r.extensions {
        for (label, key) in [("signer", "SN"), ("issuer", "Issuer")] {
            if let Some(v) = ext.get_str(key) {
                let _ = writeln!(out, "{pad}  {label}: {v}");
            }
        }
    }
    for nested in &r.nested_results {
        render_report(out, nested, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagegate_ratify::{CauseKind, Failure, RatifyCode};

    #[test]
    fn renders_success_failure_and_error() {
        let mut ok = VerifierReport::for_verifier("verifier-notation", "notation");
        ok.is_success = true;
        ok.reference_digest = "sha256:bb".into();
        ok.message = "Notation signature verification success".into();
        ok.extensions = Some(serde_json::json!({"Issuer":"CN=i","SN":"CN=s"}).into());
        let result = VerifyResult {
            version: "0.2.0".into(),
            is_success: true,
            verifier_reports: vec![ok],
            trace_id: "t".into(),
            timestamp: "now".into(),
        };
        let text = render("img", &Ok(result));
        assert!(text.starts_with("img: VERIFIED\n"), "{text}");
        assert!(text.contains("signature sha256:bb by verifier verifier-notation (notation): ok"));
        assert!(text.contains("signer: CN=s") && text.contains("issuer: CN=i"));
        let err = render(
            "img",
            &Err(Failure::new(
                RatifyCode::ReferenceInvalid,
                CauseKind::ReferenceInvalid,
                "bad",
            )),
        );
        assert!(err.contains("NOT VERIFIED") && err.contains("REFERENCE_INVALID: bad"));
    }
}
