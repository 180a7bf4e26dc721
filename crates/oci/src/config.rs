//! Client configuration: limits, deadlines, retries, TLS and credentials.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::credentials::{Anonymous, CredentialProvider};
use crate::observe::RequestObserver;

/// Retry policy for 429 and 5xx answers and transient transport errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts per request, including the first (1 = no retry).
    pub max_attempts: u32,
    /// Upper bound on the time one operation may spend, retries and waits included.
    pub max_total_time: Duration,
    /// First backoff delay; doubles on each retry.
    pub initial_backoff: Duration,
    /// Cap on a single backoff or `Retry-After` wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 200 ms doubling backoff capped at 2 s, 20 s per operation
    /// (Ratify's oras transport retries 5 times between 200 ms and 1.75 s).
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_total_time: Duration::from_secs(20),
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// Configuration of a [`crate::RegistryClient`].
#[derive(Clone)]
pub struct ClientConfig {
    /// Largest manifest (or referrers page) read into memory. Default 4 MiB
    /// (the distribution spec's manifest size and notation-go's signature manifest limit).
    pub max_manifest_bytes: u64,
    /// Largest blob (signature envelope) read into memory. Default 1 MiB: real Notation
    /// envelopes are 2–30 KiB (see the crate README); notation-go allows 32 MiB, which lets
    /// one hostile subject with a few signatures cost hundreds of MiB.
    pub max_blob_bytes: u64,
    /// Registry content (manifests, referrers pages, blobs) all clones of the client may
    /// hold in memory at once; a fetch waits for room up to its deadline. Default 32 MiB.
    pub max_in_flight_bytes: u64,
    /// The part of `max_in_flight_bytes` one registry host may hold. Default 16 MiB.
    pub max_in_flight_bytes_per_host: u64,
    /// Most referrers accepted for one subject before failing. Default 10 000.
    pub max_referrers: usize,
    /// Most referrers API pages followed through `Link`. Default 100.
    pub max_referrer_pages: usize,
    /// Deadline for one HTTP exchange (headers and body). Default 10 s.
    pub request_timeout: Duration,
    /// Deadline for establishing a connection (TCP + TLS). Default 5 s.
    pub connect_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Most redirects followed per request. Default 5.
    pub max_redirects: usize,
    /// Hosts (`host` or `host:port`) reached over plain HTTP. Loopback hosts are
    /// also reached over plain HTTP when `plain_http_loopback` is set.
    pub insecure_hosts: Vec<String>,
    /// Use plain HTTP for `localhost`, `127.0.0.0/8` and `::1` (Ratify does). Default true.
    pub plain_http_loopback: bool,
    /// Extra trusted root CAs (PEM), added to the system roots.
    pub extra_root_pems: Vec<Vec<u8>>,
    /// Where credentials come from.
    pub credentials: Arc<dyn CredentialProvider>,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Called once per HTTP request (registry host, status or transport failure).
    pub request_observer: Option<Arc<dyn RequestObserver>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_manifest_bytes: 4 * 1024 * 1024,
            max_blob_bytes: 1024 * 1024,
            max_in_flight_bytes: 32 * 1024 * 1024,
            max_in_flight_bytes_per_host: 16 * 1024 * 1024,
            max_referrers: 10_000,
            max_referrer_pages: 100,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            max_redirects: 5,
            insecure_hosts: Vec::new(),
            plain_http_loopback: true,
            extra_root_pems: Vec::new(),
            credentials: Arc::new(Anonymous),
            user_agent: concat!("imagegate/", env!("CARGO_PKG_VERSION")).to_owned(),
            request_observer: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("max_manifest_bytes", &self.max_manifest_bytes)
            .field("max_blob_bytes", &self.max_blob_bytes)
            .field("max_in_flight_bytes", &self.max_in_flight_bytes)
            .field(
                "max_in_flight_bytes_per_host",
                &self.max_in_flight_bytes_per_host,
            )
            .field("max_referrers", &self.max_referrers)
            .field("max_referrer_pages", &self.max_referrer_pages)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .field("max_redirects", &self.max_redirects)
            .field("insecure_hosts", &self.insecure_hosts)
            .field("plain_http_loopback", &self.plain_http_loopback)
            .field("extra_root_pems", &self.extra_root_pems.len())
            .field("credentials", &"<provider>")
            .field("user_agent", &self.user_agent)
            .field(
                "request_observer",
                &self.request_observer.as_ref().map(|_| "<observer>"),
            )
            .finish()
    }
}

impl ClientConfig {
    /// Reports one request to the observer, if any.
    pub(crate) fn observe(&self, url: &url::Url, outcome: crate::observe::RequestOutcome) {
        if let Some(o) = &self.request_observer {
            o.observe(&crate::observe::host_port(url), outcome);
        }
    }

    /// Like [`ClientConfig::observe`], with the host already known.
    pub(crate) fn observe_host(&self, host: &str, outcome: crate::observe::RequestOutcome) {
        if let Some(o) = &self.request_observer {
            o.observe(host, outcome);
        }
    }

    /// Whether `host` (`host[:port]`) is reached over plain HTTP.
    pub fn is_plain_http(&self, host_port: &str) -> bool {
        let host = host_only(host_port);
        self.insecure_hosts
            .iter()
            .any(|h| h == host_port || h == host)
            || (self.plain_http_loopback && is_loopback(host))
    }
}

/// The host part of `host[:port]` (handles `[::1]:5000`).
pub(crate) fn host_only(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_or_listed() {
        let c = ClientConfig {
            insecure_hosts: vec!["reg.lan".into(), "other:5000".into()],
            ..Default::default()
        };
        for yes in [
            "127.0.0.1:5000",
            "localhost",
            "[::1]:443",
            "127.3.4.5",
            "reg.lan:8080",
            "other:5000",
        ] {
            assert!(c.is_plain_http(yes), "{yes}");
        }
        for no in [
            "docker.io",
            "other:5001",
            "10.0.0.1:5000",
            "localhost.evil.example",
        ] {
            assert!(!c.is_plain_http(no), "{no}");
        }
        let strict = ClientConfig {
            plain_http_loopback: false,
            ..Default::default()
        };
        assert!(!strict.is_plain_http("127.0.0.1:5000"));
        assert!(format!("{strict:?}").contains("<provider>"));
    }
}
