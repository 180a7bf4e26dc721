//! `imagegate serve` as a child process on loopback port 0: the bound addresses are read
//! from its "provider listening" log line (no port is picked and released), its log lines
//! are collected, and the process is stopped by PID when the handle drops.
#![allow(clippy::disallowed_methods)] // Test/demo code that waits in real time for a child process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long start-up, a log line or an answer may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// A running `imagegate serve`.
pub struct Serve {
    child: Child,
    /// The provider listener.
    pub provider: SocketAddr,
    /// The health listener.
    pub health: SocketAddr,
    /// The metrics listener.
    pub metrics: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

/// `imagegate serve` with `args` (which must not include the listener addresses), every
/// listener on 127.0.0.1 port 0, JSON logs at `info`. Waits for the listeners.
pub fn start(args: &[&str]) -> Serve {
    start_with_env(args, &[])
}

/// [`start`] with `env` added to the process's environment.
pub fn start_with_env(args: &[&str], env: &[(String, String)]) -> Serve {
    try_start(args, env).unwrap_or_else(|e| panic!("{e}"))
}

/// [`start_with_env`], or `Err` with its log if the process exits before listening (a
/// start-up failure); panics after [`WAIT`].
pub fn try_start(args: &[&str], env: &[(String, String)]) -> Result<Serve, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .arg("serve")
        .args(args)
        .args(["--http", "127.0.0.1:0", "--health", "127.0.0.1:0"])
        .args(["--metrics", "127.0.0.1:0", "--log-format", "json"])
        .args(["--log-level", "info"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the imagegate binary");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = Arc::clone(&lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            sink.lock().unwrap().push(line);
        }
    });
    let mut serve = Serve {
        child,
        provider: "127.0.0.1:0".parse().unwrap(),
        health: "127.0.0.1:0".parse().unwrap(),
        metrics: "127.0.0.1:0".parse().unwrap(),
        lines,
    };
    let line = serve.log_or_exit(&["provider listening"])?;
    let fields: Value = serde_json::from_str(&line).unwrap();
    let field = |name: &str| -> SocketAddr {
        let raw = find(&fields, name).unwrap_or_else(|| panic!("no {name} in {line}"));
        let raw = raw.trim_start_matches("Some(").trim_end_matches(')');
        raw.parse()
            .unwrap_or_else(|e| panic!("{name} {raw:?}: {e}"))
    };
    serve.provider = field("provider");
    serve.health = field("health");
    serve.metrics = field("metrics");
    Ok(serve)
}

/// Runs `imagegate serve` with `args` (listeners on 127.0.0.1 port 0) to its exit, for
/// start-up refusals: its exit code and stderr.
pub fn refused(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .arg("serve")
        .args(args)
        .args(["--http", "127.0.0.1:0", "--health", "127.0.0.1:0"])
        .args(["--metrics", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the imagegate binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The string value of the first field named `name` anywhere in `value`.
fn find(value: &Value, name: &str) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .or_else(|| map.values().find_map(|v| find(v, name))),
        _ => None,
    }
}

impl Serve {
    /// Every log line so far.
    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a log line containing `needle` and returns it; panics after [`WAIT`] or if
    /// the process exits first.
    pub fn wait_for_log(&mut self, needle: &str) -> String {
        self.wait_for_line(&[needle])
    }

    /// Waits for a log line containing every one of `needles` and returns it; panics after
    /// [`WAIT`] or if the process exits first.
    pub fn wait_for_line(&mut self, needles: &[&str]) -> String {
        self.log_or_exit(needles).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Waits for a log line containing every one of `needles` and returns it, or `Err` with
    /// the log if the process exits first; panics after [`WAIT`].
    fn log_or_exit(&mut self, needles: &[&str]) -> Result<String, String> {
        let needle = needles.join(" … ");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return Ok(line.clone());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader thread drain what is left.
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "imagegate serve exited ({status}) before logging {needle:?}:\n{}",
                    self.log()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?} within {WAIT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until at least `n` log lines contain `needle`; panics after [`WAIT`] or if the
    /// process exits first.
    pub fn wait_for_count(&mut self, needle: &str, n: usize) {
        let deadline = Instant::now() + WAIT;
        while self.count_log(needle) < n {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("imagegate serve exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {n} log lines with {needle:?} within {WAIT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Number of log lines containing `needle`.
    pub fn count_log(&self, needle: &str) -> usize {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// POSTs a Gatekeeper request with `keys` to the provider's verify path (plain HTTP) and
    /// returns the response's items.
    pub fn verify(&self, keys: &[&str]) -> Vec<Value> {
        let body = serde_json::json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
            "kind": "ProviderRequest",
            "request": {"keys": keys},
        })
        .to_string();
        let (status, text) = http(
            self.provider,
            "POST",
            "/ratify/gatekeeper/v1/verify",
            Some(&body),
        );
        assert_eq!(status, 200, "{text}");
        let value: Value = serde_json::from_str(&text).unwrap();
        value["response"]["items"].as_array().unwrap().clone()
    }

    /// GET `path` on the health or metrics listener.
    pub fn get(&self, addr: SocketAddr, path: &str) -> (u16, String) {
        http(addr, "GET", path, None)
    }

    /// Stops the process (SIGTERM by PID, then SIGKILL after 10 s) and returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        if let Ok(Some(status)) = self.child.try_wait() {
            return status.code();
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns status and body. Bounded by
/// [`WAIT`].
pub fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, WAIT).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.set_write_timeout(Some(WAIT)).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.take(64 << 20).read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, body)
}

/// The body of a chunked transfer encoding.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}
