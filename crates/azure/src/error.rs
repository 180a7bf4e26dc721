//! The crate's typed errors. Every message names the identity, endpoint or vault object
//! involved and what Azure answered; none carries a token, an assertion or a secret value.

use std::time::Duration;

/// What went wrong talking to Azure.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// A setting is missing or malformed (Ratify's `CONFIG_INVALID` texts where it has one).
    #[error("{field}: {detail}")]
    Config {
        /// The setting (e.g. `vaultURI`, `AZURE_TENANT_ID`).
        field: String,
        /// What is wrong.
        detail: String,
    },
    /// The projected service-account token could not be read.
    #[error("cannot read the federated token file {path}: {source}")]
    TokenFile {
        /// Its path (`AZURE_FEDERATED_TOKEN_FILE`).
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The identity endpoint (Entra ID or IMDS) refused or failed.
    #[error("{0}")]
    Identity(Box<IdentityFailure>),
    /// Key Vault answered with an error.
    #[error("{0}")]
    Vault(Box<VaultFailure>),
    /// A request could not be sent or its answer not read.
    #[error("{operation} {url}: {detail}")]
    Transport {
        /// What was being done.
        operation: String,
        /// Where (no query string).
        url: String,
        /// What failed.
        detail: String,
    },
    /// The vault's bearer challenge is unusable or names another domain.
    #[error("Key Vault {vault}: {detail}")]
    Challenge {
        /// The vault URI.
        vault: String,
        /// What is wrong with the challenge.
        detail: String,
    },
    /// A certificate secret could not be read as Ratify reads it.
    #[error("certificate {name} version {version}: {detail}")]
    Certificate {
        /// Object name.
        name: String,
        /// Object version.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// A key could not be turned into a public key.
    #[error("key {name} version {version}: {detail}")]
    Key {
        /// Object name.
        name: String,
        /// Object version.
        version: String,
        /// What is wrong.
        detail: String,
    },
    /// ACR's token service refused or failed.
    #[error("ACR {host}: {operation} failed: {detail}")]
    Acr {
        /// The login server.
        host: String,
        /// `exchange` or `token`.
        operation: String,
        /// HTTP status, if an answer came.
        status: Option<u16>,
        /// ACR's `errors[].code: message`, or the transport failure.
        detail: String,
    },
    /// The registry host is not in the allowed ACR endpoints.
    #[error("HOST_NAME_INVALID: registry host {host} is not an allowed ACR endpoint ({allowed}); add it to the auth provider's endpoints")]
    HostNotAllowed {
        /// The host asked for.
        host: String,
        /// The allow-list, comma separated.
        allowed: String,
    },
}

/// What an identity endpoint answered.
#[derive(Debug, thiserror::Error)]
#[error("{identity} could not get a token for {scope} from {endpoint}: {detail}")]
pub struct IdentityFailure {
    /// Which identity (kind, client ID, tenant).
    pub identity: String,
    /// The requested scope or resource.
    pub scope: String,
    /// The endpoint asked.
    pub endpoint: String,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// The AADSTS codes Azure returned.
    pub aad_codes: Vec<u32>,
    /// What Azure answered (`AADSTS…` text) or the transport failure.
    pub detail: String,
    /// Seconds Azure asked to wait (429/503).
    pub retry_after: Option<Duration>,
}

/// What Key Vault answered.
#[derive(Debug, thiserror::Error)]
#[error("Key Vault {vault} answered HTTP {status} to {operation}: {code}{}: {message}", inner.as_ref().map(|i| format!(" ({i})")).unwrap_or_default())]
pub struct VaultFailure {
    /// The vault URI.
    pub vault: String,
    /// What was asked (`get secret signer/<version>`).
    pub operation: String,
    /// HTTP status.
    pub status: u16,
    /// `error.code`.
    pub code: String,
    /// `error.innererror.code`.
    pub inner: Option<String>,
    /// `error.message`.
    pub message: String,
    /// `Retry-After`, if given.
    pub retry_after: Option<Duration>,
}

impl AzureError {
    /// Whether trying again later may succeed (transport failures, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Identity(f) => f.status.is_none_or(|s| s == 429 || s >= 500),
            Self::Vault(f) => f.status == 429 || f.status >= 500,
            Self::Acr { status, .. } => status.is_none_or(|s| s == 429 || s >= 500),
            _ => false,
        }
    }

    /// The `Retry-After` Azure asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Vault(f) => f.retry_after,
            Self::Identity(f) => f.retry_after,
            _ => None,
        }
    }
}
