//! The request observer: a hook called once per HTTP request the client sends, so that the
//! binary can count registry requests by host and status (Ratify's
//! `ratify_registry_request_count_total{registry_host, status_code}`).

/// How one HTTP request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestOutcome {
    /// An HTTP answer with this status code (after any redirects were followed).
    Status(u16),
    /// No HTTP answer: connection refused or reset, TLS failure, timeout, refused redirect.
    TransportFailure,
}

impl RequestOutcome {
    /// The `status_code` label value: the code, or `"0"` for a transport failure (what an
    /// HTTP client without a response reports; Ratify never counts those).
    pub fn status_label(self) -> String {
        match self {
            Self::Status(code) => code.to_string(),
            Self::TransportFailure => "0".to_owned(),
        }
    }
}

/// Called once per HTTP request to a registry or its token service, with the request URL's
/// `host[:port]` (for Docker Hub that is `registry-1.docker.io`, as in Ratify) and how it
/// ended. Retries are separate requests; the hops of one followed redirect are one request.
/// Must be cheap and must not block: it runs on the request path.
pub trait RequestObserver: Send + Sync {
    /// Records one request.
    fn observe(&self, host: &str, outcome: RequestOutcome);
}

impl<F> RequestObserver for F
where
    F: Fn(&str, RequestOutcome) + Send + Sync,
{
    fn observe(&self, host: &str, outcome: RequestOutcome) {
        self(host, outcome);
    }
}

/// `host[:port]` of a URL, as the observer reports it.
pub(crate) fn host_port(url: &url::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    }
}
