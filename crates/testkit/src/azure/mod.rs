//! Wire-faithful emulators of the Azure services imagegate talks to, for tests without Azure:
//!
//! - [`Aad`]: the Entra ID (AAD) v2 token endpoint `POST /{tenant}/oauth2/v2.0/token`
//!   (client credentials with a federated JWT client assertion), AADSTS errors on demand.
//! - [`Imds`]: the managed-identity endpoint `GET /metadata/identity/oauth2/token` (plain HTTP,
//!   like the real 169.254.169.254), backed by the same token book as [`Aad`].
//! - [`KeyVault`]: Key Vault REST (`/secrets`, `/certificates`, `/keys`, `…/versions`), the
//!   401 bearer challenge, disabled versions, 403/404/429 with Azure's error JSON.
//! - [`Acr`]: the ACR token service (`/oauth2/exchange`, `/oauth2/token`) in front of a real
//!   Debian `docker-registry` configured with token auth, on the same HTTPS host.
//! - [`WorkloadIdentityPod`]: the three above for one federated identity, with the pod's
//!   projected token and environment: the fixture of every workload-identity test.
//!
//! All HTTPS services use a [`TestCa`] the client is told to trust explicitly. Tokens are
//! JWT-shaped (the signature is random bytes: every service checks tokens against the shared
//! [`TokenBook`], not by signature) and expire on the wall clock.

pub mod aad;
pub mod acr;
pub mod keyvault;
pub mod pod;
pub mod server;

use std::sync::Arc;

use base64::Engine as _;
use rcgen::{CertificateParams, DnType, IsCa, KeyPair, SanType};

pub use aad::{Aad, AadFailure, FederatedIdentity, Imds, TokenBook};
pub use acr::Acr;
pub use keyvault::{KeyVault, VaultFailure};
pub use pod::{aks_overlay_yaml, WorkloadIdentityPod};
pub use server::TlsServer;

/// The token audience the workload-identity webhook projects (`api://AzureADTokenExchange`).
pub const FEDERATED_AUDIENCE: &str = "api://AzureADTokenExchange";
/// The Key Vault resource (`https://vault.azure.net`), scope `…/.default`.
pub const VAULT_RESOURCE: &str = "https://vault.azure.net";
/// The ACR resource (`https://containerregistry.azure.net`), scope `…/.default`.
pub const ACR_RESOURCE: &str = "https://containerregistry.azure.net";
/// The username ACR expects with a refresh token.
pub const ACR_NULL_USER: &str = "00000000-0000-0000-0000-000000000000";

/// A test CA and one server certificate it issued for `localhost`, `127.0.0.1`,
/// `*.vault.azure.net`, `*.vault.test`, `*.azurecr.io` and `*.azurecr.test`
/// (clients reach the emulators' Azure-looking names through a resolver override).
pub struct TestCa {
    /// The CA certificate (PEM), for the client's extra-roots setting.
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server key (PKCS#8 PEM).
    pub key_pem: String,
    config: Arc<rustls::ServerConfig>,
}

impl TestCa {
    /// Generates the CA and the server certificate.
    pub fn generate() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::default();
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "imagegate azure emulator CA");
        ca_params.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.clone().self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "*.vault.azure.net".to_owned(),
            "*.vault.test".to_owned(),
            "*.azurecr.io".to_owned(),
            "*.azurecr.test".to_owned(),
        ])
        .unwrap();
        params
            .subject_alt_names
            .push(SanType::IpAddress([127, 0, 0, 1].into()));
        params
            .distinguished_name
            .push(DnType::CommonName, "azure emulator");
        let cert = params.signed_by(&key, &issuer).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Self {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            config: Arc::new(config),
        }
    }

    /// The rustls server configuration serving the certificate.
    pub fn server_config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }
}

/// Seconds since the Unix epoch on the wall clock (the emulators' clock, as Azure's).
pub fn now_s() -> i64 {
    // Test support: the emulators stand for remote services with their own clocks.
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    now as i64
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT-shaped token carrying `claims` (random signature: services look tokens up instead).
pub fn jwt(claims: &serde_json::Value) -> String {
    let mut sig = [0u8; 32];
    aws_lc_rs::rand::fill(&mut sig).unwrap();
    format!(
        "{}.{}.{}",
        b64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64url(&serde_json::to_vec(claims).unwrap()),
        b64url(&sig)
    )
}

/// The claims of a JWT-shaped token, if it is one.
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_, claims, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(claims.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A federated service-account token as the kubelet projects it (audience
/// [`FEDERATED_AUDIENCE`]), valid for `lifetime_s` from now.
pub fn federated_token(issuer: &str, subject: &str, lifetime_s: i64) -> String {
    let now = now_s();
    jwt(&serde_json::json!({
        "aud": [FEDERATED_AUDIENCE], "iss": issuer, "sub": subject,
        "iat": now, "nbf": now, "exp": now + lifetime_s,
    }))
}

/// `application/x-www-form-urlencoded` (or query) pairs.
pub(crate) fn form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).into_owned().collect()
}

/// The value of `key` in form pairs.
pub(crate) fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A JSON reply.
pub(crate) fn json_reply(status: u16, v: &serde_json::Value) -> crate::http::Reply {
    crate::http::Reply::json(status, "application/json; charset=utf-8", v.to_string())
}
