//! The one HTTP client shape every Azure call uses: the workspace's reqwest (rustls with
//! aws-lc-rs), system roots plus optional extra roots, optional name pins, no redirects
//! (a token endpoint that redirects is refused rather than followed), deadlines on connect
//! and on the whole request, and bounded bodies.

use std::net::SocketAddr;
use std::time::Duration;

use crate::env::AzureEnv;
use crate::error::AzureError;

/// Largest answer body read from any Azure endpoint.
pub const MAX_BODY: usize = 4 << 20;

/// Transport settings for the Azure client.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Extra root CAs (PEM bundles), trusted in addition to the system roots.
    pub extra_root_pems: Vec<Vec<u8>>,
    /// Name → address pins.
    pub resolve: Vec<(String, SocketAddr)>,
    /// Deadline of one request, answer included.
    pub request_timeout: Duration,
    /// Deadline of one connection attempt.
    pub connect_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            extra_root_pems: Vec::new(),
            resolve: Vec::new(),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

impl HttpSettings {
    /// Settings from the environment snapshot (`IMAGEGATE_AZURE_CA_FILE`,
    /// `IMAGEGATE_AZURE_RESOLVE`).
    pub fn from_env(env: &AzureEnv) -> Result<Self, AzureError> {
        let mut s = Self {
            resolve: env.resolve.clone(),
            ..Self::default()
        };
        if let Some(path) = &env.extra_ca_file {
            let pem = std::fs::read(path).map_err(|e| AzureError::Config {
                field: "IMAGEGATE_AZURE_CA_FILE".into(),
                detail: format!("cannot read {}: {e}", path.display()),
            })?;
            s.extra_root_pems.push(pem);
        }
        Ok(s)
    }

    /// Builds the client.
    pub fn client(&self) -> Result<reqwest::Client, AzureError> {
        let mut b = reqwest::Client::builder()
            .user_agent(concat!("imagegate/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none());
        let mut roots = Vec::new();
        for pem in &self.extra_root_pems {
            let certs =
                reqwest::Certificate::from_pem_bundle(pem).map_err(|e| AzureError::Config {
                    field: "extra root CA".into(),
                    detail: format!("not valid PEM: {e}"),
                })?;
            if certs.is_empty() {
                return Err(AzureError::Config {
                    field: "extra root CA".into(),
                    detail: "holds no certificate".into(),
                });
            }
            roots.extend(certs);
        }
        if !roots.is_empty() {
            b = b.tls_certs_merge(roots);
        }
        for (host, addr) in &self.resolve {
            b = b.resolve(host, *addr);
        }
        b.build().map_err(|e| AzureError::Config {
            field: "HTTP client".into(),
            detail: e.to_string(),
        })
    }
}

/// Reads at most [`MAX_BODY`] bytes of `response`.
pub(crate) async fn read_body(
    response: reqwest::Response,
    operation: &str,
) -> Result<Vec<u8>, AzureError> {
    let url = redact_url(response.url());
    let mut response = response;
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(c)) => {
                if body.len() + c.len() > MAX_BODY {
                    return Err(AzureError::Transport {
                        operation: operation.to_owned(),
                        url,
                        detail: format!("answer larger than {MAX_BODY} bytes"),
                    });
                }
                body.extend_from_slice(&c);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(AzureError::Transport {
                    operation: operation.to_owned(),
                    url,
                    detail: describe(&e),
                })
            }
        }
    }
}

/// POSTs the form `body` (`application/x-www-form-urlencoded`) to `url`, accepting JSON:
/// the shape of every token request (Entra ID, ACR exchange).
pub(crate) async fn post_form(
    client: &reqwest::Client,
    url: &str,
    body: String,
) -> Result<reqwest::Response, reqwest::Error> {
    client
        .post(url)
        .header(
            reqwest::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
}

/// A URL without its query (which may carry client IDs or skip tokens).
pub(crate) fn redact_url(u: &reqwest::Url) -> String {
    let mut u = u.clone();
    u.set_query(None);
    u.to_string()
}

/// A reqwest error with its causes, without the URL's query.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    format!("{what}{}", imagegate_oci::error_sources(e))
}

/// `Retry-After` in seconds (HTTP dates are not used by Azure here).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}
