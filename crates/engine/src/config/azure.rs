//! Azure in the configuration: the `azurekeyvault` KeyManagementProvider type and the
//! `azureWorkloadIdentity` / `azureManagedIdentity` store auth providers (Ratify's fields,
//! unchanged; the work is done by `imagegate-azure`).
//!
//! Key Vault material is fetched and refreshed in the background by the serving process
//! (`imagegate serve`), which writes each provider's trusted certificates, atomically, to a
//! material directory it announces with [`set_key_vault_material_dir`]. Loading reads the
//! file and watches it like any certificate file, so a refresh that changes the material
//! triggers an ordinary reload, and a failed refresh (which leaves the file alone) keeps
//! the last good certificates in force. Loading itself never reaches the network.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use imagegate_azure::kmp::KeyVaultSpec;
use imagegate_oci::CredentialProvider;
use serde_json::{Map, Value};

use super::error::ConfigError;
use super::value::{field, get, opt_str, opt_str_list};
use super::watched::WatchRecorder;
use super::AuthConfig;

/// Where the serving process keeps fetched Key Vault material (None: nobody fetches it).
static MATERIAL_DIR: RwLock<Option<PathBuf>> = RwLock::new(None);

/// Announces (or clears) the directory Key Vault material is written to; set by the process
/// that runs the refreshers, before it loads the configuration.
pub fn set_key_vault_material_dir(dir: Option<PathBuf>) {
    if let Ok(mut d) = MATERIAL_DIR.write() {
        *d = dir;
    }
}

fn material_dir() -> Option<PathBuf> {
    MATERIAL_DIR.read().ok()?.clone()
}

/// The Ratify spec of an `azurekeyvault` provider (checked with Ratify's messages).
pub(crate) fn key_vault_spec(
    spec: &Map<String, Value>,
    origin: &str,
) -> Result<KeyVaultSpec, ConfigError> {
    let params = get(spec, "parameters")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let refresh = opt_str(spec, "refreshInterval", origin)?;
    KeyVaultSpec::from_parameters(&params, refresh)
        .map_err(|e| ConfigError::invalid(format!("{origin} spec.parameters"), e.to_string()))
}

/// The trusted certificates (PEM) of the `azurekeyvault` provider `key`, as last fetched.
pub(crate) fn key_vault_certificates(
    spec: &Map<String, Value>,
    origin: &str,
    key: &str,
    watch: &WatchRecorder,
) -> Result<Vec<u8>, ConfigError> {
    key_vault_spec(spec, origin)?;
    let Some(dir) = material_dir() else {
        return Err(ConfigError::invalid(
            format!("{origin} spec.type"),
            "azurekeyvault providers are fetched by `imagegate serve` (with workload identity); \
             this command does not fetch them",
        ));
    };
    let file = dir.join(imagegate_azure::refresh::material_file_name(key));
    let bytes = match super::read_bounded(&file) {
        Ok(b) => b,
        Err(_) => {
            let status =
                std::fs::read_to_string(dir.join(imagegate_azure::refresh::status_file_name(key)))
                    .ok()
                    .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                    .and_then(|s| s["error"].as_str().map(str::to_owned))
                    .unwrap_or_else(|| "no fetch has finished".to_owned());
            return Err(ConfigError::invalid(
                origin,
                format!("KeyManagementProvider {key:?}: no certificates fetched from Key Vault yet: {status}"),
            ));
        }
    };
    watch.certs(
        &file,
        std::iter::once((file.display().to_string().as_str(), bytes.as_slice())),
    );
    Ok(bytes)
}

/// The `azurekeyvault` KeyManagementProviders defined in the CRD directory `dir`
/// (`name` or `ns/name`, and the spec), for the process that fetches them.
pub fn key_vault_providers(dir: &Path) -> Result<Vec<(String, KeyVaultSpec)>, ConfigError> {
    super::crd::key_vault_providers(dir)
}

/// Which Azure identity a store authenticates to ACR with.
pub use imagegate_azure::AcrIdentity as AzureIdentityKind;

/// An `azureWorkloadIdentity` / `azureManagedIdentity` auth provider entry.
pub(crate) fn acr_auth(
    m: &Map<String, Value>,
    kind: AzureIdentityKind,
    path: &str,
    fallback: AuthConfig,
) -> Result<AuthConfig, ConfigError> {
    let client_id = opt_str(m, "clientID", path)?.map(str::to_owned);
    let endpoints = opt_str_list(m, "endpoints", path)?;
    imagegate_azure::HostAllowList::new(Some(&endpoints))
        .map_err(|e| ConfigError::invalid(field(path, "endpoints"), e.to_string()))?;
    let fallback_docker_config = match fallback {
        AuthConfig::DockerConfig { config_path } => Some(config_path),
        _ => None,
    };
    Ok(AuthConfig::Azure {
        kind,
        client_id,
        endpoints,
        fallback_docker_config,
    })
}

/// The credential provider of an Azure auth config: ACR tokens for the allowed hosts, the
/// fallback docker config (if any) for the rest. Reads the process environment (`AZURE_*`).
pub fn acr_credentials(
    kind: AzureIdentityKind,
    client_id: Option<&str>,
    endpoints: &[String],
    fallback: Arc<dyn CredentialProvider>,
    field_path: &str,
) -> Result<Arc<dyn CredentialProvider>, ConfigError> {
    let env = imagegate_azure::AzureEnv::from_process();
    let invalid = |e: imagegate_azure::AzureError| {
        ConfigError::invalid(format!("{field_path}.authProvider"), e.to_string())
    };
    let http = imagegate_azure::HttpSettings::from_env(&env).map_err(invalid)?;
    let clock: Arc<dyn imagegate_azure::Clock> = Arc::new(imagegate_azure::SystemClock);
    let endpoints = (!endpoints.is_empty()).then_some(endpoints);
    let acr = imagegate_azure::AcrCredentials::from_identity(
        kind, &env, &http, client_id, endpoints, clock,
    )
    .map_err(invalid)?;
    Ok(Arc::new(imagegate_azure::acr::WithFallback {
        acr,
        fallback,
    }))
}
