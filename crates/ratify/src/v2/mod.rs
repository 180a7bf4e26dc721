//! Ratify v2 (`notaryproject/ratify` main, chart 2.0.0-beta): the result model and its exact
//! wire text, the mapping from a verdict's reports and typed failures, and the response
//! envelope, shared by the engine (which answers v2 keys) and the provider (which writes v2
//! responses). Pure: no I/O.
//!
//! [`result`] is the v2 value and its renderer, [`from_v1`] builds it from the reports a
//! verdict keeps (so one verification answers both protocols) and words failures as v2 does,
//! [`wire`] writes the Gatekeeper envelope as v2 does, [`json`] is Go's `encoding/json`
//! string escaping.

pub mod from_v1;
pub mod json;
pub mod result;
pub mod wire;

pub use from_v1::{deadline_error, from_v1, key_error, V2Outcome, NO_EXECUTOR_PREFIX};
pub use result::{ArtifactReport, V2Result, V2VerifierResult};
pub use wire::{render_response, V2Item, V2Value};
