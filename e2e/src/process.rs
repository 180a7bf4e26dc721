//! `imagegate serve` as a child process: mTLS on a free loopback port, plain-HTTP health
//! and metrics ports, logs in a file. It runs under a small `sh` guard that kills it when
//! the guard's stdin closes, so the server also stops when the harness process dies without
//! unwinding; [`ProviderProcess::stop`] and `Drop` stop it by PID (SIGTERM, bounded wait).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::mtls::ProviderTlsFiles;

/// How long the server may take to report ready.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stopping server may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// The provider path Ratify v1 serves validation on.
pub const VERIFY_PATH: &str = "/ratify/gatekeeper/v1/verify";

/// Why the server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// Spawning failed.
    #[error("cannot start {bin}: {source}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No free port could be found.
    #[error("cannot find a free loopback port: {0}")]
    Port(std::io::Error),
    /// The server exited or did not become ready in time.
    #[error("imagegate serve did not become ready within {timeout:?}: {reason}\n--- server log ---\n{log}")]
    NotReady {
        /// The wait.
        timeout: Duration,
        /// What was seen.
        reason: String,
        /// The server's log.
        log: String,
    },
}

/// A running `imagegate serve`.
#[derive(Debug)]
pub struct ProviderProcess {
    /// The provider (HTTPS) port on 127.0.0.1.
    pub port: u16,
    /// The health port (`/healthz`, `/readyz`).
    pub health_port: u16,
    /// The metrics port.
    pub metrics_port: u16,
    pid: u32,
    guard: Option<(Child, ChildStdin)>,
    log: PathBuf,
}

fn free_port() -> Result<u16, ProcessError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(ProcessError::Port)?;
    Ok(l.local_addr().map_err(ProcessError::Port)?.port())
}

/// The server's `--log-format` and `--log-level`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// `json` or `text`.
    pub format: String,
    /// A tracing filter, e.g. `info`.
    pub level: String,
}

impl Default for LogSettings {
    /// Text at `warn`: what the box's other tests read on failure.
    fn default() -> Self {
        Self {
            format: "text".to_owned(),
            level: "warn".to_owned(),
        }
    }
}

impl ProviderProcess {
    /// Starts `bin serve --config <config> --cert-dir … --client-ca …` with its log at
    /// `dir/imagegate.log`, and waits until `/readyz` answers 200.
    pub fn start(
        bin: &Path,
        config: &Path,
        tls: &ProviderTlsFiles,
        dir: &Path,
    ) -> Result<Self, ProcessError> {
        Self::start_full(bin, config, tls, dir, &LogSettings::default(), &[], &[])
    }

    /// [`ProviderProcess::start`] with the given log format and level.
    pub fn start_logging(
        bin: &Path,
        config: &Path,
        tls: &ProviderTlsFiles,
        dir: &Path,
        logs: &LogSettings,
    ) -> Result<Self, ProcessError> {
        Self::start_full(bin, config, tls, dir, logs, &[], &[])
    }

    /// [`ProviderProcess::start`] with more `serve` arguments and environment variables
    /// (e.g. `--kubernetes` and `KUBECONFIG`).
    pub fn start_with(
        bin: &Path,
        config: &Path,
        tls: &ProviderTlsFiles,
        dir: &Path,
        extra_args: &[&str],
        env: &[(&str, &Path)],
    ) -> Result<Self, ProcessError> {
        Self::start_full(
            bin,
            config,
            tls,
            dir,
            &LogSettings::default(),
            extra_args,
            env,
        )
    }

    /// [`ProviderProcess::start`] with every option.
    pub fn start_full(
        bin: &Path,
        config: &Path,
        tls: &ProviderTlsFiles,
        dir: &Path,
        logs: &LogSettings,
        extra_args: &[&str],
        env: &[(&str, &Path)],
    ) -> Result<Self, ProcessError> {
        let (port, health_port, metrics_port) = (free_port()?, free_port()?, free_port()?);
        let log = dir.join("imagegate.log");
        let addr = |p: u16| format!("127.0.0.1:{p}");
        // The guard prints the server PID, waits for stdin EOF, then stops the server.
        let script = r#"log="$1"; shift; "$0" "$@" >"$log" 2>&1 & p=$!; echo $p; read _x; kill $p 2>/dev/null; wait $p 2>/dev/null"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(bin)
            .arg(&log)
            .arg("serve")
            .arg("--config")
            .arg(config)
            .arg("--cert-dir")
            .arg(&tls.cert_dir)
            .arg("--client-ca")
            .arg(&tls.client_ca)
            .args(["--http", &addr(port)])
            .args(["--health", &addr(health_port)])
            .args(["--metrics", &addr(metrics_port)])
            .args(["--log-format", &logs.format, "--log-level", &logs.level])
            .args(extra_args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|source| ProcessError::Spawn {
                bin: bin.to_path_buf(),
                source,
            })?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let pid = line.trim().parse::<u32>().unwrap_or(0);
        let mut server = Self {
            port,
            health_port,
            metrics_port,
            pid,
            guard: stdin.map(|s| (child, s)),
            log,
        };
        if pid == 0 {
            server.stop();
            return Err(server.not_ready("the guard shell did not report the server PID"));
        }
        server.wait_ready()?;
        Ok(server)
    }

    fn not_ready(&self, reason: &str) -> ProcessError {
        ProcessError::NotReady {
            timeout: READY_TIMEOUT,
            reason: reason.to_owned(),
            log: self.log(),
        }
    }

    fn wait_ready(&mut self) -> Result<(), ProcessError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            if !self.is_running() {
                self.stop();
                return Err(self.not_ready("the server exited"));
            }
            match http_get(self.health_port, "/readyz") {
                Ok(status) if status.starts_with("HTTP/1.1 200") => return Ok(()),
                Ok(status) => last = status,
                Err(e) => last = e.to_string(),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop();
        Err(self.not_ready(&format!("last /readyz answer: {last}")))
    }

    /// The Provider URL Gatekeeper would be given (`https://localhost:<port>/ratify/…`).
    pub fn url(&self) -> String {
        format!("https://localhost:{}{VERIFY_PATH}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        let mut out = String::new();
        if let Ok(f) = std::fs::File::open(&self.log) {
            let _ = f.take(256 * 1024).read_to_string(&mut out);
        }
        out
    }

    /// Whether the server process is alive.
    pub fn is_running(&self) -> bool {
        self.pid != 0
            && self.guard.is_some()
            && Command::new("kill")
                .args(["-0", &self.pid.to_string()])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// Stops the server (SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]) and its guard.
    /// Idempotent.
    pub fn stop(&mut self) {
        let Some((mut child, stdin)) = self.guard.take() else {
            return;
        };
        if self.pid != 0 {
            let pid = self.pid.to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline
                && Command::new("kill")
                    .args(["-0", &pid])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = Command::new("kill")
                .args(["-KILL", &pid])
                .stderr(Stdio::null())
                .status();
        }
        drop(stdin);
        let _ = child.wait();
    }
}

impl Drop for ProviderProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `GET path` on `127.0.0.1:port` over plain HTTP; returns the status line.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    )?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut line = String::new();
    BufReader::new(s.take(4096)).read_line(&mut line)?;
    Ok(line.trim_end().to_owned())
}
