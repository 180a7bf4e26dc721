//! Ratify's verification result, version `0.2.0` (config policy shape).
//!
//! Field names, `omitempty` behaviour and the `traceID` spelling follow Ratify v1
//! (`httpserver/types.go`, `pkg/verifier/result.go`).
//!
//! On the wire the result is written as `serde_json` writes a [`VerifyResult`] turned into a
//! `serde_json::Value`: compact, object keys in sorted order. A cached verdict keeps its
//! reports in that form ([`RenderedReports`]), and each answer splices the per-request
//! `traceID` and `timestamp` around them ([`render_result`]) instead of building and
//! serialising a value tree per request.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::code::Cause;
use crate::extensions::Extensions;
use crate::json::{push_json_string, RenderedJson};

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
    pub extensions: Option<Extensions>,
    /// Results of nested verification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nested_results: Vec<VerifierReport>,
    /// Why it failed, typed (never on the wire; logs and metric labels). `None` on success
    /// and on reports read back from JSON.
    #[serde(skip)]
    pub cause: Option<Cause>,
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

    /// Drops spare capacity (text built piecewise, nested lists), for reports kept for as long
    /// as a cached verdict.
    pub fn shrink_to_fit(&mut self) {
        for s in [
            &mut self.subject,
            &mut self.name,
            &mut self.verifier_name,
            &mut self.kind,
            &mut self.verifier_type,
            &mut self.reference_digest,
            &mut self.artifact_type,
            &mut self.message,
            &mut self.error_reason,
            &mut self.remediation,
        ] {
            s.shrink_to_fit();
        }
        self.nested_results
            .iter_mut()
            .for_each(VerifierReport::shrink_to_fit);
        self.nested_results.shrink_to_fit();
    }
}

/// A verdict's reports rendered once: the JSON array written as `verifierReports`, exactly
/// as it is written inside a rendered [`VerifyResult`]; empty text when there are none
/// (`verifierReports` is then omitted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RenderedReports(Box<str>);

impl RenderedReports {
    /// Renders `reports`.
    pub fn render(reports: &[VerifierReport]) -> Result<Self, serde_json::Error> {
        if reports.is_empty() {
            return Ok(Self::default());
        }
        let value = serde_json::to_value(reports)?;
        Ok(Self(value.to_string().into_boxed_str()))
    }

    /// The JSON array, or empty text when there are no reports.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The result object for a verdict, byte for byte what `serde_json` writes for the
/// [`VerifyResult`] with these fields turned into a `serde_json::Value` (keys sorted,
/// `traceID` and `verifierReports` omitted when empty), stamped `at`.
pub fn render_result(
    is_success: bool,
    reports: &RenderedReports,
    trace_id: &str,
    at: OffsetDateTime,
) -> RenderedJson {
    let reports = reports.as_str();
    let mut out = String::with_capacity(128 + reports.len() + trace_id.len());
    out.push_str(if is_success {
        r#"{"isSuccess":true"#
    } else {
        r#"{"isSuccess":false"#
    });
    out.push_str(r#","timestamp":""#);
    push_rfc3339_nano(&mut out, at);
    out.push('"');
    if !trace_id.is_empty() {
        out.push_str(r#","traceID":"#);
        push_json_string(&mut out, trace_id);
    }
    if !reports.is_empty() {
        out.push_str(r#","verifierReports":"#);
        out.push_str(reports);
    }
    out.push_str(r#","version":"#);
    push_json_string(&mut out, RESULT_VERSION);
    out.push('}');
    RenderedJson::from_rendered(out)
}

/// Formats `t` like Go's `time.RFC3339Nano` in UTC: fractional seconds with trailing zeros
/// removed, `Z` suffix (Ratify's `timestamp`).
pub fn rfc3339_nano(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Appends `t` as [`rfc3339_nano`] formats it (Go's `RFC3339Nano` in UTC),
/// without the intermediate string: `2025-05-01T10:00:00.1234Z`.
fn push_rfc3339_nano(out: &mut String, t: OffsetDateTime) {
    let t = t.to_offset(time::UtcOffset::UTC);
    let Ok(year) = u32::try_from(t.year()) else {
        out.push_str(&rfc3339_nano(t));
        return;
    };
    if year > 9999 {
        out.push_str(&rfc3339_nano(t));
        return;
    }
    push_digits(out, year, 4);
    out.push('-');
    push_digits(out, u32::from(u8::from(t.month())), 2);
    out.push('-');
    push_digits(out, u32::from(t.day()), 2);
    out.push('T');
    push_digits(out, u32::from(t.hour()), 2);
    out.push(':');
    push_digits(out, u32::from(t.minute()), 2);
    out.push(':');
    push_digits(out, u32::from(t.second()), 2);
    let mut nanos = t.nanosecond();
    if nanos > 0 {
        let mut width = 9;
        while nanos % 10 == 0 {
            nanos /= 10;
            width -= 1;
        }
        out.push('.');
        push_digits(out, nanos, width);
    }
    out.push('Z');
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u32, width: u32) {
    for i in (0..width).rev() {
        let digit = (value / 10u32.pow(i)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notation success report with extensions, and a subject failure, with text that needs
    /// escaping.
    fn reports() -> Vec<VerifierReport> {
        let mut ok = VerifierReport::for_verifier("verifier-notation", "notation");
        ok.subject = "registry.test/app@sha256:aa".into();
        ok.is_success = true;
        ok.reference_digest = "sha256:bb".into();
        ok.artifact_type = "application/vnd.cncf.notary.signature".into();
        ok.message = "Notation signature verification success".into();
        ok.extensions = Some(serde_json::json!({"SN": "CN=s,O=\"Q\"", "Issuer": "CN=ü"}).into());
        let failed = VerifierReport {
            subject: "registry.test/app@sha256:aa".into(),
            message: "failed to verify artifact: a\\b\n\u{1}".into(),
            error_reason: "LIST_REFERRERS_FAILURE: \"x\"\t\u{7f}".into(),
            remediation: "retry".into(),
            nested_results: vec![VerifierReport::for_verifier("n", "t")],
            ..VerifierReport::default()
        };
        vec![ok, failed]
    }

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2025-05-01 12:00:00.123456789 +02:00)
    }

    #[test]
    fn formats_like_go_rfc3339nano() {
        let t = time::macros::datetime!(2025-05-01 10:00:00.123456789 UTC);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00.123456789Z");
        let t = time::macros::datetime!(2025-05-01 10:00:00.5 UTC);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00.5Z");
        let t = time::macros::datetime!(2025-05-01 12:00:00 +02:00);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00Z");
    }

    #[test]
    fn timestamps_match_the_clock_format() {
        let base = time::macros::datetime!(2025-05-01 10:00:00 UTC);
        let mut cases = vec![
            time::macros::datetime!(0000-01-01 00:00:00 UTC),
            time::macros::datetime!(9999-12-31 23:59:59.999999999 UTC),
            time::macros::datetime!(2025-05-01 12:00:00 +02:00),
            time::macros::datetime!(1999-12-31 23:00:00.5 -01:30),
        ];
        for nanos in [
            1,
            10,
            100,
            120,
            123_456_789,
            100_000_000,
            999_999_999,
            5_000,
        ] {
            cases.push(base + time::Duration::nanoseconds(nanos));
        }
        for seconds in [59, 3_599, 86_399, 31_622_400] {
            cases.push(base + time::Duration::seconds(seconds));
        }
        for t in cases {
            let mut out = String::new();
            push_rfc3339_nano(&mut out, t);
            assert_eq!(out, rfc3339_nano(t), "{t}");
        }
    }

    /// Today's wire form: the result turned into a value, then serialised.
    fn reference(result: &VerifyResult) -> String {
        serde_json::to_string(&serde_json::to_value(result).unwrap()).unwrap()
    }

    #[test]
    fn rendered_result_is_byte_identical_to_the_value_path() {
        let odd_trace = "t\"r\\a\u{1}c\u{e9}";
        for (is_success, reports) in [(true, reports()), (false, reports()), (false, vec![])] {
            let rendered = RenderedReports::render(&reports).unwrap();
            let back: Vec<VerifierReport> = if reports.is_empty() {
                vec![]
            } else {
                serde_json::from_str(rendered.as_str()).unwrap()
            };
            assert_eq!(back, reports, "lossless");
            for trace_id in ["6d3c1c9e-0000-4000-8000-000000000000", odd_trace, ""] {
                let result = VerifyResult {
                    version: RESULT_VERSION.into(),
                    is_success,
                    verifier_reports: reports.clone(),
                    trace_id: trace_id.into(),
                    timestamp: rfc3339_nano(at()),
                };
                let spliced = render_result(is_success, &rendered, trace_id, at());
                assert_eq!(spliced.as_str(), reference(&result));
            }
        }
    }

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
