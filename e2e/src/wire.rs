//! Gatekeeper's external-data wire format (`ProviderRequest` / `ProviderResponse`), as
//! Gatekeeper sends and reads it.

use serde::{Deserialize, Serialize};

/// The `apiVersion` Gatekeeper always sends.
pub const API_VERSION: &str = "externaldata.gatekeeper.sh/v1beta1";

/// The body Gatekeeper POSTs to a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderRequest {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// `ProviderRequest`.
    pub kind: String,
    /// The keys.
    pub request: RequestBody,
}

/// `request` of a [`ProviderRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestBody {
    /// Keys exactly as the Rego built them, minus cached ones.
    pub keys: Vec<String>,
}

impl ProviderRequest {
    /// The request for `keys`.
    pub fn new(keys: Vec<String>) -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            kind: "ProviderRequest".to_owned(),
            request: RequestBody { keys },
        }
    }
}

/// A provider's answer. Gatekeeper ignores `apiVersion` and `kind`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProviderResponse {
    /// The payload.
    #[serde(default)]
    pub response: ResponseBody,
}

/// `response` of a [`ProviderResponse`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseBody {
    /// Required `true` by mutation; stored but ignored by validation.
    #[serde(default)]
    pub idempotent: bool,
    /// One item per key.
    #[serde(default)]
    pub items: Vec<Item>,
    /// A whole-request failure.
    #[serde(default)]
    pub system_error: String,
}

/// One key's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// The key, echoed.
    pub key: String,
    /// The result (any JSON); absent means null.
    #[serde(default)]
    pub value: serde_json::Value,
    /// A per-key failure; non-empty files the item under `errors`.
    #[serde(default)]
    pub error: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_gatekeeper_shape() {
        let json = serde_json::to_value(ProviderRequest::new(vec!["a".into()])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"apiVersion": API_VERSION, "kind": "ProviderRequest", "request": {"keys": ["a"]}})
        );
    }

    #[test]
    fn response_fields_are_optional() {
        let r: ProviderResponse = serde_json::from_str(
            r#"{"apiVersion":"externaldata.gatekeeper.sh/v1alpha1","kind":"ProviderResponse","response":{"items":[{"key":"k"}]}}"#,
        )
        .unwrap();
        assert_eq!(r.response.items[0].value, serde_json::Value::Null);
        assert!(r.response.system_error.is_empty());
        assert!(!r.response.idempotent);
    }
}
