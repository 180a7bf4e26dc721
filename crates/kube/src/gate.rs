//! The provider's handler in Kubernetes mode: answers `CONFIG_INVALID` and reports not ready
//! until the first complete configuration from the API server is in force, then delegates to
//! the engine.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use futures_util::future::BoxFuture;
use imagegate_engine::Engine;
use imagegate_provider::{KeyContext, KeyHandler, KeyOutcome, RequestKey};

/// What keys get before the first configuration is in force (Ratify's wording for a
/// missing configuration).
pub const NOT_LOADED: &str = "CONFIG_INVALID: the configuration has not been loaded from the \
                              Kubernetes API yet";

/// An engine that may not exist yet.
#[derive(Clone, Default)]
pub struct Gate {
    engine: Arc<ArcSwapOption<Engine>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("ready", &self.engine.load().is_some())
            .finish()
    }
}

impl Gate {
    /// The engine, once there is one.
    pub fn engine(&self) -> Option<Engine> {
        self.engine.load_full().map(|e| Engine::clone(&e))
    }

    /// Opens the gate with `engine` (the first configuration).
    pub fn open(&self, engine: Engine) {
        self.engine.store(Some(Arc::new(engine)));
    }
}

impl KeyHandler for Gate {
    fn verify(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        match self.engine() {
            Some(e) => e.verify(key, ctx),
            None => Box::pin(async { KeyOutcome::Error(NOT_LOADED.into()) }),
        }
    }

    fn verify_ready(&self, key: &RequestKey, trace_id: &str) -> Option<KeyOutcome> {
        self.engine.load().as_ref()?.verify_ready(key, trace_id)
    }

    fn mutate(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        match self.engine() {
            Some(e) => e.mutate(key, ctx),
            None => Box::pin(async { KeyOutcome::Error(NOT_LOADED.into()) }),
        }
    }

    fn ready(&self) -> bool {
        self.engine
            .load()
            .as_ref()
            .is_some_and(|e| KeyHandler::ready(e.as_ref()))
    }
}
