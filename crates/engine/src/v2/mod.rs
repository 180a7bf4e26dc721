//! Ratify v2 in the engine: [`Engine::verify_v2`](crate::Engine::verify_v2) answers a key from
//! the same verdict v1 gets, and [`convert`] turns a v1 `config.json` into an Executor. The
//! v2 result model, failure wording and envelope are `imagegate_ratify::v2` (re-exported
//! here); the Executor configuration is in [`crate::config`].

pub mod convert;
mod serve;

pub use imagegate_ratify::v2::*;
pub use serve::check_v2_reference;
