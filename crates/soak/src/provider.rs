//! The provider under test: `imagegate serve` as its own process (so its RSS is its own),
//! with TLS + mutual TLS, a Ratify `config.json` the driver rewrites to change the trust
//! store, and its metrics endpoint scraped to observe reloads.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::SoakError;
use crate::images::Trust;
use crate::process::{free_port, Guarded};
use crate::tls::write_atomic;

/// The executor (and per-key) verification deadline given to the provider.
pub const VERIFY_DEADLINE: Duration = Duration::from_millis(2900);
/// Verdict TTL; the cold pool is sized so a cold key returns only after it.
pub const VERDICT_TTL_SECONDS: u64 = 5;
/// Failed-verdict TTL (a transient failure is cached this long).
pub const FAILURE_TTL_SECONDS: u64 = 2;
/// Stale-if-error grace.
pub const STALE_GRACE_SECONDS: u64 = 20;

/// Files and addresses of the provider.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `config.json`.
    pub config: PathBuf,
    /// Directory with `tls.crt` and `tls.key`.
    pub cert_dir: PathBuf,
    /// Client CA bundle.
    pub client_ca: PathBuf,
    /// Provider listener.
    pub provider: SocketAddr,
    /// Health listener.
    pub health: SocketAddr,
    /// Metrics listener.
    pub metrics: SocketAddr,
    /// Signing roots, first and second.
    pub roots: (PathBuf, PathBuf),
}

impl Layout {
    /// Paths under `dir` and free loopback ports.
    pub fn new(dir: &Path, roots: (PathBuf, PathBuf)) -> Result<Self, SoakError> {
        let local = |port| SocketAddr::from(([127, 0, 0, 1], port));
        let cert_dir = dir.join("tls");
        std::fs::create_dir_all(&cert_dir).map_err(|e| SoakError::io(&cert_dir, e))?;
        Ok(Self {
            config: dir.join("config.json"),
            client_ca: dir.join("client-ca.crt"),
            cert_dir,
            provider: local(free_port()?),
            health: local(free_port()?),
            metrics: local(free_port()?),
            roots,
        })
    }

    /// Writes `config.json` trusting the roots `trust` names (atomically: the provider's
    /// watcher sees the old or the new file, never a mix).
    pub fn write_config(&self, trust: Trust) -> Result<(), SoakError> {
        self.write_config_with(trust, serde_json::json!({}))
    }

    /// Like [`Layout::write_config`], with `registry` as the `imagegate.registry` settings.
    pub fn write_config_with(
        &self,
        trust: Trust,
        registry: serde_json::Value,
    ) -> Result<(), SoakError> {
        let mut certs = vec![self.roots.0.display().to_string()];
        if trust == Trust::Both {
            certs.push(self.roots.1.display().to_string());
        }
        let config = serde_json::json!({
            "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true,
                      "ttl": VERDICT_TTL_SECONDS}]},
            "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy",
                       "artifactVerificationPolicies": {"default": "any"}}},
            "verifier": {"version": "1.0.0", "plugins": [{
                "name": "verifier-notation", "type": "notation",
                "artifactTypes": "application/vnd.cncf.notary.signature",
                "verificationCerts": certs,
                "trustPolicyDoc": {"version": "1.0", "trustPolicies": [{
                    "name": "soak", "registryScopes": ["*"],
                    "signatureVerification": {"level": "strict"},
                    "trustStores": ["ca:certs"], "trustedIdentities": ["*"]}]}}]},
            "executor": {
                "verificationRequestTimeout": VERIFY_DEADLINE.as_millis(),
                "mutationRequestTimeout": 950
            },
            "imagegate": {
                "cache": {"verdictTtlSeconds": VERDICT_TTL_SECONDS,
                          "failureTtlSeconds": FAILURE_TTL_SECONDS,
                          "staleGraceSeconds": STALE_GRACE_SECONDS},
                "registry": registry,
                "reloadIntervalMs": 500
            }
        });
        let text = serde_json::to_vec_pretty(&config).map_err(|e| SoakError::Process {
            what: "config.json",
            detail: e.to_string(),
        })?;
        write_atomic(&self.config, &text)
    }
}

/// A running `imagegate serve`.
#[derive(Debug)]
pub struct Provider {
    process: Guarded,
    layout: Layout,
    http: reqwest::Client,
}

impl Provider {
    /// Starts `bin serve` with `layout` (config, TLS files written beforehand) and waits for
    /// `/readyz`.
    pub async fn start(bin: &Path, layout: &Layout, log: &Path) -> Result<Self, SoakError> {
        if !bin.exists() {
            return Err(SoakError::Process {
                what: "imagegate serve",
                detail: format!(
                    "{} does not exist; build it with `cargo build --release -p imagegate-cli` \
                     or set IMAGEGATE_BIN",
                    bin.display()
                ),
            });
        }
        let args: Vec<String> = [
            "serve",
            "--config",
            &layout.config.display().to_string(),
            "--cert-dir",
            &layout.cert_dir.display().to_string(),
            "--client-ca",
            &layout.client_ca.display().to_string(),
            "--http",
            &layout.provider.to_string(),
            "--health",
            &layout.health.to_string(),
            "--metrics",
            &layout.metrics.to_string(),
            "--log-format",
            "json",
            "--log-level",
            "info",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let process = Guarded::spawn("imagegate serve", bin, &args, &[], log)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SoakError::Client(e.to_string()))?;
        let provider = Self {
            process,
            layout: layout.clone(),
            http,
        };
        provider.wait_ready().await?;
        Ok(provider)
    }

    async fn wait_ready(&self) -> Result<(), SoakError> {
        let url = format!("http://{}/readyz", self.layout.health);
        let until = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < until {
            if !self.process.alive() {
                break;
            }
            if let Ok(r) = self.http.get(&url).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(SoakError::Process {
            what: "imagegate serve",
            detail: format!("not ready within 30 s; log:\n{}", self.process.log_tail(30)),
        })
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Whether the process still runs.
    pub fn alive(&self) -> bool {
        self.process.alive()
    }

    /// The end of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> Result<String, SoakError> {
        let url = format!("http://{}/metrics", self.layout.metrics);
        let failed = |e: reqwest::Error| SoakError::Process {
            what: "imagegate serve",
            detail: format!("cannot scrape {url}: {e}"),
        };
        let r = self.http.get(&url).send().await.map_err(failed)?;
        r.text().await.map_err(failed)
    }

    /// The sum of the series of counter `name` whose labels include every `labels` pair.
    pub async fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Result<u64, SoakError> {
        Ok(counter(&self.metrics().await?, name, labels))
    }

    /// Stops it with SIGTERM (graceful: in-flight requests finish within its shutdown
    /// grace). The driver's own keep-alive connections are closed first, so that the
    /// provider's graceful stop does not wait for them.
    pub fn stop(self) {
        let Self { process, http, .. } = self;
        drop(http);
        process.stop(Duration::from_secs(40));
    }
}

/// Sums the samples of `name` (exactly that series name) carrying every label pair.
pub fn counter(text: &str, name: &str, labels: &[(&str, &str)]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let rest = series.strip_prefix(name)?;
            if !(rest.is_empty() || rest.starts_with('{')) {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.trim().parse::<f64>().ok()).flatten()
        })
        .map(|v| v as u64)
        .sum()
}

/// Resident set size of `pid` in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_matching_series() {
        let text =
            "# HELP x\nimagegate_tls_reload_count_total{material=\"client_ca\",result=\"ok\"} 3\n\
                    imagegate_tls_reload_count_total{material=\"server_cert\",result=\"ok\"} 2\n\
                    imagegate_tls_reload_count_total_other 9\n\
                    imagegate_stale_verdicts_total{success=\"true\"} 4\n";
        let name = "imagegate_tls_reload_count_total";
        assert_eq!(counter(text, name, &[("material", "client_ca")]), 3);
        assert_eq!(counter(text, name, &[("result", "ok")]), 5);
        assert_eq!(counter(text, "imagegate_stale_verdicts_total", &[]), 4);
        assert_eq!(counter(text, "missing", &[]), 0);
    }

    #[test]
    fn reads_own_rss() {
        let rss = rss_kib(std::process::id()).unwrap();
        assert!(rss > 100, "{rss}");
    }
}
