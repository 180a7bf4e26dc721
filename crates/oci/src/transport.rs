//! HTTP transport: one pooled reqwest client, per-request deadlines, redirect
//! policy, authentication with one refresh on 401, bounded retries that honour
//! `Retry-After`, and size-capped body reads.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode};
use tokio::time::Instant;
use url::Url;

use crate::auth::{parse_challenge, AuthState, Challenge, Token, TokenKey, TokenResponse};
use crate::config::ClientConfig;
use crate::credentials::Credential;
use crate::error::{OciError, Operation};

/// Largest error or token response body we read.
const SMALL_BODY: u64 = 64 * 1024;

/// Shared state behind a `RegistryClient`.
pub(crate) struct Transport {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) auth: AuthState,
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
            .redirect(redirect_policy(&config));
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

    /// Sends a request, authenticating and retrying as needed. Returns any
    /// response that is not 401/403/429/5xx; the caller maps the rest.
    pub(crate) async fn send(
        &self,
        ctx: &Ctx,
        method: Method,
        url: &Url,
        accept: &str,
    ) -> Result<Response, OciError> {
        self.send_body(ctx, method, url, accept, None).await
    }

    /// Like [`Transport::send`], with a request body `(content type, bytes)` that
    /// is sent again on each retry (uploads are idempotent: monolithic PUTs).
    pub(crate) async fn send_body(
        &self,
        ctx: &Ctx,
        method: Method,
        url: &Url,
        accept: &str,
        body: Option<(&str, &Bytes)>,
    ) -> Result<Response, OciError> {
        let retry = &self.config.retry;
        let mut attempt = 0u32;
        let mut refreshed_auth = false;
        let mut backoff = retry.initial_backoff;
        loop {
            attempt += 1;
            // A provider that cannot prepare in time leaves `credentials` to answer anyway.
            let _ = tokio::time::timeout_at(
                ctx.deadline,
                self.config.credentials.prepare(&ctx.registry),
            )
            .await;
            let credential = self.config.credentials.credentials(&ctx.registry);
            let key = self.token_key(ctx, credential.as_ref());
            let (authorization, token_used) = match self
                .authorization(ctx, credential.as_ref(), &key)
                .await
            {
                // The token service refused the credential: the provider replaces it
                // (e.g. an ACR refresh token that expired or was revoked), once.
                Err(OciError::Unauthorized { .. }) if !refreshed_auth && credential.is_some() => {
                    if let Some(c) = &credential {
                        self.config.credentials.refused(&ctx.registry, c);
                    }
                    refreshed_auth = true;
                    attempt -= 1;
                    continue;
                }
                other => other?,
            };
            let mut req = self
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, accept);
            if let Some(value) = authorization {
                req = req.header(AUTHORIZATION, value);
            }
            if let Some((content_type, bytes)) = body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, content_type)
                    .body(bytes.clone());
            }
            let result = tokio::time::timeout_at(ctx.deadline, req.send())
                .await
                .map_err(|_| ctx.timeout(ctx.budget))?;
            let response = match result {
                Ok(r) => r,
                Err(e) if e.is_connect() && attempt < retry.max_attempts => {
                    if !self.wait(ctx, backoff).await {
                        return Err(self.transport_error(ctx, e));
                    }
                    backoff = (backoff * 2).min(retry.max_backoff);
                    continue;
                }
                Err(e) => return Err(self.transport_error(ctx, e)),
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_challenge);
                self.auth.forget(&key, token_used.as_ref());
                let refreshable = matches!(
                    (&challenge, &credential),
                    (Some(Challenge::Bearer { .. }), _)
                        | (Some(Challenge::Basic), Some(Credential::Basic { .. }))
                );
                if !refreshed_auth && refreshable {
                    refreshed_auth = true;
                    attempt -= 1;
                    if let Some(c) = challenge {
                        self.auth.set_challenge(&ctx.registry, c);
                    }
                    continue;
                }
                let detail = match (&credential, refreshed_auth) {
                    (None, _) => "no credentials are configured for this registry".to_owned(),
                    (Some(_), true) => "the registry refused the credentials or token".to_owned(),
                    (Some(_), false) => "the registry refused the credentials".to_owned(),
                };
                return Err(OciError::Unauthorized {
                    op: ctx.op,
                    reference: ctx.reference.clone(),
                    registry: ctx.registry.clone(),
                    detail,
                });
            }
            if status == StatusCode::FORBIDDEN {
                return Err(OciError::Forbidden {
                    op: ctx.op,
                    reference: ctx.reference.clone(),
                });
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS
                || matches!(status.as_u16(), 500 | 502 | 503 | 504);
            if !retryable {
                return Ok(response);
            }
            let exhausted = || OciError::RetriesExhausted {
                op: ctx.op,
                reference: ctx.reference.clone(),
                status: status.as_u16(),
                attempts: attempt,
            };
            if attempt >= retry.max_attempts {
                return Err(exhausted());
            }
            let wait = match retry_after(response.headers()) {
                Some(asked) if asked > retry.max_backoff => return Err(exhausted()),
                Some(asked) => asked,
                None => backoff,
            };
            tracing::debug!(
                status = status.as_u16(),
                ?wait,
                attempt,
                "registry asked to retry"
            );
            if !self.wait(ctx, wait).await {
                return Err(exhausted());
            }
            backoff = (backoff * 2).min(retry.max_backoff);
        }
    }

    /// Sleeps `d` unless that would pass the operation deadline.
    async fn wait(&self, ctx: &Ctx, d: Duration) -> bool {
        if Instant::now() + d >= ctx.deadline {
            return false;
        }
        tokio::time::sleep(d).await;
        true
    }

    fn token_key(&self, ctx: &Ctx, credential: Option<&Credential>) -> TokenKey {
        TokenKey {
            host: ctx.registry.clone(),
            scope: ctx.scope.clone(),
            credential: credential.map_or_else(|| "anonymous".to_owned(), Credential::fingerprint),
        }
    }

    /// The `Authorization` header for the next request (and the cached token it
    /// carries, if any), fetching a token if the host is known to use bearer auth
    /// and none is cached. Concurrent callers share one token exchange.
    async fn authorization(
        &self,
        ctx: &Ctx,
        credential: Option<&Credential>,
        key: &TokenKey,
    ) -> Result<(Option<HeaderValue>, Option<Token>), OciError> {
        if let Some(Credential::Bearer(t)) = credential {
            return Ok((Some(secret_header(&format!("Bearer {t}"))), None));
        }
        match self.auth.challenge(&ctx.registry) {
            None => Ok((None, None)),
            Some(Challenge::Basic) => Ok((
                match credential {
                    Some(Credential::Basic { username, password }) => {
                        Some(basic_header(username, password))
                    }
                    _ => None,
                },
                None,
            )),
            Some(Challenge::Bearer { realm, service }) => {
                let token = match self.auth.token(key) {
                    Some(t) => t,
                    None => {
                        let gate = self.auth.gate(key);
                        let _turn = match &gate {
                            Some(g) => Some(
                                tokio::time::timeout_at(ctx.deadline, g.lock())
                                    .await
                                    .map_err(|_| ctx.timeout(ctx.budget))?,
                            ),
                            None => None,
                        };
                        // Another task may have fetched it while we waited.
                        match self.auth.token(key) {
                            Some(t) => t,
                            None => {
                                let fetched = self
                                    .fetch_token(ctx, &realm, service.as_deref(), credential)
                                    .await;
                                self.auth.release(key);
                                let (t, lifetime) = fetched?;
                                self.auth.store(key.clone(), t.clone(), lifetime);
                                t
                            }
                        }
                    }
                };
                Ok((
                    Some(secret_header(&format!("Bearer {}", token.0))),
                    Some(token),
                ))
            }
        }
    }

    /// The docker token flow: GET `realm?service=…&scope=…` (Basic auth with the
    /// credentials, if any), or the OAuth2 refresh-token POST for identity tokens.
    async fn fetch_token(
        &self,
        ctx: &Ctx,
        realm: &str,
        service: Option<&str>,
        credential: Option<&Credential>,
    ) -> Result<(Token, Duration), OciError> {
        let fail = |detail: String| OciError::TokenExchange {
            op: ctx.op,
            reference: ctx.reference.clone(),
            realm: realm.chars().take(256).collect(),
            detail,
        };
        let url = Url::parse(realm).map_err(|e| fail(format!("realm is not a URL: {e}")))?;
        let host_port = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(fail("realm has no host".into())),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.config.is_plain_http(&host_port) => {}
            other => {
                return Err(fail(format!(
                    "refusing to send credentials to a {other}:// realm; list the host as insecure if this is intended"
                )))
            }
        }
        let req = match credential {
            Some(Credential::IdentityToken(refresh)) => {
                let mut form = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh.as_str()),
                    ("scope", ctx.scope.as_str()),
                    ("client_id", "imagegate"),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let body: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(form)
                    .finish();
                self.http
                    .post(url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
            other => {
                let mut url = url;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    q.append_pair("scope", &ctx.scope);
                }
                let mut req = self.http.get(url);
                if let Some(Credential::Basic { username, password }) = other {
                    req = req.header(AUTHORIZATION, basic_header(username, password));
                }
                req
            }
        };
        let response = tokio::time::timeout_at(ctx.deadline, req.send())
            .await
            .map_err(|_| ctx.timeout(ctx.budget))?
            .map_err(|e| fail(describe_reqwest(&e)))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(OciError::Unauthorized {
                op: ctx.op,
                reference: ctx.reference.clone(),
                registry: ctx.registry.clone(),
                detail: format!(
                    "the token service refused the credentials (HTTP {})",
                    status.as_u16()
                ),
            });
        }
        if !status.is_success() {
            return Err(fail(format!("HTTP {}", status.as_u16())));
        }
        let body = read_capped(ctx, response, SMALL_BODY).await?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("answer is not token JSON: {e}")))?;
        parsed
            .into_token()
            .ok_or_else(|| fail("answer has no token".into()))
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

/// Reads a body into memory, refusing before reading when the declared length
/// exceeds `cap` and stopping as soon as more than `cap` bytes arrive.
pub(crate) async fn read_capped(
    ctx: &Ctx,
    mut response: Response,
    cap: u64,
) -> Result<Bytes, OciError> {
    let too_large = |actual| OciError::TooLarge {
        op: ctx.op,
        reference: ctx.reference.clone(),
        limit: cap,
        actual,
    };
    let declared = declared_length(response.headers());
    if let Some(len) = declared {
        if len > cap {
            return Err(too_large(Some(len)));
        }
    }
    let initial = declared.unwrap_or(16 * 1024).min(cap).min(1024 * 1024);
    let mut buf = BytesMut::with_capacity(usize::try_from(initial).unwrap_or(0));
    loop {
        let next = tokio::time::timeout_at(ctx.deadline, response.chunk()).await;
        let chunk = match next {
            Err(_) => return Err(ctx.timeout(ctx.budget)),
            Ok(Err(e)) => return Err(map_body_error(ctx, e)),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(c))) => c,
        };
        if buf.len() as u64 + chunk.len() as u64 > cap {
            return Err(too_large(declared));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn map_body_error(ctx: &Ctx, e: reqwest::Error) -> OciError {
    if e.is_timeout() {
        return ctx.timeout(ctx.request_timeout);
    }
    OciError::Transport {
        op: ctx.op,
        reference: ctx.reference.clone(),
        detail: format!("reading the body failed: {}", describe_reqwest(&e)),
    }
}

/// The `Content-Length` header (reqwest reports 0 for HEAD responses).
pub(crate) fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(reqwest::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
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
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(512).collect()
}

/// The `Retry-After` delay in seconds, or an HTTP-date relative to the response's
/// own `Date` header (the local clock is never read).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    let parse = |s: &str| {
        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc2822).ok()
    };
    let delta = parse(value)? - parse(date)?;
    Some(Duration::from_secs(
        u64::try_from(delta.whole_seconds()).unwrap_or(0),
    ))
}

/// Reads a 404 from the referrers endpoint: an unknown repository (`NAME_UNKNOWN`) is an
/// error; any other 404 means the registry has no referrers API (`Ok`, use the tag schema).
pub(crate) async fn referrers_not_found(ctx: &Ctx, response: Response) -> Result<(), OciError> {
    let body = read_capped(ctx, response, 64 * 1024)
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
    Ok(())
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

fn basic_header(username: &str, password: &str) -> HeaderValue {
    use base64::Engine as _;
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    secret_header(&format!("Basic {encoded}"))
}

fn secret_header(value: &str) -> HeaderValue {
    let mut v = HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""));
    v.set_sensitive(true);
    v
}

/// Follows at most `max_redirects`, never loops, never downgrades to plain HTTP
/// for a host that is not allowed plain HTTP. reqwest itself drops the
/// `Authorization` header when a redirect changes host, port or scheme.
fn redirect_policy(config: &ClientConfig) -> reqwest::redirect::Policy {
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
    fn retry_after_forms() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:05 GMT"),
        );
        assert_eq!(
            retry_after(&h),
            None,
            "a date needs the response Date header"
        );
        h.insert(
            reqwest::header::DATE,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::from_secs(5)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

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
