//! The engine's narrow view of a registry, implemented by the real
//! [`imagegate_oci::RegistryClient`]. Being a trait, it lets tests wrap the real client (for
//! example to count fetches) without mocking what can run.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use imagegate_oci::{
    ClientConfig, Descriptor, DockerConfig, Manifest, OciError, Reference, RegistryClient,
    ResolvedManifest, RetryPolicy,
};

use crate::config::{AuthConfig, ConfigError, RegistrySettings, StoreConfig};

/// The four registry operations the executor uses.
pub trait Registry: Send + Sync + 'static {
    /// Resolves a tag (or checks a digest) to the manifest descriptor.
    fn resolve<'a>(&'a self, r: &'a Reference)
        -> BoxFuture<'a, Result<ResolvedManifest, OciError>>;
    /// Lists the referrers of a digest reference, optionally filtered by artifact type.
    fn referrers<'a>(
        &'a self,
        subject: &'a Reference,
        artifact_type: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, OciError>>;
    /// Fetches a manifest by digest from `r`'s repository.
    fn fetch_manifest<'a>(
        &'a self,
        r: &'a Reference,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<Manifest, OciError>>;
    /// Fetches a blob from `r`'s repository.
    fn fetch_blob<'a>(
        &'a self,
        r: &'a Reference,
        desc: &'a Descriptor,
    ) -> BoxFuture<'a, Result<Bytes, OciError>>;
}

impl Registry for RegistryClient {
    fn resolve<'a>(
        &'a self,
        r: &'a Reference,
    ) -> BoxFuture<'a, Result<ResolvedManifest, OciError>> {
        Box::pin(RegistryClient::resolve(self, r))
    }

    fn referrers<'a>(
        &'a self,
        subject: &'a Reference,
        artifact_type: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Vec<Descriptor>, OciError>> {
        Box::pin(RegistryClient::referrers(self, subject, artifact_type))
    }

    fn fetch_manifest<'a>(
        &'a self,
        r: &'a Reference,
        digest: &'a str,
    ) -> BoxFuture<'a, Result<Manifest, OciError>> {
        Box::pin(RegistryClient::fetch_manifest(self, r, digest))
    }

    fn fetch_blob<'a>(
        &'a self,
        r: &'a Reference,
        desc: &'a Descriptor,
    ) -> BoxFuture<'a, Result<Bytes, OciError>> {
        Box::pin(RegistryClient::fetch_blob(self, r, desc))
    }
}

/// Wraps the registry built from each configuration generation (tests count fetches with it).
pub type RegistryWrapper = Arc<dyn Fn(Arc<dyn Registry>) -> Arc<dyn Registry> + Send + Sync>;

/// How far the registry client's retry budget extends past the executor's deadline.
pub const CLIENT_BUDGET_MARGIN: Duration = Duration::from_millis(250);

/// Builds the real client for an `oras` store.
///
/// `useHttp` makes every registry plain HTTP in Ratify; the oci client decides per host, so
/// here it enables plain HTTP for loopback (always on) and for `plainHttpHosts`. `deadline`
/// is the executor's verification timeout: the per-key deadline is the one authority, so the
/// client's own retry budget is set a little beyond it ([`CLIENT_BUDGET_MARGIN`]) and a stalled
/// registry always ends as the executor's timeout, never as a race between two equal timers.
/// `observer`, if any, hears of every request the client sends (host and status).
pub fn build_client(
    store: &StoreConfig,
    settings: &RegistrySettings,
    deadline: Duration,
    observer: Option<Arc<dyn imagegate_oci::RequestObserver>>,
) -> Result<RegistryClient, ConfigError> {
    let mut config = ClientConfig {
        request_timeout: Duration::from_millis(settings.request_timeout_ms.max(1)),
        connect_timeout: Duration::from_millis(settings.connect_timeout_ms.max(1)),
        insecure_hosts: settings.plain_http_hosts.clone(),
        max_blob_bytes: settings.max_blob_bytes,
        max_manifest_bytes: settings.max_manifest_bytes,
        max_in_flight_bytes: settings.max_in_flight_bytes,
        max_in_flight_bytes_per_host: settings.max_in_flight_bytes_per_host,
        retry: RetryPolicy {
            max_attempts: settings.max_attempts.max(1),
            max_total_time: deadline + CLIENT_BUDGET_MARGIN,
            ..RetryPolicy::default()
        },
        request_observer: observer,
        ..ClientConfig::default()
    };
    match &store.auth {
        AuthConfig::Anonymous => {}
        AuthConfig::DockerConfig { config_path } => {
            let creds = DockerConfig::from_file(config_path).map_err(|e| {
                ConfigError::invalid(
                    format!("{}.authProvider.configPath", store.field),
                    format!("cannot load docker config {}: {e}", config_path.display()),
                )
            })?;
            config.credentials = Arc::new(creds);
        }
        AuthConfig::Azure {
            kind,
            client_id,
            endpoints,
            fallback_docker_config,
        } => {
            let fallback: Arc<dyn imagegate_oci::CredentialProvider> = match fallback_docker_config
            {
                Some(p) => Arc::new(DockerConfig::from_file(p).map_err(|e| {
                    ConfigError::invalid(
                        format!("{}.authProvider", store.field),
                        format!("cannot load docker config {}: {e}", p.display()),
                    )
                })?),
                None => Arc::new(imagegate_oci::Anonymous),
            };
            // ACR is HTTPS-only: a loopback host named in the endpoints (an emulator, a
            // local mirror) is reached over HTTPS too, never with the token in clear text.
            if endpoints.iter().any(|e| {
                let host = e.rsplit_once(':').map_or(e.as_str(), |(h, _)| h);
                host == "localhost"
                    || host
                        .parse::<std::net::IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            }) {
                config.plain_http_loopback = false;
            }
            config.credentials = crate::config::azure::acr_credentials(
                *kind,
                client_id.as_deref(),
                endpoints,
                fallback,
                &store.field,
            )?;
        }
    }
    RegistryClient::new(config).map_err(|e| {
        ConfigError::invalid(
            store.field.clone(),
            format!("cannot build the registry client: {e}"),
        )
    })
}
