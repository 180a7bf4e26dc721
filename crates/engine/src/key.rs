//! Request keys (`[namespace]image`) and Go-style duration text.

use std::time::Duration;

/// A request key split as Ratify does: an optional leading `[namespace]` (everything up to the
/// first `]`), then the image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitKey<'a> {
    /// The namespace, `None` for a bare image or an empty `[]` prefix.
    pub namespace: Option<&'a str>,
    /// The image reference text, not yet parsed.
    pub image: &'a str,
}

/// Splits `raw` into namespace and image. A `[` without a closing `]` is treated as part of
/// the image (which then fails to parse as a reference, with a clear message).
pub fn split(raw: &str) -> SplitKey<'_> {
    if let Some(rest) = raw.strip_prefix('[') {
        if let Some((ns, image)) = rest.split_once(']') {
            return SplitKey {
                namespace: (!ns.is_empty()).then_some(ns),
                image,
            };
        }
    }
    SplitKey {
        namespace: None,
        image: raw,
    }
}

/// Formats a duration the way Go's `time.Duration.String` does for the values Ratify prints
/// (`2.9s`, `950ms`, `1m30s`), so timeout messages read like Ratify's.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", trim(nanos as f64 / 1e3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", trim(nanos as f64 / 1e6));
    }
    let total = d.as_secs_f64();
    let hours = (total / 3600.0).floor();
    let minutes = ((total - hours * 3600.0) / 60.0).floor();
    let seconds = total - hours * 3600.0 - minutes * 60.0;
    let mut out = String::new();
    if hours > 0.0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0.0 || minutes > 0.0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{}s", trim(seconds)));
    out
}

fn trim(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_keys() {
        assert_eq!(
            split("[team-a]ghcr.io/x:1"),
            SplitKey {
                namespace: Some("team-a"),
                image: "ghcr.io/x:1"
            }
        );
        assert_eq!(split("[]nginx").namespace, None);
        assert_eq!(split("[]nginx").image, "nginx");
        assert_eq!(split("nginx").image, "nginx");
        assert_eq!(split("[open").image, "[open");
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(go_duration(Duration::from_millis(2900)), "2.9s");
        assert_eq!(go_duration(Duration::from_millis(4900)), "4.9s");
        assert_eq!(go_duration(Duration::from_millis(950)), "950ms");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(go_duration(Duration::ZERO), "0s");
    }
}
