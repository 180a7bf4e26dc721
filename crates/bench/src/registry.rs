//! Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port **with its access
//! log on**, so that every HTTP request the engine makes can be counted from the registry's
//! own log. (The shared test registry of `imagegate-testkit` turns the access log off.)
//! Its storage is configured as Debian's packaged `config.yml` configures it (filesystem with
//! the in-memory blob-descriptor cache), so the registry's own CPU per request is what a
//! default installation spends.
//!
//! The registry runs under a `sh` guard that kills it when its stdin closes, so it also stops
//! if the benchmark dies; [`AccessLoggedRegistry`]'s `Drop` stops it by PID.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::BenchError;

/// Where Debian installs the registry (`apt-get install docker-registry`).
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";
/// How long the registry may take to answer its first request.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry; stopped on drop.
pub struct AccessLoggedRegistry {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    pid: u32,
    guard: Option<(Child, ChildStdin)>,
    log: PathBuf,
}

/// One access-log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEntry {
    /// `GET`, `HEAD`, `PUT`…
    pub method: String,
    /// The request target, e.g. `/v2/bench/cold/manifests/sha256-…`.
    pub path: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The client's `User-Agent`.
    pub user_agent: String,
}

impl AccessLoggedRegistry {
    /// Starts a registry with storage and log under `dir`.
    pub fn start(dir: &Path) -> Result<Self, BenchError> {
        if !Path::new(REGISTRY_BIN).exists() {
            return Err(BenchError::setup(
                "the registry",
                format!("{REGISTRY_BIN} is missing: install it with `apt-get install -y docker-registry`"),
            ));
        }
        let port = free_port()?;
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: false\nstorage:\n  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("storage").display()
        );
        let config_path = dir.join("registry.yml");
        std::fs::write(&config_path, config)
            .map_err(|e| BenchError::io("writing the registry config", &config_path, e))?;
        let log = dir.join("registry.log");
        let script = r#"REGISTRY_HTTP_SECRET=imagegate-bench "$0" serve "$1" >"$2" 2>&1 & p=$!; echo $p; read _x; kill $p 2>/dev/null; wait $p 2>/dev/null"#;
        let mut child = Command::new("sh")
            .args(["-c", script, REGISTRY_BIN])
            .arg(&config_path)
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| BenchError::io("starting the registry", "sh", e))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BenchError::setup("the registry", "the guard has no pipes"));
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| BenchError::io("reading the registry pid", "sh", e))?;
        let pid: u32 = line.trim().parse().map_err(|_| {
            BenchError::setup("the registry", format!("guard printed {line:?}, not a pid"))
        })?;
        let registry = Self {
            port,
            pid,
            guard: Some((child, stdin)),
            log,
        };
        registry.wait_ready()?;
        Ok(registry)
    }

    fn wait_ready(&self) -> Result<(), BenchError> {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if std::io::Read::read(&mut s, &mut buf).is_ok_and(|n| n >= 12) {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(BenchError::Timeout {
            what: "the registry's first answer",
            seconds: START_TIMEOUT.as_secs(),
        })
    }

    /// Nanoseconds the registry process has spent on CPU so far.
    pub fn cpu_ns(&self) -> Result<u64, BenchError> {
        crate::cpu::process_cpu_ns(self.pid)
    }

    /// `127.0.0.1:<port>`, as written in image references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every access-log entry so far, in order.
    pub fn entries(&self) -> Result<Vec<AccessEntry>, BenchError> {
        let text = std::fs::read_to_string(&self.log)
            .map_err(|e| BenchError::io("reading the registry log", &self.log, e))?;
        Ok(text.lines().filter_map(parse_access_line).collect())
    }

    /// Waits until the access log has stopped growing (it is written after each answer is
    /// sent), for at most `bound`; returns the entries.
    pub async fn settled_entries(&self, bound: Duration) -> Result<Vec<AccessEntry>, BenchError> {
        let deadline = Instant::now() + bound;
        let mut last = self.entries()?.len();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let now = self.entries()?;
            if now.len() == last || Instant::now() >= deadline {
                return Ok(now);
            }
            last = now.len();
        }
    }
}

impl Drop for AccessLoggedRegistry {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        if let Some((mut child, stdin)) = self.guard.take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}

/// A free 127.0.0.1 port (bound to 0, read, released).
pub fn free_port() -> Result<u16, BenchError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| BenchError::io("finding a free port", "127.0.0.1:0", e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| BenchError::io("finding a free port", "127.0.0.1:0", e))
}

/// Parses one line of distribution's combined access log:
/// `127.0.0.1 - - [date] "GET /v2/… HTTP/1.1" 200 123 "referer" "user agent"`.
pub fn parse_access_line(line: &str) -> Option<AccessEntry> {
    let (_, rest) = line.split_once('"')?;
    let (request, rest) = rest.split_once('"')?;
    let mut words = request.split(' ');
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    if !words.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = rest.split_whitespace().next()?.parse().ok()?;
    let quoted: Vec<&str> = rest.split('"').collect();
    let user_agent = quoted.get(quoted.len().checked_sub(2)?)?.to_string();
    Some(AccessEntry {
        method,
        path,
        status,
        user_agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_combined_log_line() {
        let line = r#"127.0.0.1 - - [26/Nov/2026:17:30:00 +0000] "GET /v2/bench/cold/manifests/sha256-ab HTTP/1.1" 200 512 "" "imagegate/0.1""#;
        let e = parse_access_line(line).unwrap();
        assert_eq!(e.method, "GET");
        assert_eq!(e.path, "/v2/bench/cold/manifests/sha256-ab");
        assert_eq!(e.status, 200);
        assert_eq!(e.user_agent, "imagegate/0.1");
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(
            parse_access_line(r#"time="2026-11-26" level=error msg="x""#),
            None
        );
        assert_eq!(parse_access_line("plain text"), None);
    }
}
