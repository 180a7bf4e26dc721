//! Keeps one `azurekeyvault` KMP's material fresh: a refresh replaces the material only when
//! every object was fetched (atomic per provider); a failed refresh keeps the last good
//! material, records the error (log + counters + status) and retries with backoff; readers
//! never wait for a refresh. Certificates that expire within the warning window are logged
//! (and listed in the status) before they expire.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use time::OffsetDateTime;

use crate::cache::{RetryPolicy, TokenCache};
use crate::env::AzureEnv;
use crate::error::AzureError;
use crate::http::HttpSettings;
use crate::identity::WorkloadIdentity;
use crate::keyvault::KeyVaultClient;
use crate::kmp::{fetch, KeyVaultSpec, Material};
use crate::Clock;

/// How long before `notAfter` a certificate is reported as expiring.
pub const DEFAULT_EXPIRY_WARNING: Duration = Duration::from_secs(30 * 24 * 3600);

/// The file name a KMP's trusted certificates are written to (`ns/name` → `ns__name.pem`).
pub fn material_file_name(key: &str) -> String {
    format!("{}.pem", sanitise(key))
}

/// The file name a KMP's CRD-style status is written to.
pub fn status_file_name(key: &str) -> String {
    format!("{}.status.json", sanitise(key))
}

fn sanitise(key: &str) -> String {
    key.replace('/', "__")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes `contents` to `dir/name` atomically (temporary file, then rename).
pub fn write_atomically(dir: &std::path::Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, contents)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// A KMP's state as readers see it.
#[derive(Clone, Debug, Default)]
pub struct KmpStatus {
    /// The last good material (kept across failed refreshes).
    pub material: Option<Arc<Material>>,
    /// The error of the last attempt, if it failed.
    pub last_error: Option<String>,
    /// When the last attempt ended.
    pub last_attempt: Option<OffsetDateTime>,
    /// Certificates expiring within the warning window: `(name, version, subject, notAfter)`.
    pub expiring: Vec<(String, String, String, OffsetDateTime)>,
}

impl KmpStatus {
    /// Ratify's CRD status document (`issuccess`, `error`, `brieferror`,
    /// `lastfetchedtime`, `properties`).
    pub fn crd_status(&self) -> serde_json::Value {
        let fmt = |t: &OffsetDateTime| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        };
        let mut s = serde_json::json!({
            "issuccess": self.last_error.is_none(),
            "lastfetchedtime": self.last_attempt.as_ref().map(fmt),
            "properties": self.material.as_ref().map(|m| m.status_properties()),
        });
        if let Some(e) = &self.last_error {
            s["error"] = e.clone().into();
            let brief: String = e.chars().take(97).collect();
            s["brieferror"] = if e.chars().count() > 100 {
                format!("{brief}...")
            } else {
                e.clone()
            }
            .into();
        }
        s
    }
}

/// Called with new material after each successful refresh.
type Listener = Box<dyn Fn(&Arc<Material>) + Send + Sync>;

/// The refresher of one KMP.
pub struct KmpRefresher {
    name: String,
    spec: KeyVaultSpec,
    client: KeyVaultClient,
    clock: Arc<dyn Clock>,
    expiry_warning: Duration,
    state: ArcSwap<KmpStatus>,
    successes: AtomicU64,
    failures: AtomicU64,
    listeners: Mutex<Vec<Listener>>,
    persist_dir: Option<std::path::PathBuf>,
}

impl KmpRefresher {
    /// A refresher for the KMP `name` (`name` or `ns/name`), authenticating with workload
    /// identity for the spec's tenant and client IDs.
    pub fn new(
        name: &str,
        spec: KeyVaultSpec,
        env: &AzureEnv,
        http: &HttpSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AzureError> {
        let client = http.client()?;
        let identity = WorkloadIdentity::new(
            client.clone(),
            env,
            Some(&spec.tenant_id),
            Some(&spec.client_id),
        )?;
        let tokens = TokenCache::new(Arc::new(identity), RetryPolicy::default());
        let kv = KeyVaultClient::new(client, &spec.vault_uri, tokens, RetryPolicy::default())?;
        Ok(Self::with_client(name, spec, kv, clock))
    }

    /// A refresher over a ready client.
    pub fn with_client(
        name: &str,
        spec: KeyVaultSpec,
        client: KeyVaultClient,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            name: name.to_owned(),
            spec,
            client,
            clock,
            expiry_warning: DEFAULT_EXPIRY_WARNING,
            state: ArcSwap::from_pointee(KmpStatus::default()),
            successes: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            listeners: Mutex::new(Vec::new()),
            persist_dir: None,
        }
    }

    /// Writes the trusted certificates ([`material_file_name`], after each successful
    /// refresh) and the CRD-style status ([`status_file_name`], after every attempt) to `dir`.
    pub fn with_persist_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.persist_dir = Some(dir);
        self
    }

    fn persist(&self, material: Option<&Material>) {
        let Some(dir) = &self.persist_dir else { return };
        if let Some(m) = material {
            if let Err(e) = write_atomically(
                dir,
                &material_file_name(&self.name),
                m.trust_store_pem().as_bytes(),
            ) {
                tracing::warn!(kmp = %self.name, error = %e, "cannot write the Key Vault material file");
            }
        }
        let status = self.status().crd_status().to_string();
        if let Err(e) = write_atomically(dir, &status_file_name(&self.name), status.as_bytes()) {
            tracing::warn!(kmp = %self.name, error = %e, "cannot write the Key Vault status file");
        }
    }

    /// Sets how long before expiry certificates are reported.
    pub fn with_expiry_warning(mut self, window: Duration) -> Self {
        self.expiry_warning = window;
        self
    }

    /// The KMP's name (the trust store name the notation verifier uses).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The spec.
    pub fn spec(&self) -> &KeyVaultSpec {
        &self.spec
    }

    /// The current state (never blocks).
    pub fn status(&self) -> Arc<KmpStatus> {
        self.state.load_full()
    }

    /// `(successful, failed)` refreshes so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.successes.load(Ordering::Relaxed),
            self.failures.load(Ordering::Relaxed),
        )
    }

    /// Calls `f` with the new material after every successful refresh.
    pub fn subscribe(&self, f: impl Fn(&Arc<Material>) + Send + Sync + 'static) {
        if let Ok(mut l) = self.listeners.lock() {
            l.push(Box::new(f));
        }
    }

    /// One refresh: on success the material is replaced as a whole; on failure the last
    /// good material stays and the error is recorded.
    pub async fn refresh(&self) -> Result<Arc<Material>, AzureError> {
        let result = fetch(&self.client, &self.spec, self.clock.now()).await;
        let now = self.clock.now();
        let previous = self.state.load_full();
        match result {
            Ok(material) => {
                let material = Arc::new(material);
                let horizon = now + self.expiry_warning;
                let expiring = material.expiring_before(horizon);
                for (name, version, subject, not_after) in &expiring {
                    tracing::warn!(kmp = %self.name, certificate = %name, version = %version, subject = %subject, not_after = %not_after, "Key Vault certificate expires soon");
                }
                self.state.store(Arc::new(KmpStatus {
                    material: Some(material.clone()),
                    last_error: None,
                    last_attempt: Some(now),
                    expiring,
                }));
                self.successes.fetch_add(1, Ordering::Relaxed);
                self.persist(Some(&material));
                tracing::info!(kmp = %self.name, vault = %self.spec.vault_uri, certificates = material.trusted_certificates().len(), keys = material.keys.iter().filter(|k| k.enabled).count(), "Key Vault material refreshed");
                if let Ok(listeners) = self.listeners.lock() {
                    for l in listeners.iter() {
                        l(&material);
                    }
                }
                Ok(material)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                let kept = previous.material.is_some();
                tracing::warn!(kmp = %self.name, error = %e, kept_last_good = kept, "Key Vault refresh failed; the last good material stays in use");
                self.state.store(Arc::new(KmpStatus {
                    material: previous.material.clone(),
                    last_error: Some(format!("KEY_MANAGEMENT_PROVIDER_FAILURE: {e}")),
                    last_attempt: Some(now),
                    expiring: previous.expiring.clone(),
                }));
                self.persist(None);
                Err(e)
            }
        }
    }

    /// Refreshes every `refreshInterval` after a success (once only without one) and with
    /// backoff (1 s doubling, at most the interval or 5 minutes) after a failure, until the
    /// returned task is aborted or the refresher dropped.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        self.spawn_after(Duration::ZERO)
    }

    /// Like [`KmpRefresher::spawn`], starting after `delay` (e.g. the refresh interval after
    /// a first refresh done by the caller).
    pub fn spawn_after(self: &Arc<Self>, delay: Duration) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let mut backoff = Duration::from_secs(1);
            loop {
                let Some(this) = weak.upgrade() else { return };
                let interval = this.spec.refresh_interval;
                let wait = match this.refresh().await {
                    Ok(_) => {
                        backoff = Duration::from_secs(1);
                        match interval {
                            Some(i) => i,
                            None => return,
                        }
                    }
                    Err(_) => {
                        let w = backoff;
                        let cap = interval
                            .unwrap_or(Duration::from_secs(300))
                            .min(Duration::from_secs(300));
                        backoff = (backoff * 2).min(cap.max(Duration::from_secs(1)));
                        w
                    }
                };
                drop(this);
                tokio::time::sleep(wait).await;
            }
        })
    }
}
