//! The three HTTP applications: provider, health and metrics.

pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod provider;

/// Path of the verify endpoint, as in Ratify v1.
pub const VERIFY_PATH: &str = "/ratify/gatekeeper/v1/verify";
/// Path of the mutate endpoint, as in Ratify v1.
pub const MUTATE_PATH: &str = "/ratify/gatekeeper/v1/mutate";
