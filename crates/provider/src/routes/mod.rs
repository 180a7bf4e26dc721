//! The three HTTP applications: provider, health and metrics.

pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod provider;

/// Path of the verify endpoint, as in Ratify v1.
pub const VERIFY_PATH: &str = "/ratify/gatekeeper/v1/verify";
/// Path of the mutate endpoint, as in Ratify v1.
pub const MUTATE_PATH: &str = "/ratify/gatekeeper/v1/mutate";
/// Path of the Ratify v2 verify endpoint (matched exactly, as v2 does).
pub const V2_VERIFY_PATH: &str = "/ratify/gatekeeper/v2/verify";
/// Path of the Ratify v2 mutate endpoint (matched as a prefix, as v2 does).
pub const V2_MUTATE_PATH: &str = "/ratify/gatekeeper/v2/mutate";
