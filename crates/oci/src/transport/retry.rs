//! The send loop: authentication (with one refresh on 401), bounded retries on 429/5xx and
//! connection failures honouring `Retry-After`, and the request observer.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, RETRY_AFTER, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use tokio::time::Instant;
use url::Url;

use super::{Ctx, Transport};
use crate::auth::{parse_challenge, Challenge};
use crate::credentials::Credential;
use crate::error::OciError;
use crate::observe::RequestOutcome;

impl Transport {
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
        let mut replaced_credential = false;
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
            let (authorization, token_used) =
                match self.authorization(ctx, credential.as_ref(), &key).await {
                    // The token service refused the credential: the provider replaces it
                    // (e.g. an ACR refresh token that expired or was revoked), once.
                    Err(OciError::Unauthorized { .. })
                        if !replaced_credential
                            && credential.as_ref().is_some_and(|c| {
                                self.config.credentials.refused(&ctx.registry, c)
                            }) =>
                    {
                        replaced_credential = true;
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
            let result = match tokio::time::timeout_at(ctx.deadline, req.send()).await {
                Ok(result) => result,
                Err(_) => {
                    self.config.observe(url, RequestOutcome::TransportFailure);
                    return Err(ctx.timeout(ctx.budget));
                }
            };
            self.config.observe(
                url,
                match &result {
                    Ok(r) => RequestOutcome::Status(r.status().as_u16()),
                    Err(_) => RequestOutcome::TransportFailure,
                },
            );
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
                        self.auth.set_challenge(&ctx.registry, &ctx.scope, c);
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

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

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
}
