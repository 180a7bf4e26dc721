//! Gatekeeper external-data wire types, exactly as Ratify v1 reads and writes them.
//!
//! Gatekeeper posts a [`ProviderRequest`] and reads a [`ProviderResponse`]. Ratify v1 answers
//! with `apiVersion: externaldata.gatekeeper.sh/v1alpha1` whatever the request said, omits
//! `idempotent` on verify (Go `omitempty` on `false`) and sets it on mutate. Every field of an
//! item is optional on the wire; `items` is absent when the whole request failed.

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
    /// The request key, echoed verbatim except for CR and LF characters.
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

/// The key as it is echoed back: the request key with every CR and LF removed.
pub fn echo_key(raw: &str) -> String {
    raw.chars().filter(|c| !matches!(c, '\r' | '\n')).collect()
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

    #[test]
    fn echo_key_strips_only_cr_and_lf() {
        assert_eq!(echo_key("[ns]\r\nimg:\t1 \n"), "[ns]img:\t1 ");
    }
}
