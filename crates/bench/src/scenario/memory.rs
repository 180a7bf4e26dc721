//! Memory: the resident set of a real `imagegate serve` process after it has cached many
//! distinct verdicts (each image signed, fetched and verified once). Floor: the same process
//! right after start-up and its first verified key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};

use crate::driver::{self, Connection, Target};
use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::{push_signed, Image};
use crate::registry::free_port;
use crate::report::{fmt, Row, Section};
use crate::scenario::warm::check_verified;

/// The goal from the issue, bytes.
const GOAL_BYTES: u64 = 64 * 1024 * 1024;
/// Keys per ProviderRequest while filling the cache.
const KEYS_PER_REQUEST: usize = 25;
/// Concurrent connections while filling the cache.
const CONNECTIONS: usize = 4;
/// Bound on the server's start-up.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on the server's graceful stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A spawned `imagegate serve`, stopped (SIGTERM, then SIGKILL) on drop.
struct Serve {
    child: Child,
}

impl Serve {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The numeric fields of `/proc/<pid>/status` (`kB` values in bytes).
struct Status(String);

impl Status {
    fn read(pid: u32) -> Result<Self, BenchError> {
        let path = format!("/proc/{pid}/status");
        std::fs::read_to_string(&path)
            .map(Self)
            .map_err(|e| BenchError::io("reading RSS", &path, e))
    }

    fn field(&self, name: &str) -> Option<u64> {
        let line = self.0.lines().find(|l| l.starts_with(name))?;
        let mut words = line.split_whitespace().skip(1);
        let value: u64 = words.next()?.parse().ok()?;
        Some(if words.next() == Some("kB") {
            value * 1024
        } else {
            value
        })
    }

    fn need(&self, name: &str) -> Result<u64, BenchError> {
        self.field(name)
            .ok_or_else(|| BenchError::unexpected("/proc status", format!("no {name} line")))
    }
}

/// `VmRSS` and `VmHWM` of `pid`, bytes.
fn rss(pid: u32) -> Result<(u64, u64), BenchError> {
    let status = Status::read(pid)?;
    Ok((status.need("VmRSS:")?, status.need("VmHWM:")?))
}

/// What the resident set of `pid` is made of, for the notes.
fn composition(pid: u32) -> Result<String, BenchError> {
    let status = Status::read(pid)?;
    Ok(format!(
        "resident after the second pass: {} anonymous (heap, thread stacks), {} file-backed \
         (the binary and libraries); {} threads",
        mib(status.need("RssAnon:")?),
        mib(status.need("RssFile:")?),
        status.need("Threads:")?
    ))
}

fn mib(bytes: u64) -> String {
    format!("{} MiB", fmt(bytes as f64 / (1024.0 * 1024.0), 1))
}

/// Runs the memory benchmark: `verdicts` distinct images through `imagegate` at `binary`.
pub async fn run(binary: &Path, verdicts: usize) -> Result<Section, BenchError> {
    if !binary.exists() {
        return Err(BenchError::setup(
            "the imagegate binary",
            format!(
                "{} does not exist; build it with `cargo build --release -p imagegate-cli` or pass --imagegate",
                binary.display()
            ),
        ));
    }
    let env = Env::new(3600)?;
    let host = env.registry.host();
    let pushed = Instant::now();
    let images = push_signed(&host, "bench/memory", 0, verdicts.max(1), &env.pki).await;
    let push_time = pushed.elapsed();

    let port = free_port()?;
    let log_path = env.dir.path().join("imagegate.log");
    let mut serve = spawn(binary, &env, port, &log_path)?;
    let target = env.target(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
    let first = images
        .first()
        .ok_or_else(|| BenchError::setup("the memory images", "nothing was pushed"))?;
    wait_verified(&target, first, &mut serve, &log_path).await?;
    let (base_rss, _) = rss(serve.pid())?;

    let filled = Instant::now();
    fill(&target, &images).await?;
    let fill_time = filled.elapsed();
    let (after_rss, after_hwm) = rss(serve.pid())?;
    let cached = Instant::now();
    fill(&target, &images).await?;
    let cached_time = cached.elapsed();
    let (again_rss, _) = rss(serve.pid())?;
    let composed = composition(serve.pid())?;
    serve.stop();

    let per_verdict = after_rss.saturating_sub(base_rss) as f64 / images.len() as f64;
    Ok(Section {
        title: format!("4. Memory: RSS after {} cached verdicts", images.len()),
        method: format!(
            "The real `imagegate serve` binary (release build) over mTLS, on loopback, with \
             verdict, tag and content caches sized by default and a 1 h verdict TTL. {n} \
             distinct small images are pushed and signed, then verified through the provider \
             ({KEYS_PER_REQUEST} keys per request, {CONNECTIONS} connections), so each verdict, \
             referrers list, signature manifest and envelope is cached once. `VmRSS` is read \
             from `/proc/<pid>/status`. Floor: the same process after start-up and one verified \
             key. A second pass over all keys (answered from the verdict cache) checks that they \
             stayed cached.",
            n = images.len()
        ),
        rows: vec![
            Row::new(
                format!("RSS after {} cached verdicts", images.len()),
                mib(base_rss),
                mib(after_rss),
                format!("{}×", fmt(after_rss as f64 / base_rss.max(1) as f64, 2)),
                "≤ 64 MiB",
                Some(after_rss <= GOAL_BYTES),
            ),
            Row::new(
                "peak RSS (VmHWM) during the fill",
                mib(base_rss),
                mib(after_hwm),
                format!("{}×", fmt(after_hwm as f64 / base_rss.max(1) as f64, 2)),
                "—",
                None,
            ),
            Row::new(
                "RSS after a second, fully cached pass",
                mib(base_rss),
                mib(again_rss),
                format!("{}×", fmt(again_rss as f64 / base_rss.max(1) as f64, 2)),
                "—",
                None,
            ),
        ],
        notes: vec![
            composed,
            format!(
                "growth per cached verdict (with its cached referrers, manifest and envelope): {} bytes",
                fmt(per_verdict, 0)
            ),
            format!(
                "push + sign: {} s; cold fill: {} s ({} verifications/s); cached pass: {} s",
                fmt(push_time.as_secs_f64(), 1),
                fmt(fill_time.as_secs_f64(), 1),
                fmt(images.len() as f64 / fill_time.as_secs_f64().max(1e-9), 0),
                fmt(cached_time.as_secs_f64(), 2)
            ),
        ],
    })
}

fn spawn(binary: &Path, env: &Env, port: u16, log_path: &Path) -> Result<Serve, BenchError> {
    let log = std::fs::File::create(log_path)
        .map_err(|e| BenchError::io("creating the server log", log_path, e))?;
    let err = log
        .try_clone()
        .map_err(|e| BenchError::io("creating the server log", log_path, e))?;
    let addr = |p: u16| format!("127.0.0.1:{p}");
    let child = Command::new(binary)
        .arg("serve")
        .arg("--config")
        .arg(&env.config)
        .arg("--cert-dir")
        .arg(&env.tls.cert_dir)
        .arg("--client-ca")
        .arg(&env.tls.client_ca)
        .args(["--http", &addr(port)])
        .args(["--health", &addr(free_port()?)])
        .args(["--metrics", &addr(free_port()?)])
        .args(["--log-level", "warn"])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| BenchError::io("starting imagegate serve", PathBuf::from(binary), e))?;
    Ok(Serve { child })
}

/// Waits until the server answers and verifies `image`.
async fn wait_verified(
    target: &Target,
    image: &Image,
    serve: &mut Serve,
    log_path: &Path,
) -> Result<(), BenchError> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = serve.child.try_wait() {
            let log = std::fs::read_to_string(log_path).unwrap_or_default();
            return Err(BenchError::setup(
                "imagegate serve",
                format!("exited with {status}: {log}"),
            ));
        }
        if let Ok(mut conn) = Connection::open(target).await {
            let (status, answer) = conn
                .post(driver::provider_request(std::slice::from_ref(&image.key)))
                .await?;
            return check_verified(status, &answer);
        }
        if Instant::now() >= deadline {
            return Err(BenchError::Timeout {
                what: "imagegate serve to accept connections",
                seconds: START_TIMEOUT.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends every image's key, [`KEYS_PER_REQUEST`] per request on [`CONNECTIONS`] connections;
/// every key must verify.
async fn fill(target: &Target, images: &[Image]) -> Result<(), BenchError> {
    let batches: Vec<Vec<String>> = images
        .chunks(KEYS_PER_REQUEST)
        .map(|c| c.iter().map(|i| i.key.clone()).collect())
        .collect();
    let per_conn = batches.len().div_ceil(CONNECTIONS).max(1);
    let groups: Vec<Vec<Vec<String>>> = batches.chunks(per_conn).map(<[_]>::to_vec).collect();
    stream::iter(groups)
        .map(|group| async move {
            let mut conn = Connection::open(target).await?;
            for keys in group {
                let (status, answer) = conn.post(driver::provider_request(&keys)).await?;
                check_verified(status, &answer)?;
            }
            Ok::<_, BenchError>(())
        })
        .buffer_unordered(CONNECTIONS)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
