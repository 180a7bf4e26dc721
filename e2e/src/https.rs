//! The real transport: Gatekeeper's HTTPS POST of a `ProviderRequest` to a provider URL,
//! TLS 1.3 only, the Provider's `caBundle` as the only roots, Gatekeeper's webhook
//! certificate as client certificate, the Provider's `timeout` as deadline. Outcomes map as
//! Gatekeeper maps them: any answer with a JSON body passes its status through; connection,
//! TLS, timeout and unparsable bodies become a failure (status 500 + `system_error`).

use std::time::Duration;

use imagegate_oci::error_chain;

use crate::external_data::{ProviderReply, ProviderTransport};
use crate::wire::{ProviderRequest, ProviderResponse};

/// Largest response body read (Gatekeeper reads it whole; we bound it).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Why the transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The CA bundle or client identity is not usable PEM.
    #[error(
        "invalid TLS material for the provider client: {0}; pass PEM certificates and a PKCS#8 key"
    )]
    Tls(String),
    /// The HTTP client or its runtime could not be built.
    #[error("cannot build the provider HTTP client: {0}")]
    Client(String),
}

/// Calls a provider over HTTPS (mutual TLS when a client identity is given).
pub struct HttpsProvider {
    url: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for HttpsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsProvider")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpsProvider {
    /// A transport to `url` trusting only `ca_bundle_pem`, presenting `client_identity_pem`
    /// (certificate + key PEM) when given, with the Provider's `timeout`.
    pub fn new(
        url: &str,
        ca_bundle_pem: &str,
        client_identity_pem: Option<&str>,
        timeout: Duration,
    ) -> Result<Self, TransportError> {
        let roots = reqwest::Certificate::from_pem_bundle(ca_bundle_pem.as_bytes())
            .map_err(|e| TransportError::Tls(format!("caBundle: {e}")))?;
        let mut builder = reqwest::Client::builder()
            .tls_certs_only(roots)
            .min_tls_version(reqwest::tls::Version::TLS_1_3)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = client_identity_pem {
            let identity = reqwest::Identity::from_pem(pem.as_bytes())
                .map_err(|e| TransportError::Tls(format!("client certificate: {e}")))?;
            builder = builder.identity(identity);
        }
        let client = builder
            .build()
            .map_err(|e| TransportError::Client(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(Self {
            url: url.to_owned(),
            client,
            runtime,
        })
    }

    /// The provider URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn post(&self, keys: &[String]) -> ProviderReply {
        let failed = |message: String| ProviderReply::Failed { message };
        let body = ProviderRequest::new(keys.to_vec());
        let response = match self.client.post(&self.url).json(&body).send().await {
            Ok(r) => r,
            Err(e) => {
                return failed(format!(
                    "failed to send external data request: Post \"{}\": {}",
                    self.url,
                    error_chain(&e)
                ))
            }
        };
        let status = response.status().as_u16();
        let mut response = response;
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        return failed(format!(
                            "failed to read external data response: body exceeds {MAX_RESPONSE_BYTES} bytes"
                        ));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    return failed(format!(
                        "failed to read external data response: {}",
                        error_chain(&e)
                    ))
                }
            }
        }
        match serde_json::from_slice::<ProviderResponse>(&bytes) {
            Ok(response) => ProviderReply::Answered { status, response },
            Err(e) => failed(format!("failed to unmarshal external data response: {e}")),
        }
    }
}

impl ProviderTransport for HttpsProvider {
    fn send(&mut self, _provider: &str, keys: &[String]) -> ProviderReply {
        if tokio::runtime::Handle::try_current().is_ok() {
            return ProviderReply::Failed {
                message: "external data request made from inside an async runtime; evaluate \
                          policies from synchronous code"
                    .to_owned(),
            };
        }
        self.runtime.block_on(self.post(keys))
    }
}
