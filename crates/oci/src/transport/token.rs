//! The Docker token flow: which `Authorization` header a request carries, the token
//! exchange (GET with Basic credentials, or the OAuth2 refresh-token POST), shared by
//! concurrent requests through the auth state's gates.

use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use url::Url;

use super::body::read_capped;
use super::{describe_reqwest, Ctx, Transport, SMALL_BODY};
use crate::auth::{Challenge, Token, TokenKey, TokenResponse};
use crate::credentials::Credential;
use crate::error::OciError;
use crate::observe::RequestOutcome;

impl Transport {
    pub(super) fn token_key(&self, ctx: &Ctx, credential: Option<&Credential>) -> TokenKey {
        TokenKey {
            host: ctx.registry.clone(),
            scope: ctx.scope.clone(),
            credential: credential.map_or_else(|| "anonymous".to_owned(), Credential::fingerprint),
        }
    }

    /// The `Authorization` header for the next request (and the cached token it
    /// carries, if any), fetching a token if the host is known to use bearer auth
    /// and none is cached. Concurrent callers share one token exchange.
    pub(super) async fn authorization(
        &self,
        ctx: &Ctx,
        credential: Option<&Credential>,
        key: &TokenKey,
    ) -> Result<(Option<HeaderValue>, Option<Token>), OciError> {
        if let Some(Credential::Bearer(t)) = credential {
            return Ok((Some(secret_header(&format!("Bearer {t}"))), None));
        }
        let (challenge, hinted) = match self.auth.challenge(&ctx.registry, &ctx.scope) {
            Some(c) => (Some(c), false),
            None => (self.auth.host_hint(&ctx.registry), true),
        };
        match challenge {
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
                                let (t, lifetime) = match fetched {
                                    Ok(fetched) => fetched,
                                    // A refused credential is the caller's to replace.
                                    Err(e @ OciError::Unauthorized { .. })
                                        if hinted && credential.is_some() =>
                                    {
                                        return Err(e)
                                    }
                                    // The host's hint does not hold for this repository
                                    // (anonymous, or another realm): ask without a token and
                                    // let the repository's own challenge decide.
                                    Err(_) if hinted => return Ok((None, None)),
                                    Err(e) => {
                                        // Ask without a token next time: the realm may be
                                        // broken for this repository only, or the repository
                                        // may have become anonymous.
                                        self.auth.forget_challenge(&ctx.registry, &ctx.scope);
                                        return Err(e);
                                    }
                                };
                                self.auth.store(key.clone(), t.clone(), lifetime);
                                let bearer = Challenge::Bearer {
                                    realm: realm.clone(),
                                    service: service.clone(),
                                };
                                if hinted {
                                    self.auth.set_challenge(
                                        &ctx.registry,
                                        &ctx.scope,
                                        bearer.clone(),
                                    );
                                }
                                self.auth.set_host_hint(&ctx.registry, bearer);
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
        let sent = tokio::time::timeout_at(ctx.deadline, req.send()).await;
        self.config.observe_host(
            &host_port,
            match &sent {
                Ok(Ok(r)) => RequestOutcome::Status(r.status().as_u16()),
                _ => RequestOutcome::TransportFailure,
            },
        );
        let response = sent
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
