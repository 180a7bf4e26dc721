//! A scanner for the one request shape Gatekeeper sends, so that the warm path does not pay
//! for a general JSON parse of every body.
//!
//! Gatekeeper marshals its `ProviderRequest` with Go's `encoding/json`: compact, fields in
//! declaration order, `<`, `>` and `&` escaped. For that exact form without any escape,
//! [`scan_request`] finds the fields with a few comparisons; for anything else (whitespace,
//! another field order, an escape, a missing or extra field) it answers `None` and the
//! caller parses with `serde_json`, which is then the only judge of what the body means.

use std::borrow::Cow;

use crate::body::RequestView;

/// `{"apiVersion":"<s>","kind":"<s>","request":{"keys":["<s>",...]}}` (optionally followed by
/// whitespace), every `<s>` free of `"`, `\` and control characters: exactly what
/// `serde_json` makes of it. `None` for anything else.
pub(crate) fn scan_request(body: &[u8]) -> Option<RequestView<'_>> {
    let mut rest = body.strip_prefix(br#"{"apiVersion":"#)?;
    let api_version = string(&mut rest)?;
    rest = rest.strip_prefix(br#","kind":"#)?;
    let kind = string(&mut rest)?;
    rest = rest.strip_prefix(br#","request":{"keys":["#)?;
    let mut keys = Vec::new();
    if let Some(after) = rest.strip_prefix(b"]") {
        rest = after;
    } else {
        loop {
            keys.push(string(&mut rest)?.to_owned());
            match rest.split_first()? {
                (b',', after) => rest = after,
                (b']', after) => {
                    rest = after;
                    break;
                }
                _ => return None,
            }
        }
    }
    rest = rest.strip_prefix(b"}}")?;
    // JSON whitespace only: `u8::is_ascii_whitespace` also takes form feed, which serde
    // (rightly) refuses — found by the provider_request fuzz target.
    if !rest
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
    {
        return None;
    }
    Some(RequestView {
        api_version: Some(Cow::Borrowed(api_version)),
        kind: Some(Cow::Borrowed(kind)),
        keys,
    })
}

/// Fuzzing seam: `None` when the scanner declines `body`, otherwise whether `serde_json` (the
/// general path) reads exactly the same request from it. Used by `fuzz/` to check that the
/// shortcut never changes what a body means.
#[doc(hidden)]
pub fn scanner_agrees_with_serde(body: &[u8]) -> Option<bool> {
    let scanned = scan_request(body)?;
    let general = serde_json::from_slice::<RequestView<'_>>(body).ok();
    Some(general.as_ref() == Some(&scanned))
}

/// A string literal without escapes at the start of `rest`, which is advanced past it.
fn string<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let body = rest.strip_prefix(b"\"")?;
    let end = body
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
    if body.get(end) != Some(&b'"') {
        return None;
    }
    let text = std::str::from_utf8(body.get(..end)?).ok()?;
    *rest = body.get(end + 1..)?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::parse_request;

    const GATEKEEPER: &[u8] = br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderRequest","request":{"keys":["registry.test/app@sha256:aa","[team-a]ghcr.io/org/x:1.2"]}}"#;

    #[test]
    fn reads_what_gatekeeper_sends() {
        let view = scan_request(GATEKEEPER).unwrap();
        assert_eq!(
            view.api_version.as_deref(),
            Some("externaldata.gatekeeper.sh/v1beta1")
        );
        assert_eq!(view.kind.as_deref(), Some("ProviderRequest"));
        assert_eq!(
            view.keys,
            ["registry.test/app@sha256:aa", "[team-a]ghcr.io/org/x:1.2"]
        );
        assert_eq!(Ok(view), parse_request(GATEKEEPER));
    }

    /// Whatever the scanner accepts, serde reads the same; the rest is left to serde.
    #[test]
    fn agrees_with_serde_or_declines() {
        let accepted: &[&[u8]] = &[
            GATEKEEPER,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":[]}}"#,
            br#"{"apiVersion":"","kind":"","request":{"keys":["",""]}}"#,
            r#"{"apiVersion":"v","kind":"k","request":{"keys":["ünï ✓"]}}"#.as_bytes(),
            b"{\"apiVersion\":\"v\",\"kind\":\"k\",\"request\":{\"keys\":[\"a\"]}}\n \t",
        ];
        for body in accepted {
            let text = String::from_utf8_lossy(body);
            let scanned = scan_request(body).unwrap_or_else(|| panic!("declined {text}"));
            assert_eq!(Ok(scanned), parse_request(body), "{text}");
        }
        let declined: &[&[u8]] = &[
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a\"b"]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["\u003cx\u003e"]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"],"x":1}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"]},"x":1}"#,
            br#"{"kind":"k","apiVersion":"v","request":{"keys":["a"]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a",]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a" ]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":[1]}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":null}}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"]}} x"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"]}"#,
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"#,
            br#" {"apiVersion":"v","kind":"k","request":{"keys":["a"]}}"#,
            b"{\"apiVersion\":\"v\",\"kind\":\"k\",\"request\":{\"keys\":[\"a\tb\"]}}",
            b"{\"apiVersion\":\"v\",\"kind\":\"k\",\"request\":{\"keys\":[\"\xff\"]}}",
            br#"{"apiVersion":"v","kind":"k","request":{"keys":["a"]}}{}"#,
            // Form feed after the object: ASCII whitespace, not JSON whitespace (fuzz finding).
            b"{\"apiVersion\":\"v\",\"kind\":\"k\",\"request\":{\"keys\":[\"a\"]}}\r\n\x0c",
            b"",
        ];
        for body in declined {
            assert_eq!(
                scan_request(body),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// The fuzz finding itself: a Gatekeeper-shaped body followed by form feeds is not JSON,
    /// and the whole request is refused as serde refuses it.
    #[test]
    fn form_feed_after_the_body_is_refused() {
        let body = b"{\"apiVersion\":\"exte a8gayte\",\"kind\":\"ProviderReq\",\"request\":{\"keys\":[\"2.24\"]}}\r\n\x0c\n\n\r\t\t";
        assert_eq!(scan_request(body), None);
        assert_eq!(scanner_agrees_with_serde(body), None);
        assert!(parse_request(body).is_err());
        assert!(serde_json::from_slice::<serde_json::Value>(body).is_err());
    }
}
