//! Debian's `docker-registry` (distribution 2.8) on a fixed loopback port with storage that
//! survives restarts, so the driver can stop it mid-run and bring the same content back.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::SoakError;
use crate::process::{free_port, wait_listening, Guarded};

/// Where Debian installs the registry (`apt-get install docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A restartable registry.
#[derive(Debug)]
pub struct Registry {
    addr: SocketAddr,
    config: PathBuf,
    log: PathBuf,
    process: Option<Guarded>,
}

impl Registry {
    /// Writes the configuration under `dir` and starts the registry.
    pub async fn start(dir: &Path) -> Result<Self, SoakError> {
        if !Path::new(REGISTRY_BIN).exists() {
            return Err(SoakError::Process {
                what: "docker-registry",
                detail: format!("{REGISTRY_BIN} is missing; apt-get install -y docker-registry"),
            });
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let storage = dir.join("storage");
        let config = dir.join("registry.yml");
        let yaml = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n",
            storage.display()
        );
        std::fs::write(&config, yaml).map_err(|e| SoakError::io(&config, e))?;
        let mut registry = Self {
            addr,
            config,
            log: dir.join("registry.log"),
            process: None,
        };
        registry.up().await?;
        Ok(registry)
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the registry process if it is not running and waits until it listens.
    pub async fn up(&mut self) -> Result<(), SoakError> {
        if self.process.is_some() {
            return Ok(());
        }
        let args = ["serve".to_owned(), self.config.display().to_string()];
        let env = [("REGISTRY_HTTP_SECRET", "imagegate-soak")];
        let process = Guarded::spawn(
            "docker-registry",
            Path::new(REGISTRY_BIN),
            &args,
            &env,
            &self.log,
        )?;
        let ready = wait_listening("docker-registry", self.addr, Duration::from_secs(15)).await;
        if let Err(e) = ready {
            let tail = process.log_tail(20);
            return Err(SoakError::Process {
                what: "docker-registry",
                detail: format!("{e}; log:\n{tail}"),
            });
        }
        self.process = Some(process);
        Ok(())
    }

    /// Stops the registry abruptly (SIGKILL), as a crash or a node loss would: open
    /// connections are reset, new ones refused.
    pub fn down(&mut self) {
        if let Some(p) = self.process.take() {
            p.kill();
        }
    }
}
