//! Responses of the Ratify v2 endpoints (`/ratify/gatekeeper/v2/verify`, `/v2/mutate`): the
//! dispatcher's answers written in v2's envelope (`imagegate_ratify::v2::wire`) with v2's
//! wording of failures (`imagegate_ratify::v2::key_error`).

use imagegate_ratify::v2::json::go_value;
use imagegate_ratify::v2::{deadline_error, key_error, render_response, V2Item, V2Value};

use crate::wire::{Answer, AnswerError, AnswerValue};

/// The v2 response body for `answers`, in request order.
pub(crate) fn render_items_v2(answers: &[Answer], idempotent: bool) -> String {
    // Owned texts first (errors, non-string values), then borrowed items over them.
    let errors: Vec<Option<String>> = answers
        .iter()
        .map(|a| {
            a.error.as_ref().map(|e| match e {
                AnswerError::Key(failure) => key_error(failure),
                AnswerError::Deadline(_) => deadline_error(),
            })
        })
        .collect();
    let values: Vec<Option<String>> = answers
        .iter()
        .map(|a| match &a.value {
            Some(AnswerValue::Value(v)) if !v.is_string() => Some(go_value(v)),
            _ => None,
        })
        .collect();
    let items: Vec<V2Item<'_>> = answers
        .iter()
        .zip(errors.iter().zip(&values))
        .map(|(a, (error, owned))| V2Item {
            key: &a.raw_key,
            value: match (&a.value, owned) {
                (_, Some(json)) => Some(V2Value::Json(json)),
                (Some(AnswerValue::Value(serde_json::Value::String(s))), None) => {
                    Some(V2Value::Str(s))
                }
                (Some(AnswerValue::Rendered(r)), None) => Some(V2Value::Json(r.as_str())),
                // v2 answers a failed mutation with the key minus its `[namespace]`.
                (Some(AnswerValue::EchoKey), None) => {
                    Some(V2Value::Str(without_namespace(&a.raw_key)))
                }
                _ => None,
            },
            error: error.as_deref(),
        })
        .collect();
    render_response(&items, idempotent)
}

/// `key` without a leading `[namespace]`.
fn without_namespace(key: &str) -> &str {
    key.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .map_or(key, |(_, image)| image)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use imagegate_ratify::{CauseKind, Failure, RatifyCode, RenderedJson};

    use super::*;

    #[test]
    fn answers_are_written_in_v2_words() {
        let answers = vec![
            Answer {
                raw_key: "[ns]reg.example/a@sha256:00".into(),
                value: Some(AnswerValue::Rendered(RenderedJson::from_rendered(
                    r#"{"succeeded":true,"artifactReports":null}"#.into(),
                ))),
                error: None,
            },
            Answer {
                raw_key: "reg.example/slow:1".into(),
                value: None,
                error: Some(AnswerError::Deadline(Duration::from_millis(4900))),
            },
            Answer {
                raw_key: "[ns]nginx:1".into(),
                value: Some(AnswerValue::EchoKey),
                error: Some(AnswerError::Key(Failure::new(
                    RatifyCode::ReferenceInvalid,
                    CauseKind::ReferenceInvalid,
                    "invalid reference: missing registry or repository",
                ))),
            },
            Answer {
                raw_key: "reg.example/a:1".into(),
                value: Some(AnswerValue::Value(serde_json::json!(
                    "reg.example/a@sha256:00"
                ))),
                error: None,
            },
        ];
        assert_eq!(
            render_items_v2(&answers, false),
            concat!(
                r#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse","#,
                r#""response":{"items":["#,
                r#"{"key":"[ns]reg.example/a@sha256:00","value":{"succeeded":true,"artifactReports":null}},"#,
                r#"{"key":"reg.example/slow:1","error":"failed to generate and aggregate verifier reports: context deadline exceeded"},"#,
                r#"{"key":"[ns]nginx:1","value":"nginx:1","error":"failed to parse reference: invalid reference: missing registry or repository"},"#,
                r#"{"key":"reg.example/a:1","value":"reg.example/a@sha256:00"}]}}"#
            )
        );
    }
}
