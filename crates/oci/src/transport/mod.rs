//! HTTP transport, split by job: this module holds the shared state (one pooled reqwest
//! client — HTTP/2 where the registry offers it over TLS, so a burst of keys shares one
//! connection and one handshake; HTTP/1.1 otherwise — the auth state, the byte budget), the per-operation context and the mapping of
//! registry answers to errors; [`retry`] is the send loop (auth refresh on 401, bounded
//! retries honouring `Retry-After`, the request observer), [`token`] the Docker token flow,
//! [`redirect`] the redirect policy and [`body`] the size-capped, budgeted body reads.

mod body;
mod redirect;
mod retry;
mod token;

use std::time::Duration;

use reqwest::Response;
use tokio::time::Instant;
use url::Url;

use crate::auth::AuthState;
use crate::budget::ByteBudget;
use crate::config::ClientConfig;
use crate::error::{OciError, Operation};

pub(crate) use body::{declared_length, read_budgeted, read_capped, read_reserved};

/// Largest error or token response body we read.
const SMALL_BODY: u64 = 64 * 1024;
/// Largest header block an HTTP/2 registry may send with one answer (hyper's default is
/// 16 KiB; registries send a few hundred bytes, a paginated `Link` or a token challenge a few
/// KiB). A larger block fails that request.
const MAX_HTTP2_HEADER_LIST_BYTES: u32 = 64 * 1024;

/// Shared state behind a `RegistryClient`.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) auth: AuthState,
    /// Registry content in memory, shared by every clone of the client.
    pub(crate) budget: ByteBudget,
}

/// What one operation is about: used for auth scope and error messages.
pub(crate) struct Ctx {
    pub(crate) op: Operation,
    pub(crate) reference: String,
    /// Registry host as written in the reference (credential lookup, cache key).
    pub(crate) registry: String,
    /// `repository:<name>:pull`.
    pub(crate) scope: String,
    /// When the whole operation must be over.
    pub(crate) deadline: Instant,
    /// The operation budget `deadline` was computed from (for error messages).
    pub(crate) budget: Duration,
    /// The per-request deadline (for error messages).
    pub(crate) request_timeout: Duration,
}

impl Ctx {
    pub(crate) fn timeout(&self, after: Duration) -> OciError {
        OciError::Timeout {
            op: self.op,
            reference: self.reference.clone(),
            after,
        }
    }
}

impl Transport {
    pub(crate) fn new(config: ClientConfig) -> Result<Self, OciError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_max_header_list_size(MAX_HTTP2_HEADER_LIST_BYTES)
            .redirect(redirect::policy(&config));
        let mut roots = Vec::new();
        for pem in &config.extra_root_pems {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| OciError::Config(format!("extra root CA is not valid PEM: {e}")))?;
            if certs.is_empty() {
                return Err(OciError::Config(
                    "extra root CA file holds no certificate".into(),
                ));
            }
            roots.extend(certs);
        }
        if !roots.is_empty() {
            builder = builder.tls_certs_merge(roots);
        }
        let http = builder
            .build()
            .map_err(|e| OciError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            budget: ByteBudget::new(
                config.max_in_flight_bytes,
                config.max_in_flight_bytes_per_host,
            ),
            config,
            auth: AuthState::default(),
        })
    }

    /// `http://` or `https://` followed by the API host.
    pub(crate) fn base_url(&self, api_host: &str) -> String {
        let scheme = if self.config.is_plain_http(api_host) {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{api_host}")
    }

    pub(crate) fn transport_error(&self, ctx: &Ctx, e: reqwest::Error) -> OciError {
        map_reqwest(ctx, &self.config, e)
    }

    /// Maps an unexpected status to an error, reading a bounded error body.
    pub(crate) async fn status_error(&self, ctx: &Ctx, response: Response) -> OciError {
        let status = response.status().as_u16();
        let detail = match read_capped(ctx, response, SMALL_BODY).await {
            Ok(body) => registry_error_detail(&body),
            Err(_) => String::new(),
        };
        if status == 404 {
            return OciError::NotFound {
                op: ctx.op,
                reference: ctx.reference.clone(),
                detail,
            };
        }
        OciError::Status {
            op: ctx.op,
            reference: ctx.reference.clone(),
            status,
            detail,
        }
    }
}

fn map_reqwest(ctx: &Ctx, config: &ClientConfig, e: reqwest::Error) -> OciError {
    if e.is_timeout() {
        return OciError::Timeout {
            op: ctx.op,
            reference: ctx.reference.clone(),
            after: config.request_timeout,
        };
    }
    if e.is_redirect() {
        return OciError::Redirect {
            op: ctx.op,
            reference: ctx.reference.clone(),
            detail: describe_reqwest(&e),
        };
    }
    OciError::Transport {
        op: ctx.op,
        reference: ctx.reference.clone(),
        detail: describe_reqwest(&e),
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    error_chain(e)
}

/// An error and its sources on one line, at most 512 characters: what an HTTP client error
/// says (connection refused, TLS, timeout) is usually in a source, not the error itself.
/// (URLs we build never hold secrets.)
pub fn error_chain(e: &dyn std::error::Error) -> String {
    format!("{e}{}", error_sources(e))
        .chars()
        .take(512)
        .collect()
}

/// `e`'s sources, each after ": " (empty when it has none), for callers that say what the
/// error itself is in their own words (its text may hold a URL they must not log).
pub fn error_sources(e: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// What a 404 from the referrers endpoint says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Referrers404 {
    /// A plain 404 on the API URL: the registry has no referrers API.
    NoApi,
    /// `MANIFEST_UNKNOWN` (the API exists but does not know the subject), or a redirect
    /// that landed on a 404: says nothing about the API.
    NotForSubject,
}

/// Reads a 404 from the referrers endpoint: an unknown repository (`NAME_UNKNOWN`) is an
/// error; `MANIFEST_UNKNOWN` or a redirected 404 is about this subject only; any other 404
/// means the registry has no referrers API. `requested` is the URL asked for.
pub(crate) async fn classify_referrers_404(
    ctx: &Ctx,
    requested: &Url,
    response: Response,
) -> Result<Referrers404, OciError> {
    let redirected = response.url() != requested;
    let detail = repository_known(ctx, response).await?;
    if redirected || detail.starts_with("MANIFEST_UNKNOWN") {
        return Ok(Referrers404::NotForSubject);
    }
    Ok(Referrers404::NoApi)
}

/// Reads a 404 from the referrers endpoint for the push path: `NAME_UNKNOWN` is an error,
/// anything else means "maintain the tag schema index" (`Ok`).
pub(crate) async fn referrers_not_found(ctx: &Ctx, response: Response) -> Result<(), OciError> {
    repository_known(ctx, response).await.map(drop)
}

/// Reads a 404's error body: an unknown repository (`NAME_UNKNOWN`) is
/// [`OciError::NotFound`]; otherwise its `code: message` detail.
async fn repository_known(ctx: &Ctx, response: Response) -> Result<String, OciError> {
    let body = read_capped(ctx, response, SMALL_BODY)
        .await
        .unwrap_or_default();
    let detail = registry_error_detail(&body);
    if detail.starts_with("NAME_UNKNOWN") {
        return Err(OciError::NotFound {
            op: ctx.op,
            reference: ctx.reference.clone(),
            detail,
        });
    }
    Ok(detail)
}

/// `code: message` of the first OCI error in a registry error body, if any.
pub(crate) fn registry_error_detail(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(e) => e
            .errors
            .first()
            .map(|x| {
                format!("{}: {}", x.code, x.message)
                    .chars()
                    .take(256)
                    .collect()
            })
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_detail() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error_detail(body),
            "MANIFEST_UNKNOWN: manifest unknown"
        );
        assert_eq!(registry_error_detail(b"<html>"), "");
    }
}
