//! Ratify's verification result, version `0.2.0`: the types live in `imagegate-ratify`, the
//! vocabulary the engine and the HTTP edge share; re-exported here under the engine's names.

pub use imagegate_ratify::{
    render_result, RenderedReports, VerifierReport, VerifyResult, RESULT_VERSION,
};
