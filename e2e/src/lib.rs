//! Gatekeeper-in-a-box test harness for imagegate.
//!
//! The pieces here emulate what Gatekeeper does around a ConstraintTemplate, so tests (and
//! `make demo`) can evaluate our templates exactly as Gatekeeper would, against the real
//! provider:
//!
//! * [`template`], [`constraint`]: load `ConstraintTemplate`s and constraints (`match`,
//!   parameters, enforcement action).
//! * [`rego`]: compile templates with `regorus`; `external_data` goes to [`Gatekeeper`].
//! * [`review`], [`kubectl`]: `input.review` objects, admission- or audit-shaped, and the
//!   Pods `kubectl run` creates.
//! * [`external_data`]: Gatekeeper's `external_data` builtin: argument parsing, the per-key
//!   response cache (3 minutes, `status_code` 0 on full hits), and the Rego return shape
//!   `{responses, errors, status_code, system_error}`, in front of any [`ProviderTransport`]
//!   (a table in unit tests, [`https::HttpsProvider`] — HTTPS + mTLS — end to end).
//! * [`admission`], [`audit`], [`compliance`]: the validating webhook's decision, the audit
//!   pass producing constraint `status.violations`, and Azure Policy's compliance view.
//! * [`inabox`]: the registry, `imagegate sign/verify/serve` ([`process`], [`mtls`],
//!   [`binary`], [`engine_config`]) and registry content ([`images`]).
//! * [`ratify`]: Ratify v1 (`0.2.0`) verification result values.
//! * [`kustomize`], [`azure`]: `deploy/` overlays and Azure Policy definitions.
//!
//! The clock is injected ([`Clock`]); nothing here reads the system time.

#![deny(missing_docs)]
// A harness, not a library of the product: it measures and waits on real (wall and monotonic) time.
#![allow(clippy::disallowed_methods)]

pub mod admission;
pub mod audit;
pub mod azure;
pub mod binary;
pub mod clock;
pub mod compliance;
pub mod constraint;
pub mod demo;
pub mod engine_config;
pub mod external_data;
pub mod https;
pub mod images;
pub mod inabox;
pub mod kubectl;
pub mod kustomize;
pub mod mtls;
pub mod paths;
pub mod process;
pub mod ratify;
pub mod rego;
pub mod review;
pub mod template;
pub mod wire;

pub use admission::{AdmissionResponse, PolicySet};
pub use clock::{Clock, ManualClock};
pub use constraint::{Constraint, EnforcementAction};
pub use external_data::{
    ExternalDataError, Gatekeeper, ProviderReply, ProviderTransport, RegoResponse,
    DEFAULT_CACHE_TTL,
};
pub use inabox::GatekeeperInABox;
pub use rego::{CompiledTemplate, SharedGatekeeper};
pub use review::{Review, Workload};
pub use template::{ConstraintTemplate, RegoVersion, TemplateError};
