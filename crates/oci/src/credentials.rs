//! Registry credentials: the provider trait, Docker `config.json` and Kubernetes
//! `dockerconfigjson` secrets. Secrets never appear in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;

/// Credentials for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// Username and password (Basic auth, or the token request's Basic auth).
    Basic {
        /// Username.
        username: String,
        /// Password (secret).
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken` in Docker config), exchanged at the
    /// token realm with `grant_type=refresh_token`.
    IdentityToken(String),
    /// A ready-made registry bearer token, sent as is.
    Bearer(String),
}

impl Credential {
    /// A short, non-secret identity for cache keys and logs (the username or kind
    /// plus a hash prefix of the whole credential).
    pub fn fingerprint(&self) -> String {
        use sha2::Digest as _;
        let (kind, material) = match self {
            Self::Basic { username, password } => ("basic", format!("{username}\0{password}")),
            Self::IdentityToken(t) => ("identity-token", t.clone()),
            Self::Bearer(t) => ("bearer", t.clone()),
        };
        let h = sha2::Sha256::digest(material.as_bytes());
        format!("{kind}:{}", hex::encode(&h[..8]))
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Supplies credentials per registry host. Called on every token exchange and
/// Basic-auth request, so rotated credentials are picked up without restarts.
pub trait CredentialProvider: Send + Sync {
    /// Credentials for `registry` (`host[:port]` as written in the reference), or
    /// `None` for anonymous access.
    fn credentials(&self, registry: &str) -> Option<Credential>;

    /// Called before [`CredentialProvider::credentials`] for every request, within the
    /// request's deadline: providers that obtain credentials over the network (token
    /// exchanges, e.g. ACR's) do it here so that `credentials` answers from memory.
    /// The default does nothing.
    fn prepare<'a>(
        &'a self,
        _registry: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>> {
        Box::pin(std::future::ready(()))
    }

    /// The registry's token service refused `credential` (expired or revoked): drop it so
    /// that the next [`CredentialProvider::prepare`] obtains a fresh one, and answer whether
    /// it did (then the transport retries once). The default keeps it and answers `false`.
    fn refused(&self, _registry: &str, _credential: &Credential) -> bool {
        false
    }
}

/// Always anonymous.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anonymous;

impl CredentialProvider for Anonymous {
    fn credentials(&self, _registry: &str) -> Option<Credential> {
        None
    }
}

/// Fixed credentials per registry host.
#[derive(Clone, Default)]
pub struct StaticCredentials {
    by_host: BTreeMap<String, Credential>,
}

impl StaticCredentials {
    /// Adds (or replaces) the credential for `registry`.
    pub fn with(mut self, registry: &str, credential: Credential) -> Self {
        self.by_host.insert(normalise_host(registry), credential);
        self
    }
}

impl fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.by_host.iter()).finish()
    }
}

impl CredentialProvider for StaticCredentials {
    fn credentials(&self, registry: &str) -> Option<Credential> {
        self.by_host.get(&normalise_host(registry)).cloned()
    }
}

/// Why a Docker config or Kubernetes secret could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    /// The file could not be read.
    #[error("cannot read registry credentials file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The JSON is malformed. Only the kind of mistake and its position are kept:
    /// serde_json's own message quotes the offending value, which may be a secret.
    #[error(
        "registry credentials file is not valid Docker config JSON: {} at line {line}, \
         column {column} (the content is not shown, it may hold secrets); fix the file: \
         expected {{\"auths\": {{\"<registry>\": {{\"auth\": \"<base64 of user:password>\"}}}}}}",
        describe_json_category(*.category)
    )]
    Json {
        /// What kind of mistake (syntax, wrong type or shape, truncated input).
        category: serde_json::error::Category,
        /// Line of the mistake (1-based).
        line: usize,
        /// Column of the mistake (1-based).
        column: usize,
    },
    /// An `auth` field is not base64 of `user:password`.
    #[error("the \"auth\" entry for {0} is not base64 of \"username:password\"")]
    BadAuth(String),
    /// A Kubernetes secret has the wrong type or no `.dockerconfigjson` key.
    #[error("Kubernetes secret is not usable: {0}")]
    BadSecret(String),
}

impl From<serde_json::Error> for DockerConfigError {
    /// Keeps only the category and position of `err`, never its message.
    fn from(err: serde_json::Error) -> Self {
        Self::Json {
            category: err.classify(),
            line: err.line(),
            column: err.column(),
        }
    }
}

fn describe_json_category(category: serde_json::error::Category) -> &'static str {
    use serde_json::error::Category;
    match category {
        Category::Syntax => "malformed JSON",
        Category::Data => "a value of the wrong type or shape",
        Category::Eof => "unexpected end of the input (truncated file?)",
        Category::Io => "a read error",
    }
}

/// Credentials from a Docker `config.json` (or a mounted Kubernetes
/// `.dockerconfigjson` secret, which has the same format).
///
/// Supported: `auths` entries with base64 `auth`, `username`/`password` or
/// `identitytoken`. Not supported yet: `credHelpers` and `credsStore`; the helper
/// names are kept so that [`DockerConfig::unsupported_helper`] can report them.
#[derive(Clone, Default)]
pub struct DockerConfig {
    auths: BTreeMap<String, Credential>,
    helpers: BTreeMap<String, String>,
    store: Option<String>,
}

impl fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfig")
            .field("auths", &self.auths)
            .field("cred_helpers", &self.helpers)
            .field("creds_store", &self.store)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Deserialize)]
struct RawAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

#[derive(Deserialize)]
struct RawSecret {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    data: BTreeMap<String, String>,
}

impl DockerConfig {
    /// Parses `config.json` bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, DockerConfigError> {
        let raw: RawConfig = serde_json::from_slice(bytes)?;
        let mut auths = BTreeMap::new();
        for (key, entry) in raw.auths {
            if let Some(c) = entry.into_credential(&key)? {
                auths.insert(normalise_host(&key), c);
            }
        }
        let helpers = raw
            .cred_helpers
            .into_iter()
            .map(|(k, v)| (normalise_host(&k), v))
            .collect();
        Ok(Self {
            auths,
            helpers,
            store: raw.creds_store,
        })
    }

    /// Reads a `config.json` or a mounted `.dockerconfigjson` file.
    pub fn from_file(path: &Path) -> Result<Self, DockerConfigError> {
        let bytes = std::fs::read(path).map_err(|source| DockerConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&bytes)
    }

    /// Parses a Kubernetes Secret object (JSON) of type
    /// `kubernetes.io/dockerconfigjson`, decoding `data[".dockerconfigjson"]`.
    pub fn from_k8s_secret_json(bytes: &[u8]) -> Result<Self, DockerConfigError> {
        let secret: RawSecret = serde_json::from_slice(bytes)?;
        if let Some(kind) = secret.kind.as_deref() {
            if kind != "kubernetes.io/dockerconfigjson" {
                return Err(DockerConfigError::BadSecret(format!(
                    "type is {kind:?}, expected \"kubernetes.io/dockerconfigjson\""
                )));
            }
        }
        let encoded = secret.data.get(".dockerconfigjson").ok_or_else(|| {
            DockerConfigError::BadSecret("data has no \".dockerconfigjson\" key".into())
        })?;
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .map_err(|_| {
                DockerConfigError::BadSecret("\".dockerconfigjson\" is not base64".into())
            })?;
        Self::from_json(&decoded)
    }

    /// The credential helper configured for `registry` (`credHelpers`, else
    /// `credsStore`), which this crate does not run. Callers should report it.
    pub fn unsupported_helper(&self, registry: &str) -> Option<&str> {
        self.helpers
            .get(&normalise_host(registry))
            .or(self.store.as_ref())
            .map(String::as_str)
    }
}

impl CredentialProvider for DockerConfig {
    fn credentials(&self, registry: &str) -> Option<Credential> {
        let host = normalise_host(registry);
        let found = self.auths.get(&host).cloned();
        if found.is_none() {
            if let Some(helper) = self.unsupported_helper(registry) {
                tracing::warn!(
                    registry = %host,
                    helper,
                    "docker credential helpers are not supported; using anonymous access"
                );
            }
        }
        found
    }
}

impl RawAuth {
    fn into_credential(self, key: &str) -> Result<Option<Credential>, DockerConfigError> {
        if let Some(token) = self.identitytoken.filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken(token)));
        }
        if let Some(auth) = self.auth.filter(|a| !a.is_empty()) {
            let bad = || DockerConfigError::BadAuth(key.to_owned());
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (username, password) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credential::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            }));
        }
        match (self.username, self.password) {
            (Some(username), Some(password)) => Ok(Some(Credential::Basic { username, password })),
            _ => Ok(None),
        }
    }
}

/// Normalises a registry key the way Docker matches `auths` entries: no scheme,
/// no path, lowercase, and every Docker Hub alias becomes `docker.io`.
pub(crate) fn normalise_host(key: &str) -> String {
    let no_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = no_scheme
        .split('/')
        .next()
        .unwrap_or(no_scheme)
        .to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".into()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_auths_in_all_forms() {
        let cfg = br#"{
          "auths": {
            "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNzOndpdGg6Y29sb25z"},
            "127.0.0.1:5000": {"username": "u", "password": "p"},
            "http://acr.example/v2/": {"identitytoken": "refresh"},
            "empty.example": {}
          },
          "credHelpers": {"gcr.io": "gcloud"},
          "credsStore": "desktop"
        }"#;
        let c = DockerConfig::from_json(cfg).unwrap();
        assert_eq!(
            c.credentials("docker.io"),
            Some(Credential::Basic {
                username: "user".into(),
                password: "pass:with:colons".into()
            })
        );
        assert_eq!(
            c.credentials("127.0.0.1:5000"),
            Some(Credential::Basic {
                username: "u".into(),
                password: "p".into()
            })
        );
        assert_eq!(
            c.credentials("ACR.example"),
            Some(Credential::IdentityToken("refresh".into()))
        );
        assert_eq!(c.credentials("empty.example"), None);
        assert_eq!(c.credentials("gcr.io"), None);
        assert_eq!(c.unsupported_helper("gcr.io"), Some("gcloud"));
        assert_eq!(c.unsupported_helper("quay.io"), Some("desktop"));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let cfg = br#"{"auths":{"r.example":{"username":"alice","password":"s3cr3t-pw"},
                       "t.example":{"identitytoken":"s3cr3t-tok"}}}"#;
        let c = DockerConfig::from_json(cfg).unwrap();
        let dbg = format!("{c:?} {:?}", Credential::Bearer("s3cr3t-bearer".into()));
        assert!(dbg.contains("alice"), "{dbg}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        let fp = c.credentials("r.example").unwrap().fingerprint();
        assert!(fp.starts_with("basic:") && !fp.contains("s3cr3t"));
    }

    #[test]
    fn k8s_secret_and_errors() {
        let inner = br#"{"auths":{"reg.example":{"auth":"YTpi"}}}"#;
        let b64 = base64::engine::general_purpose::STANDARD.encode(inner);
        let secret = format!(
            r#"{{"apiVersion":"v1","kind":"Secret","type":"kubernetes.io/dockerconfigjson",
                "data":{{".dockerconfigjson":"{b64}"}}}}"#
        );
        let c = DockerConfig::from_k8s_secret_json(secret.as_bytes()).unwrap();
        assert_eq!(
            c.credentials("reg.example"),
            Some(Credential::Basic {
                username: "a".into(),
                password: "b".into()
            })
        );
        let wrong = br#"{"type":"Opaque","data":{}}"#;
        assert!(matches!(
            DockerConfig::from_k8s_secret_json(wrong),
            Err(DockerConfigError::BadSecret(_))
        ));
        let bad_auth = br#"{"auths":{"r":{"auth":"bm9jb2xvbg=="}}}"#;
        assert!(matches!(
            DockerConfig::from_json(bad_auth),
            Err(DockerConfigError::BadAuth(_))
        ));
        let string_entry = br#"{"auths":{"r":"czNjcjN0LXNlY3JldDpwdw=="}}"#;
        let err = DockerConfig::from_json(string_entry).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("czNjcjN0"), "{shown}");
        assert!(
            shown.contains("a value of the wrong type or shape at line 1, column 40"),
            "{shown}"
        );
        let missing = DockerConfig::from_file(Path::new("/nonexistent/config.json"));
        assert!(matches!(missing, Err(DockerConfigError::Read { .. })));
    }
}
