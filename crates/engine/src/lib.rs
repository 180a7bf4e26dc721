//! The imagegate verification engine.
//!
//! It reads Ratify's `config.json` (and Ratify CRD YAML) unchanged, and for each request key
//! runs Ratify's pipeline: parse and normalise the reference, resolve a tag to a digest,
//! discover signature referrers, fetch each signature manifest and envelope, verify it with the
//! first configured verifier whose artifact types match, and decide with the config policy. The
//! answer is Ratify's verification result, version `0.2.0`.
//!
//! Layout: I/O first, then a pure decision. [`registry`] and [`cache`] fetch (with single-flight
//! caches), [`verifier`] turns one signature into a [`report::VerifierReport`], [`policy`] is the
//! pure config-policy decision, [`ratify_codes`] maps every typed error to a Ratify error code in
//! one place, and [`Engine`] ties them together with hot-reloadable configuration.
//!
//! The wall clock is read only in [`clock::SystemClock`]; everything else receives time as a
//! value.
//!
//! The engine knows nothing of HTTP: Ratify's wire vocabulary (result types, error codes,
//! rendered JSON, request keys) comes from `imagegate-ratify`, and the HTTP edge
//! (`imagegate-provider`) is connected to the engine where the binary is assembled
//! (`crates/cli`). Per-key failures stay typed ([`Failure`]: Ratify code, [`CauseKind`],
//! detail) until the edge writes them.
#![deny(missing_docs)]
#![deny(clippy::disallowed_methods)]

pub mod cache;
pub mod clock;
pub mod config;
mod engine;
mod executor;
pub mod explain;
pub mod metrics;
pub mod policy;
pub mod ratify_codes;
pub mod registry;
mod reload;
pub mod report;
pub mod revocation;
pub mod v2;
pub mod verifier;

pub use cache::Decision;
pub use config::{ConfigError, EngineConfig};
pub use engine::{Engine, EngineOptions, KeyResult, ReloadOutcome, VerifyReport};
pub use imagegate_ratify::{Cause, CauseKind, Failure, RatifyCode};
pub use reload::WatchHandle;
pub use report::{VerifierReport, VerifyResult};

/// The text that starts the suffix appended to every report `message` of a verdict served
/// stale (stale-if-error, `imagegate.cache.staleGraceSeconds`). The result keeps Ratify's
/// schema: `isSuccess` is the cached decision, and this marker is how a reader (an operator, a
/// log search, a test) tells a stale verdict from a fresh one.
pub const STALE_MARKER: &str = " (stale: cached verdict";
