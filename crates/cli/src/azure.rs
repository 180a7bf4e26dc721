//! `imagegate serve`'s Key Vault side: for every `azurekeyvault` KeyManagementProvider in the
//! CRD directory, a refresher (workload identity from the pod's `AZURE_*` environment) that
//! fetches once before the configuration is loaded, then in the background every
//! `refreshInterval`, writing the trusted certificates and a CRD-style status file to a
//! private material directory the engine watches (see `imagegate_engine::config::azure`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use imagegate_azure::{AzureEnv, HttpSettings, KmpRefresher, SystemClock};

mod kube;
pub(crate) use kube::KubeKeyVault;

/// How long the first fetch of all providers may take before serving starts anyway.
const FIRST_FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The running refreshers; dropping it stops them and removes the material directory.
pub(crate) struct KeyVaultMaterial {
    _dir: MaterialDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _refreshers: Vec<Arc<KmpRefresher>>,
}

impl Drop for KeyVaultMaterial {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The private directory the refreshers write Key Vault material to, announced to the
/// engine while it lives; dropping it withdraws the announcement and removes it.
pub(crate) struct MaterialDir(tempfile::TempDir);

impl MaterialDir {
    /// Reads the pod's Azure environment (`AZURE_*`, `IMAGEGATE_AZURE_*`) and its client
    /// settings, and creates and announces the material directory: what both modes need
    /// before building refreshers.
    pub(crate) fn with_environment() -> Result<(Self, AzureEnv, HttpSettings)> {
        let env = AzureEnv::from_process();
        let http = HttpSettings::from_env(&env).context("Azure client settings")?;
        let dir = tempfile::Builder::new()
            .prefix("imagegate-keyvault-")
            .tempdir()
            .context("cannot create the Key Vault material directory")?;
        imagegate_engine::config::azure::set_key_vault_material_dir(Some(dir.path().to_path_buf()));
        Ok((Self(dir), env, http))
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for MaterialDir {
    fn drop(&mut self) {
        imagegate_engine::config::azure::set_key_vault_material_dir(None);
    }
}

/// Starts the refreshers of `crd_dir`'s Key Vault providers (None when there are none).
pub(crate) async fn start(crd_dir: Option<&Path>) -> Result<Option<KeyVaultMaterial>> {
    let Some(dir) = crd_dir else { return Ok(None) };
    let providers =
        imagegate_engine::config::azure::key_vault_providers(dir).with_context(|| {
            format!(
                "cannot read the KeyManagementProviders of {}",
                dir.display()
            )
        })?;
    if providers.is_empty() {
        return Ok(None);
    }
    let (material, env, http) = MaterialDir::with_environment()?;
    let mut refreshers = Vec::new();
    for (key, spec) in providers {
        let r = KmpRefresher::new(&key, spec, &env, &http, Arc::new(SystemClock))
            .with_context(|| format!("KeyManagementProvider {key}"))?
            .with_persist_dir(material.path().to_path_buf());
        refreshers.push(Arc::new(r));
    }
    let first = futures_util::future::join_all(refreshers.iter().map(|r| first_fetch(r))).await;
    let tasks = refreshers
        .iter()
        .zip(first)
        .map(|(r, ok)| keep_fresh(r, ok))
        .collect();
    Ok(Some(KeyVaultMaterial {
        _dir: material,
        tasks,
        _refreshers: refreshers,
    }))
}

/// The first fetch of `r`, bounded by [`FIRST_FETCH_TIMEOUT`]; false (logged) on failure.
async fn first_fetch(r: &KmpRefresher) -> bool {
    match tokio::time::timeout(FIRST_FETCH_TIMEOUT, r.refresh()).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::error!(kmp = r.name(), error = %e, "Key Vault fetch failed");
            false
        }
        Err(_) => {
            tracing::error!(kmp = r.name(), "Key Vault fetch timed out");
            false
        }
    }
}

/// The background refreshes after the first fetch: every `refreshInterval` after a success
/// (none without one), a retry after 1 s (then backoff) after a failure.
fn keep_fresh(r: &Arc<KmpRefresher>, first_ok: bool) -> tokio::task::JoinHandle<()> {
    let next = match (first_ok, r.spec().refresh_interval) {
        (true, Some(i)) => i,
        (true, None) => return tokio::spawn(async {}),
        (false, _) => Duration::from_secs(1),
    };
    r.spawn_after(next)
}
