//! ACR access with an Azure identity (store auth providers `azureWorkloadIdentity` and
//! `azureManagedIdentity`): AAD token for `https://containerregistry.azure.net/.default` →
//! `POST https://<registry>/oauth2/exchange` → ACR refresh token, handed to the registry
//! client as Basic `00000000-0000-0000-0000-000000000000:<refresh token>` (the client then
//! gets per-repository access tokens at `/oauth2/token`, caching them until expiry).
//!
//! The refresh token is cached per registry until its `exp` (3 h when unreadable) minus a
//! margin, re-exchanged ahead of that in the background, and re-exchanged at once when the
//! token service refuses it (expired or revoked), so a long-running server never ends in
//! Ratify's "401 after ~3 hours until restart".

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use imagegate_oci::{Credential, CredentialProvider};
use tokio::time::Instant;

use crate::cache::{RetryPolicy, TokenCache};
use crate::env::AzureEnv;
use crate::error::AzureError;
use crate::http::{describe, post_form, read_body, HttpSettings};
use crate::identity::{ManagedIdentity, TokenCredential, WorkloadIdentity};
use crate::Clock;

/// The AAD scope of ACR.
pub const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";
/// The hosts Ratify allows by default.
pub const DEFAULT_ACR_ENDPOINTS: [&str; 3] = ["*.azurecr.io", "*.azurecr.us", "*.azurecr.cn"];
/// The username ACR expects with a refresh token.
pub const ACR_USERNAME: &str = "00000000-0000-0000-0000-000000000000";
/// The refresh-token lifetime assumed when its `exp` cannot be read.
pub const DEFAULT_REFRESH_LIFETIME: Duration = Duration::from_secs(3 * 3600);

/// Registry hosts an ACR auth provider may be used for: exact names, or `*.zone` matching
/// hosts whose first label removed equals `zone` (`a.b.azurecr.io` does not match
/// `*.azurecr.io`, as in Ratify).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAllowList(Vec<String>);

impl HostAllowList {
    /// From a store's `endpoints` (None or empty: [`DEFAULT_ACR_ENDPOINTS`]).
    pub fn new(endpoints: Option<&[String]>) -> Result<Self, AzureError> {
        let list: Vec<String> = match endpoints.filter(|e| !e.is_empty()) {
            None => DEFAULT_ACR_ENDPOINTS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            Some(e) => e.iter().map(|s| s.trim().to_ascii_lowercase()).collect(),
        };
        for e in &list {
            let stars = e.matches('*').count();
            if e.is_empty() || stars > 1 || (stars == 1 && !e.starts_with("*.")) {
                return Err(AzureError::Config {
                    field: "endpoints".into(),
                    detail: format!("{e:?}: a wildcard is allowed only as a single leading \"*.\""),
                });
            }
        }
        Ok(Self(list))
    }

    /// Whether `host` (`name[:port]`) is allowed.
    pub fn allows(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.0.iter().any(|e| match e.strip_prefix("*.") {
            Some(zone) => host.split_once('.').is_some_and(|(_, rest)| rest == zone),
            None => *e == host,
        })
    }
}

impl std::fmt::Display for HostAllowList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join(", "))
    }
}

#[derive(Clone)]
struct Entry {
    refresh_token: String,
    refresh_at: Instant,
    expires_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    tokens: TokenCache,
    tenant: String,
    allow: HostAllowList,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<String, Entry>>,
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    refreshing: Mutex<HashMap<String, Arc<AtomicBool>>>,
    exchanges: AtomicU64,
}

/// The Azure identity ACR credentials come from: Ratify's two auth providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcrIdentity {
    /// `azureWorkloadIdentity`: the store's `clientID`, else `AZURE_CLIENT_ID`.
    Workload,
    /// `azureManagedIdentity`: `AZURE_CLIENT_ID` wins over the store's `clientID`.
    Managed,
}

/// ACR credentials from an Azure identity, per registry host.
#[derive(Clone)]
pub struct AcrCredentials {
    inner: Arc<Inner>,
}

impl AcrCredentials {
    /// Over `identity` with the store's `client_id`, for `endpoints` (default: ACR's public
    /// domains); `AZURE_TENANT_ID` is required.
    pub fn from_identity(
        identity: AcrIdentity,
        env: &AzureEnv,
        http: &HttpSettings,
        client_id: Option<&str>,
        endpoints: Option<&[String]>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AzureError> {
        let client = http.client()?;
        let tenant = tenant(env)?;
        let id: Arc<dyn TokenCredential> = match identity {
            AcrIdentity::Workload => Arc::new(WorkloadIdentity::new(
                client.clone(),
                env,
                Some(&tenant),
                client_id,
            )?),
            AcrIdentity::Managed => Arc::new(ManagedIdentity::new(client.clone(), env, client_id)),
        };
        Self::new(client, id, tenant, endpoints, clock)
    }

    /// Over any identity.
    pub fn new(
        http: reqwest::Client,
        identity: Arc<dyn TokenCredential>,
        tenant: String,
        endpoints: Option<&[String]>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AzureError> {
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                tokens: TokenCache::new(identity, RetryPolicy::default()),
                tenant,
                allow: HostAllowList::new(endpoints)?,
                clock,
                entries: Mutex::new(HashMap::new()),
                gates: Mutex::new(HashMap::new()),
                refreshing: Mutex::new(HashMap::new()),
                exchanges: AtomicU64::new(0),
            }),
        })
    }

    /// Gets an AAD token now (Ratify fetches one when the store is created, so a missing
    /// federation fails at startup with a clear error rather than on the first image).
    pub async fn check_identity(&self) -> Result<(), AzureError> {
        self.inner.tokens.token(ACR_SCOPE).await.map(|_| ())
    }

    /// `/oauth2/exchange` calls made so far.
    pub fn exchanges(&self) -> u64 {
        self.inner.exchanges.load(Ordering::Relaxed)
    }

    /// AAD token requests made so far.
    pub fn aad_fetches(&self) -> u64 {
        self.inner.tokens.fetches()
    }

    /// A refresh token for `host`: cached, or exchanged now (one exchange per host at a
    /// time). Past its refresh point a still-valid one is returned while a background task
    /// exchanges a new one.
    pub async fn refresh_token(&self, host: &str) -> Result<String, AzureError> {
        let host = host.to_ascii_lowercase();
        if !self.inner.allow.allows(&host) {
            return Err(AzureError::HostNotAllowed {
                host,
                allowed: self.inner.allow.to_string(),
            });
        }
        let now = Instant::now();
        if let Some(e) = self.cached(&host).filter(|e| e.expires_at > now) {
            if now >= e.refresh_at {
                self.spawn_refresh(&host);
            }
            return Ok(e.refresh_token);
        }
        let gate = self.gate(&host);
        let _turn = gate.lock().await;
        if let Some(e) = self.cached(&host).filter(|e| e.expires_at > Instant::now()) {
            return Ok(e.refresh_token);
        }
        let e = exchange(&self.inner, &host).await?;
        let rt = e.refresh_token.clone();
        if let Ok(mut m) = self.inner.entries.lock() {
            m.insert(host, e);
        }
        Ok(rt)
    }

    /// Drops `host`'s refresh token if it is `used` (a newer one is kept).
    pub fn forget(&self, host: &str, used: &str) {
        if let Ok(mut m) = self.inner.entries.lock() {
            let host = host.to_ascii_lowercase();
            if m.get(&host).is_some_and(|e| e.refresh_token == used) {
                m.remove(&host);
            }
        }
    }

    fn cached(&self, host: &str) -> Option<Entry> {
        self.inner.entries.lock().ok()?.get(host).cloned()
    }

    fn gate(&self, host: &str) -> Arc<tokio::sync::Mutex<()>> {
        match self.inner.gates.lock() {
            Ok(mut g) => g.entry(host.to_owned()).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    fn spawn_refresh(&self, host: &str) {
        let flag = match self.inner.refreshing.lock() {
            Ok(mut m) => m.entry(host.to_owned()).or_default().clone(),
            Err(_) => return,
        };
        if flag.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let host = host.to_owned();
        tokio::spawn(async move {
            if let Some(inner) = weak.upgrade() {
                let this = AcrCredentials { inner };
                let gate = this.gate(&host);
                let _turn = gate.lock().await;
                match exchange(&this.inner, &host).await {
                    Ok(e) => {
                        if let Ok(mut m) = this.inner.entries.lock() {
                            m.insert(host.clone(), e);
                        }
                        tracing::debug!(registry = %host, "ACR refresh token renewed ahead of expiry");
                    }
                    Err(e) => {
                        tracing::warn!(registry = %host, error = %e, "ACR refresh token renewal failed; the current one stays in use")
                    }
                }
            }
            flag.store(false, Ordering::Release);
        });
    }
}

fn tenant(env: &AzureEnv) -> Result<String, AzureError> {
    env.tenant_id.clone().ok_or_else(|| AzureError::Config {
        field: "AZURE_TENANT_ID".into(),
        detail: "azure tenant id environment variable is empty".into(),
    })
}

/// The `exp` of a JWT-shaped token, if readable.
fn jwt_exp(token: &str) -> Option<i64> {
    let claims = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok()?["exp"].as_i64()
}

async fn exchange(inner: &Inner, host: &str) -> Result<Entry, AzureError> {
    let fail = |status: Option<u16>, detail: String| AzureError::Acr {
        host: host.to_owned(),
        operation: "exchange".into(),
        status,
        detail,
    };
    let once = || async {
        let aad = inner.tokens.token(ACR_SCOPE).await?;
        inner.exchanges.fetch_add(1, Ordering::Relaxed);
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "access_token")
            .append_pair("service", host)
            .append_pair("tenant", &inner.tenant)
            .append_pair("access_token", aad.secret())
            .finish();
        let url = format!("https://{host}/oauth2/exchange?api-version=2021-07-01");
        let response = post_form(&inner.http, &url, body)
            .await
            .map_err(|e| fail(None, describe(&e)))?;
        let status = response.status();
        let bytes = read_body(response, "ACR exchange").await?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if !status.is_success() {
            if status == reqwest::StatusCode::UNAUTHORIZED {
                // The AAD token may have been revoked: the next attempt gets a fresh one.
                inner.tokens.invalidate(ACR_SCOPE);
            }
            let detail = json["errors"]
                .as_array()
                .and_then(|a| a.first())
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["code"].as_str().unwrap_or("?"),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .unwrap_or_else(|| "no error details".into());
            let detail: String = detail.chars().take(300).collect();
            return Err(fail(
                Some(status.as_u16()),
                format!("HTTP {}: {detail}", status.as_u16()),
            ));
        }
        let rt = json["refresh_token"]
            .as_str()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                fail(
                    Some(status.as_u16()),
                    "the answer has no refresh_token".into(),
                )
            })?
            .to_owned();
        Ok::<_, AzureError>(rt)
    };
    let policy = RetryPolicy::default();
    let rt = match policy.run(once).await {
        // ACR refused the AAD token (revoked, or expired early): once more with a fresh one.
        Err(AzureError::Acr {
            status: Some(401), ..
        }) => policy.run(once).await?,
        other => other?,
    };
    let now_unix = inner.clock.now().unix_timestamp();
    let lifetime = jwt_exp(&rt)
        .map(|exp| Duration::from_secs(exp.saturating_sub(now_unix).max(0) as u64))
        .unwrap_or(DEFAULT_REFRESH_LIFETIME)
        .min(DEFAULT_REFRESH_LIFETIME * 8);
    let margin = Duration::from_secs(5 * 60).min(lifetime / 4);
    let now = Instant::now();
    Ok(Entry {
        refresh_token: rt,
        refresh_at: now + lifetime - margin,
        expires_at: now + lifetime - margin / 4,
    })
}

impl CredentialProvider for AcrCredentials {
    fn credentials(&self, registry: &str) -> Option<Credential> {
        let host = registry.to_ascii_lowercase();
        let e = self
            .cached(&host)
            .filter(|e| e.expires_at > Instant::now())?;
        Some(Credential::Basic {
            username: ACR_USERNAME.to_owned(),
            password: e.refresh_token,
        })
    }

    fn prepare<'a>(
        &'a self,
        registry: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            if !self.inner.allow.allows(registry) {
                return;
            }
            if let Err(e) = self.refresh_token(registry).await {
                // As Ratify: the request goes on anonymously, the reason is logged.
                tracing::warn!(registry, error = %e, "no ACR credentials; continuing anonymously");
            }
        })
    }

    fn refused(&self, registry: &str, credential: &Credential) -> bool {
        match credential {
            Credential::Basic { username, password } if username == ACR_USERNAME => {
                tracing::info!(
                    registry,
                    "ACR refused the refresh token (expired or revoked); exchanging a new one"
                );
                self.forget(registry, password);
                true
            }
            _ => false,
        }
    }
}

/// ACR credentials for allowed hosts, `fallback` (docker config, pull secrets) for the rest
/// and when the exchange fails.
pub struct WithFallback {
    /// The ACR provider.
    pub acr: AcrCredentials,
    /// Everything else.
    pub fallback: Arc<dyn CredentialProvider>,
}

impl CredentialProvider for WithFallback {
    fn credentials(&self, registry: &str) -> Option<Credential> {
        self.acr
            .credentials(registry)
            .or_else(|| self.fallback.credentials(registry))
    }

    fn prepare<'a>(
        &'a self,
        registry: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            self.acr.prepare(registry).await;
            self.fallback.prepare(registry).await;
        })
    }

    fn refused(&self, registry: &str, credential: &Credential) -> bool {
        let acr = self.acr.refused(registry, credential);
        self.fallback.refused(registry, credential) || acr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_matches_like_ratify() {
        let d = HostAllowList::new(None).unwrap();
        assert!(d.allows("myacr.azurecr.io"));
        assert!(d.allows("MyAcr.AzureCR.us"));
        assert!(!d.allows("a.b.azurecr.io"));
        assert!(!d.allows("azurecr.io"));
        assert!(!d.allows("evil.com"));
        let e = HostAllowList::new(Some(&["127.0.0.1:5000".to_owned(), "*.example".to_owned()]))
            .unwrap();
        assert!(e.allows("127.0.0.1:5000"));
        assert!(!e.allows("127.0.0.1:5001"));
        assert!(e.allows("r.example"));
        assert!(HostAllowList::new(Some(&["a.*.io".to_owned()])).is_err());
        assert!(HostAllowList::new(Some(&["*.*.io".to_owned()])).is_err());
    }

    #[test]
    fn exp_is_read_from_jwt_shaped_tokens() {
        let claims =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"exp":1700000000}"#);
        assert_eq!(jwt_exp(&format!("h.{claims}.s")), Some(1_700_000_000));
        assert_eq!(jwt_exp("opaque"), None);
    }
}
