//! Ratify v2 (`notaryproject/ratify` main, chart 2.0.0-beta): the result model and its exact
//! wire text, the response envelope, and the mapping from the engine's verdicts, so one
//! verification answers both the v1 and the v2 endpoints.
//!
//! Everything here is pure (no I/O): [`result`] is the v2 value and its renderer, [`from_v1`]
//! builds it from a verdict, [`wire`] writes the Gatekeeper envelope as v2 does, [`json`] is
//! Go's `encoding/json` string escaping, and [`convert`] turns a v1 `config.json` into an
//! Executor.

pub mod convert;
pub mod from_v1;
pub mod json;
pub mod result;
mod serve;
pub mod wire;

pub use from_v1::{from_v1, key_error, V2Outcome};
pub use result::{ArtifactReport, V2Result, V2VerifierResult};
pub use serve::check_v2_reference;
pub use wire::{render_response, V2Item};
