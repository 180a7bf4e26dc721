//! The redirect policy: bounded hops, no loops, no downgrade to plain HTTP.

use std::sync::Arc;

use url::Url;

use crate::config::ClientConfig;

/// Follows at most `max_redirects`, never loops, never downgrades to plain HTTP
/// for a host that is not allowed plain HTTP. reqwest itself drops the
/// `Authorization` header when a redirect changes host, port or scheme.
pub(super) fn policy(config: &ClientConfig) -> reqwest::redirect::Policy {
    let config = Arc::new(config.clone());
    reqwest::redirect::Policy::custom(move |attempt| {
        match refuse_redirect(&config, attempt.previous(), attempt.url()) {
            Some(why) => attempt.error(why),
            None => attempt.follow(),
        }
    })
}

/// Why the hop to `next` after the URLs `previous` (the first request included) must not be
/// followed, or `None` to follow it.
///
/// A plain-HTTP hop needs a host allowed plain HTTP; once the chain has been on `https://`
/// it needs the host listed in `insecure_hosts`, since `plain_http_loopback` alone would let
/// any HTTPS registry send requests to services on the pod's own loopback.
fn refuse_redirect(config: &ClientConfig, previous: &[Url], next: &Url) -> Option<String> {
    let max = config.max_redirects;
    if previous.len() > max {
        return Some(format!("more than {max} redirects"));
    }
    if previous.iter().any(|u| u == next) {
        return Some("redirect loop".into());
    }
    let host_port = match (next.host_str(), next.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => return Some("redirect target has no host".into()),
    };
    match next.scheme() {
        "https" => None,
        "http" if !config.is_plain_http(&host_port) => {
            Some("redirect to a http:// URL is not allowed".into())
        }
        "http"
            if previous.iter().any(|u| u.scheme() == "https")
                && !listed_insecure(config, &host_port) =>
        {
            Some(format!(
                "redirect to a http:// URL is not allowed after an https:// URL; \
                 list {host_port} in insecure_hosts to allow it"
            ))
        }
        "http" => None,
        other => Some(format!("redirect to a {other}:// URL is not allowed")),
    }
}

/// Whether `host_port` (or its host alone) is listed in `insecure_hosts`.
fn listed_insecure(config: &ClientConfig, host_port: &str) -> bool {
    let host = crate::config::host_only(host_port);
    config
        .insecure_hosts
        .iter()
        .any(|h| h == host_port || h == host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_plain_http_hop_after_https_unless_listed() {
        let url = |s: &str| Url::parse(s).unwrap();
        let remote = [url("https://registry.example/v2/app/blobs/sha256:ab")];
        let loopback = url("http://127.0.0.1:8080/admin");
        let defaults = ClientConfig::default();
        assert!(defaults.plain_http_loopback);
        let why = refuse_redirect(&defaults, &remote, &loopback).unwrap();
        assert!(why.contains("after an https:// URL"), "{why}");
        assert!(
            why.contains("list 127.0.0.1:8080 in insecure_hosts"),
            "{why}"
        );
        let v6 = url("http://[::1]:8080/admin");
        assert!(refuse_redirect(&defaults, &remote, &v6).is_some());
        let via_plain = [url("http://127.0.0.1:5000/v2/"), remote[0].clone()];
        assert!(refuse_redirect(&defaults, &via_plain, &loopback).is_some());
        // Listed explicitly, with or without the port: followed.
        for listed in ["127.0.0.1:8080", "127.0.0.1"] {
            let config = ClientConfig {
                insecure_hosts: vec![listed.into()],
                ..ClientConfig::default()
            };
            assert_eq!(
                refuse_redirect(&config, &remote, &loopback),
                None,
                "{listed}"
            );
        }
        // A chain that never left plain HTTP on loopback keeps working, and HTTPS is
        // always followed.
        let plain = [url("http://127.0.0.1:5000/v2/app/blobs/sha256:ab")];
        assert_eq!(refuse_redirect(&defaults, &plain, &loopback), None);
        let https = url("https://storage.example/blob");
        assert_eq!(refuse_redirect(&defaults, &remote, &https), None);
    }
}
