//! Errors starting or stopping the server.

use std::net::SocketAddr;

use thiserror::Error;

use crate::config::ConfigError;
use crate::metrics::MetricsError;
use crate::tls::TlsError;

/// The server could not start or stopped abnormally.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A setting cannot work.
    #[error("invalid server configuration: {0}")]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error(
        "could not listen on {addr} for the {listener} endpoint: {source}; \
         free the port or choose another address"
    )]
    Bind {
        /// Which listener.
        listener: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// TLS material could not be loaded at start-up.
    #[error("TLS setup failed: {0}")]
    Tls(#[from] TlsError),
    /// Metrics could not be set up.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// A listener failed while running.
    #[error("the {listener} listener failed: {detail}; restart the provider")]
    Serve {
        /// Which listener.
        listener: &'static str,
        /// What happened.
        detail: String,
    },
}
