//! Azure identities: workload identity (a federated service-account token exchanged at
//! Entra ID) and managed identity (IMDS). Each answers one token request; caching,
//! single-flight, retries and background refresh are [`crate::TokenCache`]'s job.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::env::AzureEnv;
use crate::error::AzureError;
use crate::http::{describe, post_form, read_body, retry_after};

/// Largest federated token file read.
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An access token; `Debug` never shows it.
#[derive(Clone)]
pub struct AccessToken {
    secret: String,
    /// When it stops being valid (monotonic clock).
    pub expires_at: Instant,
    /// Its lifetime when it was issued.
    pub lifetime: Duration,
}

impl AccessToken {
    /// A token valid for `lifetime` from now.
    pub fn new(secret: String, lifetime: Duration) -> Self {
        Self {
            secret,
            expires_at: Instant::now() + lifetime,
            lifetime,
        }
    }

    /// The bearer value (send it, never log it).
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("secret", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

/// Something that can get an access token for a scope (`<resource>/.default`).
pub trait TokenCredential: Send + Sync + 'static {
    /// Which identity this is, for messages and cache keys (never secret).
    fn describe(&self) -> String;
    /// Asks the identity endpoint for a token (one attempt).
    fn request_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, AzureError>>;
}

/// Workload identity: `POST {authority}/{tenant}/oauth2/v2.0/token` with the projected
/// service-account token as a JWT client assertion.
#[derive(Clone)]
pub struct WorkloadIdentity {
    http: reqwest::Client,
    authority: String,
    tenant: String,
    client_id: String,
    token_file: PathBuf,
}

impl WorkloadIdentity {
    /// From the environment; `client_id` (a KMP's `clientID` or a store's `clientID`) wins
    /// over `AZURE_CLIENT_ID`, `tenant_id` over `AZURE_TENANT_ID`, as in Ratify.
    pub fn new(
        http: reqwest::Client,
        env: &AzureEnv,
        tenant_id: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<Self, AzureError> {
        let missing = |field: &str, detail: &str| AzureError::Config {
            field: field.to_owned(),
            detail: detail.to_owned(),
        };
        let tenant = tenant_id
            .filter(|t| !t.is_empty())
            .or(env.tenant_id.as_deref())
            .ok_or_else(|| {
                missing(
                    "AZURE_TENANT_ID",
                    "azure tenant id environment variable is empty",
                )
            })?;
        let client_id = client_id
            .filter(|c| !c.is_empty())
            .or(env.client_id.as_deref())
            .ok_or_else(|| {
                missing(
                    "clientID",
                    "no client ID provided and AZURE_CLIENT_ID environment variable is empty",
                )
            })?;
        let token_file = env.federated_token_file.clone().ok_or_else(|| {
            missing(
                "AZURE_FEDERATED_TOKEN_FILE",
                "is not set: label the pod azure.workload.identity/use=\"true\" so that the \
                 workload-identity webhook projects the service-account token",
            )
        })?;
        let authority = env.authority();
        if !authority.starts_with("https://") {
            return Err(missing("AZURE_AUTHORITY_HOST", "must be an https:// URL"));
        }
        Ok(Self {
            http,
            authority,
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            token_file,
        })
    }

    fn endpoint(&self) -> String {
        format!("{}{}/oauth2/v2.0/token", self.authority, self.tenant)
    }

    async fn read_assertion(&self) -> Result<String, AzureError> {
        use tokio::io::AsyncReadExt as _;
        let fail = |source| AzureError::TokenFile {
            path: self.token_file.display().to_string(),
            source,
        };
        let file = tokio::fs::File::open(&self.token_file)
            .await
            .map_err(fail)?;
        let mut text = String::new();
        file.take(MAX_TOKEN_FILE)
            .read_to_string(&mut text)
            .await
            .map_err(fail)?;
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Err(fail(std::io::Error::other("the file is empty")));
        }
        Ok(text)
    }

    async fn request(&self, scope: &str) -> Result<AccessToken, AzureError> {
        let endpoint = self.endpoint();
        let assertion = self.read_assertion().await?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("grant_type", "client_credentials")
            .append_pair("scope", scope)
            .append_pair(
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            )
            .append_pair("client_assertion", &assertion)
            .finish();
        let sent = post_form(&self.http, &endpoint, body).await;
        parse_token_answer(self.describe(), scope, endpoint, sent).await
    }
}

impl TokenCredential for WorkloadIdentity {
    fn describe(&self) -> String {
        format!(
            "workload identity (client ID {}, tenant {})",
            self.client_id, self.tenant
        )
    }

    fn request_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, AzureError>> {
        Box::pin(self.request(scope))
    }
}

/// Managed identity through IMDS: `GET {imds}/metadata/identity/oauth2/token`.
#[derive(Clone)]
pub struct ManagedIdentity {
    http: reqwest::Client,
    endpoint: String,
    client_id: Option<String>,
}

impl ManagedIdentity {
    /// From the environment; `AZURE_CLIENT_ID` wins over `client_id`, as in Ratify's
    /// `azureManagedIdentity` (no client ID: the VM's or node pool's default identity).
    pub fn new(http: reqwest::Client, env: &AzureEnv, client_id: Option<&str>) -> Self {
        let client_id = env
            .client_id
            .clone()
            .or_else(|| client_id.filter(|c| !c.is_empty()).map(str::to_owned));
        Self {
            http,
            endpoint: format!("{}/metadata/identity/oauth2/token", env.imds()),
            client_id,
        }
    }

    async fn request(&self, scope: &str) -> Result<AccessToken, AzureError> {
        let resource = scope.strip_suffix("/.default").unwrap_or(scope);
        let mut url = reqwest::Url::parse(&self.endpoint).map_err(|e| AzureError::Config {
            field: "AZURE_POD_IDENTITY_AUTHORITY_HOST".into(),
            detail: format!("not a URL: {e}"),
        })?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", "2018-02-01");
            q.append_pair("resource", resource);
            if let Some(c) = &self.client_id {
                q.append_pair("client_id", c);
            }
        }
        let sent = self.http.get(url).header("Metadata", "true").send().await;
        parse_token_answer(self.describe(), scope, self.endpoint.clone(), sent).await
    }
}

impl TokenCredential for ManagedIdentity {
    fn describe(&self) -> String {
        match &self.client_id {
            Some(c) => format!("managed identity (client ID {c})"),
            None => "managed identity (default)".to_owned(),
        }
    }

    fn request_token<'a>(
        &'a self,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<AccessToken, AzureError>> {
        Box::pin(self.request(scope))
    }
}

/// A number, or a string holding one (IMDS sends strings).
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Turns an Entra ID / IMDS answer into a token or an error naming identity, endpoint and
/// Azure's answer (`error_description` up to the trace IDs; never the request).
async fn parse_token_answer(
    identity: String,
    scope: &str,
    endpoint: String,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<AccessToken, AzureError> {
    let fail = |status: Option<u16>, codes: Vec<u32>, detail: String, retry: Option<Duration>| {
        AzureError::Identity(Box::new(crate::error::IdentityFailure {
            identity: identity.clone(),
            scope: scope.to_owned(),
            endpoint: endpoint.clone(),
            status,
            aad_codes: codes,
            detail,
            retry_after: retry,
        }))
    };
    let response = sent.map_err(|e| fail(None, vec![], describe(&e), None))?;
    let status = response.status();
    let retry = retry_after(response.headers());
    let body = read_body(response, "token request")
        .await
        .map_err(|e| fail(Some(status.as_u16()), vec![], e.to_string(), retry))?;
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    if !status.is_success() {
        let (codes, detail) = match &json {
            Some(j) => {
                let codes: Vec<u32> = j["error_codes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|c| c.as_u64().map(|c| c as u32))
                            .collect()
                    })
                    .unwrap_or_default();
                let desc = j["error_description"].as_str().unwrap_or_default();
                let desc = desc.split(" Trace ID:").next().unwrap_or(desc);
                let desc: String = desc.chars().take(400).collect();
                let err = j["error"].as_str().unwrap_or("error");
                (codes, format!("HTTP {}: {err}: {desc}", status.as_u16()))
            }
            None => (vec![], format!("HTTP {} (not JSON)", status.as_u16())),
        };
        return Err(fail(Some(status.as_u16()), codes, detail, retry));
    }
    let json = json.ok_or_else(|| {
        fail(
            Some(status.as_u16()),
            vec![],
            "the answer is not JSON".into(),
            None,
        )
    })?;
    let token = json["access_token"]
        .as_str()
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            fail(
                Some(status.as_u16()),
                vec![],
                "the answer has no access_token".into(),
                None,
            )
        })?;
    let lifetime = number(&json["expires_in"]).ok_or_else(|| {
        fail(
            Some(status.as_u16()),
            vec![],
            "the answer has no expires_in".into(),
            None,
        )
    })?;
    Ok(AccessToken::new(
        token.to_owned(),
        Duration::from_secs(lifetime.min(24 * 3600)),
    ))
}
