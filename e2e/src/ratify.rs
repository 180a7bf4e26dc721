//! Ratify v1 verification result values (`version` "0.2.0", config policy), the `value` of a
//! `/verify` item, built from parts so tests can state exactly what a provider answered.

use serde_json::{json, Map, Value};

/// The notary signature artifact type.
pub const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// One `verifierReports[]` entry (Ratify `VerifierResult`).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The subject reference.
    pub subject: String,
    /// The verifier's verdict.
    pub is_success: bool,
    /// Verifier name (`name` and `verifierName`); `None` for Ratify's nameless store errors.
    pub name: Option<String>,
    /// Verifier type (`type` and `verifierType`).
    pub verifier_type: Option<String>,
    /// `message`.
    pub message: String,
    /// `errorReason`.
    pub error_reason: Option<String>,
    /// `remediation`.
    pub remediation: Option<String>,
    /// Notation `extensions.Issuer` (issuer DN of the signing certificate).
    pub issuer: Option<String>,
    /// Notation `extensions.SN` (subject DN of the signing certificate).
    pub signer: Option<String>,
    /// `nestedResults`.
    pub nested: Vec<Report>,
}

impl Report {
    /// A successful notation report for `subject`, signed by a certificate issued by `issuer`.
    pub fn notation_ok(subject: &str, issuer: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            is_success: true,
            name: Some("verifier-notation".to_owned()),
            verifier_type: Some("notation".to_owned()),
            message: "Notation signature verification success".to_owned(),
            error_reason: None,
            remediation: None,
            issuer: Some(issuer.to_owned()),
            signer: Some(issuer.to_owned()),
            nested: Vec::new(),
        }
    }

    /// A failed notation report (e.g. an untrusted signer).
    pub fn notation_failed(subject: &str, message: &str, error_reason: &str) -> Self {
        Self {
            is_success: false,
            message: message.to_owned(),
            error_reason: Some(error_reason.to_owned()),
            issuer: None,
            signer: None,
            ..Self::notation_ok(subject, "")
        }
    }

    /// Ratify's config-policy report when there is nothing to verify (unsigned image):
    /// no name or type, `NO_VERIFIER_REPORT`-style reason.
    pub fn no_signature(subject: &str) -> Self {
        Self {
            subject: subject.to_owned(),
            is_success: false,
            name: None,
            verifier_type: None,
            message: format!("failed to verify artifact: {subject}"),
            error_reason: Some(format!(
                "No verification results for the artifact {subject}. Ensure verifiers are \
                 properly configured and that artifact metadata is attached"
            )),
            remediation: None,
            issuer: None,
            signer: None,
            nested: Vec::new(),
        }
    }

    /// Sets `remediation`.
    pub fn with_remediation(mut self, text: &str) -> Self {
        self.remediation = Some(text.to_owned());
        self
    }

    /// Adds a nested result.
    pub fn with_nested(mut self, nested: Report) -> Self {
        self.nested.push(nested);
        self
    }

    /// The JSON Ratify sends (omitempty fields left out).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("subject".into(), json!(self.subject));
        m.insert("isSuccess".into(), json!(self.is_success));
        if let Some(name) = &self.name {
            m.insert("name".into(), json!(name));
            m.insert("verifierName".into(), json!(name));
        }
        if let Some(t) = &self.verifier_type {
            m.insert("type".into(), json!(t));
            m.insert("verifierType".into(), json!(t));
            m.insert("artifactType".into(), json!(NOTARY_SIGNATURE));
            m.insert(
                "referenceDigest".into(),
                json!(format!("sha256:{}", "b".repeat(64))),
            );
        }
        if !self.message.is_empty() {
            m.insert("message".into(), json!(self.message));
        }
        if let Some(r) = &self.error_reason {
            m.insert("errorReason".into(), json!(r));
        }
        if let Some(r) = &self.remediation {
            m.insert("remediation".into(), json!(r));
        }
        if self.issuer.is_some() || self.signer.is_some() {
            m.insert(
                "extensions".into(),
                json!({"Issuer": self.issuer, "SN": self.signer}),
            );
        }
        if !self.nested.is_empty() {
            m.insert(
                "nestedResults".into(),
                Value::Array(self.nested.iter().map(Report::to_json).collect()),
            );
        }
        Value::Object(m)
    }
}

/// A whole verification result (Ratify `VerificationResponse`, version 0.2.0).
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationResult {
    /// The overall verdict of the policy.
    pub is_success: bool,
    /// `traceID`.
    pub trace_id: String,
    /// `timestamp` (RFC 3339), given by the caller: nothing here reads a clock.
    pub timestamp: String,
    /// `verifierReports` (omitted when empty, as Ratify does).
    pub reports: Vec<Report>,
}

impl VerificationResult {
    /// A result whose verdict is the conjunction of its reports (config policy `all`), or
    /// false when there are none.
    pub fn from_reports(reports: Vec<Report>) -> Self {
        let is_success = !reports.is_empty() && reports.iter().all(|r| r.is_success);
        Self {
            is_success,
            trace_id: "00000000-0000-4000-8000-000000000001".to_owned(),
            timestamp: "2026-01-01T00:00:00.000000001Z".to_owned(),
            reports,
        }
    }

    /// Overrides the verdict (e.g. `any` policies, or an inconsistent provider).
    pub fn with_verdict(mut self, is_success: bool) -> Self {
        self.is_success = is_success;
        self
    }

    /// The JSON value of the item.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), json!("0.2.0"));
        m.insert("isSuccess".into(), json!(self.is_success));
        m.insert("traceID".into(), json!(self.trace_id));
        m.insert("timestamp".into(), json!(self.timestamp));
        if !self.reports.is_empty() {
            m.insert(
                "verifierReports".into(),
                Value::Array(self.reports.iter().map(Report::to_json).collect()),
            );
        }
        Value::Object(m)
    }
}

/// The value for an image with one valid notation signature from `issuer`.
pub fn signed(subject: &str, issuer: &str) -> Value {
    VerificationResult::from_reports(vec![Report::notation_ok(subject, issuer)]).to_json()
}

/// The value for an unsigned image.
pub fn unsigned(subject: &str) -> Value {
    VerificationResult::from_reports(vec![Report::no_signature(subject)]).to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_value_has_ratify_fields() {
        let v = signed("r/a@sha256:1", "CN=CA");
        assert_eq!(v["version"], "0.2.0");
        assert_eq!(v["isSuccess"], true);
        let r = &v["verifierReports"][0];
        assert_eq!(r["type"], "notation");
        assert_eq!(r["name"], "verifier-notation");
        assert_eq!(r["extensions"]["Issuer"], "CN=CA");
    }

    #[test]
    fn unsigned_report_is_nameless_and_failed() {
        let v = unsigned("r/a:1");
        assert_eq!(v["isSuccess"], false);
        assert!(v["verifierReports"][0].get("name").is_none());
        assert!(v["verifierReports"][0]["errorReason"]
            .as_str()
            .unwrap()
            .starts_with("No verification results"));
    }

    #[test]
    fn empty_reports_fail_and_are_omitted() {
        let v = VerificationResult::from_reports(vec![]).to_json();
        assert_eq!(v["isSuccess"], false);
        assert!(v.get("verifierReports").is_none());
    }
}
