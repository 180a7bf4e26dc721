//! Gatekeeper-in-a-box test harness for imagegate.
//!
//! The pieces here emulate what Gatekeeper does around a ConstraintTemplate, so tests can
//! evaluate our templates (with `regorus`, in the tests) exactly as Gatekeeper would:
//!
//! * [`template`]: load a `ConstraintTemplate` YAML (Rego, libs, Rego version, schema).
//! * [`review`]: build `input.review` objects, admission-shaped or audit-shaped.
//! * [`external_data`]: Gatekeeper's `external_data` builtin: argument parsing, the per-key
//!   response cache (3 minutes, `status_code` 0 on full hits), and the Rego return shape
//!   `{responses, errors, status_code, system_error}`, in front of any [`ProviderTransport`]
//!   (a table in unit tests, the real provider over HTTPS in the end-to-end harness).
//! * [`ratify`]: Ratify v1 (`0.2.0`) verification result values.
//! * [`kustomize`]: render `deploy/` overlays with `kubectl kustomize`.
//! * [`azure`]: read Azure Policy definitions and their embedded templates.
//!
//! The clock is injected ([`Clock`]); nothing here reads the system time.

#![deny(missing_docs)]

pub mod azure;
pub mod clock;
pub mod external_data;
pub mod kustomize;
pub mod paths;
pub mod ratify;
pub mod review;
pub mod template;
pub mod wire;

pub use clock::{Clock, ManualClock};
pub use external_data::{
    ExternalDataError, Gatekeeper, ProviderReply, ProviderTransport, RegoResponse,
    DEFAULT_CACHE_TTL,
};
pub use review::{Review, Workload};
pub use template::{ConstraintTemplate, RegoVersion, TemplateError};
