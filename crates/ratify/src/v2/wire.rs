//! The Gatekeeper response envelope as Ratify v2 writes it.
//!
//! `{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse",
//! "response":{"idempotent":true?,"items":[{"key":…,"value":…,"error":…}]}}`: items in
//! request order, one per key, the key echoed verbatim; `idempotent` only for mutate (false
//! is omitted); `systemError` never written. Go's field order: `apiVersion`, `kind`,
//! `response{idempotent, items, systemError}`, item `{key, value, error}`.

use super::json::push_go_string;

/// The envelope's `apiVersion`.
pub const API_VERSION: &str = "externaldata.gatekeeper.sh/v1beta1";

/// An item's `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum V2Value<'a> {
    /// JSON rendered ahead of time (a verify result), written verbatim.
    Json(&'a str),
    /// A string, written as a JSON string (a mutate answer, or the key echoed on failure).
    Str(&'a str),
}

/// One item of a v2 response.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct V2Item<'a> {
    /// The key exactly as requested.
    pub key: &'a str,
    /// `value`, omitted when `None`.
    pub value: Option<V2Value<'a>>,
    /// `error`, omitted when `None`.
    pub error: Option<&'a str>,
}

/// The whole response body for `items`.
pub fn render_response(items: &[V2Item<'_>], idempotent: bool) -> String {
    let values: usize = items
        .iter()
        .map(|i| match i.value {
            Some(V2Value::Json(j)) => j.len(),
            _ => 64,
        })
        .sum();
    let mut out = String::with_capacity(128 + values + items.len() * 96);
    out.push_str(r#"{"apiVersion":""#);
    out.push_str(API_VERSION);
    out.push_str(r#"","kind":"ProviderResponse","response":{"#);
    if idempotent {
        out.push_str(r#""idempotent":true,"#);
    }
    out.push_str(r#""items":["#);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"key":"#);
        push_go_string(&mut out, item.key);
        match item.value {
            Some(V2Value::Json(json)) => {
                out.push_str(r#","value":"#);
                out.push_str(json);
            }
            Some(V2Value::Str(s)) => {
                out.push_str(r#","value":"#);
                push_go_string(&mut out, s);
            }
            None => {}
        }
        if let Some(error) = item.error {
            out.push_str(r#","error":"#);
            push_go_string(&mut out, error);
        }
        out.push('}');
    }
    out.push_str("]}}");
    out
}
