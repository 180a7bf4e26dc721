//! [`Engine`]: the public entry point. Holds the current configuration generation, the
//! caches that outlive reloads, and the injected clock and revocation checker.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::FutureExt as _;
use imagegate_notation::revocation::RevocationChecker;
use imagegate_ratify::{
    go_duration, split, CauseKind, Failure, RatifyCode, RenderedJson, SplitKey,
};
use tokio::sync::Semaphore;

use crate::cache::{CacheStats, Caches, Decision};
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, EngineConfig, ExecutorConfig, StoreConfig};
use crate::executor::hosts::{HostLimits, Limited};
use crate::executor::{self, Shared, State};
use crate::metrics::MetricsSink;
use crate::registry::{build_client, Registry, RegistryWrapper};
use crate::report::VerifyResult;
use crate::revocation::CrlRevocationChecker;

/// The answer for one key: the value, or a typed [`Failure`] (Ratify code, cause kind,
/// detail) that only the edge renders as text.
pub type KeyResult<T> = Result<T, Failure>;

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
            hosts: Arc::new(HostLimits::new(
                config.settings.concurrency.max_requests_per_registry,
            )),
        };
        let state = state(
            config,
            1,
            &shared.hosts,
            options.registry_wrapper.as_ref(),
            shared.metrics.as_ref(),
        )?;
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

    /// The executor timeouts in force (cheap: no reference count is taken).
    pub fn executor_timeouts(&self) -> ExecutorConfig {
        self.inner.state.load().config.executor
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
            .and_then(|config| self.next_state(config, generation));
        self.count_reload(next.is_ok());
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

    /// The state of generation `generation` built from `config`, sharing this engine's
    /// per-host limits, registry wrapper and metrics.
    fn next_state(&self, config: EngineConfig, generation: u64) -> Result<State, ConfigError> {
        state(
            config,
            generation,
            &self.inner.shared.hosts,
            self.inner.wrapper.as_ref(),
            self.inner.shared.metrics.as_ref(),
        )
    }

    fn count_reload(&self, ok: bool) {
        if let Some(metrics) = &self.inner.shared.metrics {
            metrics.config_reload(ok);
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
        let next = self.next_state(config, generation);
        self.count_reload(next.is_ok());
        self.inner.state.store(Arc::new(next?));
        Ok(ReloadOutcome::Reloaded { generation })
    }

    /// Verifies one request key (`[namespace]image`) under the executor's verification
    /// timeout: [`Engine::decide`] and [`Engine::result`] in one call.
    pub async fn verify_key(&self, raw_key: &str, trace_id: &str) -> KeyResult<VerifyResult> {
        let decision = self.decide(split(raw_key)?).await?;
        Ok(self.result(&decision, trace_id))
    }

    /// Verifies one image for `imagegate verify`: [`Engine::verify_key`] with a fresh trace
    /// ID, kept with the image for [`VerifyReport::explain`].
    pub async fn verify_image(&self, reference: &str) -> VerifyReport {
        let trace_id = uuid::Uuid::new_v4().to_string();
        VerifyReport {
            image: reference.to_owned(),
            outcome: self.verify_key(reference, &trace_id).await,
        }
    }

    /// Decides one split key: the pipeline (parse, resolve, referrers, verify, policy) under
    /// the executor's verification timeout, through the verdict cache.
    ///
    /// Two deadlines nest here, outermost first: the executor's verification timeout
    /// (`executor.verificationRequestTimeout`) bounds the whole key; inside it, the
    /// re-verification of an expired verdict that could be served stale gets three quarters
    /// of it, so that a quarter is left to answer with the stale verdict. (The HTTP edge
    /// applies its own per-request deadline around both.)
    pub async fn decide(&self, key: SplitKey<'_>) -> KeyResult<Decision> {
        let state = self.inner.state.load_full();
        let shared = &self.inner.shared;
        let limit = state.config.executor.verification_timeout;
        let budget = limit.saturating_sub(limit / 4);
        bounded(
            limit,
            executor::verify(shared, &state, key.namespace, key.image, budget),
        )
        .await
    }

    /// The decision for a key whose verdict is cached, found without waiting for anything;
    /// `None` when the full pipeline must run ([`Engine::decide`]). Invalid keys are
    /// answered here too. The warm path: no allocation beyond a reference count.
    pub fn decide_now(&self, key: SplitKey<'_>) -> Option<KeyResult<Decision>> {
        let state = self.inner.state.load();
        let shared = &self.inner.shared;
        // The cache lookup completes at once unless the cache is busy with its housekeeping;
        // then the full pipeline answers instead.
        let verdict = executor::cached(shared, &state, key.namespace, key.image).now_or_never()?;
        match verdict {
            Err(e) => Some(Err(e)),
            Ok(None) => None,
            Ok(Some(verdict)) => Some(Ok(Decision {
                verdict,
                stale: None,
            })),
        }
    }

    /// A decision as Ratify's result object, typed, stamped now with `trace_id`.
    pub fn result(&self, decision: &Decision, trace_id: &str) -> VerifyResult {
        executor::result(&self.inner.shared, decision, trace_id)
    }

    /// A decision as Ratify's result object rendered for the wire: byte for byte the
    /// serialisation of [`Engine::result`], spliced from pre-rendered reports.
    pub fn render(&self, decision: &Decision, trace_id: &str) -> KeyResult<RenderedJson> {
        executor::render(&self.inner.shared, decision, trace_id)
    }

    /// Resolves one request key to `registry/repository@digest`: [`Engine::mutate`] on the
    /// split key.
    pub async fn mutate_key(&self, raw_key: &str, _trace_id: &str) -> KeyResult<String> {
        self.mutate(split(raw_key)?).await
    }

    /// Resolves one split key to `registry/repository@digest` under the executor's mutation
    /// timeout; digest references are returned unchanged.
    pub async fn mutate(&self, key: SplitKey<'_>) -> KeyResult<String> {
        let state = self.inner.state.load_full();
        let limit = state.config.executor.mutation_timeout;
        bounded(
            limit,
            executor::mutate(&self.inner.shared, &state, key.namespace, key.image),
        )
        .await
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
        Err(_) => Err(Failure::new(
            RatifyCode::ExecutorFailure,
            CauseKind::Timeout,
            format_args!("operation timed out after duration {}", go_duration(limit)),
        )),
    }
}

/// Counts the requests of one store's registry client into `sink`.
fn registry_observer(
    sink: Arc<dyn MetricsSink>,
    namespace: &str,
) -> Arc<dyn imagegate_oci::RequestObserver> {
    let namespace = namespace.to_owned();
    Arc::new(move |host: &str, outcome: imagegate_oci::RequestOutcome| {
        if let imagegate_oci::RequestOutcome::Status(code) = outcome {
            sink.registry_request(host, code, &namespace);
        }
    })
}

fn state(
    config: EngineConfig,
    generation: u64,
    hosts: &Arc<HostLimits>,
    wrapper: Option<&RegistryWrapper>,
    metrics: Option<&Arc<dyn MetricsSink>>,
) -> Result<State, ConfigError> {
    let client =
        |store: Option<&StoreConfig>, namespace: &str| -> Result<Arc<dyn Registry>, ConfigError> {
            let store = store.ok_or_else(|| {
                ConfigError::invalid("store.plugins", "at least one store is required")
            })?;
            let client = build_client(
                store,
                &config.settings.registry,
                config.executor.verification_timeout,
                metrics.map(|sink| registry_observer(sink.clone(), namespace)),
            )?;
            // Per-host limits closest to the network: they bound the requests actually sent.
            let registry: Arc<dyn Registry> = Arc::new(Limited {
                inner: Arc::new(client),
                limits: hosts.clone(),
            });
            Ok(match wrapper {
                Some(wrap) => wrap(registry),
                None => registry,
            })
        };
    let registry = client(config.cluster.stores.first(), "")?;
    let mut namespaced = std::collections::BTreeMap::new();
    for (ns, components) in &config.namespaced {
        if let Some(store) = components.stores.first() {
            namespaced.insert(ns.clone(), client(Some(store), ns)?);
        }
    }
    // Verifiers are built here, per generation, from the configuration's plain specs.
    let build = |specs: &[crate::config::VerifierSpec]| {
        specs.iter().map(crate::verifier::build).collect::<Vec<_>>()
    };
    let verifiers = build(&config.cluster.verifiers);
    let namespaced_verifiers = config
        .namespaced
        .iter()
        .filter(|(_, c)| !c.verifiers.is_empty())
        .map(|(ns, c)| (ns.clone(), build(&c.verifiers)))
        .collect();
    Ok(State {
        generation,
        config: Arc::new(config),
        registry,
        namespaced,
        verifiers,
        namespaced_verifiers,
    })
}
