//! `imagegate serve --kubernetes`: the configuration comes from the Ratify CRDs in the
//! Kubernetes API (crate `imagegate-kube`); `/readyz` stays 503 until the first complete
//! configuration is in force. `azurekeyvault` KeyManagementProviders are fetched and kept
//! fresh by [`crate::azure::KubeKeyVault`], the source's key management hook.

use std::sync::Arc;

use anyhow::{Context, Result};
use imagegate_engine::EngineOptions;
use imagegate_kube::{Gate, SourceOptions};
use imagegate_provider::{run, shutdown_signal, Metrics, ServerConfig, Transport};

use super::Args;
use crate::exit::Exit;
use imagegate_cli::adapter::{GatedHandler, PrometheusSink};

/// Runs the provider with its configuration from the Kubernetes API.
pub(super) async fn run_kube(args: &Args, transport: Transport) -> Result<Exit> {
    let metrics = Metrics::with_max_subjects(
        usize::try_from(args.metrics_max_subjects).unwrap_or(usize::MAX),
    )
    .context("cannot register metrics")?;
    let client = imagegate_kube::connect()
        .await
        .context("cannot connect to the Kubernetes API")?;
    let gate = Gate::default();
    let key_vault = Arc::new(crate::azure::KubeKeyVault::new()?);
    let options = SourceOptions {
        config_path: args.config.clone(),
        engine: EngineOptions {
            metrics: Some(PrometheusSink::shared(&metrics)),
            ..EngineOptions::default()
        },
        key_management: Some(key_vault),
        ..SourceOptions::default()
    };
    let _source = imagegate_kube::spawn(client, gate.clone(), options)
        .context("cannot start watching the Kubernetes API")?;
    let mut config = ServerConfig::new(transport);
    config.provider_addr = args.http;
    config.health_addr = Some(args.health);
    config.metrics_addr = Some(args.metrics);
    config.validate().context("invalid server settings")?;
    tracing::info!(provider = %args.http, "imagegate serving; configuration from the Kubernetes API");
    run(
        config,
        Arc::new(GatedHandler(gate)),
        metrics,
        shutdown_signal(),
    )
    .await
    .context("provider server failed")?;
    Ok(Exit::Verified)
}
