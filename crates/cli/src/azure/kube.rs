//! `imagegate serve --kubernetes`'s Key Vault side: one [`KmpRefresher`] per `azurekeyvault`
//! KeyManagementProvider / NamespacedKeyManagementProvider object of the current snapshot,
//! behind `imagegate-kube`'s [`KeyManagementHook`]. Started when the object appears (first
//! fetch before the configuration is built, bounded like file mode), restarted when its spec
//! changes, stopped when it is deleted. The material goes to the same kind of private
//! directory file mode uses; a refresh that brings different material wakes the source,
//! which reconciles the last snapshot again (the material file is part of the
//! configuration's fingerprint, so the new certificates are put in force).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use futures_util::future::BoxFuture;
use futures_util::FutureExt as _;
use imagegate_azure::refresh::{material_file_name, status_file_name, write_atomically};
use imagegate_azure::{AzureEnv, HttpSettings, KeyVaultSpec, KmpRefresher, KmpStatus, SystemClock};
use imagegate_kube::{KeyManagementHook, KmpObject};
use serde_json::{Map, Value};
use tokio::sync::Notify;

use super::{first_fetch, keep_fresh, MaterialDir};

/// The material in force as the status shows it: its fingerprint and `properties` (kept
/// from the fetch that changed it, so a refresh that brings the same certificates does not
/// rewrite the status with a new `LastRefreshed`).
#[derive(Default)]
struct Shown(Option<(Fingerprint, Value)>);

type Fingerprint = (String, Vec<(String, String, bool)>);

impl Shown {
    /// Records `m`; true when it differs from what was shown.
    fn update(&mut self, m: &imagegate_azure::Material) -> bool {
        let fp = fingerprint(m);
        if self.0.as_ref().is_some_and(|(f, _)| *f == fp) {
            return false;
        }
        self.0 = Some((fp, m.status_properties()));
        true
    }
}

/// One running refresher.
struct Running {
    spec: Map<String, Value>,
    shown: Arc<Mutex<Shown>>,
    task: tokio::task::JoinHandle<()>,
    /// The task holds it weakly: dropping this stops the refreshes.
    refresher: Arc<KmpRefresher>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Key Vault refreshers of Kubernetes mode; dropping it stops them and removes the
/// material directory.
pub(crate) struct KubeKeyVault {
    dir: MaterialDir,
    env: AzureEnv,
    http: HttpSettings,
    running: Mutex<HashMap<String, Running>>,
    /// Providers whose refresher could not be built, and why.
    refused: Mutex<HashMap<String, String>>,
    changed: Arc<Notify>,
}

impl KubeKeyVault {
    /// Reads the Azure environment (`AZURE_*`, `IMAGEGATE_AZURE_*`) and announces a private
    /// material directory to the engine.
    pub(crate) fn new() -> Result<Self> {
        let (dir, env, http) = MaterialDir::with_environment()?;
        Ok(Self {
            dir,
            env,
            http,
            running: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            changed: Arc::new(Notify::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        lock(&self.running)
    }

    /// Starts the refresher of `key` and makes its first fetch; None (the reason written
    /// to the status file, where the configuration load reports it) when it cannot start.
    async fn start(&self, key: &str, spec: &Map<String, Value>) -> Option<Running> {
        let params = spec
            .get("parameters")
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        let interval = spec.get("refreshInterval").and_then(Value::as_str);
        // A bad spec is reported by the configuration load with Ratify's message.
        let parsed = KeyVaultSpec::from_parameters(&params, interval).ok()?;
        let refresher = match KmpRefresher::new(
            key,
            parsed,
            &self.env,
            &self.http,
            Arc::new(SystemClock),
        ) {
            Ok(r) => Arc::new(r.with_persist_dir(self.dir.path().to_path_buf())),
            Err(e) => {
                tracing::error!(kmp = key, error = %e, "cannot start the Key Vault refresher");
                let status = KmpStatus {
                    last_error: Some(format!("KEY_MANAGEMENT_PROVIDER_FAILURE: {e}")),
                    ..KmpStatus::default()
                };
                let text = status.crd_status().to_string();
                if let Err(e) =
                    write_atomically(self.dir.path(), &status_file_name(key), text.as_bytes())
                {
                    tracing::warn!(kmp = key, error = %e, "cannot write the Key Vault status file");
                }
                return None;
            }
        };
        let ok = first_fetch(&refresher).await;
        let shown = Arc::new(Mutex::new(Shown::default()));
        if let Some(m) = refresher.status().material.as_ref() {
            lock(&shown).update(m);
        }
        // Wake the source when a later refresh brings material different from the last.
        let changed = Arc::clone(&self.changed);
        let name = key.to_owned();
        let seen = Arc::clone(&shown);
        refresher.subscribe(move |m| {
            if lock(&seen).update(m) {
                tracing::info!(kmp = %name, "Key Vault material changed");
                changed.notify_one();
            }
        });
        let task = keep_fresh(&refresher, ok);
        tracing::info!(kmp = key, fetched = ok, "Key Vault refresher started");
        Some(Running {
            spec: spec.clone(),
            shown,
            task,
            refresher,
        })
    }
}

/// What distinguishes one fetched material from another: the trusted certificates and the
/// certificate and key versions with their state.
fn fingerprint(m: &imagegate_azure::Material) -> Fingerprint {
    let versions = m
        .certificates
        .iter()
        .map(|c| (c.name.clone(), c.version.clone(), c.enabled))
        .chain(
            m.keys
                .iter()
                .map(|k| (k.name.clone(), k.version.clone(), k.enabled)),
        )
        .collect();
    (m.trust_store_pem(), versions)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn remove_files(dir: &Path, key: &str) {
    for name in [material_file_name(key), status_file_name(key)] {
        match std::fs::remove_file(dir.join(&name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(kmp = key, error = %e, "cannot remove {name}"),
        }
    }
}

fn is_key_vault(spec: &Map<String, Value>) -> bool {
    spec.get("type").and_then(Value::as_str) == Some("azurekeyvault")
}

impl KeyManagementHook for KubeKeyVault {
    fn sync<'a>(&'a self, objects: &'a [KmpObject]) -> BoxFuture<'a, ()> {
        async move {
            let wanted: HashMap<&str, &Map<String, Value>> = objects
                .iter()
                .filter(|o| is_key_vault(&o.spec))
                .map(|o| (o.key.as_str(), &o.spec))
                .collect();
            lock(&self.refused).clear();
            // Stop what was deleted or changed (its material belongs to the old spec).
            let stopped: Vec<(String, Running)> = {
                let mut running = self.lock();
                let gone: Vec<String> = running
                    .iter()
                    .filter(|(k, r)| wanted.get(k.as_str()) != Some(&&r.spec))
                    .map(|(k, _)| k.clone())
                    .collect();
                gone.into_iter()
                    .filter_map(|k| running.remove(&k).map(|r| (k, r)))
                    .collect()
            };
            for (key, r) in stopped {
                drop(r);
                remove_files(self.dir.path(), &key);
                let reason = if wanted.contains_key(key.as_str()) {
                    "spec changed"
                } else {
                    "object deleted"
                };
                tracing::info!(kmp = %key, reason, "Key Vault refresher stopped");
            }
            let new: Vec<(&str, &Map<String, Value>)> = {
                let running = self.lock();
                wanted
                    .iter()
                    .filter(|(k, _)| !running.contains_key(**k))
                    .map(|(k, s)| (*k, *s))
                    .collect()
            };
            let started = futures_util::future::join_all(
                new.iter()
                    .map(|(k, s)| async move { (*k, self.start(k, s).await) }),
            )
            .await;
            let mut running = self.lock();
            for (key, r) in started {
                if let Some(r) = r {
                    running.insert(key.to_owned(), r);
                }
            }
        }
        .boxed()
    }

    fn changed(&self) -> BoxFuture<'_, ()> {
        self.changed.notified().boxed()
    }

    fn failure(&self, key: &str) -> Option<String> {
        if let Some(reason) = lock(&self.refused).get(key) {
            return Some(reason.clone());
        }
        let running = self.lock();
        let status = running.get(key)?.refresher.status();
        if status.material.is_some() {
            return None;
        }
        let error = status.last_error.as_deref()?;
        Some(
            error
                .strip_prefix("KEY_MANAGEMENT_PROVIDER_FAILURE: ")
                .unwrap_or(error)
                .to_owned(),
        )
    }

    fn properties(&self, key: &str) -> Option<Value> {
        let running = self.lock();
        let shown = lock(&running.get(key)?.shown).0.as_ref()?.1.clone();
        Some(shown)
    }
}
