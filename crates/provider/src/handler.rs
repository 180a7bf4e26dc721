//! The seam between the provider and the verification engine.
//!
//! The provider parses requests, splits keys, runs them concurrently under per-key deadlines
//! and writes responses; the engine implements [`KeyHandler`] to decide each key.

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use imagegate_ratify::{Failure, RenderedJson, RequestKey};

use crate::config::Deadlines;

/// What the engine gets with every key besides the key itself.
#[derive(Clone, Debug)]
pub struct KeyContext {
    /// The trace ID of the HTTP request this key came in, shared by all its keys.
    pub trace_id: String,
    /// When the provider stops waiting for this key and answers with a timeout error.
    pub deadline: Instant,
}

/// The engine's answer for one key.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyOutcome {
    /// The item's `value`: a verification result object on verify, a string on mutate.
    Value(serde_json::Value),
    /// The item's `value`, rendered ahead of time and written verbatim (the cheap form of
    /// [`KeyOutcome::Value`] for answers served from a cache).
    Rendered(RenderedJson),
    /// The item's `error`, typed; written as Ratify's `"<CODE>: <detail>"` text.
    Error(Failure),
}

/// Decides keys; implemented by the engine.
///
/// The futures are polled on the HTTP worker thread that received the request (a tokio
/// current-thread runtime): they may use any tokio facility except `block_in_place`, and
/// should move CPU-heavy work to `tokio::task::spawn_blocking`. A future still running at its
/// key's deadline is dropped (cancelled); a panic becomes that key's `EXECUTOR_FAILURE` error.
pub trait KeyHandler: Send + Sync + 'static {
    /// Verifies one key for `POST /ratify/gatekeeper/v1/verify`.
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome>;

    /// Answers `key` at once when the answer is already known (a cached verdict), else `None`,
    /// in which case the provider calls [`KeyHandler::verify`].
    ///
    /// Called on the HTTP worker before any concurrency permit is taken: it must not block,
    /// wait or do I/O, only look up what is at hand. `trace_id` is the request's trace ID.
    /// The default knows nothing.
    fn verify_ready(&self, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        let _ = (key, trace_id);
        None
    }

    /// Verifies one key for `POST /ratify/gatekeeper/v2/verify`: the value is Ratify v2's
    /// result (`{"succeeded":…,"artifactReports":…}`); an error outcome is worded as v2 words
    /// it (`imagegate_ratify::v2::key_error`). The default serves no v2.
    fn verify_v2(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        let _ = (key, ctx);
        Box::pin(async {
            KeyOutcome::Error(Failure::new(
                imagegate_ratify::RatifyCode::ConfigInvalid,
                imagegate_ratify::CauseKind::Config,
                "no valid executor configured",
            ))
        })
    }

    /// [`KeyHandler::verify_ready`] for [`KeyHandler::verify_v2`]. The default knows nothing.
    fn verify_v2_ready(&self, key: &RequestKey) -> Option<KeyOutcome> {
        let _ = key;
        None
    }

    /// Resolves one key to `repo@digest` for `POST /ratify/gatekeeper/v1/mutate`.
    ///
    /// On an error outcome the provider echoes the key as the item's `value`, as Ratify does.
    fn mutate(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome>;

    /// Whether configuration and trust material are loaded; drives `GET /readyz`.
    fn ready(&self) -> bool;

    /// The per-key deadlines in force when the handler owns them (the engine's executor
    /// timeouts, which a configuration reload may change, up or down); `None` (the default)
    /// keeps the server's [`crate::ServerConfig::deadlines`]. Asked once per request, on the
    /// HTTP worker: it must not block.
    fn deadlines(&self) -> Option<Deadlines> {
        None
    }
}
