//! The Gatekeeper response envelope as Ratify v2 writes it.
//!
//! `{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse",
//! "response":{"idempotent":true?,"items":[{"key":…,"value":…}|{"key":…,"error":…}]}}`:
//! items in request order, one per key, the key echoed verbatim; `idempotent` only for mutate
//! (false is omitted); `systemError` never written. Go's `ProviderResponse` field order:
//! `apiVersion`, `kind`, `response{idempotent, items, systemError}`, item `{key, value, error}`.

use super::from_v1::V2Outcome;
use super::json::push_go_string;

/// The envelope's `apiVersion`.
pub const API_VERSION: &str = "externaldata.gatekeeper.sh/v1beta1";

/// One item of a v2 response.
#[derive(Debug, Clone, PartialEq)]
pub enum V2Item {
    /// A verify result or its error.
    Verify(V2Outcome),
    /// A mutate answer: the digested reference.
    Mutated(String),
    /// A mutate failure: the key's image (without `[ns]`) as `value`, and the error.
    MutateFailed {
        /// The image written back unchanged.
        image: String,
        /// Why it was not resolved.
        error: String,
    },
}

/// The whole response body for `items` (pairs of the key as requested and its answer).
pub fn render_response(items: &[(String, V2Item)], idempotent: bool) -> String {
    let mut out = String::with_capacity(128 + items.len() * 256);
    out.push_str(r#"{"apiVersion":""#);
    out.push_str(API_VERSION);
    out.push_str(r#"","kind":"ProviderResponse","response":{"#);
    if idempotent {
        out.push_str(r#""idempotent":true,"#);
    }
    out.push_str(r#""items":["#);
    for (i, (key, item)) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"key":"#);
        push_go_string(&mut out, key);
        match item {
            V2Item::Verify(V2Outcome::Value(v)) => {
                out.push_str(r#","value":"#);
                v.push(&mut out);
            }
            V2Item::Verify(V2Outcome::Error(e)) => push_error(&mut out, e),
            V2Item::Mutated(image) => {
                out.push_str(r#","value":"#);
                push_go_string(&mut out, image);
            }
            V2Item::MutateFailed { image, error } => {
                out.push_str(r#","value":"#);
                push_go_string(&mut out, image);
                push_error(&mut out, error);
            }
        }
        out.push('}');
    }
    out.push_str("]}}");
    out
}

fn push_error(out: &mut String, error: &str) {
    out.push_str(r#","error":"#);
    push_go_string(out, error);
}
