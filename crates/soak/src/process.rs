//! Child processes that cannot outlive the driver: each runs under a small `sh` guard that
//! kills it when the guard's stdin closes (which the kernel does when the driver exits, however
//! it exits). Stopped explicitly by PID.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::error::SoakError;

/// The guard: starts `"$0" "$@"` with output to `$SOAK_LOG`, prints its PID, waits for stdin
/// EOF, then kills it.
const GUARD: &str = r#""$0" "$@" >>"$SOAK_LOG" 2>&1 & p=$!; echo $p; read _x; kill $p 2>/dev/null; wait $p 2>/dev/null"#;

/// A running guarded process.
#[derive(Debug)]
pub struct Guarded {
    what: &'static str,
    pid: u32,
    guard: Option<(Child, ChildStdin)>,
    log: PathBuf,
}

impl Guarded {
    /// Starts `program args…` with stdout and stderr appended to `log`.
    pub fn spawn(
        what: &'static str,
        program: &Path,
        args: &[String],
        env: &[(&str, &str)],
        log: &Path,
    ) -> Result<Self, SoakError> {
        let failed = |detail: String| SoakError::Process { what, detail };
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(GUARD)
            .arg(program)
            .args(args)
            .env("SOAK_LOG", log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| failed(format!("cannot run sh: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(failed("the guard has no pipes".into()));
        };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| failed(format!("cannot read the PID from the guard: {e}")))?;
        let pid = line
            .trim()
            .parse()
            .map_err(|_| failed(format!("the guard printed {line:?} instead of a PID")))?;
        Ok(Self {
            what,
            pid,
            guard: Some((child, stdin)),
            log: log.to_path_buf(),
        })
    }

    /// The process ID (for `/proc/<pid>`).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The last `lines` lines of the process log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether the process is still running (an exited process waiting to be reaped by
    /// its guard counts as gone).
    pub fn alive(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
    }

    /// Sends SIGTERM and waits up to `grace` for the process to exit, then SIGKILL.
    pub fn stop(mut self, grace: Duration) {
        self.terminate(grace);
    }

    /// Kills the process at once (SIGKILL), like a crash.
    pub fn kill(mut self) {
        self.signal_then_wait("-KILL", Duration::from_secs(5));
    }

    fn terminate(&mut self, grace: Duration) {
        self.signal_then_wait("-TERM", grace);
    }

    fn signal_then_wait(&mut self, signal: &str, grace: Duration) {
        let Some((mut child, stdin)) = self.guard.take() else {
            return;
        };
        let pid = self.pid.to_string();
        let _ = Command::new("kill").args([signal, &pid]).status();
        // The guard reaps the process once its stdin closes.
        drop(stdin);
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        while self.alive() && waited < grace {
            std::thread::sleep(step);
            waited += step;
        }
        if self.alive() {
            eprintln!(
                "soak: {} (pid {}) still running {grace:?} after {signal}; killing it",
                self.what, self.pid
            );
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
        let _ = child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}

/// A free 127.0.0.1 port (bound to 0, read, released).
pub fn free_port() -> Result<u16, SoakError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(SoakError::Bind)?;
    Ok(l.local_addr().map_err(SoakError::Bind)?.port())
}

/// Waits until `addr` accepts TCP connections, up to `limit`.
pub async fn wait_listening(
    what: &'static str,
    addr: std::net::SocketAddr,
    limit: Duration,
) -> Result<(), SoakError> {
    let until = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < until {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(SoakError::Timeout(format!("{what} listening on {addr}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_and_reaps_promptly() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let p = Guarded::spawn("sleep", Path::new("sleep"), &["30".into()], &[], &log).unwrap();
        let pid = p.pid();
        assert!(p.alive());
        let started = std::time::Instant::now();
        p.kill();
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "reaped");
        let q = Guarded::spawn("sleep", Path::new("sleep"), &["30".into()], &[], &log).unwrap();
        let started = std::time::Instant::now();
        q.stop(Duration::from_secs(10));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
