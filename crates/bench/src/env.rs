//! What every scenario needs: a temp dir, a registry with its access log, a signing PKI, the
//! provider's TLS material, the engine's config file, and the subject server built from them.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use imagegate_cli::adapter::{EngineHandler, PrometheusSink};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_provider::{Metrics, Server, ServerConfig, Transport, VERIFY_PATH};
use imagegate_testkit::Pki;

use crate::driver::Target;
use crate::error::BenchError;
use crate::registry::AccessLoggedRegistry;
use crate::tls::TlsSetup;

/// The shared set-up of one scenario. Everything is removed or stopped on drop.
pub struct Env {
    /// The registry (access log on).
    pub registry: AccessLoggedRegistry,
    /// The Notation signer.
    pub pki: Pki,
    /// The provider's TLS material.
    pub tls: TlsSetup,
    /// The engine's `config.json`.
    pub config: PathBuf,
    /// The run directory (kept alive for the registry's storage).
    pub dir: tempfile::TempDir,
}

impl Env {
    /// Creates everything; verdicts live for `verdict_ttl_seconds`.
    pub fn new(verdict_ttl_seconds: u64) -> Result<Self, BenchError> {
        let dir = run_dir()?;
        let registry = AccessLoggedRegistry::start(dir.path())?;
        let pki = Pki::generate();
        let tls = TlsSetup::generate(dir.path())?;
        let config = crate::fixture::write_engine_config(dir.path(), &pki, verdict_ttl_seconds)?;
        Ok(Self {
            registry,
            pki,
            tls,
            config,
            dir,
        })
    }

    /// A fresh engine (empty caches) on this environment's config.
    pub fn engine(&self, metrics: Option<Metrics>) -> Result<Engine, BenchError> {
        let options = EngineOptions {
            metrics: metrics.as_ref().map(PrometheusSink::shared),
            ..EngineOptions::default()
        };
        Engine::from_config_file(&self.config, options).map_err(|e| BenchError::setup("engine", e))
    }

    /// Starts the real provider over mTLS on a free 127.0.0.1 port with a fresh engine, as
    /// `imagegate serve` does (metrics wired, executor timeouts as deadlines), with `workers`
    /// HTTP worker threads.
    pub async fn start_subject(&self, workers: usize) -> Result<(Server, Engine), BenchError> {
        let metrics = Metrics::new().map_err(|e| BenchError::setup("metrics", e))?;
        let engine = self.engine(Some(metrics.clone()))?;
        let mut config = ServerConfig::new(Transport::Tls(self.tls.provider_files()));
        config.provider_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.health_addr = None;
        config.metrics_addr = None;
        config.workers = NonZeroUsize::new(workers);
        let executor = engine.config().executor;
        config.deadlines.verify = executor.verification_timeout;
        config.deadlines.mutate = executor.mutation_timeout;
        let server = Server::start(config, EngineHandler::shared(engine.clone()), metrics)
            .await
            .map_err(|e| BenchError::setup("the provider", e))?;
        Ok((server, engine))
    }

    /// A load-driver target for `POST /ratify/gatekeeper/v1/verify` at `addr`.
    pub fn target(&self, addr: SocketAddr) -> Result<Target, BenchError> {
        self.target_at(addr, VERIFY_PATH)
    }

    /// A load-driver target for `POST path` at `addr` (e.g. the Ratify v2 verify path).
    pub fn target_at(&self, addr: SocketAddr, path: &str) -> Result<Target, BenchError> {
        Ok(Target {
            addr,
            path: path.to_owned(),
            tls: self.tls.client_config()?,
        })
    }
}

/// Where run directories go: `/dev/shm` (tmpfs) when it exists, else the system temp dir.
/// Thousands of pushed images make over a hundred thousand small files in the registry's
/// storage; on a disk with discard, removing them takes minutes, on tmpfs a moment.
const SHM: &str = "/dev/shm";

fn run_dir() -> Result<tempfile::TempDir, BenchError> {
    let base = if std::path::Path::new(SHM).is_dir() {
        PathBuf::from(SHM)
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix("imagegate-bench-")
        .tempdir_in(&base)
        .map_err(|e| BenchError::io("creating the run directory", base, e))
}
