//! Process-wide logging: JSON lines (default) or text, filtered like `RUST_LOG`.
//!
//! Each provider request runs in a `request` span carrying `trace_id`, so every line logged
//! while serving it, including the engine's per-key `verdict` line, names the trace ID. Request bodies are never
//! logged; keys appear only at debug level.

use thiserror::Error;
use tracing_subscriber::EnvFilter;

/// The log line format.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum LogFormat {
    /// One JSON object per line with the span fields (Ratify's `json` formatter).
    #[default]
    Json,
    /// Human-readable text.
    Text,
}

/// Logging could not be set up.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoggingError {
    /// The filter does not parse.
    #[error(
        "invalid log filter {filter:?}: {detail}; use e.g. \"info\" or \"imagegate=debug,info\""
    )]
    Filter {
        /// The filter text.
        filter: String,
        /// The parser's reason.
        detail: String,
    },
    /// A global subscriber is already installed.
    #[error("logging was already initialised; call init_logging once per process")]
    AlreadySet,
}

/// Installs the global subscriber writing to stderr with `filter` (e.g. `info`).
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|err| LoggingError::Filter {
        filter: filter.to_owned(),
        detail: err.to_string(),
    })?;
    // Colours only on a terminal: escape codes in a log file or a collector break searches
    // such as `trace_id=…`.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|_| LoggingError::AlreadySet)
}
