//! Ratify v1's shared vocabulary, used by both the engine and the HTTP edge of imagegate.
//!
//! A leaf crate: it knows nothing of registries, signatures or HTTP. It owns what the engine
//! and the provider must agree on byte for byte:
//!
//! * the verification result, version `0.2.0` ([`VerifyResult`], [`VerifierReport`]) and its
//!   pre-rendered forms ([`RenderedReports`], [`render_result`], [`RenderedJson`],
//!   [`push_json_string`]);
//! * Ratify's error codes ([`RatifyCode`]), imagegate's bounded cause classification
//!   ([`CauseKind`]) and the typed per-key failure ([`Failure`]) whose `Display` is the one
//!   rendering of Ratify's `"<CODE>: <detail>"` wire text;
//! * the wording of failed reports' `message` ([`Wording`], [`cause_first`]);
//! * request keys, `[namespace]image` ([`RequestKey`], [`split`]);
//! * one verifier run as `ratify_verifier_duration` labels it ([`VerifierRun`]);
//! * Ratify v2's result, failure wording and envelope ([`v2`]);
//! * Go's duration text ([`go_duration`]) and timestamp text ([`rfc3339_nano`]) that Ratify's
//!   messages use.
#![deny(missing_docs)]
#![deny(clippy::disallowed_methods)]

mod code;
mod duration;
mod envelope;
mod extensions;
mod json;
mod key;
mod message;
mod result;
mod run;
pub mod v2;

pub use crate::code::{Cause, CauseKind, Failure, RatifyCode};
pub use crate::duration::go_duration;
pub use crate::envelope::{EnvelopeWriter, ItemValue};
pub use crate::extensions::Extensions;
pub use crate::json::{push_json_string, RenderedJson};
pub use crate::key::{split, KeyFormatError, RequestKey, SplitKey};
pub use crate::message::{
    cause_first, labelled, Wording, IMAGE_NOT_FOUND, MAX_MESSAGE_CHARS, NO_REFERRERS_FOUND,
    RESOLVING_DESCRIPTOR,
};
pub use crate::result::{
    render_result, rfc3339_nano, RenderedReports, VerifierReport, VerifyResult, RESULT_VERSION,
};
pub use crate::run::VerifierRun;
