//! TLS 1.3 for the provider listener: certificate, optional client CA, hot reload.
//!
//! The server certificate is served through [`resolver::CertResolver`] and client certificates
//! are checked through [`client_auth::ReloadingClientVerifier`]; both hold their material in an
//! `ArcSwap`, so a reload affects the next handshake and never an open connection. A poller
//! ([`TlsState::reload_loop`]) looks at the files every interval; a file that does not load is
//! logged and counted, and the material in force stays.
//!
//! Session resumption is off: a resumed session would skip client-certificate verification,
//! so an old client could come back after its CA was rotated away.

mod client_auth;
mod error;
mod pem;
mod resolver;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::server::NoServerSessionStorage;

use self::client_auth::ReloadingClientVerifier;
pub use self::error::TlsError;
use self::resolver::CertResolver;
use self::watch::{FileGroup, Update};
use crate::config::TlsFiles;
use crate::metrics::Metrics;

/// Metric label of the server certificate and key.
const SERVER_CERT: &str = "server_cert";
/// Metric label of the client CA bundle.
const CLIENT_CA: &str = "client_ca";

/// Loaded TLS material and the means to reload it.
#[derive(Debug)]
pub(crate) struct TlsState {
    provider: Arc<CryptoProvider>,
    resolver: Arc<CertResolver>,
    server_files: FileGroup,
    client: Option<(Arc<ReloadingClientVerifier>, FileGroup)>,
    interval: Duration,
}

// === impl TlsState ===

impl TlsState {
    /// Loads the certificate, the key and the client CA bundle if any.
    pub(crate) async fn load(files: &TlsFiles) -> Result<Self, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let (server_files, contents) =
            FileGroup::load(vec![files.cert_path(), files.key_path()]).await?;
        let key = certified_key(&server_files, &contents, &provider)?;
        let client = match &files.client_ca {
            None => None,
            Some(path) => {
                let (group, contents) = FileGroup::load(vec![path.clone()]).await?;
                let inner = client_verifier(&group, &contents, &provider)?;
                Some((Arc::new(ReloadingClientVerifier::new(inner)), group))
            }
        };
        Ok(Self {
            resolver: Arc::new(CertResolver::new(key)),
            provider,
            server_files,
            client,
            interval: files.reload_interval,
        })
    }

    /// A TLS 1.3-only rustls configuration serving the current material.
    pub(crate) fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(TlsError::Setup)?;
        let builder = match &self.client {
            Some((verifier, _)) => builder.with_client_cert_verifier(
                Arc::clone(verifier) as Arc<dyn rustls::server::danger::ClientCertVerifier>
            ),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_cert_resolver(Arc::clone(&self.resolver) as _);
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(config)
    }

    /// Checks the files every interval and swaps in material that loads; runs until dropped.
    pub(crate) async fn reload_loop(mut self, metrics: Metrics) {
        record_not_after(&metrics, &self.resolver.current());
        let mut ticker = tokio::time::interval(self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            self.reload_server_cert(&metrics).await;
            self.reload_client_ca(&metrics).await;
        }
    }

    async fn reload_server_cert(&mut self, metrics: &Metrics) {
        let update = match self.server_files.poll().await {
            Ok(Some(update)) => update,
            Ok(None) => return,
            Err(err) => return reload_failed(metrics, SERVER_CERT, &err),
        };
        match certified_key(&self.server_files, &update.contents, &self.provider) {
            Ok(key) => {
                let key = Arc::new(key);
                record_not_after(metrics, &key);
                self.resolver.swap_arc(key);
                self.server_files.applied(&update);
                reloaded(metrics, SERVER_CERT, &self.server_files);
            }
            Err(err) => {
                self.server_files.failed(&update);
                reload_failed(metrics, SERVER_CERT, &err);
            }
        }
    }

    async fn reload_client_ca(&mut self, metrics: &Metrics) {
        let Some((verifier, group)) = &mut self.client else {
            return;
        };
        let update: Update = match group.poll().await {
            Ok(Some(update)) => update,
            Ok(None) => return,
            Err(err) => return reload_failed(metrics, CLIENT_CA, &err),
        };
        match client_verifier(group, &update.contents, &self.provider) {
            Ok(inner) => {
                verifier.swap(inner);
                group.applied(&update);
                reloaded(metrics, CLIENT_CA, group);
            }
            Err(err) => {
                group.failed(&update);
                reload_failed(metrics, CLIENT_CA, &err);
            }
        }
    }
}

fn certified_key(
    group: &FileGroup,
    contents: &[Vec<u8>],
    provider: &CryptoProvider,
) -> Result<rustls::sign::CertifiedKey, TlsError> {
    match (group.paths(), contents) {
        ([cert_path, key_path], [cert, key]) => {
            pem::certified_key(cert_path, cert, key_path, key, provider)
        }
        _ => Err(TlsError::Setup(rustls::Error::General(
            "certificate group must hold a certificate and a key".to_owned(),
        ))),
    }
}

fn client_verifier(
    group: &FileGroup,
    contents: &[Vec<u8>],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    match (group.paths(), contents) {
        ([path], [pem]) => pem::client_verifier(path, pem, provider),
        _ => Err(TlsError::Setup(rustls::Error::General(
            "client CA group must hold one file".to_owned(),
        ))),
    }
}

/// Publishes when the served certificate expires (its leaf's `notAfter`).
fn record_not_after(metrics: &Metrics, key: &rustls::sign::CertifiedKey) {
    let Some(leaf) = key.cert.first() else {
        return;
    };
    match x509_parser::parse_x509_certificate(leaf.as_ref()) {
        Ok((_, cert)) => {
            metrics.set_cert_not_after(SERVER_CERT, cert.validity().not_after.timestamp());
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the served certificate's expiry"),
    }
}

fn reloaded(metrics: &Metrics, material: &str, group: &FileGroup) {
    metrics.inc_tls_reload(material, true);
    tracing::info!(material, files = ?group.paths(), "TLS material reloaded");
}

fn reload_failed(metrics: &Metrics, material: &str, err: &TlsError) {
    metrics.inc_tls_reload(material, false);
    tracing::error!(material, error = %err, "TLS reload failed; the previous material stays in force");
}
