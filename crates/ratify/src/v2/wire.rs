//! The Gatekeeper response envelope as Ratify v2 writes it.
//!
//! `{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse",
//! "response":{"idempotent":true?,"items":[{"key":…,"value":…,"error":…}]}}`: items in
//! request order, one per key, the key echoed verbatim; `idempotent` only for mutate (false
//! is omitted); `systemError` never written. Go's field order: `apiVersion`, `kind`,
//! `response{idempotent, items, systemError}`, item `{key, value, error}`.

use super::json::push_go_string;
use crate::envelope::EnvelopeWriter;

/// The envelope's `apiVersion`.
pub const API_VERSION: &str = "externaldata.gatekeeper.sh/v1beta1";

/// An item's `value` (the envelope's, shared with v1).
pub type V2Value<'a> = crate::envelope::ItemValue<'a>;

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
    let mut writer = EnvelopeWriter::new(
        API_VERSION,
        idempotent,
        push_go_string,
        values + items.len() * 96,
    );
    for item in items {
        writer.item(item.key, item.value, item.error);
    }
    writer.finish()
}
