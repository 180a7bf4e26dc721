//! A small Key Vault REST client: the bearer challenge (first request without a token, scope
//! from the 401, domain check on), GETs of secrets, certificates and keys, version listings
//! (`nextLink` followed on the same vault only, bounded), Azure's error JSON, bounded retries
//! on 429/5xx honouring `Retry-After`.

use std::sync::Mutex;

use serde_json::Value;

use crate::cache::{RetryPolicy, TokenCache};
use crate::error::AzureError;
use crate::http::{describe, read_body, redact_url, retry_after};

/// The REST API version sent (Key Vault 7.x share the shapes used here).
pub const API_VERSION: &str = "7.4";
/// Most `nextLink` pages followed in one listing.
pub const MAX_PAGES: usize = 50;

/// A client for one vault, authenticating with one identity.
pub struct KeyVaultClient {
    http: reqwest::Client,
    vault: reqwest::Url,
    tokens: TokenCache,
    policy: RetryPolicy,
    scope: Mutex<Option<String>>,
}

/// One entry of a `…/versions` listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionItem {
    /// The version (last segment of `id`/`kid`).
    pub version: String,
    /// `attributes.enabled`.
    pub enabled: bool,
    /// `attributes.created` (Unix seconds).
    pub created: i64,
}

impl KeyVaultClient {
    /// A client for `vault_uri` (`https://<name>.vault.azure.net/`, trailing `/` optional).
    pub fn new(
        http: reqwest::Client,
        vault_uri: &str,
        tokens: TokenCache,
        policy: RetryPolicy,
    ) -> Result<Self, AzureError> {
        let trimmed = vault_uri.trim().trim_end_matches('/');
        let vault =
            reqwest::Url::parse(&format!("{trimmed}/")).map_err(|e| AzureError::Config {
                field: "vaultURI".into(),
                detail: format!("{trimmed:?} is not a URL: {e}"),
            })?;
        if vault.scheme() != "https" || vault.host_str().is_none() {
            return Err(AzureError::Config {
                field: "vaultURI".into(),
                detail: format!("{trimmed:?} must be an https:// URL with a host"),
            });
        }
        Ok(Self {
            http,
            vault,
            tokens,
            policy,
            scope: Mutex::new(None),
        })
    }

    /// The vault URI, without the trailing slash.
    pub fn vault(&self) -> String {
        self.vault.as_str().trim_end_matches('/').to_owned()
    }

    /// `GET /secrets/{name}/{version}` (empty version: latest).
    pub async fn get_secret(&self, name: &str, version: &str) -> Result<Value, AzureError> {
        self.get(
            &format!("secrets/{}/{}", seg(name), seg(version)),
            &format!("get secret {name}/{version}"),
        )
        .await
    }

    /// `GET /certificates/{name}/{version}`.
    pub async fn get_certificate(&self, name: &str, version: &str) -> Result<Value, AzureError> {
        self.get(
            &format!("certificates/{}/{}", seg(name), seg(version)),
            &format!("get certificate {name}/{version}"),
        )
        .await
    }

    /// `GET /keys/{name}/{version}`.
    pub async fn get_key(&self, name: &str, version: &str) -> Result<Value, AzureError> {
        self.get(
            &format!("keys/{}/{}", seg(name), seg(version)),
            &format!("get key {name}/{version}"),
        )
        .await
    }

    /// Every version of a certificate (`kind` = `certificates`) or key (`keys`).
    pub async fn list_versions(
        &self,
        kind: &str,
        name: &str,
    ) -> Result<Vec<VersionItem>, AzureError> {
        let operation = format!("list {kind} {name} versions");
        let mut url = self.url(&format!("{kind}/{}/versions", seg(name)))?;
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get_url(url, &operation).await?;
            for item in page["value"].as_array().into_iter().flatten() {
                let id = item["id"]
                    .as_str()
                    .or(item["kid"].as_str())
                    .unwrap_or_default();
                let Some(version) = id.rsplit('/').next().filter(|v| !v.is_empty()) else {
                    continue;
                };
                out.push(VersionItem {
                    version: version.to_owned(),
                    enabled: item["attributes"]["enabled"].as_bool().unwrap_or(true),
                    created: item["attributes"]["created"].as_i64().unwrap_or(0),
                });
            }
            match page["nextLink"].as_str().filter(|l| !l.is_empty()) {
                None => return Ok(out),
                Some(next) => {
                    let next = reqwest::Url::parse(next).map_err(|e| {
                        self.bad_answer(&operation, format!("nextLink is not a URL: {e}"))
                    })?;
                    if next.origin() != self.vault.origin() {
                        return Err(
                            self.bad_answer(&operation, "nextLink points outside the vault".into())
                        );
                    }
                    url = next;
                }
            }
        }
        Err(self.bad_answer(
            &operation,
            format!("more than {MAX_PAGES} pages of versions"),
        ))
    }

    fn bad_answer(&self, operation: &str, detail: String) -> AzureError {
        AzureError::Transport {
            operation: operation.to_owned(),
            url: self.vault(),
            detail,
        }
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, AzureError> {
        let mut url = self.vault.join(path).map_err(|e| AzureError::Config {
            field: "vaultURI".into(),
            detail: format!("cannot form a request URL: {e}"),
        })?;
        url.query_pairs_mut()
            .append_pair("api-version", API_VERSION);
        Ok(url)
    }

    async fn get(&self, path: &str, operation: &str) -> Result<Value, AzureError> {
        let url = self.url(path)?;
        self.get_url(url, operation).await
    }

    async fn get_url(&self, url: reqwest::Url, operation: &str) -> Result<Value, AzureError> {
        self.policy
            .run(|| self.attempt(url.clone(), operation))
            .await
    }

    /// One GET, handling the bearer challenge (at most one token retry per attempt).
    async fn attempt(&self, url: reqwest::Url, operation: &str) -> Result<Value, AzureError> {
        let mut challenged = false;
        loop {
            let scope = self.scope.lock().ok().and_then(|s| s.clone());
            let mut req = self
                .http
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/json");
            if let Some(scope) = &scope {
                let token = self.tokens.token(scope).await?;
                req = req.bearer_auth(token.secret());
            }
            let response = req.send().await.map_err(|e| AzureError::Transport {
                operation: operation.to_owned(),
                url: redact_url(&url),
                detail: describe(&e),
            })?;
            let status = response.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && !challenged {
                if let Some(c) = response
                    .headers()
                    .get(reqwest::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                {
                    let new_scope = self.scope_from_challenge(c)?;
                    if let Some(old) = &scope {
                        self.tokens.invalidate(old);
                    }
                    if let Ok(mut s) = self.scope.lock() {
                        *s = Some(new_scope);
                    }
                    challenged = true;
                    continue;
                }
            }
            let retry = retry_after(response.headers());
            let body = read_body(response, operation).await?;
            if status.is_success() {
                return serde_json::from_slice(&body).map_err(|e| {
                    self.bad_answer(operation, format!("the answer is not JSON: {e}"))
                });
            }
            if status == reqwest::StatusCode::UNAUTHORIZED {
                if let Some(s) = &scope {
                    self.tokens.invalidate(s);
                }
            }
            let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let e = &json["error"];
            return Err(AzureError::Vault(Box::new(crate::error::VaultFailure {
                vault: self.vault(),
                operation: operation.to_owned(),
                status: status.as_u16(),
                code: e["code"].as_str().unwrap_or("Unknown").to_owned(),
                inner: e["innererror"]["code"].as_str().map(str::to_owned),
                message: e["message"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(400)
                    .collect(),
                retry_after: retry,
            })));
        }
    }

    /// The scope a challenge asks for, after checking that its resource is this vault's
    /// domain (the vault host must end with `.` + the resource host).
    fn scope_from_challenge(&self, header: &str) -> Result<String, AzureError> {
        let fail = |detail: String| AzureError::Challenge {
            vault: self.vault(),
            detail,
        };
        let params = challenge_params(header).ok_or_else(|| {
            fail(format!(
                "the 401 challenge is not a Bearer challenge: {:.100}",
                header
            ))
        })?;
        let scope = match (
            params.iter().find(|(k, _)| k == "scope"),
            params.iter().find(|(k, _)| k == "resource"),
        ) {
            (Some((_, s)), _) => s.clone(),
            (None, Some((_, r))) => format!("{}/.default", r.trim_end_matches('/')),
            (None, None) => {
                return Err(fail("the 401 challenge names no resource or scope".into()))
            }
        };
        let resource = scope.strip_suffix("/.default").unwrap_or(&scope);
        let resource_host = reqwest::Url::parse(resource)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .ok_or_else(|| fail(format!("challenge resource {resource:?} is not a URL")))?;
        let vault_host = self.vault.host_str().unwrap_or_default();
        if !vault_host.ends_with(&format!(".{resource_host}")) {
            return Err(fail(format!(
                "challenge resource {resource:?} doesn't match the requested domain {vault_host:?}"
            )));
        }
        Ok(scope)
    }
}

/// Percent-encodes one path segment.
fn seg(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// `Bearer k="v", k2="v2"` → pairs (lower-case keys), bounded.
fn challenge_params(header: &str) -> Option<Vec<(String, String)>> {
    let rest = header.trim();
    let (scheme, rest) = rest.split_once(char::is_whitespace)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut out = Vec::new();
    for part in rest.split(',').take(16) {
        if let Some((k, v)) = part.split_once('=') {
            out.push((
                k.trim().to_ascii_lowercase(),
                v.trim().trim_matches('"').to_owned(),
            ));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_parsing() {
        let p = challenge_params(r#"Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net""#).unwrap();
        assert_eq!(p[1], ("resource".into(), "https://vault.azure.net".into()));
        assert!(challenge_params("Basic realm=x").is_none());
        assert_eq!(seg("a b/c"), "a%20b%2Fc");
    }
}
