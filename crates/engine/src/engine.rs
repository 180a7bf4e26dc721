//! [`Engine`]: the public entry point. Holds the current configuration generation, the
//! caches that outlive reloads, and the injected clock and revocation checker.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::FutureExt as _;
use imagegate_notation::revocation::RevocationChecker;
use imagegate_provider::RenderedJson;
use tokio::sync::Semaphore;

use crate::cache::{CacheStats, Caches};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, EngineConfig, StoreConfig};
use crate::executor::{self, Shared, State};
use crate::key::{go_duration, split};
use crate::metrics::MetricsSink;
use crate::ratify_codes::RatifyCode;
use crate::registry::{build_client, Registry, RegistryWrapper};
use crate::report::VerifyResult;
use crate::revocation::CrlRevocationChecker;

/// A per-key failure, rendered as Ratify renders errors: `"<CODE>: <detail>"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct KeyError {
    /// The Ratify error code.
    pub code: RatifyCode,
    /// What went wrong and what to do.
    pub detail: String,
}

impl KeyError {
    /// A key error with `code` and the display text of `detail`.
    pub fn new(code: RatifyCode, detail: impl std::fmt::Display) -> Self {
        Self {
            code,
            detail: detail.to_string(),
        }
    }
}

/// The answer for one key.
pub type KeyResult<T> = Result<T, KeyError>;

/// Injected dependencies and start-up options.
#[derive(Clone)]
pub struct EngineOptions {
    /// Time source for certificate checks and result timestamps.
    pub clock: Arc<dyn Clock>,
    /// Revocation checker for signing and TSA chains. `None` (the default): a
    /// [`CrlRevocationChecker`] on [`EngineOptions::clock`] (CRLs over HTTP; certificates
    /// without OCSP/CRL URLs pass, OCSP-only ones are "unknown"). Set it, e.g. to
    /// [`imagegate_notation::revocation::OfflineRevocationChecker`], to avoid network access.
    pub revocation: Option<Arc<dyn RevocationChecker>>,
    /// A directory of Ratify CRD YAML files loaded with the config file.
    pub crd_dir: Option<PathBuf>,
    /// Wraps each generation's registry client (tests: counting).
    pub registry_wrapper: Option<RegistryWrapper>,
    /// Where cache lookups and verifier runs are recorded.
    pub metrics: Option<Arc<dyn MetricsSink>>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            revocation: None,
            crd_dir: None,
            registry_wrapper: None,
            metrics: None,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("crd_dir", &self.crd_dir)
            .finish_non_exhaustive()
    }
}

/// What [`Engine::reload`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The files did not change (or the engine was built from memory).
    Unchanged,
    /// A new configuration is in force.
    Reloaded {
        /// Its generation.
        generation: u64,
    },
}

/// The result of [`Engine::verify_image`], for the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyReport {
    /// The image as given.
    pub image: String,
    /// The verification result, or why there is none.
    pub outcome: KeyResult<VerifyResult>,
}

impl VerifyReport {
    /// Whether the image passed the policy.
    pub fn is_success(&self) -> bool {
        self.outcome.as_ref().is_ok_and(|r| r.is_success)
    }

    /// A human-readable explanation.
    pub fn explain(&self) -> String {
        crate::explain::render(&self.image, &self.outcome)
    }
}

/// The verification engine. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    source: Option<(PathBuf, Option<PathBuf>)>,
    state: ArcSwap<State>,
    shared: Shared,
    wrapper: Option<RegistryWrapper>,
    /// Fingerprint of the last rejected configuration, so a bad file is reported once.
    reload_lock: std::sync::Mutex<Option<String>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Loads `path` (Ratify `config.json`, plus `options.crd_dir`) and builds the engine.
    /// Fails with an error naming the field when the configuration is invalid.
    pub fn from_config_file(path: &Path, options: EngineOptions) -> Result<Self, ConfigError> {
        let config = EngineConfig::load(path, options.crd_dir.as_deref())?;
        let source = Some((path.to_path_buf(), options.crd_dir.clone()));
        Self::build(config, options, source)
    }

    /// Builds the engine from a configuration held in memory (no reload source).
    pub fn from_config(config: EngineConfig, options: EngineOptions) -> Result<Self, ConfigError> {
        Self::build(config, options, None)
    }

    fn build(
        config: EngineConfig,
        options: EngineOptions,
        source: Option<(PathBuf, Option<PathBuf>)>,
    ) -> Result<Self, ConfigError> {
        let workers = match config.settings.concurrency.max_verifications {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        static ENGINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let shared = Shared {
            id: ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            caches: Arc::new(Caches::new(&config.settings.cache, options.metrics.clone())),
            metrics: options.metrics,
            revocation: options
                .revocation
                .unwrap_or_else(|| Arc::new(CrlRevocationChecker::new(Arc::clone(&options.clock)))),
            clock: options.clock,
            cpu: Arc::new(Semaphore::new(workers)),
        };
        let state = state(config, 1, options.registry_wrapper.as_ref())?;
        Ok(Self {
            inner: Arc::new(Inner {
                source,
                state: ArcSwap::from_pointee(state),
                shared,
                wrapper: options.registry_wrapper,
                reload_lock: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The configuration generation in force (1 at start, +1 per successful reload).
    pub fn generation(&self) -> u64 {
        self.inner.state.load().generation
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<EngineConfig> {
        self.inner.state.load().config.clone()
    }

    /// Whether configuration and trust material are loaded. An engine only exists with a
    /// valid configuration, whose trust stores were loaded and checked, so this is true.
    pub fn ready(&self) -> bool {
        !self.inner.state.load().config.cluster.verifiers.is_empty()
    }

    /// Cache hit/miss counters.
    pub fn stats(&self) -> CacheStats {
        self.inner.shared.caches.stats()
    }

    /// Re-reads the config file (and CRD directory) if their contents, or those of the
    /// certificate and docker config files the configuration uses, changed. A bad new
    /// configuration is returned as an error and the old one stays in force; the same bad
    /// contents are not reported again (the next call answers `Unchanged`).
    pub fn reload(&self) -> Result<ReloadOutcome, ConfigError> {
        let Some((path, crd_dir)) = &self.inner.source else {
            return Ok(ReloadOutcome::Unchanged);
        };
        let mut rejected = self
            .inner
            .reload_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.inner.state.load_full();
        let fingerprint =
            EngineConfig::current_fingerprint(path, crd_dir.as_deref(), &current.config)?;
        if fingerprint == current.config.fingerprint || rejected.as_ref() == Some(&fingerprint) {
            return Ok(ReloadOutcome::Unchanged);
        }
        let generation = current.generation + 1;
        let next = EngineConfig::load(path, crd_dir.as_deref())
            .and_then(|config| state(config, generation, self.inner.wrapper.as_ref()));
        match next {
            Ok(next) => {
                self.inner.state.store(Arc::new(next));
                *rejected = None;
                Ok(ReloadOutcome::Reloaded { generation })
            }
            Err(e) => {
                *rejected = Some(fingerprint);
                Err(e)
            }
        }
    }

    /// Puts a configuration built elsewhere (e.g. from the Kubernetes API) in force, unless
    /// it has the fingerprint of the one in force. An invalid one is returned as an error and
    /// the old one stays in force.
    pub fn apply_config(&self, config: EngineConfig) -> Result<ReloadOutcome, ConfigError> {
        let _guard = self
            .inner
            .reload_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = self.inner.state.load_full();
        if config.fingerprint == current.config.fingerprint {
            return Ok(ReloadOutcome::Unchanged);
        }
        let generation = current.generation + 1;
        let next = state(config, generation, self.inner.wrapper.as_ref())?;
        self.inner.state.store(Arc::new(next));
        Ok(ReloadOutcome::Reloaded { generation })
    }

    /// Verifies one request key (`[namespace]image`) under the executor's verification
    /// timeout.
    pub async fn verify_key(&self, raw_key: &str, trace_id: &str) -> KeyResult<VerifyResult> {
        let key = split(raw_key);
        self.verify_parts(key.namespace, key.image, trace_id).await
    }

    /// Like [`Engine::verify_key`] with the key already split.
    pub async fn verify_parts(
        &self,
        namespace: Option<&str>,
        image: &str,
        trace_id: &str,
    ) -> KeyResult<VerifyResult> {
        let decided = self.decide(namespace, image).await?;
        executor::result(
            &self.inner.shared,
            &decided.verdict,
            decided.stale.as_ref(),
            trace_id,
        )
    }

    /// Like [`Engine::verify_parts`], answered in the provider's wire form: the result
    /// object rendered as the provider writes it.
    pub(crate) async fn verify_rendered(
        &self,
        namespace: Option<&str>,
        image: &str,
        trace_id: &str,
    ) -> KeyResult<RenderedJson> {
        let decided = self.decide(namespace, image).await?;
        executor::render(
            &self.inner.shared,
            &decided.verdict,
            decided.stale.as_ref(),
            trace_id,
        )
    }

    /// The rendered answer for a key whose verdict is cached, found without waiting for
    /// anything; `None` when the full pipeline must run ([`Engine::verify_rendered`]).
    /// Invalid keys are answered here too.
    pub(crate) fn verify_cached_now(
        &self,
        namespace: Option<&str>,
        image: &str,
        trace_id: &str,
    ) -> Option<KeyResult<RenderedJson>> {
        let state = self.inner.state.load();
        let shared = &self.inner.shared;
        // The cache lookup completes at once unless the cache is busy with its housekeeping;
        // then the full pipeline answers instead.
        let verdict = executor::cached(shared, &state, namespace, image).now_or_never()?;
        match verdict {
            Err(e) => Some(Err(e)),
            Ok(None) => None,
            Ok(Some(verdict)) => Some(executor::render(shared, &verdict, None, trace_id)),
        }
    }

    /// The verdict for a key under the executor's verification timeout.
    async fn decide(&self, namespace: Option<&str>, image: &str) -> KeyResult<executor::Decided> {
        let state = self.inner.state.load_full();
        let shared = &self.inner.shared;
        let limit = state.config.executor.verification_timeout;
        // A quarter of the deadline stays free to answer with a stale verdict.
        let budget = limit.saturating_sub(limit / 4);
        bounded(
            limit,
            executor::verify(shared, &state, namespace, image, budget),
        )
        .await
    }

    /// Resolves one request key to `registry/repository@digest` under the executor's
    /// mutation timeout; digest references are returned unchanged.
    pub async fn mutate_key(&self, raw_key: &str, _trace_id: &str) -> KeyResult<String> {
        let key = split(raw_key);
        self.mutate_parts(key.namespace, key.image).await
    }

    /// Like [`Engine::mutate_key`] with the key already split.
    pub async fn mutate_parts(&self, namespace: Option<&str>, image: &str) -> KeyResult<String> {
        let state = self.inner.state.load_full();
        let limit = state.config.executor.mutation_timeout;
        bounded(
            limit,
            executor::mutate(&self.inner.shared, &state, namespace, image),
        )
        .await
    }

    /// Verifies one image for `imagegate verify`: the same pipeline, with a fresh trace ID.
    pub async fn verify_image(&self, reference: &str) -> VerifyReport {
        let trace_id = uuid::Uuid::new_v4().to_string();
        VerifyReport {
            image: reference.to_owned(),
            outcome: self.verify_key(reference, &trace_id).await,
        }
    }

    /// Starts a task that polls the config files every `imagegate.reloadIntervalMs` and
    /// reloads on change. Stops when the handle is dropped.
    pub fn watch(&self) -> crate::reload::WatchHandle {
        crate::reload::spawn(self.clone())
    }

    pub(crate) fn reload_interval(&self) -> Duration {
        self.inner.state.load().config.settings.reload_interval()
    }
}

async fn bounded<T>(
    limit: Duration,
    work: impl std::future::Future<Output = KeyResult<T>>,
) -> KeyResult<T> {
    match tokio::time::timeout(limit, work).await {
        Ok(r) => r,
        Err(_) => Err(KeyError::new(
            RatifyCode::ExecutorFailure,
            format!("operation timed out after duration {}", go_duration(limit)),
        )),
    }
}

fn state(
    config: EngineConfig,
    generation: u64,
    wrapper: Option<&RegistryWrapper>,
) -> Result<State, ConfigError> {
    let client = |store: Option<&StoreConfig>| -> Result<Arc<dyn Registry>, ConfigError> {
        let store = store.ok_or_else(|| {
            ConfigError::invalid("store.plugins", "at least one store is required")
        })?;
        let client = build_client(
            store,
            &config.settings.registry,
            config.executor.verification_timeout,
        )?;
        let registry: Arc<dyn Registry> = Arc::new(client);
        Ok(match wrapper {
            Some(wrap) => wrap(registry),
            None => registry,
        })
    };
    let registry = client(config.cluster.stores.first())?;
    let mut namespaced = std::collections::BTreeMap::new();
    for (ns, components) in &config.namespaced {
        if let Some(store) = components.stores.first() {
            namespaced.insert(ns.clone(), client(Some(store))?);
        }
    }
    Ok(State {
        generation,
        config: Arc::new(config),
        registry,
        namespaced,
    })
}
