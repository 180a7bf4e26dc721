//! The Gatekeeper external-data provider server of imagegate: a drop-in for Ratify v1's.
//!
//! * `POST /ratify/gatekeeper/v1/verify` and `POST /ratify/gatekeeper/v1/mutate` on the
//!   provider listener (default `:6001`), TLS 1.3 only, mutual TLS when a client CA is given,
//!   certificate, key and client CA hot-reloaded ([`Server`], [`TlsFiles`]);
//! * `GET /healthz` and `GET /readyz` on the health listener (default `:9099`, plain HTTP);
//! * `GET /metrics` on the metrics listener (default `:8888`) with Ratify's metric names
//!   ([`Metrics`]).
//!
//! Responses use Ratify v1's wire format ([`wire`]) with one item per key **in request order**.
//! The keys of a request run concurrently, each under its own deadline, without holding a slot
//! while they wait (the handler bounds CPU work and registry requests where they are spent):
//! a slow key gets a per-key timeout error, the others are unaffected.
//! Malformed requests get HTTP 400 (413 for an oversized body) with a `systemError` that says
//! what was wrong and what to do.
//!
//! # Where this differs from Ratify v1 (deliberately)
//!
//! * Items come back in request order (Ratify: completion order).
//! * A slow key gets `"EXECUTOR_FAILURE: operation timed out after duration 2.9s"` as its own
//!   `error`; Ratify fails the whole request with HTTP 500. Deadlines count from the request's arrival.
//! * Malformed requests get 400, an oversized body 413, a slow body 408, a wrong method 405
//!   (with `Allow: POST`) and an unknown path 404, each with a `BAD_REQUEST: ...`
//!   `systemError`; Ratify answers 500. The refusals of the HTTP layer itself (malformed
//!   framing 400, oversized head 431, slow head 408) carry the same `systemError` body. The
//!   connection is closed after a refusal.
//! * A key starting with `[` but without `]`, or whose namespace is not a Kubernetes namespace
//!   name, gets a per-key `REFERENCE_INVALID` error; Ratify would try to parse it as an image.
//!
//! * Every item's `key` is exactly the key requested, control characters included (Ratify
//!   strips CR and LF, which can make one key's answer look like another's).
//!
//! The provider does not depend on the engine: the verification is behind [`KeyHandler`], a
//! trait this crate owns, implemented where the binary is assembled (`crates/cli`). Per-key
//! errors arrive typed ([`Failure`]: Ratify code, cause kind, detail) and are rendered as
//! Ratify's wire text only when the response is written. The shared vocabulary (keys, rendered
//! JSON, codes) comes from `imagegate-ratify`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use futures_util::future::BoxFuture;
//! use imagegate_provider::{
//!     run, shutdown_signal, Failure, KeyContext, KeyHandler, KeyOutcome, Metrics, RequestKey,
//!     ServerConfig, TlsFiles, Transport,
//! };
//! use imagegate_ratify::{CauseKind, RatifyCode};
//!
//! struct Engine;
//! impl KeyHandler for Engine {
//!     fn verify(&self, key: RequestKey, _: KeyContext) -> BoxFuture<'static, KeyOutcome> {
//!         Box::pin(async move {
//!             KeyOutcome::Error(Failure::new(
//!                 RatifyCode::ExecutorFailure,
//!                 CauseKind::Internal,
//!                 format_args!("cannot verify {}", key.image),
//!             ))
//!         })
//!     }
//!     fn mutate(&self, key: RequestKey, _: KeyContext) -> BoxFuture<'static, KeyOutcome> {
//!         Box::pin(async move { KeyOutcome::Value(key.image.into()) })
//!     }
//!     fn ready(&self) -> bool {
//!         true
//!     }
//! }
//!
//! # async fn main_() -> Result<(), Box<dyn std::error::Error>> {
//! let mut files = TlsFiles::new("/usr/local/tls");
//! files.client_ca = Some("/usr/local/tls/client-ca/ca.crt".into());
//! let config = ServerConfig::new(Transport::Tls(files));
//! run(config, Arc::new(Engine), Metrics::new()?, shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![deny(clippy::disallowed_methods)]

mod body;
mod closing;
mod config;
mod dispatch;
mod error;
mod handler;
mod http_refusals;
mod listener;
mod logging;
mod metrics;
mod ready;
mod rescue;
mod routes;
mod scan;
mod server;
mod signal;
mod subject_series;
mod tls;
mod trace;
pub mod wire;
mod wire_v2;

pub use crate::config::{
    ConfigError, Deadlines, RequestLimits, ServerConfig, TlsFiles, Transport, CERT_FILE_NAME,
    DEFAULT_HEALTH_PORT, DEFAULT_METRICS_PORT, DEFAULT_PROVIDER_PORT, DEFAULT_TRACE_ID_HEADER,
    KEY_FILE_NAME,
};
pub use crate::error::ProviderError;
pub use crate::handler::{KeyContext, KeyHandler, KeyOutcome};
pub use crate::logging::{init_logging, LogFormat, LoggingError};
pub use crate::metrics::{
    Metrics, MetricsError, VerifierRun, DEFAULT_MAX_SUBJECT_SERIES, DEFAULT_MAX_VERIFIER_SERIES,
    MAX_REGISTRY_REQUEST_SERIES, METRICS_CONTENT_TYPE, OTHER_REGISTRY_HOST,
};
pub use crate::routes::{MUTATE_PATH, V2_MUTATE_PATH, V2_VERIFY_PATH, VERIFY_PATH};
#[doc(hidden)]
pub use crate::scan::scanner_agrees_with_serde;
pub use crate::server::{run, BoundAddrs, Server};
pub use crate::signal::shutdown_signal;
pub use crate::tls::TlsError;
pub use imagegate_ratify::{Failure, RenderedJson, RequestKey};
