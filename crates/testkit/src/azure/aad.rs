//! Entra ID (AAD) v2 token endpoint and the IMDS managed-identity endpoint.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::json;

use super::server::{AsyncHandler, TlsServer};
use super::{form, get, json_reply, jwt, jwt_claims, now_s, TestCa, FEDERATED_AUDIENCE};
use crate::http::{MockServer, Reply, Request};

/// One access token the emulated AAD issued.
#[derive(Clone, Debug)]
pub struct Issued {
    /// The resource (`aud`), e.g. `https://vault.azure.net`.
    pub resource: String,
    /// The tenant (`tid`).
    pub tenant: String,
    /// The client (application) ID.
    pub client_id: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
}

/// Every token issued, shared by the services that check bearer tokens.
#[derive(Default)]
pub struct TokenBook {
    issued: Mutex<HashMap<String, Issued>>,
}

impl TokenBook {
    /// Records a new token for `resource` valid for `lifetime_s` and returns it.
    pub fn issue(&self, resource: &str, tenant: &str, client_id: &str, lifetime_s: i64) -> String {
        let now = now_s();
        let exp = now + lifetime_s;
        let token = jwt(&json!({
            "aud": resource, "iss": format!("https://sts.windows.net/{tenant}/"),
            "tid": tenant, "appid": client_id, "oid": client_id,
            "iat": now, "nbf": now, "exp": exp,
        }));
        let issued = Issued {
            resource: resource.to_owned(),
            tenant: tenant.to_owned(),
            client_id: client_id.to_owned(),
            exp,
        };
        self.issued.lock().unwrap().insert(token.clone(), issued);
        token
    }

    /// The record of `token` if it was issued, is unexpired and is for `resource`; otherwise
    /// why not.
    pub fn check(&self, token: &str, resource: &str) -> Result<Issued, String> {
        let map = self.issued.lock().unwrap();
        let Some(i) = map.get(token) else {
            return Err("the token was not issued by this authority".into());
        };
        if i.exp <= now_s() {
            return Err("the token is expired".into());
        }
        if i.resource != resource {
            return Err(format!(
                "the token's audience {} is not {resource}",
                i.resource
            ));
        }
        Ok(i.clone())
    }

    /// Forgets every token (as if the signing keys rolled): they all fail [`TokenBook::check`].
    pub fn revoke_all(&self) {
        self.issued.lock().unwrap().clear();
    }
}

/// An app registration's federated credential: which `iss`/`sub` it accepts.
#[derive(Clone, Debug)]
pub struct FederatedIdentity {
    /// The application (client) ID.
    pub client_id: String,
    /// The OIDC issuer of the cluster.
    pub issuer: String,
    /// `system:serviceaccount:<ns>:<name>`.
    pub subject: String,
}

/// A failure the next token request gets instead of a token.
#[derive(Clone, Debug)]
pub struct AadFailure {
    /// HTTP status.
    pub status: u16,
    /// OAuth2 `error` (`invalid_client`, `temporarily_unavailable`, …).
    pub error: String,
    /// The AADSTS number.
    pub code: u32,
    /// The text after `AADSTS<code>: `.
    pub message: String,
}

/// What the token endpoint was asked (the assertion is kept so tests can check re-reads).
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// Tenant in the path.
    pub tenant: String,
    /// The form fields.
    pub form: Vec<(String, String)>,
}

struct AadState {
    tenant: String,
    identities: Mutex<Vec<FederatedIdentity>>,
    failures: Mutex<VecDeque<AadFailure>>,
    lifetime_s: AtomicI64,
    requests: Mutex<Vec<TokenRequest>>,
    book: Arc<TokenBook>,
}

/// The emulated Entra ID authority (`https://127.0.0.1:<port>/`).
pub struct Aad {
    /// The HTTPS server.
    pub server: TlsServer,
    /// The tokens it issued.
    pub book: Arc<TokenBook>,
    state: Arc<AadState>,
}

impl Aad {
    /// Starts an authority for `tenant` trusting `identities`.
    pub fn start(ca: &TestCa, tenant: &str, identities: Vec<FederatedIdentity>) -> Self {
        let book = Arc::new(TokenBook::default());
        let state = Arc::new(AadState {
            tenant: tenant.to_owned(),
            identities: Mutex::new(identities),
            failures: Mutex::new(VecDeque::new()),
            lifetime_s: AtomicI64::new(3599),
            requests: Mutex::new(Vec::new()),
            book: book.clone(),
        });
        let s = state.clone();
        let handler: AsyncHandler = Arc::new(move |req: Request| {
            let reply = token_endpoint(&s, &req);
            Box::pin(async move { reply })
        });
        let server = TlsServer::start(Some(ca.server_config()), handler);
        Self {
            server,
            book,
            state,
        }
    }

    /// The authority host, `https://127.0.0.1:<port>/` (as `AZURE_AUTHORITY_HOST`, trailing
    /// slash included).
    pub fn authority_host(&self) -> String {
        format!("https://127.0.0.1:{}/", self.server.port)
    }

    /// The lifetime (`expires_in`) of the tokens issued from now on.
    pub fn set_token_lifetime(&self, seconds: i64) {
        self.state.lifetime_s.store(seconds, Ordering::SeqCst);
    }

    /// The next request fails with `failure` (queued: each failure answers one request).
    pub fn fail_next(&self, failure: AadFailure) {
        self.state.failures.lock().unwrap().push_back(failure);
    }

    /// Every token request so far.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Adds a federated credential.
    pub fn add_identity(&self, identity: FederatedIdentity) {
        self.state.identities.lock().unwrap().push(identity);
    }
}

fn aad_error(status: u16, error: &str, code: u32, message: &str) -> Reply {
    json_reply(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {message} Trace ID: 00000000-0000-0000-0000-000000000001 \
                 Correlation ID: 00000000-0000-0000-0000-000000000002 Timestamp: 2026-01-01 00:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000001",
            "correlation_id": "00000000-0000-0000-0000-000000000002",
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// `<resource>` of a `<resource>/.default` scope list (extra OIDC scopes are accepted).
fn resource_of(scope: &str) -> Option<String> {
    let mut resource = None;
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        match s {
            "openid" | "offline_access" | "profile" => {}
            s => {
                let r = s.strip_suffix("/.default")?;
                if resource.replace(r.to_owned()).is_some() {
                    return None;
                }
            }
        }
    }
    resource
}

fn token_endpoint(s: &AadState, req: &Request) -> Reply {
    let path = req.path();
    let Some(tenant) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix("/oauth2/v2.0/token"))
    else {
        return aad_error(
            404,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests to /{tenant}/oauth2/v2.0/token.",
        );
    };
    let fields = form(&req.body);
    s.requests.lock().unwrap().push(TokenRequest {
        tenant: tenant.to_owned(),
        form: fields.clone(),
    });
    if let Some(f) = s.failures.lock().unwrap().pop_front() {
        return aad_error(f.status, &f.error, f.code, &f.message);
    }
    if req.method != "POST" {
        return aad_error(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    if !req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        return aad_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    }
    if tenant != s.tenant {
        return aad_error(400, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    }
    if get(&fields, "grant_type") != Some("client_credentials") {
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = get(&fields, "client_id") else {
        return aad_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let identity = s
        .identities
        .lock()
        .unwrap()
        .iter()
        .find(|i| i.client_id == client_id)
        .cloned();
    let Some(identity) = identity else {
        return aad_error(400, "unauthorized_client", 700016, &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."));
    };
    if get(&fields, "client_assertion_type")
        != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    {
        return aad_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_assertion_type'.",
        );
    }
    let Some(claims) = get(&fields, "client_assertion").and_then(jwt_claims) else {
        return aad_error(
            400,
            "invalid_client",
            50027,
            "JWT token is invalid or malformed.",
        );
    };
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now_s() {
        return aad_error(
            400,
            "invalid_client",
            700024,
            "Client assertion is not within its valid time range.",
        );
    }
    let aud_ok = match &claims["aud"] {
        serde_json::Value::String(a) => a == FEDERATED_AUDIENCE,
        serde_json::Value::Array(a) => a.iter().any(|v| v == FEDERATED_AUDIENCE),
        _ => false,
    };
    if !aud_ok {
        return aad_error(400, "invalid_client", 700212, "No matching federated identity record found for presented assertion audience 'unexpected'.");
    }
    if claims["iss"] != identity.issuer.as_str() || claims["sub"] != identity.subject.as_str() {
        return aad_error(400, "invalid_client", 70021, &format!(
            "No matching federated identity record found for presented assertion. Assertion Issuer: '{}'. Assertion Subject: '{}'. Assertion Audience: '{FEDERATED_AUDIENCE}'.",
            claims["iss"].as_str().unwrap_or(""), claims["sub"].as_str().unwrap_or("")));
    }
    let Some(resource) = get(&fields, "scope").and_then(resource_of) else {
        return aad_error(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
    };
    if resource != super::VAULT_RESOURCE && resource != super::ACR_RESOURCE {
        return aad_error(400, "invalid_resource", 500011, &format!("The resource principal named {resource} was not found in the tenant named {tenant}."));
    }
    let lifetime = s.lifetime_s.load(Ordering::SeqCst);
    let token = s.book.issue(&resource, tenant, client_id, lifetime);
    json_reply(
        200,
        &json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    )
}

/// The IMDS managed-identity endpoint (plain HTTP, as the real link-local one), issuing
/// tokens into an [`Aad`]'s book for that authority's tenant.
pub struct Imds {
    /// The HTTP server.
    pub server: MockServer,
    /// Requests served.
    pub requests: Arc<AtomicUsize>,
}

impl Imds {
    /// Starts IMDS for the managed identities `client_ids` (the first is the default one).
    pub fn start(aad: &Aad, client_ids: Vec<String>) -> Self {
        let state = aad.state.clone();
        let requests = Arc::new(AtomicUsize::new(0));
        let n = requests.clone();
        let server = MockServer::start(move |req: &Request| {
            n.fetch_add(1, Ordering::SeqCst);
            let bad = |desc: &str| {
                json_reply(
                    400,
                    &json!({"error": "invalid_request", "error_description": desc}),
                )
            };
            if req.path() != "/metadata/identity/oauth2/token" || req.method != "GET" {
                return Reply::status(404);
            }
            if req.header("metadata") != Some("true") {
                return bad("Required metadata header not specified");
            }
            let q = form(req.query().as_bytes());
            if get(&q, "api-version").is_none() {
                return bad("Required query variable 'api-version' is missing");
            }
            let Some(resource) = get(&q, "resource") else {
                return bad("Required query variable 'resource' is missing");
            };
            let client_id = match get(&q, "client_id") {
                Some(c) if client_ids.iter().any(|k| k == c) => c.to_owned(),
                Some(_) => return bad("Identity not found"),
                None => match client_ids.first() {
                    Some(c) => c.clone(),
                    None => return bad("Identity not found"),
                },
            };
            let resource = resource.trim_end_matches('/');
            let lifetime = state.lifetime_s.load(Ordering::SeqCst);
            let token = state
                .book
                .issue(resource, &state.tenant, &client_id, lifetime);
            let now = now_s();
            json_reply(
                200,
                &json!({
                    "access_token": token, "refresh_token": "", "client_id": client_id,
                    "expires_in": lifetime.to_string(), "expires_on": (now + lifetime).to_string(),
                    "ext_expires_in": lifetime.to_string(), "not_before": now.to_string(),
                    "resource": resource, "token_type": "Bearer",
                }),
            )
        });
        Self { server, requests }
    }

    /// `http://127.0.0.1:<port>` (the IMDS base, as `AZURE_POD_IDENTITY_AUTHORITY_HOST`).
    pub fn url(&self) -> String {
        self.server.url()
    }
}
