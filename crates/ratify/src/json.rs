//! JSON written by hand on the hot path: string literals escaped exactly as `serde_json`
//! escapes them, and values rendered ahead of time ([`RenderedJson`]).
//!
//! Building a `serde_json::Value` per answer and serialising it again costs more than the
//! rest of a cached verification; a value rendered once and spliced in verbatim costs a copy.

/// One JSON value rendered ahead of time, written into the response verbatim.
///
/// Build it with [`RenderedJson::from_value`], or with [`RenderedJson::from_rendered`] from text
/// the caller assembled itself (e.g. pre-rendered parts joined with [`push_json_string`]).
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct RenderedJson(String);

// === impl RenderedJson ===

impl RenderedJson {
    /// Renders `value` compactly, exactly as `serde_json` serialises it.
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(value.to_string())
    }

    /// Wraps `json`, which the caller guarantees is exactly one valid JSON value.
    ///
    /// The text is not parsed again in release builds (that would cost as much as rendering
    /// it); debug builds check it. Assemble it from `serde_json` output and
    /// [`push_json_string`] so that it is valid by construction.
    pub fn from_rendered(json: String) -> Self {
        debug_assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok(),
            "not one JSON value: {json}"
        );
        Self(json)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses the text back into a value (tests, tools; not the hot path).
    pub fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

/// Appends `s` to `out` as a JSON string literal, quotes included, escaped byte for byte as
/// `serde_json` escapes it: `"` and `\` with a backslash, `\b \t \n \f \r` by name, the other
/// control characters as `\u00xx`; everything else (DEL and non-ASCII included) verbatim.
pub fn push_json_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    // Most text needs no escape: one branch-free scan, then one copy.
    let plain = bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f => "",
            _ => continue,
        };
        // Every byte that needs escaping is ASCII, so these are char boundaries.
        out.push_str(s.get(start..i).unwrap_or_default());
        if escape.is_empty() {
            push_unicode_escape(out, b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
    out.push('"');
}

/// `\u00xx` with lower-case hex digits, as `serde_json` writes control characters.
fn push_unicode_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u00");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = String::new();
        push_json_string(&mut out, s);
        out
    }

    #[test]
    fn escapes_every_ascii_character_like_serde() {
        for c in (0u8..=0x7f).map(char::from) {
            let s = format!("a{c}b");
            assert_eq!(
                escaped(&s),
                serde_json::to_string(&s).unwrap(),
                "{:#04x}",
                u32::from(c)
            );
        }
    }

    #[test]
    fn keeps_non_ascii_and_mixed_text_like_serde() {
        for s in [
            "",
            "plain",
            "ünïcödé \u{2028} \u{1F600}",
            "\"quoted\" \\ back\\slash",
            "tab\there\r\nnew\u{0}nul\u{1b}esc\u{7f}del",
            "\"",
            "\\",
            "end\n",
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn rendered_values_round_trip() {
        let value = serde_json::json!({"b": [1, "x\"y"], "a": null});
        let rendered = RenderedJson::from_value(&value);
        assert_eq!(rendered.as_str(), r#"{"a":null,"b":[1,"x\"y"]}"#);
        assert_eq!(rendered.to_value().unwrap(), value);
        let mut text = String::from("{\"k\":");
        push_json_string(&mut text, "v\u{1}");
        text.push('}');
        let built = RenderedJson::from_rendered(text);
        assert_eq!(
            built.to_value().unwrap(),
            serde_json::json!({"k": "v\u{1}"})
        );
    }
}
