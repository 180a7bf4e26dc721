//! Configuration: Ratify's `config.json` (read unchanged) and Ratify CRD YAML, turned into one
//! validated [`EngineConfig`].
//!
//! * `store.plugins[]`: `oras` stores (`useHttp`, `cosignEnabled`, `ttl`,
//!   `authProvider{name: dockerConfig, configPath}`).
//! * `policy.plugin`: `configPolicy` (`artifactVerificationPolicies` incl. `default`);
//!   `regoPolicy` is refused at load with a clear message (not supported yet).
//! * `verifier.plugins[]`: `notation` (`name`, `type`, `artifactTypes`, `verificationCerts`,
//!   `verificationCertStores` typed or legacy, `trustPolicyDoc`). Trust material is loaded at
//!   load time, so a loaded configuration is ready to verify.
//! * `executor`: `verificationRequestTimeout` / `mutationRequestTimeout` in ms (2900 / 950).
//! * `imagegate`: our own optional section, see [`settings`].
//!
//! Relative paths (`verificationCerts`, `authProvider.configPath`) are resolved against the
//! directory of the config file. Every error names the field path, e.g.
//! `verifier.plugins[0].trustPolicyDoc.trustPolicies[0].trustStores[1]: …`.

pub mod azure;
pub mod budget;
mod crd;
mod error;
mod executor_scope;
mod executor_v2;
mod json;
mod objects;
mod plugins;
pub mod settings;
mod trust;
mod value;
mod verifiers;
mod watched;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::policy::ConfigPolicy;

pub use error::ConfigError;
pub use executor_scope::{scope_matches, NO_EXECUTOR_PREFIX};
pub use objects::{CrdObject, ObjectsBuild};
pub use settings::{CacheSettings, ConcurrencySettings, RegistrySettings, Settings};
pub use verifiers::{ArtifactTypes, VerifierSpec};
pub use watched::WatchedFiles;

/// Largest config or CRD file read.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// A validated configuration, ready to verify.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Cluster-wide stores, policy and verifiers.
    pub cluster: Components,
    /// Per-namespace overrides (from namespaced CRDs); each kind that is set replaces the
    /// cluster one for requests from that namespace.
    pub namespaced: BTreeMap<String, Components>,
    /// Executor timeouts.
    pub executor: ExecutorConfig,
    /// The `imagegate` section.
    pub settings: Settings,
    /// SHA-256 over every input file, to detect changes.
    pub fingerprint: String,
    /// Certificate and docker config files the configuration was built from.
    pub watched: WatchedFiles,
}

/// Stores, policy and verifiers of one scope.
#[derive(Debug, Clone, Default)]
pub struct Components {
    /// Referrer stores.
    pub stores: Vec<StoreConfig>,
    /// The policy.
    pub policy: Option<PolicySpec>,
    /// Verifiers, in configuration order (the first match wins per referrer).
    pub verifiers: Vec<VerifierSpec>,
    /// A v2 Executor's scopes: the images these components serve ([`scope_matches`]);
    /// empty (v1 configuration) serves every image.
    pub scopes: Vec<String>,
}

impl Components {
    /// Puts the cluster-scoped CRDs' components over `config.json`'s: each kind the CRDs
    /// define replaces the file's (as Ratify's CRDs do), and an Executor's scopes come along.
    pub(crate) fn overlay(&mut self, crds: Components) {
        if !crds.stores.is_empty() {
            self.stores = crds.stores;
        }
        if crds.policy.is_some() {
            self.policy = crds.policy;
        }
        if !crds.verifiers.is_empty() {
            self.verifiers = crds.verifiers;
        }
        self.scopes = crds.scopes;
    }
}

/// The components that apply to a request from one namespace.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'a> {
    /// Stores.
    pub stores: &'a [StoreConfig],
    /// Policy.
    pub policy: Option<&'a PolicySpec>,
    /// Verifiers.
    pub verifiers: &'a [VerifierSpec],
    /// Whose verifiers these are: the namespace's own, or `None` for the cluster's.
    pub verifier_scope: Option<&'a str>,
}

/// An `oras` store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The plugin name (`oras`).
    pub name: String,
    /// `useHttp`.
    pub use_http: bool,
    /// `cosignEnabled` (accepted; cosign verification comes later).
    pub cosign_enabled: bool,
    /// `ttl`: how long referrer listings are cached (default 10 s).
    pub referrers_ttl: Duration,
    /// Registry credentials.
    pub auth: AuthConfig,
    /// Where this store was configured (for error messages).
    pub field: String,
}

/// Registry credentials of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthConfig {
    /// No credentials (no docker config file found).
    Anonymous,
    /// A docker `config.json`.
    DockerConfig {
        /// Its path.
        config_path: PathBuf,
    },
    /// ACR tokens from an Azure identity (`azureWorkloadIdentity`, `azureManagedIdentity`).
    Azure {
        /// Which identity.
        kind: azure::AzureIdentityKind,
        /// `clientID`.
        client_id: Option<String>,
        /// `endpoints` (empty: Ratify's defaults).
        endpoints: Vec<String>,
        /// The default docker config, used for other registries.
        fallback_docker_config: Option<PathBuf>,
    },
}

/// The policy provider.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicySpec {
    /// Ratify's config policy.
    Config(ConfigPolicy),
}

/// Executor timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// `verificationRequestTimeout` (default 2900 ms).
    pub verification_timeout: Duration,
    /// `mutationRequestTimeout` (default 950 ms).
    pub mutation_timeout: Duration,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            verification_timeout: Duration::from_millis(2900),
            mutation_timeout: Duration::from_millis(950),
        }
    }
}

impl EngineConfig {
    /// Loads `config.json` and, when given, the Ratify CRD YAML files of `crd_dir`.
    ///
    /// With CRDs, each kind defined by cluster-scoped CRDs (stores, policy, verifiers)
    /// replaces the one from `config.json`; namespaced CRDs override per namespace.
    pub fn load(config_path: &Path, crd_dir: Option<&Path>) -> Result<Self, ConfigError> {
        // Taken before reading, so a change made while loading shows at the next poll.
        let documents = Self::fingerprint(config_path, crd_dir)?;
        let bytes = read_bounded(config_path)?;
        let base = config_path.parent().unwrap_or(Path::new("."));
        let file = json::parse(&bytes, &config_path.display().to_string(), base)?;
        let mut cluster = file.components;
        let mut namespaced = BTreeMap::new();
        let mut watched = file.watched;
        if let Some(dir) = crd_dir {
            let crds = crd::load_dir(dir, base)?;
            watched.merge(crds.watched);
            cluster.overlay(crds.cluster);
            namespaced = crds.namespaced;
        }
        validate_cluster(&cluster, crd_dir.is_some())?;
        let fingerprint = combine(&documents, &watched.loaded_digest());
        Ok(Self {
            cluster,
            namespaced,
            executor: file.executor,
            settings: file.settings,
            fingerprint,
            watched,
        })
    }

    /// The fingerprint `config` would have if it were loaded now from the same inputs: the
    /// config file and CRDs, and the certificate and docker config files `config` was built
    /// from, as they are on disk. It differs from `config.fingerprint` when any of them
    /// changed (a rotated certificate or credential included).
    pub fn current_fingerprint(
        config_path: &Path,
        crd_dir: Option<&Path>,
        config: &EngineConfig,
    ) -> Result<String, ConfigError> {
        let documents = Self::fingerprint(config_path, crd_dir)?;
        let files = config.watched.current_digest(trust::read_entry);
        Ok(combine(&documents, &files))
    }

    /// SHA-256 over the config file and every CRD file (names and contents): what the
    /// watcher compares to decide whether to reload.
    pub fn fingerprint(config_path: &Path, crd_dir: Option<&Path>) -> Result<String, ConfigError> {
        let mut hasher = Sha256::new();
        hasher.update(read_bounded(config_path)?);
        if let Some(dir) = crd_dir {
            for f in crd::list_files(dir)? {
                hasher.update(f.display().to_string().as_bytes());
                hasher.update(read_bounded(&f)?);
            }
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Parses a `config.json` document held in memory; relative paths resolve against
    /// `base_dir`.
    pub fn from_json(bytes: &[u8], base_dir: &Path) -> Result<Self, ConfigError> {
        let file = json::parse(bytes, "config", base_dir)?;
        validate_cluster(&file.components, false)?;
        let documents = hex::encode(Sha256::digest(bytes));
        Ok(Self {
            cluster: file.components,
            namespaced: BTreeMap::new(),
            executor: file.executor,
            settings: file.settings,
            fingerprint: combine(&documents, &file.watched.loaded_digest()),
            watched: file.watched,
        })
    }

    /// The components for a request from `namespace`: per kind, the namespace's own when it
    /// defines that kind, else the cluster's (Ratify §2.4).
    pub fn resolve(&self, namespace: Option<&str>) -> Resolved<'_> {
        let ns = namespace.and_then(|n| self.namespaced.get_key_value(n));
        let pick_stores = ns
            .map(|(_, c)| c)
            .filter(|c| !c.stores.is_empty())
            .unwrap_or(&self.cluster);
        let own_verifiers = ns.filter(|(_, c)| !c.verifiers.is_empty());
        let pick_verifiers = own_verifiers.map_or(&self.cluster, |(_, c)| c);
        let policy = ns
            .and_then(|(_, c)| c.policy.as_ref())
            .or(self.cluster.policy.as_ref());
        Resolved {
            stores: &pick_stores.stores,
            policy,
            verifiers: &pick_verifiers.verifiers,
            verifier_scope: own_verifiers.map(|(name, _)| name.as_str()),
        }
    }

    /// All distinct artifact types the verifiers of a scope handle, or `None` for any (`*`).
    pub fn artifact_type_filter(verifiers: &[VerifierSpec]) -> Option<Vec<String>> {
        let mut out = Vec::new();
        for v in verifiers {
            match &v.artifact_types {
                ArtifactTypes::Any => return None,
                ArtifactTypes::List(items) => {
                    for t in items {
                        if !out.contains(t) {
                            out.push(t.clone());
                        }
                    }
                }
            }
        }
        Some(out)
    }
}

impl fmt::Display for PolicySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(_) => f.write_str("configPolicy"),
        }
    }
}

fn validate_cluster(c: &Components, crd_mode: bool) -> Result<(), ConfigError> {
    let hint = if crd_mode {
        " or a cluster-scoped CRD"
    } else {
        ""
    };
    if c.stores.is_empty() {
        return Err(ConfigError::invalid(
            "store.plugins",
            format!("referrer store config should have at least one store: add {{\"name\": \"oras\"}}{hint}"),
        ));
    }
    if c.policy.is_none() {
        return Err(ConfigError::invalid(
            "policy.plugin",
            format!(
                "policy provider config is not provided: add {{\"name\": \"configPolicy\"}}{hint}"
            ),
        ));
    }
    if c.verifiers.is_empty() {
        return Err(ConfigError::invalid(
            "verifier.plugins",
            format!(
                "verifiers config should have at least one verifier: add a notation verifier{hint}"
            ),
        ));
    }
    Ok(())
}

/// Reads a file of at most [`MAX_FILE_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let read_err = |e: std::io::Error| ConfigError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(ConfigError::Read {
            path: path.display().to_string(),
            reason: format!(
                "it is {} bytes, more than the {MAX_FILE_BYTES} accepted",
                meta.len()
            ),
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// Resolves `p` against `base` unless absolute.
/// One fingerprint from the documents' and the watched files' digests.
fn combine(documents: &str, files: &str) -> String {
    let mut h = Sha256::new();
    h.update(documents.as_bytes());
    h.update([0]);
    h.update(files.as_bytes());
    hex::encode(h.finalize())
}

pub(crate) fn resolve_path(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}
