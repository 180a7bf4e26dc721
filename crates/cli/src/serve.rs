//! `imagegate serve`: the Gatekeeper external-data provider (Ratify v1 compatible).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use imagegate_cli::adapter::{EngineHandler, PrometheusSink};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_provider::{
    init_logging, run, shutdown_signal, LogFormat, Metrics, ServerConfig, TlsFiles, Transport,
    DEFAULT_MAX_SUBJECT_SERIES,
};

use crate::exit::Exit;

mod kube_mode;

/// Arguments of `imagegate serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Ratify-format config.json (stores, policy, verifiers, executor); hot-reloaded on change.
    /// Required unless the configuration comes from the Kubernetes API (`--kubernetes`), where
    /// it only supplies the executor and `imagegate` settings.
    #[arg(long, short = 'c', value_name = "FILE", env = "RATIFY_CONFIG")]
    config: Option<PathBuf>,
    /// Take the Ratify CRDs from the Kubernetes API (kubeconfig, else the pod's service
    /// account); the default in a pod (KUBERNETES_SERVICE_HOST set) without --config/--crd-dir.
    #[arg(long, conflicts_with = "crd_dir")]
    kubernetes: bool,
    /// Directory of Ratify CRD YAML files: v1 kinds (Verifier, Store, Policy,
    /// KeyManagementProvider) and v2 Executor / NamespacedExecutor.
    #[arg(long, value_name = "DIR")]
    crd_dir: Option<PathBuf>,
    /// Directory holding tls.crt and tls.key for the provider listener (hot-reloaded).
    #[arg(long, value_name = "DIR")]
    cert_dir: Option<PathBuf>,
    /// CA bundle for client certificates (Gatekeeper's ca.crt): enables mutual TLS.
    #[arg(long, alias = "ca-cert-file", value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// Serve plain HTTP without --cert-dir (development only; Gatekeeper requires HTTPS).
    #[arg(long)]
    insecure_plain_http: bool,
    /// Provider listener address.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:6001")]
    http: SocketAddr,
    /// Health listener (/healthz, /readyz).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:9099")]
    health: SocketAddr,
    /// Metrics listener (/metrics).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8888")]
    metrics: SocketAddr,
    /// Subjects (images) that keep a `ratify_verifier_duration` series; the least recently
    /// verified loses its series beyond this (Ratify keeps one per image forever).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SUBJECT_SERIES as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    metrics_max_subjects: u64,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormatArg::Json)]
    log_format: LogFormatArg,
    /// Log filter (tracing EnvFilter syntax), e.g. info or imagegate_engine=debug.
    #[arg(long, env = "RATIFY_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

/// Runs the server until SIGTERM/SIGINT; `Err` is a start-up problem (exit 2).
pub(crate) fn run_command(args: &Args) -> Result<Exit> {
    let format = match args.log_format {
        LogFormatArg::Json => LogFormat::Json,
        LogFormatArg::Text => LogFormat::Text,
    };
    init_logging(format, &args.log_level).context("cannot set up logging")?;
    let transport = match (&args.cert_dir, args.insecure_plain_http) {
        (Some(dir), _) => {
            let mut files = TlsFiles::new(dir);
            files.client_ca = args.client_ca.clone();
            Transport::Tls(files)
        }
        (None, true) => Transport::PlaintextForDevelopment,
        (None, false) => anyhow::bail!(
            "--cert-dir is required (Gatekeeper only calls providers over HTTPS); \
             pass --insecure-plain-http for local development"
        ),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let in_pod = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
        && args.config.is_none()
        && args.crd_dir.is_none();
    if args.kubernetes || in_pod {
        return runtime.block_on(kube_mode::run_kube(args, transport));
    }
    let Some(config_path) = args.config.as_deref() else {
        anyhow::bail!("--config is required (or --kubernetes to read the Ratify CRDs from the Kubernetes API)");
    };
    runtime.block_on(async {
        let metrics = Metrics::with_max_subjects(
            usize::try_from(args.metrics_max_subjects).unwrap_or(usize::MAX),
        )
        .context("cannot register metrics")?;
        // Key Vault material is fetched before the configuration that refers to it loads.
        let _key_vault = crate::azure::start(args.crd_dir.as_deref()).await?;
        let options = EngineOptions {
            crd_dir: args.crd_dir.clone(),
            metrics: Some(PrometheusSink::shared(&metrics)),
            ..EngineOptions::default()
        };
        let engine = Engine::from_config_file(config_path, options)
            .with_context(|| format!("invalid configuration {}", config_path.display()))?;
        let _watch = engine.watch();
        let executor = engine.config().executor;
        let mut config = ServerConfig::new(transport);
        config.provider_addr = args.http;
        config.health_addr = Some(args.health);
        config.metrics_addr = Some(args.metrics);
        config.deadlines.verify = executor.verification_timeout;
        config.deadlines.mutate = executor.mutation_timeout;
        config.validate().context("invalid server settings")?;
        tracing::info!(
            config = %config_path.display(),
            provider = %args.http,
            generation = engine.generation(),
            "imagegate serving"
        );
        run(
            config,
            EngineHandler::shared(engine),
            metrics,
            shutdown_signal(),
        )
        .await
        .context("provider server failed")?;
        Ok(Exit::Verified)
    })
}
