//! Runs the keys of one request concurrently, each under its own deadline, in request order.
//!
//! Every key's deadline counts from the arrival of the HTTP request, so waiting for a
//! concurrency permit uses up the key's time too: the response is always ready by
//! arrival + deadline, whatever the number of keys. A key that misses its deadline gets a
//! per-key error and its work is cancelled (its future is dropped); the other keys are
//! unaffected. Engine futures are polled in place on the HTTP worker that received the request
//! (no task hop on the hot path), with unwinding caught so that a panic becomes that key's
//! error.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::FutureExt as _;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::{Concurrency, Deadlines};
use crate::duration::go_duration;
use crate::handler::{KeyContext, KeyHandler, KeyOutcome};
use crate::key::RequestKey;
use crate::wire::{echo_key, Item};

/// Which endpoint a request came to.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Operation {
    /// `POST /ratify/gatekeeper/v1/verify`.
    Verify,
    /// `POST /ratify/gatekeeper/v1/mutate`.
    Mutate,
}

/// Runs keys through the [`KeyHandler`].
pub(crate) struct Dispatcher {
    handler: Arc<dyn KeyHandler>,
    global: Arc<Semaphore>,
    per_request: usize,
    max_key_bytes: usize,
    deadlines: Deadlines,
}

// === impl Operation ===

impl Operation {
    /// Ratify sets `idempotent` on mutate only.
    pub(crate) fn idempotent(self) -> bool {
        matches!(self, Self::Mutate)
    }

    /// The name used in logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Mutate => "mutate",
        }
    }
}

// === impl Dispatcher ===

impl Dispatcher {
    /// Runs keys through `handler` within `concurrency`.
    pub(crate) fn new(
        handler: Arc<dyn KeyHandler>,
        concurrency: &Concurrency,
        max_key_bytes: usize,
        deadlines: Deadlines,
    ) -> Self {
        Self {
            handler,
            global: Arc::new(Semaphore::new(concurrency.global.get())),
            per_request: concurrency.per_request.get(),
            max_key_bytes,
            deadlines,
        }
    }

    /// The deadline of every key of an `op` request.
    pub(crate) fn deadline(&self, op: Operation) -> Duration {
        match op {
            Operation::Verify => self.deadlines.verify,
            Operation::Mutate => self.deadlines.mutate,
        }
    }

    /// One item per key, in the order of `keys`.
    pub(crate) async fn run(
        &self,
        op: Operation,
        keys: Vec<String>,
        trace_id: &str,
        arrived: Instant,
    ) -> Vec<Item> {
        let timeout = self.deadline(op);
        let deadline = arrived + timeout;
        let local = Semaphore::new(self.per_request);
        let items = keys.into_iter().map(|raw| {
            let ctx = KeyContext {
                trace_id: trace_id.to_owned(),
                deadline,
            };
            let local = &local;
            async move {
                let outcome = match RequestKey::parse(&raw, self.max_key_bytes) {
                    Err(err) => KeyOutcome::Error(err.to_string()),
                    Ok(key) => self.decide(op, key, ctx, local, timeout).await,
                };
                item(op, &raw, outcome)
            }
        });
        join_all(items).await
    }

    async fn decide(
        &self,
        op: Operation,
        key: RequestKey,
        ctx: KeyContext,
        local: &Semaphore,
        timeout: Duration,
    ) -> KeyOutcome {
        let deadline = ctx.deadline;
        let work = async {
            // Request permit first: a large request must not hold global permits it cannot use.
            let Ok(_local) = local.acquire().await else {
                return Err("the request's key pool closed");
            };
            let Ok(_global) = self.global.acquire().await else {
                return Err("the provider's key pool closed");
            };
            let future = match op {
                Operation::Verify => self.handler.verify(key, ctx),
                Operation::Mutate => self.handler.mutate(key, ctx),
            };
            // The handler is only called here; its future is not touched after a panic.
            AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .map_err(|_| "the key handler panicked")
        };
        match tokio::time::timeout_at(deadline, work).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(reason)) => {
                tracing::error!(reason, "key handler failed");
                KeyOutcome::Error(format!(
                    "EXECUTOR_FAILURE: {reason}; retry, and report the trace ID if it persists"
                ))
            }
            Err(_) => KeyOutcome::Error(format!(
                "operation timed out after duration {}",
                go_duration(timeout)
            )),
        }
    }
}

/// The wire item for `raw`: on mutate, an error item also carries the key as its value, as
/// Ratify does.
fn item(op: Operation, raw: &str, outcome: KeyOutcome) -> Item {
    let key = echo_key(raw);
    match (op, outcome) {
        (_, KeyOutcome::Value(value)) => Item {
            key,
            value: Some(value),
            error: None,
        },
        (Operation::Verify, KeyOutcome::Error(error)) => Item {
            key,
            value: None,
            error: Some(error),
        },
        (Operation::Mutate, KeyOutcome::Error(error)) => Item {
            value: Some(Value::String(key.clone())),
            key,
            error: Some(error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn items_by_operation_and_outcome() {
        let value = KeyOutcome::Value(json!("x@sha256:00"));
        let error = KeyOutcome::Error("boom".into());
        assert_eq!(
            item(Operation::Verify, "a\r\n", value.clone()),
            Item {
                key: "a".into(),
                value: Some(json!("x@sha256:00")),
                error: None
            }
        );
        assert_eq!(
            item(Operation::Verify, "a", error.clone()),
            Item {
                key: "a".into(),
                value: None,
                error: Some("boom".into())
            }
        );
        assert_eq!(
            item(Operation::Mutate, "[ns]a", error),
            Item {
                key: "[ns]a".into(),
                value: Some(json!("[ns]a")),
                error: Some("boom".into())
            }
        );
    }
}
