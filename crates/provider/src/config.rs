//! Server settings: listeners, TLS, limits, deadlines.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

/// Ratify's provider port.
pub const DEFAULT_PROVIDER_PORT: u16 = 6001;
/// Ratify's health port (`/healthz`, `/readyz`).
pub const DEFAULT_HEALTH_PORT: u16 = 9099;
/// Ratify's metrics port (`/metrics`).
pub const DEFAULT_METRICS_PORT: u16 = 8888;
/// The server certificate file name inside the cert directory, as in Ratify.
pub const CERT_FILE_NAME: &str = "tls.crt";
/// The server key file name inside the cert directory, as in Ratify.
pub const KEY_FILE_NAME: &str = "tls.key";
/// The header Azure and Ratify use to carry a trace ID.
pub const DEFAULT_TRACE_ID_HEADER: &str = "x-ms-correlation-request-id";

/// Everything [`crate::Server::start`] needs besides the handler and the metrics.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The provider listener (`/ratify/gatekeeper/v1/{verify,mutate}`); port 0 picks a free port.
    pub provider_addr: SocketAddr,
    /// The plain-HTTP health listener (`/healthz`, `/readyz`); `None` disables it.
    pub health_addr: Option<SocketAddr>,
    /// The plain-HTTP metrics listener (`/metrics`); `None` disables it.
    pub metrics_addr: Option<SocketAddr>,
    /// TLS on the provider listener, or plain HTTP for development.
    pub transport: Transport,
    /// Bounds on what one request may carry.
    pub limits: RequestLimits,
    /// Per-key deadlines.
    pub deadlines: Deadlines,
    /// Request headers whose value becomes the trace ID, first present wins (else a new UUID).
    pub trace_id_headers: Vec<String>,
    /// How long in-flight requests may run after shutdown starts; rounded up to whole seconds.
    pub shutdown_grace: Duration,
    /// HTTP worker threads for the provider listener; `None` uses one per CPU core.
    pub workers: Option<NonZeroUsize>,
}

/// How the provider listener talks.
#[derive(Clone, Debug)]
pub enum Transport {
    /// TLS 1.3 with the given files (the normal case; Gatekeeper requires HTTPS).
    Tls(TlsFiles),
    /// Plain HTTP. Gatekeeper refuses it; only for local development and the CLI.
    PlaintextForDevelopment,
}

/// Where the TLS material lives and how often to look for changes.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// Directory holding `tls.crt` (PEM chain, leaf first) and `tls.key` (PEM private key).
    pub cert_dir: PathBuf,
    /// PEM bundle of CAs whose client certificates are accepted; `Some` turns on mutual TLS
    /// with a client certificate required (Gatekeeper's `ca.crt`).
    pub client_ca: Option<PathBuf>,
    /// How often the files are checked for changes (mtime and size, then content hash).
    pub reload_interval: Duration,
}

/// Bounds on one request.
#[derive(Clone, Debug)]
pub struct RequestLimits {
    /// Largest accepted request body; larger ones get HTTP 413 without being read.
    pub max_body_bytes: usize,
    /// Most keys in one request.
    pub max_keys: usize,
    /// Longest single key; longer keys get a per-key error.
    pub max_key_bytes: usize,
    /// How long reading the request body may take.
    pub body_read_timeout: Duration,
}

/// Per-key deadlines, counted from the arrival of the HTTP request. These apply while the
/// [`crate::KeyHandler`] reports none of its own ([`crate::KeyHandler::deadlines`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Verify deadline; Ratify's `verificationRequestTimeout` (default 2900 ms).
    pub verify: Duration,
    /// Mutate deadline; Ratify's `mutationRequestTimeout` (default 950 ms).
    pub mutate: Duration,
}

/// A setting that cannot work.
#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bound or duration is zero.
    #[error("{setting} must be greater than zero; set a positive value")]
    Zero {
        /// The setting's name.
        setting: &'static str,
    },
    /// Two listeners share one fixed address.
    #[error("the {first} and {second} listeners both use {addr}; give each its own port")]
    SharedAddress {
        /// One listener.
        first: &'static str,
        /// The other listener.
        second: &'static str,
        /// The shared address.
        addr: SocketAddr,
    },
    /// A trace-ID header name is not a valid HTTP header name.
    #[error("trace ID header {name:?} is not a valid HTTP header name; use e.g. {DEFAULT_TRACE_ID_HEADER}")]
    BadTraceHeader {
        /// The rejected name.
        name: String,
    },
}

// === impl ServerConfig ===

impl ServerConfig {
    /// Ratify's defaults (ports 6001/9099/8888 on all interfaces) with the given transport.
    pub fn new(transport: Transport) -> Self {
        let any = |port| SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
        Self {
            provider_addr: any(DEFAULT_PROVIDER_PORT),
            health_addr: Some(any(DEFAULT_HEALTH_PORT)),
            metrics_addr: Some(any(DEFAULT_METRICS_PORT)),
            transport,
            limits: RequestLimits::default(),
            deadlines: Deadlines::default(),
            trace_id_headers: vec![DEFAULT_TRACE_ID_HEADER.to_owned()],
            shutdown_grace: Duration::from_secs(10),
            workers: None,
        }
    }

    /// Checks that every bound is usable and listeners do not collide.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("max body bytes", self.limits.max_body_bytes == 0),
            ("max keys", self.limits.max_keys == 0),
            ("max key bytes", self.limits.max_key_bytes == 0),
            ("body read timeout", self.limits.body_read_timeout.is_zero()),
            ("verify deadline", self.deadlines.verify.is_zero()),
            ("mutate deadline", self.deadlines.mutate.is_zero()),
        ];
        if let Some((setting, _)) = positive.iter().find(|(_, zero)| *zero) {
            return Err(ConfigError::Zero { setting });
        }
        if let Transport::Tls(files) = &self.transport {
            if files.reload_interval.is_zero() {
                return Err(ConfigError::Zero {
                    setting: "TLS reload interval",
                });
            }
        }
        let listeners = [
            ("provider", Some(self.provider_addr)),
            ("health", self.health_addr),
            ("metrics", self.metrics_addr),
        ];
        for (i, (first, a)) in listeners.iter().enumerate() {
            for (second, b) in listeners.iter().skip(i + 1) {
                if let (Some(a), Some(b)) = (a, b) {
                    if a == b && a.port() != 0 {
                        return Err(ConfigError::SharedAddress {
                            first,
                            second,
                            addr: *a,
                        });
                    }
                }
            }
        }
        for name in &self.trace_id_headers {
            if actix_web::http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(ConfigError::BadTraceHeader { name: name.clone() });
            }
        }
        Ok(())
    }
}

// === impl TlsFiles ===

impl TlsFiles {
    /// TLS from `cert_dir/tls.crt` and `cert_dir/tls.key`, without client authentication,
    /// checked for changes every 5 seconds.
    pub fn new(cert_dir: impl Into<PathBuf>) -> Self {
        Self {
            cert_dir: cert_dir.into(),
            client_ca: None,
            reload_interval: Duration::from_secs(5),
        }
    }

    /// The server certificate chain file.
    pub fn cert_path(&self) -> PathBuf {
        self.cert_dir.join(CERT_FILE_NAME)
    }

    /// The server private key file.
    pub fn key_path(&self) -> PathBuf {
        self.cert_dir.join(KEY_FILE_NAME)
    }
}

// === impl RequestLimits ===

impl Default for RequestLimits {
    /// 1 MiB bodies, 1000 keys, 4 KiB keys, 5 s to read a body.
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_keys: 1000,
            max_key_bytes: 4096,
            body_read_timeout: Duration::from_secs(5),
        }
    }
}

// === impl Deadlines ===

impl Default for Deadlines {
    /// Ratify's defaults: 2900 ms verify, 950 ms mutate.
    fn default() -> Self {
        Self {
            verify: Duration::from_millis(2900),
            mutate: Duration::from_millis(950),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_ratify_ports_and_valid() {
        let config = ServerConfig::new(Transport::Tls(TlsFiles::new("/usr/local/tls")));
        assert_eq!(config.provider_addr.port(), 6001);
        assert_eq!(config.health_addr.map(|a| a.port()), Some(9099));
        assert_eq!(config.metrics_addr.map(|a| a.port()), Some(8888));
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn rejects_zero_bounds() {
        let mut config = ServerConfig::new(Transport::PlaintextForDevelopment);
        config.limits.max_keys = 0;
        assert_eq!(
            config.validate(),
            Err(ConfigError::Zero {
                setting: "max keys"
            })
        );
    }

    #[test]
    fn rejects_shared_fixed_ports_but_allows_port_zero() {
        let mut config = ServerConfig::new(Transport::PlaintextForDevelopment);
        config.metrics_addr = config.health_addr;
        assert!(matches!(
            config.validate(),
            Err(ConfigError::SharedAddress { .. })
        ));
        let zero = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        config.provider_addr = zero;
        config.health_addr = Some(zero);
        config.metrics_addr = Some(zero);
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_trace_header() {
        let mut config = ServerConfig::new(Transport::PlaintextForDevelopment);
        config.trace_id_headers = vec!["bad header".into()];
        assert!(matches!(
            config.validate(),
            Err(ConfigError::BadTraceHeader { .. })
        ));
    }
}
