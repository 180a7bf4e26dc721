//! Runs Debian's `docker-registry` (distribution 2.8) on a free 127.0.0.1 port
//! with filesystem storage in a temp dir.
//!
//! The registry runs under a tiny `sh` guard that kills it when its stdin closes,
//! so an instance kept in a `static` (whose `Drop` never runs) still stops when
//! the test process exits. `Drop` stops it explicitly by PID.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::free_port;

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub struct Registry {
    pub port: u16,
    pid: u32,
    guard: Mutex<Option<(Child, ChildStdin)>>,
    dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> Self {
        assert!(
            std::path::Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: install it with `apt-get install -y docker-registry`"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let storage = dir.path().join("storage");
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = dir.path().join("registry.log");
        // The guard prints the registry PID, waits for stdin EOF, then kills it.
        let script = r#"REGISTRY_HTTP_SECRET=imagegate-test "$0" serve "$1" >"$2" 2>&1 & p=$!; echo $p; read _x; kill $p 2>/dev/null; wait $p 2>/dev/null"#;
        let mut child = Command::new("sh")
            .args(["-c", script, REGISTRY_BIN])
            .arg(&config_path)
            .arg(&log)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("cannot run sh");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid: u32 = line
            .trim()
            .parse()
            .expect("guard did not print the registry pid");
        let reg = Self {
            port,
            pid,
            guard: Mutex::new(Some((child, stdin))),
            dir,
        };
        reg.wait_ready(&log);
        reg
    }

    fn wait_ready(&self, log: &std::path::Path) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
                let mut buf = [0u8; 12];
                if std::io::Read::read(&mut s, &mut buf).is_ok_and(|n| n >= 12) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The registry's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
        if let Ok(mut g) = self.guard.lock() {
            if let Some((mut child, stdin)) = g.take() {
                drop(stdin);
                let _ = child.wait();
            }
        }
    }
}
