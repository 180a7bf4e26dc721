//! Key Vault REST: secrets, certificates, keys, version listings, the bearer challenge,
//! disabled versions and Azure's error JSON (`{"error":{"code","message","innererror"}}`).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde_json::{json, Value};

use super::aad::TokenBook;
use super::server::{AsyncHandler, TlsServer};
use super::{form, get, json_reply, now_s, TestCa, VAULT_RESOURCE};
use crate::http::{Reply, Request};
use crate::pki::pem_block;

/// The emulated vault's DNS name (resolve it to 127.0.0.1 in the client).
pub const VAULT_HOST: &str = "emuvault.vault.azure.net";
/// Entries per page of a `…/versions` listing (small, so that `nextLink` is exercised).
pub const PAGE_SIZE: usize = 2;

/// A failure the vault answers with.
#[derive(Clone, Debug)]
pub struct VaultFailure {
    /// HTTP status (401, 403, 404, 429, 5xx…).
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `Retry-After` seconds, if any.
    pub retry_after: Option<u64>,
}

impl VaultFailure {
    /// A 429 throttling answer with `Retry-After: seconds`.
    pub fn throttled(seconds: u64) -> Self {
        Self {
            status: 429,
            code: "Throttled".into(),
            message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached".into(),
            retry_after: Some(seconds),
        }
    }
    /// A 503 outage answer.
    pub fn unavailable() -> Self {
        Self {
            status: 503,
            code: "ServiceUnavailable".into(),
            message: "The service is temporarily unavailable.".into(),
            retry_after: None,
        }
    }
    /// A 403 access-policy / RBAC refusal.
    pub fn forbidden() -> Self {
        Self {
            status: 403,
            code: "Forbidden".into(),
            message: "Caller is not authorized to perform action on resource. Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'".into(),
            retry_after: None,
        }
    }
}

#[derive(Clone)]
struct Version {
    id: String,
    enabled: bool,
    created: i64,
    /// Secrets: (contentType, value); keys: the JWK.
    content_type: String,
    value: String,
    jwk: Value,
    /// Certificates: the leaf DER (`cer`).
    cer: Option<Vec<u8>>,
}

impl Version {
    /// An enabled, empty version `id` (created: stamped when stored).
    fn new(id: String) -> Self {
        Self {
            id,
            enabled: true,
            created: 0,
            content_type: String::new(),
            value: String::new(),
            jwk: Value::Null,
            cer: None,
        }
    }
}

#[derive(Default)]
struct VaultData {
    secrets: HashMap<String, Vec<Version>>,
    keys: HashMap<String, Vec<Version>>,
    last_created: i64,
}

struct VaultState {
    port: AtomicU16,
    tenant: String,
    book: Arc<TokenBook>,
    data: Mutex<VaultData>,
    failures: Mutex<VecDeque<VaultFailure>>,
    outage: Mutex<Option<VaultFailure>>,
    requests: Mutex<Vec<String>>,
    served: AtomicUsize,
}

/// The emulated vault at `https://emuvault.vault.azure.net:<port>/`.
pub struct KeyVault {
    /// The HTTPS server.
    pub server: TlsServer,
    state: Arc<VaultState>,
}

fn version_id() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).unwrap();
    hex::encode(b)
}

impl KeyVault {
    /// Starts a vault that accepts tokens from `book` issued in `tenant` for
    /// `https://vault.azure.net`.
    pub fn start(ca: &TestCa, tenant: &str, book: Arc<TokenBook>) -> Self {
        let state = Arc::new(VaultState {
            port: AtomicU16::new(0),
            tenant: tenant.to_owned(),
            book,
            data: Mutex::new(VaultData::default()),
            failures: Mutex::new(VecDeque::new()),
            outage: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            served: AtomicUsize::new(0),
        });
        let s = state.clone();
        let handler: AsyncHandler = Arc::new(move |req: Request| {
            let reply = handle(&s, &req);
            Box::pin(async move { reply })
        });
        let server = TlsServer::start(Some(ca.server_config()), handler);
        state.port.store(server.port, Ordering::SeqCst);
        Self { server, state }
    }

    /// `https://emuvault.vault.azure.net:<port>/`, the KMP's `vaultURI`.
    pub fn vault_uri(&self) -> String {
        format!("https://{VAULT_HOST}:{}/", self.server.port)
    }

    /// The resolver override a client needs: `(VAULT_HOST, 127.0.0.1:<port>)`.
    pub fn resolve(&self) -> (String, SocketAddr) {
        (
            VAULT_HOST.to_owned(),
            SocketAddr::from(([127, 0, 0, 1], self.server.port)),
        )
    }

    fn base(&self) -> String {
        format!("https://{VAULT_HOST}:{}", self.server.port)
    }

    fn next_created(&self, data: &mut VaultData) -> i64 {
        data.last_created = data.last_created.max(now_s()) + 1;
        data.last_created
    }

    /// Appends `v`, stamped with the next creation time, as the newest version of `name`
    /// in `book` (the secrets or the keys); returns its id.
    fn push_version(
        &self,
        book: impl FnOnce(&mut VaultData) -> &mut HashMap<String, Vec<Version>>,
        name: &str,
        mut v: Version,
    ) -> String {
        let mut data = self.state.data.lock().unwrap();
        v.created = self.next_created(&mut data);
        let id = v.id.clone();
        book(&mut data).entry(name.to_owned()).or_default().push(v);
        id
    }

    /// Stores a certificate as Key Vault does: a secret of `content_type`
    /// (`application/x-pem-file` or `application/x-pkcs12`) holding `value`, plus the
    /// certificate object whose `cer` is `leaf_der`. Returns the new version.
    pub fn put_certificate(
        &self,
        name: &str,
        content_type: &str,
        value: &str,
        leaf_der: &[u8],
    ) -> String {
        let v = Version {
            content_type: content_type.to_owned(),
            value: value.to_owned(),
            cer: Some(leaf_der.to_vec()),
            ..Version::new(version_id())
        };
        self.push_version(|data| &mut data.secrets, name, v)
    }

    /// Stores a certificate chain (leaf first, DER) with its private key as a PEM secret
    /// (key first, as Key Vault exports it). Returns the version.
    pub fn put_certificate_pem(&self, name: &str, chain: &[Vec<u8>], key_pkcs8: &[u8]) -> String {
        let mut pem = pem_block("PRIVATE KEY", key_pkcs8);
        for c in chain {
            pem.push_str(&pem_block("CERTIFICATE", c));
        }
        self.put_certificate(name, "application/x-pem-file", &pem, &chain[0])
    }

    /// Stores a certificate chain with its key as a password-less PKCS#12 secret.
    pub fn put_certificate_pfx(&self, name: &str, chain: &[Vec<u8>], key_pkcs8: &[u8]) -> String {
        let pfx = pkcs12(chain, key_pkcs8);
        let b64 = base64::engine::general_purpose::STANDARD.encode(pfx);
        self.put_certificate(name, "application/x-pkcs12", &b64, &chain[0])
    }

    /// Stores a key version with the public `jwk` (its `kid` is filled in).
    pub fn put_key(&self, name: &str, mut jwk: Value) -> String {
        let version = version_id();
        jwk["kid"] = json!(format!("{}/keys/{name}/{version}", self.base()));
        let v = Version {
            jwk,
            ..Version::new(version)
        };
        self.push_version(|data| &mut data.keys, name, v)
    }

    /// Enables or disables a certificate (secret) version.
    pub fn set_certificate_enabled(&self, name: &str, version: &str, enabled: bool) {
        let mut data = self.state.data.lock().unwrap();
        for v in data.secrets.get_mut(name).into_iter().flatten() {
            if v.id == version {
                v.enabled = enabled;
            }
        }
    }

    /// Enables or disables a key version.
    pub fn set_key_enabled(&self, name: &str, version: &str, enabled: bool) {
        let mut data = self.state.data.lock().unwrap();
        for v in data.keys.get_mut(name).into_iter().flatten() {
            if v.id == version {
                v.enabled = enabled;
            }
        }
    }

    /// The next request fails with `f` (queued; each answers one request).
    pub fn fail_next(&self, f: VaultFailure) {
        self.state.failures.lock().unwrap().push_back(f);
    }

    /// Every request fails with `f` until `set_outage(None)`.
    pub fn set_outage(&self, f: Option<VaultFailure>) {
        *self.state.outage.lock().unwrap() = f;
    }

    /// `METHOD path?query` of every request so far.
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    /// How many requests were served.
    pub fn served(&self) -> usize {
        self.state.served.load(Ordering::SeqCst)
    }
}

/// A password-less PKCS#12 (PBES2/AES-256, HMAC-SHA256) holding `key_pkcs8` and `chain`.
pub fn pkcs12(chain: &[Vec<u8>], key_pkcs8: &[u8]) -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let certs: Vec<Certificate> = chain
        .iter()
        .map(|c| Certificate::from_der(c).unwrap())
        .collect();
    let key = PrivateKey::from_der(key_pkcs8).unwrap();
    let mut ks = KeyStore::new();
    ks.add_entry(
        "signer",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(b"01".to_vec(), key, certs)),
    );
    ks.writer("").write().unwrap()
}

fn error(status: u16, code: &str, message: &str, inner: Option<&str>) -> Reply {
    let mut e = json!({"code": code, "message": message});
    if let Some(i) = inner {
        e["innererror"] = json!({"code": i});
    }
    json_reply(status, &json!({ "error": e }))
}

fn failure_reply(f: &VaultFailure) -> Reply {
    let mut r = error(f.status, &f.code, &f.message, None);
    if let Some(s) = f.retry_after {
        r = r.with_header("Retry-After", &s.to_string());
    }
    r
}

fn challenge(s: &VaultState, message: &str) -> Reply {
    error(401, "Unauthorized", message, None).with_header(
        "WWW-Authenticate",
        &format!(
            "Bearer authorization=\"https://login.microsoftonline.com/{}\", resource=\"{VAULT_RESOURCE}\"",
            s.tenant
        ),
    )
}

fn attributes(v: &Version) -> Value {
    json!({"enabled": v.enabled, "created": v.created, "updated": v.created, "recoveryLevel": "Recoverable+Purgeable"})
}

fn handle(s: &VaultState, req: &Request) -> Reply {
    s.served.fetch_add(1, Ordering::SeqCst);
    s.requests
        .lock()
        .unwrap()
        .push(format!("{} {}", req.method, req.target));
    if let Some(f) = s.failures.lock().unwrap().pop_front() {
        return failure_reply(&f);
    }
    if let Some(f) = s.outage.lock().unwrap().clone() {
        return failure_reply(&f);
    }
    let query = form(req.query().as_bytes());
    if get(&query, "api-version").is_none() {
        return error(
            400,
            "BadParameter",
            "The request URI contains an invalid api-version. Please verify the api-version.",
            None,
        );
    }
    let Some(auth) = req.header("authorization") else {
        return challenge(s, "AKV10000: Request is missing a Bearer or PoP token.");
    };
    let Some(token) = auth.strip_prefix("Bearer ") else {
        return challenge(s, "AKV10000: Request is missing a Bearer or PoP token.");
    };
    match s.book.check(token, VAULT_RESOURCE) {
        Ok(i) if i.tenant != s.tenant => {
            return challenge(s, &format!("AKV10032: Invalid issuer. Expected one of https://sts.windows.net/{}/, found https://sts.windows.net/{}/.", s.tenant, i.tenant));
        }
        Ok(_) => {}
        Err(why) => return challenge(s, &format!("AKV10022: Invalid token: {why}.")),
    }
    if req.method != "GET" {
        return error(405, "BadParameter", "Method not allowed.", None);
    }
    let base = format!("https://{VAULT_HOST}:{}", s.port.load(Ordering::SeqCst));
    let parts: Vec<&str> = req.path().trim_start_matches('/').split('/').collect();
    let data = s.data.lock().unwrap();
    match parts.as_slice() {
        ["secrets", name] | ["secrets", name, ""] => secret(&data, &base, name, None),
        ["secrets", name, version] => secret(&data, &base, name, Some(version)),
        ["certificates", name, "versions"] => {
            list(&data.secrets, &base, "certificates", name, &query)
        }
        ["certificates", name] | ["certificates", name, ""] => {
            certificate(&data, &base, name, None)
        }
        ["certificates", name, version] => certificate(&data, &base, name, Some(version)),
        ["keys", name, "versions"] => list(&data.keys, &base, "keys", name, &query),
        ["keys", name] | ["keys", name, ""] => key(&data, &base, name, None),
        ["keys", name, version] => key(&data, &base, name, Some(version)),
        _ => error(
            404,
            "NotFound",
            "The requested resource was not found.",
            None,
        ),
    }
}

fn find<'a>(versions: Option<&'a Vec<Version>>, version: Option<&str>) -> Option<&'a Version> {
    let versions = versions?;
    match version {
        None => versions.iter().max_by_key(|v| v.created),
        Some(id) => versions.iter().find(|v| v.id == id),
    }
}

fn secret(d: &VaultData, base: &str, name: &str, version: Option<&str>) -> Reply {
    let Some(v) = find(d.secrets.get(name), version) else {
        return error(404, "SecretNotFound", &format!("A secret with (name/id) {name}/{} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.", version.unwrap_or("")), None);
    };
    if !v.enabled {
        return error(
            403,
            "Forbidden",
            "Operation get is not allowed on a disabled secret.",
            Some("SecretDisabled"),
        );
    }
    json_reply(
        200,
        &json!({
            "id": format!("{base}/secrets/{name}/{}", v.id),
            "kid": format!("{base}/keys/{name}/{}", v.id),
            "contentType": v.content_type, "value": v.value, "managed": true,
            "attributes": attributes(v),
        }),
    )
}

fn x5t(v: &Version) -> String {
    let der = v.cer.as_deref().unwrap_or_default();
    let h = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, der);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(h.as_ref())
}

fn certificate(d: &VaultData, base: &str, name: &str, version: Option<&str>) -> Reply {
    let Some(v) = find(d.secrets.get(name), version).filter(|v| v.cer.is_some()) else {
        return error(
            404,
            "CertificateNotFound",
            &format!(
                "A certificate with (name/id) {name}/{} was not found in this key vault.",
                version.unwrap_or("")
            ),
            None,
        );
    };
    json_reply(
        200,
        &json!({
            "id": format!("{base}/certificates/{name}/{}", v.id),
            "kid": format!("{base}/keys/{name}/{}", v.id),
            "sid": format!("{base}/secrets/{name}/{}", v.id),
            "x5t": x5t(v),
            "cer": base64::engine::general_purpose::STANDARD.encode(v.cer.as_deref().unwrap_or_default()),
            "attributes": attributes(v),
        }),
    )
}

fn key(d: &VaultData, base: &str, name: &str, version: Option<&str>) -> Reply {
    let Some(v) = find(d.keys.get(name), version) else {
        return error(
            404,
            "KeyNotFound",
            &format!(
                "A key with (name/id) {name}/{} was not found in this key vault.",
                version.unwrap_or("")
            ),
            None,
        );
    };
    let _ = base;
    json_reply(200, &json!({"key": v.jwk, "attributes": attributes(v)}))
}

fn list(
    map: &HashMap<String, Vec<Version>>,
    base: &str,
    kind: &str,
    name: &str,
    query: &[(String, String)],
) -> Reply {
    let Some(all) = map.get(name).filter(|_| {
        kind == "keys"
            || map
                .get(name)
                .is_some_and(|v| v.iter().all(|v| v.cer.is_some()))
    }) else {
        let code = if kind == "keys" {
            "KeyNotFound"
        } else {
            "CertificateNotFound"
        };
        return error(
            404,
            code,
            &format!("{name} was not found in this key vault."),
            None,
        );
    };
    let skip: usize = get(query, "$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(PAGE_SIZE)
        .map(|v| {
            let id = format!("{base}/{kind}/{name}/{}", v.id);
            if kind == "keys" {
                json!({"kid": id, "attributes": attributes(v)})
            } else {
                json!({"id": id, "x5t": x5t(v), "attributes": attributes(v)})
            }
        })
        .collect();
    let next = (skip + PAGE_SIZE < all.len()).then(|| {
        format!(
            "{base}/{kind}/{name}/versions?api-version=7.4&$skiptoken={}&maxresults={PAGE_SIZE}",
            skip + PAGE_SIZE
        )
    });
    json_reply(200, &json!({"value": page, "nextLink": next}))
}
