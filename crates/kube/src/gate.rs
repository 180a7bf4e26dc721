//! The engine of Kubernetes mode, which does not exist until the first complete configuration
//! from the API server is in force. The binary's key handler (`crates/cli`) answers
//! `CONFIG_INVALID` and reports not ready while the gate is closed.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use imagegate_engine::Engine;

/// Why keys fail before the first configuration is in force (after Ratify's `CONFIG_INVALID:`).
pub const NOT_LOADED: &str = "the configuration has not been loaded from the Kubernetes API yet";

/// An engine that may not exist yet.
#[derive(Clone, Default)]
pub struct Gate {
    engine: Arc<ArcSwapOption<Engine>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("open", &self.engine.load().is_some())
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
