//! JSON text as Go's `encoding/json` writes it, which is how Ratify v2 puts its result on the
//! wire.
//!
//! Hand-written (about 40 lines) because `serde_json` differs from Go in two ways that show in
//! the bytes: Go escapes `<`, `>` and `&` (as `\u003c`, `\u003e`, `\u0026`) and U+2028/U+2029,
//! and Go writes map keys sorted while struct fields keep their declaration order. Control
//! characters are escaped alike (`\b \f \n \r \t` by name since Go 1.22, the rest `\u00xx`).

use serde_json::Value;

/// Appends `s` as a JSON string literal escaped as Go's `json.Marshal` escapes it.
pub fn push_go_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    // Most text (image references, digests) needs no escape: one scan, then one copy.
    let plain = s
        .bytes()
        .all(|b| (0x20..0x80).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&'));
    if plain {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `value` as Go's `json.Marshal` writes a `map[string]any` / `[]any` tree: compact,
/// object keys sorted, strings escaped by [`push_go_string`].
pub fn push_go_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => push_go_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_go_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_go_string(out, key);
                out.push(':');
                if let Some(v) = map.get(key) {
                    push_go_value(out, v);
                }
            }
            out.push('}');
        }
    }
}

/// `value` as Go's `json.Marshal` writes it.
pub fn go_value(value: &Value) -> String {
    let mut out = String::new();
    push_go_value(&mut out, value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(s: &str) -> String {
        let mut out = String::new();
        push_go_string(&mut out, s);
        out
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(go("plain"), r#""plain""#);
        assert_eq!(go("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go("<a&b>"), r#""\u003ca\u0026b\u003e""#);
        assert_eq!(
            go("\u{8}\u{c}\n\r\t\u{1}\u{1f}"),
            r#""\b\f\n\r\t\u0001\u001f""#
        );
        assert_eq!(go("\u{2028}\u{2029}"), r#""\u2028\u2029""#);
        // DEL and other non-ASCII text stay verbatim.
        assert_eq!(go("\u{7f}é"), "\"\u{7f}é\"");
    }

    #[test]
    fn sorts_object_keys_and_round_trips() {
        let v = serde_json::json!({"SN": "CN=s", "Issuer": "CN=<i>", "n": [1, true, null]});
        let text = go_value(&v);
        assert_eq!(
            text,
            r#"{"Issuer":"CN=\u003ci\u003e","SN":"CN=s","n":[1,true,null]}"#
        );
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
    }
}
