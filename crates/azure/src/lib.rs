//! Azure for imagegate, as the seed's Ratify uses it on AKS:
//!
//! - [`identity`]: workload identity (federated service-account token → Entra ID) and managed
//!   identity (IMDS) tokens; [`TokenCache`] caches them per (identity, scope), single-flight,
//!   with bounded retries and refresh ahead of expiry in the background.
//! - [`keyvault`], [`kmp`], [`refresh`]: the `azurekeyvault` KeyManagementProvider
//!   (certificates as secrets, PEM or PKCS#12 with the full chain; keys as JWKs), refreshed
//!   atomically, keeping the last good material when a refresh fails.
//! - [`acr`]: ACR access for the store auth providers `azureWorkloadIdentity` and
//!   `azureManagedIdentity` (AAD token → `/oauth2/exchange` → refresh token), as an
//!   `imagegate_oci::CredentialProvider`.
//!
//! Endpoints come from configuration and the standard environment variables ([`AzureEnv`]),
//! so the same code runs against Azure and against testkit's emulators.

pub mod acr;
pub mod cache;
pub mod env;
pub mod error;
pub mod http;
pub mod identity;
pub mod keyvault;
pub mod kmp;
pub mod material;
pub mod refresh;

pub use acr::{AcrCredentials, AcrIdentity, HostAllowList, ACR_SCOPE, DEFAULT_ACR_ENDPOINTS};
pub use cache::{RetryPolicy, TokenCache};
pub use env::AzureEnv;
pub use error::AzureError;
pub use http::HttpSettings;
pub use identity::{AccessToken, ManagedIdentity, TokenCredential, WorkloadIdentity};
pub use keyvault::KeyVaultClient;
pub use kmp::{KeyVaultSpec, Material};
pub use refresh::{KmpRefresher, KmpStatus};

/// The wall clock, injected (tests pass their own).
pub trait Clock: Send + Sync + 'static {
    /// Now, UTC.
    fn now(&self) -> time::OffsetDateTime;
}

/// The real clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // This crate's one wall-clock edge; injected elsewhere.
    fn now(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::now_utc()
    }
}
