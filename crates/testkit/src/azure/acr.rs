//! The ACR token service (`POST /oauth2/exchange`, `GET|POST /oauth2/token`) and `/v2/`
//! proxied to a real Debian `docker-registry` with token auth, all on one HTTPS host
//! (`127.0.0.1:<port>`), as ACR serves them.
//!
//! Differences from ACR: the registry's `service` is testkit's fixed
//! [`crate::token::SERVICE`] (ACR uses the login server name); `/oauth2/exchange` checks
//! `service` against the host as ACR does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_oci::{ClientConfig, Credential, Reference, RegistryClient, StaticCredentials};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::aad::TokenBook;
use super::server::{AsyncHandler, TlsServer};
use super::{form, get, json_reply, jwt, now_s, TestCa, ACR_NULL_USER, ACR_RESOURCE};
use crate::http::{Reply, Request};
use crate::pki::Pki;
use crate::push::Pusher;
use crate::registry::Registry;
use crate::sign::{sign_subject, SignImageOptions};
use crate::token::{TokenIssuer, TokenSigner};

/// Largest proxied registry response.
const MAX_PROXY_BYTES: usize = 64 << 20;

#[derive(Default)]
struct Counters {
    exchanges: AtomicUsize,
    tokens: AtomicUsize,
    registry: AtomicUsize,
    refused: AtomicUsize,
}

struct AcrState {
    tenant: String,
    book: Arc<TokenBook>,
    issuer: Mutex<Option<TokenSigner>>,
    front_port: AtomicU16,
    registry_port: AtomicU16,
    refresh: Mutex<HashMap<String, i64>>,
    refresh_lifetime_s: AtomicI64,
    access_lifetime_s: AtomicI64,
    counters: Counters,
}

/// An emulated ACR login server at `https://127.0.0.1:<port>`.
pub struct Acr {
    /// The HTTPS front (token service + registry proxy).
    pub server: TlsServer,
    /// The real registry behind it (plain HTTP, token auth).
    pub registry: Registry,
    issuer: TokenSigner,
    state: Arc<AcrState>,
}

impl Acr {
    /// Starts the registry and the front; AAD tokens must come from `book` for `tenant`.
    pub fn start(ca: &TestCa, tenant: &str, book: Arc<TokenBook>) -> Self {
        let state = Arc::new(AcrState {
            tenant: tenant.to_owned(),
            book,
            issuer: Mutex::new(None),
            front_port: AtomicU16::new(0),
            registry_port: AtomicU16::new(0),
            refresh: Mutex::new(HashMap::new()),
            refresh_lifetime_s: AtomicI64::new(3 * 3600),
            access_lifetime_s: AtomicI64::new(75 * 60),
            counters: Counters::default(),
        });
        let s = state.clone();
        let handler: AsyncHandler = Arc::new(move |req: Request| {
            let s = s.clone();
            Box::pin(async move { handle(&s, req).await })
        });
        let server = TlsServer::start(Some(ca.server_config()), handler);
        state.front_port.store(server.port, Ordering::SeqCst);
        let issuer = TokenIssuer::start("unused", "unused");
        let realm = format!("https://127.0.0.1:{}/oauth2/token", server.port);
        // The registry owns an issuer; the front signs with a second handle to the same key.
        let registry = Registry::start_token_realm(issuer, &realm);
        let issuer = registry
            .token_issuer()
            .expect("a token registry has an issuer")
            .signer();
        *state.issuer.lock().unwrap() = Some(issuer.clone());
        state.registry_port.store(registry.port, Ordering::SeqCst);
        Self {
            server,
            registry,
            issuer,
            state,
        }
    }

    /// `127.0.0.1:<port>`, the login server as written in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }

    /// A pull+push registry token for `repo` (for pushing test images).
    pub fn push_token(&self, repo: &str) -> String {
        let access = json!([{"type": "repository", "name": repo, "actions": ["pull", "push"]}]);
        self.issuer.token("uploader", access, 600)
    }

    /// A pusher for `repo` straight into the registry behind the front (with a push token).
    pub fn pusher(&self, repo: &str) -> Pusher {
        let host = self.registry.host();
        let creds =
            StaticCredentials::default().with(&host, Credential::Bearer(self.push_token(repo)));
        let client = RegistryClient::new(ClientConfig {
            credentials: Arc::new(creds),
            ..ClientConfig::default()
        })
        .unwrap();
        Pusher::with_client(client, &host, repo)
    }

    /// Pushes a small image `repo:v1` into the registry behind the front, signed (JWS) with
    /// `sign_with` if given; returns its digest reference through the front
    /// (`127.0.0.1:<port>/repo@sha256:…`).
    pub async fn push_image(&self, repo: &str, sign_with: Option<&Pki>) -> String {
        let pusher = self.pusher(repo);
        let subject = pusher.image("v1").await;
        if let Some(pki) = sign_with {
            // Signed through the registry itself; verified through the ACR front.
            let reference = Reference::parse(&format!(
                "{}/{repo}@{}",
                self.registry.host(),
                subject.digest
            ))
            .unwrap();
            let options = SignImageOptions::new(EnvelopeFormat::Jws);
            sign_subject(&pusher, reference, &subject, pki, &options).await;
        }
        format!("{}/{repo}@{}", self.host(), subject.digest)
    }

    /// Lifetime of the ACR refresh tokens issued from now on (default 3 h).
    pub fn set_refresh_lifetime(&self, seconds: i64) {
        self.state
            .refresh_lifetime_s
            .store(seconds, Ordering::SeqCst);
    }

    /// Lifetime of the registry access tokens issued from now on (default 75 min).
    pub fn set_access_lifetime(&self, seconds: i64) {
        self.state
            .access_lifetime_s
            .store(seconds, Ordering::SeqCst);
    }

    /// Revokes every refresh token issued so far.
    pub fn revoke_refresh_tokens(&self) {
        self.state.refresh.lock().unwrap().clear();
    }

    /// `/oauth2/exchange` calls served.
    pub fn exchanges(&self) -> usize {
        self.state.counters.exchanges.load(Ordering::SeqCst)
    }

    /// `/oauth2/token` calls served.
    pub fn token_requests(&self) -> usize {
        self.state.counters.tokens.load(Ordering::SeqCst)
    }

    /// `/v2/…` requests proxied.
    pub fn registry_requests(&self) -> usize {
        self.state.counters.registry.load(Ordering::SeqCst)
    }

    /// Token or exchange requests refused (401).
    pub fn refused(&self) -> usize {
        self.state.counters.refused.load(Ordering::SeqCst)
    }
}

fn acr_error(status: u16, code: &str, message: &str) -> Reply {
    json_reply(
        status,
        &json!({"errors": [{"code": code, "message": message}]}),
    )
}

async fn handle(s: &AcrState, req: Request) -> Reply {
    match req.path() {
        "/oauth2/exchange" => exchange(s, &req),
        "/oauth2/token" => token(s, &req),
        p if p == "/v2" || p.starts_with("/v2/") => {
            s.counters.registry.fetch_add(1, Ordering::SeqCst);
            proxy(s, &req)
                .await
                .unwrap_or_else(|e| acr_error(502, "BAD_GATEWAY", &e.to_string()))
        }
        _ => acr_error(404, "NOT_FOUND", "not found"),
    }
}

fn exchange(s: &AcrState, req: &Request) -> Reply {
    s.counters.exchanges.fetch_add(1, Ordering::SeqCst);
    if req.method != "POST" {
        return acr_error(405, "UNSUPPORTED", "POST only");
    }
    let f = form(&req.body);
    let host = format!("127.0.0.1:{}", s.front_port.load(Ordering::SeqCst));
    if get(&f, "grant_type") != Some("access_token") {
        return acr_error(
            400,
            "UNSUPPORTED_GRANT_TYPE",
            "grant_type must be access_token",
        );
    }
    if get(&f, "service") != Some(host.as_str()) {
        return acr_error(
            400,
            "INVALID_SERVICE",
            "service does not name this registry",
        );
    }
    let Some(aad) = get(&f, "access_token") else {
        return acr_error(400, "MISSING_ACCESS_TOKEN", "access_token is required");
    };
    match s.book.check(aad, ACR_RESOURCE) {
        Ok(i) if i.tenant == s.tenant && get(&f, "tenant").is_none_or(|t| t == s.tenant) => {}
        Ok(_) => {
            s.counters.refused.fetch_add(1, Ordering::SeqCst);
            return acr_error(
                401,
                "UNAUTHORIZED",
                "the access token's tenant is not this registry's tenant",
            );
        }
        Err(why) => {
            s.counters.refused.fetch_add(1, Ordering::SeqCst);
            return acr_error(
                401,
                "UNAUTHORIZED",
                &format!("invalid AAD access token: {why}"),
            );
        }
    }
    let now = now_s();
    let exp = now + s.refresh_lifetime_s.load(Ordering::SeqCst);
    let rt = jwt(&json!({
        "jti": now_s().to_string(), "sub": "emulated-identity", "nbf": now, "iat": now,
        "exp": exp, "iss": "Azure Container Registry", "aud": host,
        "version": "1.0", "grant_type": "refresh_token", "tenant": s.tenant,
    }));
    s.refresh.lock().unwrap().insert(rt.clone(), exp);
    json_reply(200, &json!({ "refresh_token": rt }))
}

fn token(s: &AcrState, req: &Request) -> Reply {
    s.counters.tokens.fetch_add(1, Ordering::SeqCst);
    let (params, refresh) = match req.method.as_str() {
        "GET" => {
            let q = form(req.query().as_bytes());
            let rt = req
                .header("authorization")
                .and_then(|a| a.strip_prefix("Basic "))
                .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|up| {
                    let (u, p) = up.split_once(':')?;
                    (u == ACR_NULL_USER).then(|| p.to_owned())
                });
            (q, rt)
        }
        "POST" => {
            let f = form(&req.body);
            let rt = (get(&f, "grant_type") == Some("refresh_token"))
                .then(|| get(&f, "refresh_token").map(str::to_owned))
                .flatten();
            (f, rt)
        }
        _ => return acr_error(405, "UNSUPPORTED", "GET or POST"),
    };
    let valid = refresh.as_deref().is_some_and(|rt| {
        s.refresh
            .lock()
            .unwrap()
            .get(rt)
            .is_some_and(|exp| *exp > now_s())
    });
    if !valid {
        s.counters.refused.fetch_add(1, Ordering::SeqCst);
        return acr_error(
            401,
            "UNAUTHORIZED",
            "authentication required, visit https://aka.ms/acr/authorization for more information.",
        );
    }
    let access: Vec<Value> = get(&params, "scope")
        .unwrap_or_default()
        .split(' ')
        .filter_map(|sc| {
            let mut p = sc.splitn(3, ':');
            let (kind, name, actions) = (p.next()?, p.next()?, p.next()?);
            Some(json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let Some(issuer) = s.issuer.lock().unwrap().clone() else {
        return acr_error(503, "STARTING", "registry not ready");
    };
    let lifetime = s.access_lifetime_s.load(Ordering::SeqCst);
    let at = issuer.token("emulated-identity", Value::Array(access), lifetime);
    json_reply(200, &json!({ "access_token": at }))
}

/// Forwards one request to the registry (HTTP/1.0, so the answer ends at EOF without
/// chunking) and relays its answer.
async fn proxy(s: &AcrState, req: &Request) -> std::io::Result<Reply> {
    let port = s.registry_port.load(Ordering::SeqCst);
    let mut up = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let mut head = format!(
        "{} {} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n",
        req.method, req.target
    );
    for (k, v) in &req.headers {
        if matches!(k.as_str(), "host" | "connection" | "content-length") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", req.body.len()));
    up.write_all(head.as_bytes()).await?;
    up.write_all(&req.body).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut buf = [0u8; 16384];
        loop {
            let n = up.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            if raw.len() + n > MAX_PROXY_BYTES {
                // Relaying a cut answer under its original Content-Length would look like a
                // network fault to the client; this fails the request (the caller answers 502).
                return Err(std::io::Error::other(
                    "registry answer over the proxy's cap",
                ));
            }
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .map_err(|_| std::io::Error::other("registry timed out"))??;
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("registry answer has no head"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_string();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other("registry answer has no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .filter(|(k, _)| !k.eq_ignore_ascii_case("connection"))
        .collect();
    Ok(Reply::Full {
        status,
        headers,
        body: raw[end + 4..].to_vec(),
    })
}
