//! Gatekeeper external-data wire types, exactly as Ratify v1 reads and writes them.
//!
//! Gatekeeper posts a [`ProviderRequest`] and reads a [`ProviderResponse`]. Ratify v1 answers
//! with `apiVersion: externaldata.gatekeeper.sh/v1alpha1` whatever the request said, omits
//! `idempotent` on verify (Go `omitempty` on `false`) and sets it on mutate. Every field of an
//! item is optional on the wire; `items` is absent when the whole request failed.

use std::fmt;
use std::time::Duration;

use imagegate_ratify::{
    go_duration, push_json_string, EnvelopeWriter, Failure, ItemValue, RatifyCode, RenderedJson,
};
use serde::{Deserialize, Serialize};

/// The `apiVersion` of every response, as Ratify v1 hard-codes it.
pub const RESPONSE_API_VERSION: &str = "externaldata.gatekeeper.sh/v1alpha1";

/// The `kind` of every response.
pub const RESPONSE_KIND: &str = "ProviderResponse";

/// The `kind` a request must carry when it names one.
pub const REQUEST_KIND: &str = "ProviderRequest";

/// The API group a request's `apiVersion` must belong to when it names one.
pub const API_GROUP: &str = "externaldata.gatekeeper.sh";

/// A Gatekeeper `ProviderRequest`.
///
/// `apiVersion` and `kind` are optional because hand-written test requests often leave them
/// out; when present they are checked by the provider.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct ProviderRequest {
    /// `externaldata.gatekeeper.sh/v1beta1` from Gatekeeper (any version of the group is accepted).
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// Always `ProviderRequest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The request body; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestBody>,
}

/// The `request` object of a [`ProviderRequest`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct RequestBody {
    /// The keys to look up, usually image references, optionally prefixed by `[namespace]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<String>>,
}

/// A Gatekeeper `ProviderResponse` as Ratify v1 sends it.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
pub struct ProviderResponse {
    /// Always [`RESPONSE_API_VERSION`].
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always [`RESPONSE_KIND`].
    pub kind: String,
    /// The response body.
    pub response: ResponseBody,
}

/// The `response` object of a [`ProviderResponse`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct ResponseBody {
    /// `true` on mutate (Gatekeeper requires it there); omitted when `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub idempotent: bool,
    /// One item per request key, in request order; absent when the whole request failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
    /// A whole-request failure; absent on success.
    #[serde(
        rename = "systemError",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub system_error: Option<String>,
}

/// One result of a [`ProviderResponse`].
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Serialize)]
pub struct Item {
    /// The request key, echoed exactly as requested (control characters included).
    pub key: String,
    /// The result: a verification object on verify, a `repo@digest` string on mutate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// A per-key failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// === impl ProviderResponse ===

impl ProviderResponse {
    /// A successful response carrying `items`.
    pub fn with_items(items: Vec<Item>, idempotent: bool) -> Self {
        Self::envelope(ResponseBody {
            idempotent,
            items: Some(items),
            system_error: None,
        })
    }

    /// A whole-request failure carrying only `systemError`.
    pub fn with_system_error(message: impl Into<String>, idempotent: bool) -> Self {
        Self::envelope(ResponseBody {
            idempotent,
            items: None,
            system_error: Some(message.into()),
        })
    }

    fn envelope(response: ResponseBody) -> Self {
        Self {
            api_version: RESPONSE_API_VERSION.to_owned(),
            kind: RESPONSE_KIND.to_owned(),
            response,
        }
    }
}

/// One response item as the provider writes it: [`Item`] with a value that may have been
/// rendered ahead of time.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Answer {
    /// The request key as received; echoed exactly.
    pub(crate) raw_key: String,
    /// The item's `value`.
    pub(crate) value: Option<AnswerValue>,
    /// The item's `error`.
    pub(crate) error: Option<AnswerError>,
}

/// The `error` of an [`Answer`], typed until the response is written. Its `Display` is the
/// wire text.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AnswerError {
    /// The key failed: `"<CODE>: <detail>"`.
    Key(Failure),
    /// The key's deadline passed: Ratify's timeout text under the code the engine's own
    /// timeout carries (`EXECUTOR_FAILURE: operation timed out after duration 2.9s`), so the
    /// text is the same whichever deadline fires first.
    Deadline(Duration),
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(failure) => write!(f, "{failure}"),
            Self::Deadline(after) => {
                write!(
                    f,
                    "{}: operation timed out after duration {}",
                    RatifyCode::ExecutorFailure.as_str(),
                    go_duration(*after)
                )
            }
        }
    }
}

/// The `value` of an [`Answer`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AnswerValue {
    /// Serialised when the response is written.
    Value(serde_json::Value),
    /// Written verbatim.
    Rendered(RenderedJson),
    /// The key as a JSON string (a failed mutation answers with its key).
    EchoKey,
}

/// The body of a successful response: byte for byte what `serde_json` writes for
/// [`ProviderResponse::with_items`] with the same items, rendered values spliced in.
pub(crate) fn render_items(answers: &[Answer], idempotent: bool) -> String {
    let values: usize = answers
        .iter()
        .map(|a| match &a.value {
            Some(AnswerValue::Rendered(r)) => r.as_str().len(),
            _ => 64,
        })
        .sum();
    let mut writer = EnvelopeWriter::new(
        RESPONSE_API_VERSION,
        idempotent,
        push_json_string,
        values + answers.len() * 96,
    );
    for answer in answers {
        let key = answer.raw_key.as_str();
        let serialised;
        let value = match &answer.value {
            None => None,
            Some(AnswerValue::Value(value)) => {
                serialised = value.to_string();
                Some(ItemValue::Json(&serialised))
            }
            Some(AnswerValue::Rendered(rendered)) => Some(ItemValue::Json(rendered.as_str())),
            Some(AnswerValue::EchoKey) => Some(ItemValue::Str(key)),
        };
        let error = answer.error.as_ref().map(ToString::to_string);
        writer.item(key, value, error.as_deref());
    }
    writer.finish()
}

fn is_false(value: &bool) -> bool {
    !*value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verify_response_omits_idempotent_and_empty_fields() {
        let items = vec![
            Item {
                key: "a".into(),
                value: Some(json!({"isSuccess": true})),
                error: None,
            },
            Item {
                key: "b".into(),
                value: None,
                error: Some("boom".into()),
            },
        ];
        let body = serde_json::to_value(ProviderResponse::with_items(items, false)).unwrap();
        assert_eq!(
            body,
            json!({
                "apiVersion": "externaldata.gatekeeper.sh/v1alpha1",
                "kind": "ProviderResponse",
                "response": {"items": [
                    {"key": "a", "value": {"isSuccess": true}},
                    {"key": "b", "error": "boom"}
                ]}
            })
        );
    }

    #[test]
    fn mutate_system_error_sets_idempotent_and_omits_items() {
        let body = serde_json::to_value(ProviderResponse::with_system_error("x", true)).unwrap();
        assert_eq!(
            body,
            json!({
                "apiVersion": "externaldata.gatekeeper.sh/v1alpha1",
                "kind": "ProviderResponse",
                "response": {"idempotent": true, "systemError": "x"}
            })
        );
    }

    #[test]
    fn request_parses_gatekeeper_shape_and_tolerates_extra_fields() {
        let req: ProviderRequest = serde_json::from_value(json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
            "kind": "ProviderRequest",
            "request": {"keys": ["a", "[ns]b"], "future": 1},
            "extra": true
        }))
        .unwrap();
        assert_eq!(
            req.request.and_then(|r| r.keys),
            Some(vec!["a".to_owned(), "[ns]b".to_owned()])
        );
    }

    /// What serde writes for the same items, the reference for [`render_items`].
    fn serde_body(answers: &[Answer], idempotent: bool) -> String {
        let items = answers
            .iter()
            .map(|a| Item {
                key: a.raw_key.clone(),
                value: a.value.as_ref().map(|v| match v {
                    AnswerValue::Value(v) => v.clone(),
                    AnswerValue::Rendered(r) => r.to_value().unwrap(),
                    AnswerValue::EchoKey => serde_json::Value::String(a.raw_key.clone()),
                }),
                error: a.error.as_ref().map(ToString::to_string),
            })
            .collect();
        serde_json::to_string(&ProviderResponse::with_items(items, idempotent)).unwrap()
    }

    #[test]
    fn rendered_items_are_byte_identical_to_serde() {
        let value = json!({"version": "0.2.0", "isSuccess": true, "traceID": "t\"x",
                           "verifierReports": [{"message": "a\u{1}b", "extensions": {"SN": "CN=ü"}}]});
        let answers = vec![
            Answer {
                raw_key: "registry.test/a@sha256:00".into(),
                value: Some(AnswerValue::Rendered(RenderedJson::from_value(&value))),
                error: None,
            },
            Answer {
                raw_key: "[team-a]registry.test/b:v1\r\n".into(),
                value: Some(AnswerValue::Value(value.clone())),
                error: None,
            },
            Answer {
                raw_key: "odd \"key\" \\ \u{7}".into(),
                value: None,
                error: Some(AnswerError::Key(Failure::new(
                    RatifyCode::ReferenceInvalid,
                    imagegate_ratify::CauseKind::ReferenceInvalid,
                    "\"bad\"\n",
                ))),
            },
            Answer {
                raw_key: "[ns]img:\n1".into(),
                value: Some(AnswerValue::EchoKey),
                error: Some(AnswerError::Deadline(Duration::from_millis(300))),
            },
        ];
        for idempotent in [false, true] {
            assert_eq!(
                render_items(&answers, idempotent),
                serde_body(&answers, idempotent)
            );
        }
        assert_eq!(render_items(&[], false), serde_body(&[], false));
    }
}
