//! The one error type of the benchmarks: every variant says which step failed and why.

use std::path::PathBuf;

use thiserror::Error;

/// Why a benchmark could not run (an unmet goal is a result, not an error).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BenchError {
    /// A file or process operation failed.
    #[error("{what} ({path}): {source}; check the path and permissions")]
    Io {
        /// The step that failed.
        what: &'static str,
        /// The file or program involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Setting up a server, a registry or the engine failed.
    #[error("setting up {what} failed: {detail}")]
    Setup {
        /// The component being set up.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// TLS material could not be generated or loaded.
    #[error("TLS set-up failed: {0}; the generated certificates are inconsistent")]
    Tls(String),
    /// The load driver could not talk to a server.
    #[error("load driver: {0}; is the server under test running on loopback?")]
    Driver(String),
    /// A server answered something the benchmark did not expect.
    #[error("unexpected answer from {what}: {detail}")]
    Unexpected {
        /// The server or step.
        what: &'static str,
        /// What was wrong with the answer.
        detail: String,
    },
    /// A bounded wait ran out.
    #[error("{what} did not happen within {seconds} s; the machine may be overloaded, retry")]
    Timeout {
        /// What was waited for.
        what: &'static str,
        /// The bound.
        seconds: u64,
    },
}

impl BenchError {
    /// A [`BenchError::Setup`] with the display text of `detail`.
    pub fn setup(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Setup {
            what,
            detail: detail.to_string(),
        }
    }

    /// A [`BenchError::Io`] for `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// A [`BenchError::Unexpected`] with the display text of `detail`.
    pub fn unexpected(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Self::Unexpected {
            what,
            detail: detail.to_string(),
        }
    }
}
