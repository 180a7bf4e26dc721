//! Runs the keys of one request concurrently, each under its own deadline, in request order.
//!
//! Every key's deadline counts from the arrival of the HTTP request: the response is always
//! ready by arrival + deadline, whatever the number of keys. The deadline is read from the
//! handler for every request ([`KeyHandler::deadlines`]), so a configuration reload raises or
//! lowers it for the next request. A key that misses its deadline gets a per-key
//! `EXECUTOR_FAILURE` timeout error and its work is cancelled (its future is dropped); the
//! other keys are unaffected.
//!
//! Keys take no slot here. A slot held for a key's whole life would also be held while the key
//! waits on a slow registry, and keys stalled on one registry would then starve keys for
//! healthy ones (issue 16). The handler bounds what is scarce where it is spent: CPU work
//! (signature verification) in a pool of its own, registry requests per registry host. A
//! waiting key costs only its future; how many there are is bounded by
//! [`crate::RequestLimits::max_keys`] per request. Engine futures are polled in place on the
//! HTTP worker that received the request (no task hop on the hot path), with unwinding caught so that a panic becomes that key's
//! error. A key the handler can answer at once ([`KeyHandler::verify_ready`], a cached
//! verdict) takes no permit and arms no timer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use futures_util::FutureExt as _;
use tokio::time::Instant;

use imagegate_ratify::{CauseKind, Failure, RatifyCode, RequestKey};

use crate::config::Deadlines;
use crate::handler::{KeyContext, KeyHandler, KeyOutcome};
use crate::ready::ready_or_timeout_at;
use crate::wire::{Answer, AnswerError, AnswerValue};

/// Which endpoint a request came to.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Endpoint {
    /// `POST /ratify/gatekeeper/v1/verify`.
    Verify,
    /// `POST /ratify/gatekeeper/v1/mutate`.
    Mutate,
    /// `POST /ratify/gatekeeper/v2/verify`.
    VerifyV2,
    /// `POST /ratify/gatekeeper/v2/mutate`.
    MutateV2,
}

/// Runs keys through the [`KeyHandler`].
pub(crate) struct Dispatcher {
    handler: Arc<dyn KeyHandler>,
    max_key_bytes: usize,
    deadlines: Deadlines,
}

// === impl Endpoint ===

impl Endpoint {
    /// Ratify sets `idempotent` on mutate only.
    pub(crate) fn idempotent(self) -> bool {
        matches!(self, Self::Mutate | Self::MutateV2)
    }

    /// Whether the request came to a Ratify v2 path.
    pub(crate) fn is_v2(self) -> bool {
        matches!(self, Self::VerifyV2 | Self::MutateV2)
    }

    /// Whether the request verifies (else it mutates).
    pub(crate) fn verifies(self) -> bool {
        matches!(self, Self::Verify | Self::VerifyV2)
    }

    /// The name used in logs.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Mutate => "mutate",
            Self::VerifyV2 => "verify_v2",
            Self::MutateV2 => "mutate_v2",
        }
    }
}

// === impl Dispatcher ===

impl Dispatcher {
    /// Runs keys through `handler`; `deadlines` apply while the handler sets none.
    pub(crate) fn new(
        handler: Arc<dyn KeyHandler>,
        max_key_bytes: usize,
        deadlines: Deadlines,
    ) -> Self {
        Self {
            handler,
            max_key_bytes,
            deadlines,
        }
    }

    /// The deadline of every key of an `op` request: the handler's if it has its own (they
    /// follow configuration reloads), else the server's. A zero deadline would answer every
    /// key with a timeout; the server's is kept then.
    pub(crate) fn deadline(&self, op: Endpoint) -> Duration {
        let deadlines = self.handler.deadlines().unwrap_or(self.deadlines);
        let pick = |d: Deadlines| if op.verifies() { d.verify } else { d.mutate };
        let deadline = pick(deadlines);
        if deadline.is_zero() {
            pick(self.deadlines)
        } else {
            deadline
        }
    }

    /// One answer per key, in the order of `keys`.
    pub(crate) async fn run(
        &self,
        op: Endpoint,
        keys: Vec<String>,
        trace_id: &str,
        arrived: Instant,
    ) -> Vec<Answer> {
        let timeout = self.deadline(op);
        let deadline = arrived + timeout;
        let slot = Slot {
            op,
            trace_id,
            deadline,
            timeout,
        };
        if keys.len() == 1 {
            let mut answers = Vec::with_capacity(1);
            for raw in keys {
                answers.push(self.answer(&slot, raw).await);
            }
            return answers;
        }
        join_all(keys.into_iter().map(|raw| self.answer(&slot, raw))).await
    }

    /// The answer for one raw key.
    async fn answer(&self, slot: &Slot<'_>, raw: String) -> Answer {
        let (raw, outcome) = match RequestKey::parse_owned(raw, self.max_key_bytes) {
            Err((err, raw)) => (raw, Settled::Outcome(KeyOutcome::Error(err.into()))),
            Ok(key) => match self.ready(slot.op, &key, slot.trace_id) {
                Some(outcome) => (key.raw, Settled::Outcome(outcome)),
                None => (key.raw.clone(), self.decide(slot, key).await),
            },
        };
        answer(slot.op, raw, outcome)
    }

    /// The handler's immediate answer, if it has one; a panic becomes the key's error.
    fn ready(&self, op: Endpoint, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        let handler = &self.handler;
        let ready = || match op {
            Endpoint::Verify => handler.verify_ready(key, trace_id),
            Endpoint::VerifyV2 => handler.verify_v2_ready(key),
            Endpoint::Mutate | Endpoint::MutateV2 => None,
        };
        std::panic::catch_unwind(AssertUnwindSafe(ready))
            .unwrap_or_else(|_| Some(executor_failure("the key handler panicked")))
    }

    async fn decide(&self, slot: &Slot<'_>, key: RequestKey) -> Settled {
        let ctx = KeyContext {
            trace_id: slot.trace_id.to_owned(),
            deadline: slot.deadline,
        };
        let work = async {
            let future = match slot.op {
                Endpoint::Verify => self.handler.verify(key, ctx),
                Endpoint::VerifyV2 => self.handler.verify_v2(key, ctx),
                Endpoint::Mutate | Endpoint::MutateV2 => self.handler.mutate(key, ctx),
            };
            // The handler is only called here; its future is not touched after a panic.
            AssertUnwindSafe(future)
                .catch_unwind()
                .await
                .map_err(|_| "the key handler panicked")
        };
        match ready_or_timeout_at(slot.deadline, work).await {
            Ok(Ok(outcome)) => Settled::Outcome(outcome),
            Ok(Err(reason)) => Settled::Outcome(executor_failure(reason)),
            Err(_) => Settled::Deadline(slot.timeout),
        }
    }
}

/// What every key of one request shares.
struct Slot<'a> {
    op: Endpoint,
    trace_id: &'a str,
    deadline: Instant,
    timeout: Duration,
}

/// How a key ended: the handler's outcome, or its deadline.
#[derive(Clone, Debug, PartialEq)]
enum Settled {
    /// The handler answered (or failed, or panicked: then an `EXECUTOR_FAILURE` outcome).
    Outcome(KeyOutcome),
    /// The key's deadline (this long after the request arrived) passed first.
    Deadline(Duration),
}

/// A key whose handler failed: logged, and answered with `EXECUTOR_FAILURE`.
fn executor_failure(reason: &str) -> KeyOutcome {
    tracing::error!(reason, "key handler failed");
    KeyOutcome::Error(Failure::new(
        RatifyCode::ExecutorFailure,
        CauseKind::Internal,
        format_args!("{reason}; retry, and report the trace ID if it persists"),
    ))
}

/// The answer for `raw`: on mutate, an error item also carries the key as its value, as
/// Ratify does.
fn answer(op: Endpoint, raw_key: String, settled: Settled) -> Answer {
    let (value, error) = match settled {
        Settled::Outcome(KeyOutcome::Value(value)) => (Some(AnswerValue::Value(value)), None),
        Settled::Outcome(KeyOutcome::Rendered(rendered)) => {
            (Some(AnswerValue::Rendered(rendered)), None)
        }
        Settled::Outcome(KeyOutcome::Error(failure)) => (None, Some(AnswerError::Key(failure))),
        Settled::Deadline(after) => (None, Some(AnswerError::Deadline(after))),
    };
    // A failed mutation answers with its key as the value.
    let value = match (op, &error) {
        (Endpoint::Mutate | Endpoint::MutateV2, Some(_)) => Some(AnswerValue::EchoKey),
        _ => value,
    };
    Answer {
        raw_key,
        value,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use imagegate_ratify::RenderedJson;
    use serde_json::json;

    #[test]
    fn answers_by_operation_and_outcome() {
        let value = Settled::Outcome(KeyOutcome::Value(json!("x@sha256:00")));
        let boom = Failure::new(RatifyCode::ExecutorFailure, CauseKind::Internal, "boom");
        let error = Settled::Outcome(KeyOutcome::Error(boom.clone()));
        assert_eq!(
            answer(Endpoint::Verify, "a\r\n".into(), value.clone()),
            Answer {
                raw_key: "a\r\n".into(),
                value: Some(AnswerValue::Value(json!("x@sha256:00"))),
                error: None
            }
        );
        let rendered = RenderedJson::from_value(&json!({"isSuccess": true}));
        assert_eq!(
            answer(
                Endpoint::Verify,
                "a".into(),
                Settled::Outcome(KeyOutcome::Rendered(rendered.clone()))
            ),
            Answer {
                raw_key: "a".into(),
                value: Some(AnswerValue::Rendered(rendered)),
                error: None
            }
        );
        assert_eq!(
            answer(Endpoint::Verify, "a".into(), error.clone()),
            Answer {
                raw_key: "a".into(),
                value: None,
                error: Some(AnswerError::Key(boom.clone()))
            }
        );
        assert_eq!(
            answer(Endpoint::Mutate, "[ns]a".into(), error),
            Answer {
                raw_key: "[ns]a".into(),
                value: Some(AnswerValue::EchoKey),
                error: Some(AnswerError::Key(boom))
            }
        );
        let late = answer(
            Endpoint::Mutate,
            "k".into(),
            Settled::Deadline(Duration::from_millis(2900)),
        );
        assert_eq!(late.value, Some(AnswerValue::EchoKey));
        assert_eq!(
            late.error.map(|e| e.to_string()).as_deref(),
            Some("EXECUTOR_FAILURE: operation timed out after duration 2.9s")
        );
    }

    /// A handler that never answers and owns its deadlines.
    struct Stalled(Deadlines);

    impl KeyHandler for Stalled {
        fn verify(
            &self,
            _: RequestKey,
            _: KeyContext,
        ) -> futures_util::future::BoxFuture<'static, KeyOutcome> {
            Box::pin(futures_util::future::pending())
        }
        fn mutate(
            &self,
            _: RequestKey,
            _: KeyContext,
        ) -> futures_util::future::BoxFuture<'static, KeyOutcome> {
            Box::pin(futures_util::future::pending())
        }
        fn ready(&self) -> bool {
            true
        }
        fn deadlines(&self) -> Option<Deadlines> {
            Some(self.0)
        }
    }

    /// The handler's deadlines win over the server's (so a reloaded executor timeout applies,
    /// raised as well as lowered): one source of truth for the per-key deadline.
    #[tokio::test(start_paused = true)]
    async fn the_handlers_deadlines_replace_the_servers() {
        let own = Deadlines {
            verify: Duration::from_millis(7_000),
            mutate: Duration::from_millis(40),
        };
        let handler: Arc<dyn KeyHandler> = Arc::new(Stalled(own));
        let server = Deadlines {
            verify: Duration::from_millis(100),
            mutate: Duration::from_millis(100),
        };
        let dispatcher = Dispatcher::new(handler, 4096, server);
        for (op, want) in [
            (
                Endpoint::Verify,
                "EXECUTOR_FAILURE: operation timed out after duration 7s",
            ),
            (
                Endpoint::Mutate,
                "EXECUTOR_FAILURE: operation timed out after duration 40ms",
            ),
        ] {
            let started = Instant::now();
            let answers = dispatcher
                .run(op, vec!["registry.test/app:v1".into()], "t", started)
                .await;
            assert_eq!(started.elapsed(), dispatcher.deadline(op));
            let error = answers[0].error.as_ref().map(ToString::to_string);
            assert_eq!(error.as_deref(), Some(want));
        }
    }
}
