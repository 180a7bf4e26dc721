//! Ratify v2's verification result (the `value` of a v2 verify item) and its exact wire text.
//!
//! Shape (Ratify v2 `internal/httpserver/response.go` with ratify-go's executor types):
//!
//! ```text
//! result   {succeeded: bool, artifactReports: [report] | null}      both always written
//! report   {subject, artifact, results?: [vresult], artifactReports?: [report]}
//! vresult  {verifierName, description?, detail?, errorReason?}
//! ```
//!
//! Fields are written in that order (Go writes struct fields in declaration order), `detail`
//! is the verifier's detail JSON-encoded **as a string**, and strings are escaped as Go
//! escapes them ([`super::json`]).

use super::json::{push_go_string, push_go_value};

/// The per-image v2 result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct V2Result {
    /// The threshold policy's decision.
    pub succeeded: bool,
    /// One report per referrer checked; `None` is written as `null` (no referrers).
    pub artifact_reports: Option<Vec<ArtifactReport>>,
}

/// One referrer of a subject and what the verifiers said about it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ArtifactReport {
    /// Digested reference of the subject the referrer was found on
    /// (`registry/repository@sha256:…`).
    pub subject: String,
    /// The referrer's digest only (`sha256:…`).
    pub artifact: String,
    /// One result per verifier that applied; omitted when none did (e.g. an SBOM).
    pub results: Vec<V2VerifierResult>,
    /// Reports on the referrer's own referrers; omitted when empty.
    pub artifact_reports: Vec<ArtifactReport>,
}

/// One verifier's verdict on one referrer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct V2VerifierResult {
    /// The verifier's configured name (`notation-1`).
    pub verifier_name: String,
    /// What happened, on success; omitted when empty.
    pub description: String,
    /// Verifier detail (notation: `{"Issuer":…,"SN":…}`), written as a JSON-encoded string;
    /// omitted when `None`.
    pub detail: Option<serde_json::Value>,
    /// Why the verification failed; omitted when empty.
    pub error_reason: String,
}

impl V2Result {
    /// The result's JSON text, byte for byte as Ratify v2 writes it.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(256);
        self.push(&mut out);
        out
    }

    /// Appends the result's JSON text.
    pub fn push(&self, out: &mut String) {
        out.push_str(if self.succeeded {
            r#"{"succeeded":true,"artifactReports":"#
        } else {
            r#"{"succeeded":false,"artifactReports":"#
        });
        match &self.artifact_reports {
            None => out.push_str("null"),
            Some(reports) => push_reports(out, reports),
        }
        out.push('}');
    }
}

fn push_reports(out: &mut String, reports: &[ArtifactReport]) {
    out.push('[');
    for (i, r) in reports.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        r.push(out);
    }
    out.push(']');
}

impl ArtifactReport {
    fn push(&self, out: &mut String) {
        out.push_str(r#"{"subject":"#);
        push_go_string(out, &self.subject);
        out.push_str(r#","artifact":"#);
        push_go_string(out, &self.artifact);
        if !self.results.is_empty() {
            out.push_str(r#","results":["#);
            for (i, r) in self.results.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                r.push(out);
            }
            out.push(']');
        }
        if !self.artifact_reports.is_empty() {
            out.push_str(r#","artifactReports":"#);
            push_reports(out, &self.artifact_reports);
        }
        out.push('}');
    }
}

impl V2VerifierResult {
    fn push(&self, out: &mut String) {
        out.push_str(r#"{"verifierName":"#);
        push_go_string(out, &self.verifier_name);
        if !self.description.is_empty() {
            out.push_str(r#","description":"#);
            push_go_string(out, &self.description);
        }
        if let Some(detail) = &self.detail {
            let mut encoded = String::new();
            push_go_value(&mut encoded, detail);
            out.push_str(r#","detail":"#);
            push_go_string(out, &encoded);
        }
        if !self.error_reason.is_empty() {
            out.push_str(r#","errorReason":"#);
            push_go_string(out, &self.error_reason);
        }
        out.push('}');
    }
}
