//! The soak driver's error type.

use std::path::PathBuf;

/// Why the soak run could not be carried out (as opposed to a run that found violations,
/// which is a [`crate::report::Report`] that does not pass).
#[derive(Debug, thiserror::Error)]
pub enum SoakError {
    /// A setting from the environment is unusable.
    #[error("invalid setting {name}={value:?}: {reason}")]
    Setting {
        /// The environment variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is wrong and what to use instead.
        reason: String,
    },
    /// A file could not be written or read.
    #[error("cannot access {path}: {source}; check the work directory is writable")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A helper process could not be started or did not become ready.
    #[error("cannot run {what}: {detail}")]
    Process {
        /// Which process (`docker-registry`, `imagegate serve`).
        what: &'static str,
        /// What went wrong; includes the end of its log when there is one.
        detail: String,
    },
    /// TLS material could not be generated or loaded.
    #[error("TLS set-up failed: {0}; this is a bug in the soak driver")]
    Tls(String),
    /// A listener could not be bound on loopback.
    #[error("cannot bind a loopback listener: {0}; free a port or check the network namespace")]
    Bind(#[source] std::io::Error),
    /// An HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// A step of a fault phase did not complete in time.
    #[error("{0} did not happen in time; see the provider log")]
    Timeout(String),
}

impl SoakError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
