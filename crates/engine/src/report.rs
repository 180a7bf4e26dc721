//! Ratify's verification result, version `0.2.0` (config policy shape).
//!
//! Field names, `omitempty` behaviour and the `traceID` spelling follow Ratify v1
//! (`httpserver/types.go`, `pkg/verifier/result.go`).

use serde::{Deserialize, Serialize};

/// The result version produced under the config policy.
pub const RESULT_VERSION: &str = "0.2.0";

/// The per-image verification object: the `value` of a Gatekeeper response item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    /// Always [`RESULT_VERSION`].
    pub version: String,
    /// The policy decision. Always present.
    pub is_success: bool,
    /// One report per verified referrer; omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verifier_reports: Vec<VerifierReport>,
    /// The trace ID of the request.
    #[serde(rename = "traceID", default, skip_serializing_if = "String::is_empty")]
    pub trace_id: String,
    /// When the result was built, RFC 3339 with nanoseconds.
    pub timestamp: String,
}

/// One verifier's verdict on one referrer (Ratify `VerifierResult`). Everything but
/// `isSuccess` is omitted when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifierReport {
    /// The subject reference as requested (normalised).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Whether this verification succeeded.
    pub is_success: bool,
    /// Verifier name (deprecated by Ratify, still sent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Verifier name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verifier_name: String,
    /// Verifier type (deprecated by Ratify, still sent).
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Verifier type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub verifier_type: String,
    /// Digest of the referrer (the signature manifest).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reference_digest: String,
    /// The referrer's artifact type.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub artifact_type: String,
    /// Human-readable outcome.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Root cause of a failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error_reason: String,
    /// What to do about a failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub remediation: String,
    /// Verifier-specific data (notation: `Issuer`, `SN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Value>,
    /// Results of nested verification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested_results: Vec<VerifierReport>,
}

impl VerifierReport {
    /// A report attributed to a verifier (sets both the deprecated and the current fields).
    pub fn for_verifier(name: &str, kind: &str) -> Self {
        Self {
            name: name.to_owned(),
            verifier_name: name.to_owned(),
            kind: kind.to_owned(),
            verifier_type: kind.to_owned(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn omits_empty_fields_and_spells_trace_id() {
        let r = VerifyResult {
            version: RESULT_VERSION.into(),
            is_success: false,
            verifier_reports: vec![],
            trace_id: "t".into(),
            timestamp: "2025-01-01T00:00:00Z".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"version":"0.2.0","isSuccess":false,"traceID":"t",
                               "timestamp":"2025-01-01T00:00:00Z"})
        );
        let mut rep = VerifierReport::for_verifier("verifier-notation", "notation");
        rep.subject = "s".into();
        let v = serde_json::to_value(&rep).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"subject":"s","isSuccess":false,"name":"verifier-notation",
                "verifierName":"verifier-notation","type":"notation","verifierType":"notation"})
        );
    }
}
