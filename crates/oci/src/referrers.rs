//! Referrers discovery helpers: `Link` pagination and client-side filtering.

use url::Url;

use crate::model::Descriptor;

/// The `rel="next"` target of a `Link` header, resolved against `current`.
/// Only same-origin targets are accepted (a registry must not send us, with our
/// token, elsewhere); anything else is `Err` with the reason.
pub(crate) fn next_link(header: &str, current: &Url) -> Result<Option<Url>, String> {
    for part in header.split(',') {
        let part = part.trim();
        let Some(rest) = part.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim().to_ascii_lowercase();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if !is_next {
            continue;
        }
        let url = current
            .join(target)
            .map_err(|e| format!("Link target is not a URL: {e}"))?;
        if url.origin() != current.origin() {
            return Err("Link points to another host; refusing to follow".into());
        }
        return Ok(Some(url));
    }
    Ok(None)
}

/// Whether the registry says it applied the `artifactType` filter.
pub(crate) fn filter_applied(header: Option<&str>) -> bool {
    header.is_some_and(|h| h.split(',').any(|f| f.trim() == "artifactType"))
}

/// Keeps the entries whose `artifactType` equals `wanted` (all when `None`).
pub(crate) fn keep(entries: &mut Vec<Descriptor>, wanted: Option<&str>) {
    if let Some(w) = wanted {
        entries.retain(|d| d.artifact_type.as_deref() == Some(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_parsing() {
        let cur =
            Url::parse("http://127.0.0.1:5000/v2/a/referrers/sha256:1?artifactType=x").unwrap();
        let next = next_link(r#"</v2/a/referrers/sha256:1?n=2&last=b>; rel="next""#, &cur).unwrap();
        assert_eq!(
            next.unwrap().as_str(),
            "http://127.0.0.1:5000/v2/a/referrers/sha256:1?n=2&last=b"
        );
        let abs = next_link(r#"<http://127.0.0.1:5000/p2>; rel=next"#, &cur).unwrap();
        assert_eq!(abs.unwrap().path(), "/p2");
        assert_eq!(next_link(r#"</x>; rel="prev""#, &cur).unwrap(), None);
        assert!(next_link(r#"<http://evil.example/p2>; rel="next""#, &cur).is_err());
        assert!(next_link(r#"<https://127.0.0.1:5000/p2>; rel="next""#, &cur).is_err());
    }

    #[test]
    fn filtering() {
        assert!(filter_applied(Some("artifactType")));
        assert!(filter_applied(Some("foo, artifactType")));
        assert!(!filter_applied(Some("artifacttype")));
        assert!(!filter_applied(None));
        let d = |t: Option<&str>| Descriptor {
            media_type: "m".into(),
            digest: "sha256:0".into(),
            size: 1,
            artifact_type: t.map(Into::into),
            annotations: None,
            platform: None,
            urls: None,
        };
        let mut v = vec![d(Some("a")), d(Some("b")), d(None), d(Some("a"))];
        keep(&mut v, Some("a"));
        assert_eq!(v.len(), 2);
        let mut all = vec![d(Some("a")), d(None)];
        keep(&mut all, None);
        assert_eq!(all.len(), 2);
    }
}
