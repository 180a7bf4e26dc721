//! Gatekeeper's `ProviderResponse` envelope, written by hand, for both protocols.
//!
//! `{"apiVersion":…,"kind":"ProviderResponse","response":{"idempotent":true?,"items":[
//! {"key":…,"value":…,"error":…},…]}}`: items in the order they are added, `idempotent` only
//! when true, `value` and `error` only when present. Ratify v1 (`v1alpha1`, strings escaped as
//! `serde_json` escapes them) and Ratify v2 (`v1beta1`, escaped as Go's `json.Marshal`) differ
//! only in the API version and the escaper.

/// An item's `value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ItemValue<'a> {
    /// JSON rendered ahead of time (a verify result), written verbatim.
    Json(&'a str),
    /// A string, written as a JSON string (a mutate answer, or the key echoed on failure).
    Str(&'a str),
}

/// Writes one response envelope, item by item.
pub struct EnvelopeWriter {
    out: String,
    escape: fn(&mut String, &str),
    items: usize,
}

impl EnvelopeWriter {
    /// Starts an envelope of `api_version`; `escape` writes a string literal; `capacity` is
    /// the expected size of the values (the envelope's own bytes are added to it).
    pub fn new(
        api_version: &str,
        idempotent: bool,
        escape: fn(&mut String, &str),
        capacity: usize,
    ) -> Self {
        let mut out = String::with_capacity(128 + capacity);
        out.push_str(r#"{"apiVersion":""#);
        out.push_str(api_version);
        out.push_str(r#"","kind":"ProviderResponse","response":{"#);
        if idempotent {
            out.push_str(r#""idempotent":true,"#);
        }
        out.push_str(r#""items":["#);
        Self {
            out,
            escape,
            items: 0,
        }
    }

    /// Adds one item.
    pub fn item(&mut self, key: &str, value: Option<ItemValue<'_>>, error: Option<&str>) {
        if self.items > 0 {
            self.out.push(',');
        }
        self.items += 1;
        self.out.push_str(r#"{"key":"#);
        (self.escape)(&mut self.out, key);
        match value {
            Some(ItemValue::Json(json)) => {
                self.out.push_str(r#","value":"#);
                self.out.push_str(json);
            }
            Some(ItemValue::Str(s)) => {
                self.out.push_str(r#","value":"#);
                (self.escape)(&mut self.out, s);
            }
            None => {}
        }
        if let Some(error) = error {
            self.out.push_str(r#","error":"#);
            (self.escape)(&mut self.out, error);
        }
        self.out.push('}');
    }

    /// The whole body.
    pub fn finish(mut self) -> String {
        self.out.push_str("]}}");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push_json_string;

    #[test]
    fn writes_the_envelope_as_serde_json_would() {
        let mut w = EnvelopeWriter::new("g/v1", true, push_json_string, 0);
        w.item("a\n", Some(ItemValue::Json(r#"{"x":1}"#)), None);
        w.item("b", Some(ItemValue::Str("b\"")), Some("E: <x>"));
        w.item("c", None, Some("E"));
        let body = w.finish();
        let want = serde_json::json!({
            "apiVersion": "g/v1",
            "kind": "ProviderResponse",
            "response": {
                "idempotent": true,
                "items": [
                    {"key": "a\n", "value": {"x": 1}},
                    {"key": "b", "value": "b\"", "error": "E: <x>"},
                    {"key": "c", "error": "E"},
                ],
            },
        });
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).unwrap(),
            want
        );
        let empty = EnvelopeWriter::new("g/v1", false, push_json_string, 0).finish();
        assert_eq!(
            empty,
            r#"{"apiVersion":"g/v1","kind":"ProviderResponse","response":{"items":[]}}"#
        );
    }
}
