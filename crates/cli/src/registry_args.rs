//! Registry options shared by the commands that talk to a registry (`sign`, `resolve`,
//! `discover`), and reading small files within a bound.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use imagegate_oci::{Anonymous, ClientConfig, CredentialProvider, DockerConfig, RegistryClient};

/// Largest registry credentials file read.
const MAX_CONFIG_FILE: u64 = 1024 * 1024;

/// How to reach registries.
#[derive(Debug, clap::Args)]
pub(crate) struct RegistryArgs {
    /// Registry host (host or host:port) reached over plain HTTP; loopback hosts always are.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub(crate) insecure_registries: Vec<String>,
    /// Docker config.json (or a mounted .dockerconfigjson) with registry credentials;
    /// anonymous without it.
    #[arg(long, value_name = "FILE")]
    pub(crate) registry_config: Option<PathBuf>,
}

impl RegistryArgs {
    /// A registry client with these options (and the client's default deadlines and caps).
    pub(crate) fn client(&self) -> Result<RegistryClient> {
        let credentials: Arc<dyn CredentialProvider> = match &self.registry_config {
            Some(path) => {
                let bytes = read_bounded(path, MAX_CONFIG_FILE, "registry config")?;
                Arc::new(DockerConfig::from_json(&bytes).with_context(|| {
                    format!("--registry-config {} is not usable", path.display())
                })?)
            }
            None => Arc::new(Anonymous),
        };
        Ok(RegistryClient::new(ClientConfig {
            insecure_hosts: self.insecure_registries.clone(),
            credentials,
            ..ClientConfig::default()
        })?)
    }
}

/// Reads `path` (a `what` file) whole, refusing more than `cap` bytes.
pub(crate) fn read_bounded(path: &Path, cap: u64, what: &str) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the {what} file {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    if bytes.len() as u64 > cap {
        bail!(
            "the {what} file {} is larger than {cap} bytes",
            path.display()
        );
    }
    Ok(bytes)
}

/// A current-thread runtime for one command.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
