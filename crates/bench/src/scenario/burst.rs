//! Cold burst (issue 11 item 6): 1, 10 and 200 cold digest keys in one verify request through
//! the real provider, with every registry request delayed by a proxy (injected latency), each
//! against the 3-round-trip floor (referrers tag index, signature manifest, envelope) measured
//! through the same proxy in the same run. The referrers-API probe is single-flight per
//! repository, so a burst pays one probe, not one per key.
//!
//! The same bursts run twice: against Debian's registry behind the delay proxy (the real
//! part, whose CPU bounds a large burst on this machine; the bound is measured and shown),
//! and against the registry's answers replayed from memory after the same delay
//! ([`ReplayRegistry`]), which isolates imagegate's own scaling.

use std::time::{Duration, Instant};

use crate::delay::DelayProxy;
use crate::driver::{provider_request, Connection};
use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::{push_signed, Image};
use crate::registry::AccessLoggedRegistry;
use crate::replay::ReplayRegistry;
use crate::report::{fmt, ms, Row, Section};
use crate::stats::median;

/// Latency added to every registry request (the issue asks for 20–50 ms).
pub const DELAY: Duration = Duration::from_millis(30);
/// Burst sizes.
const SIZES: [usize; 3] = [1, 10, 200];
/// Measurements per size (each on a fresh provider: cold caches, nothing learned).
const REPEATS: usize = 5;
/// Bound on waiting for the registry's access log to settle.
const LOG_SETTLE: Duration = Duration::from_secs(10);

/// Where the burst's registry requests go.
enum Upstream<'a> {
    /// `docker-registry` behind the delay proxy; requests counted from its access log.
    Real(&'a AccessLoggedRegistry),
    /// The registry's answers replayed from memory after the same delay.
    Replay(&'a ReplayRegistry),
}

impl Upstream<'_> {
    /// Registry requests answered so far.
    async fn requests(&self) -> Result<usize, BenchError> {
        match self {
            Self::Real(registry) => Ok(registry.settled_entries(LOG_SETTLE).await?.len()),
            Self::Replay(replay) => Ok(replay.served()),
        }
    }

    /// Nanoseconds the real registry has spent on CPU so far; `None` for the replay, whose
    /// answers come from memory.
    fn registry_cpu_ns(&self) -> Result<Option<u64>, BenchError> {
        match self {
            Self::Real(registry) => registry.cpu_ns().map(Some),
            Self::Replay(_) => Ok(None),
        }
    }

    /// Runs `work`, adding the registry CPU it cost (µs) to `cpu_us` where that is measured.
    async fn measuring_cpu<T>(
        &self,
        cpu_us: &mut Vec<f64>,
        work: impl std::future::Future<Output = Result<T, BenchError>>,
    ) -> Result<T, BenchError> {
        let before = self.registry_cpu_ns()?;
        let out = work.await?;
        if let (Some(before), Some(after)) = (before, self.registry_cpu_ns()?) {
            cpu_us.push(after.saturating_sub(before) as f64 / 1e3);
        }
        Ok(out)
    }

    fn label(&self) -> &'static str {
        match self {
            Self::Real(_) => "docker-registry",
            Self::Replay(_) => "replayed answers",
        }
    }
}

/// What every burst shares.
struct Burst<'a> {
    env: &'a Env,
    repo: &'a str,
    images: &'a [Image],
    workers: usize,
    cores: f64,
}

/// Runs the cold-burst benchmark.
pub async fn run(workers: usize) -> Result<Section, BenchError> {
    let env = Env::new(3600)?;
    let host = env.registry.host();
    let repo = "bench/burst";
    let total: usize = SIZES.iter().sum();
    let images = push_signed(&host, repo, 0, total, &env.pki).await;
    let upstream = host
        .parse()
        .map_err(|e| BenchError::unexpected("the registry address", format!("{host}: {e}")))?;
    let proxy = DelayProxy::start(upstream, DELAY).await?;
    let replay = ReplayRegistry::start(&host, DELAY).await?;
    let burst = Burst {
        env: &env,
        repo,
        images: &images,
        workers,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()) as f64,
    };

    // Floor: the three unavoidable round trips of one key, sequentially, through the proxy.
    let via = proxy.addr().to_string();
    let floor_client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| BenchError::setup("the floor HTTP client", e))?;
    let mut floor_us = Vec::new();
    for image in images.iter().take(5) {
        floor_us.push(floor(&floor_client, &via, repo, image).await? as f64);
    }
    let floor_med = median(&floor_us);

    let mut rows = Vec::new();
    let mut notes = vec![format!(
        "floor runs (µs): {:?}",
        floor_us.iter().map(|x| *x as u64).collect::<Vec<_>>()
    )];
    burst
        .sizes(
            &Upstream::Real(&env.registry),
            &via,
            floor_med,
            &mut rows,
            &mut notes,
        )
        .await?;
    burst
        .sizes(
            &Upstream::Replay(&replay),
            &replay.addr().to_string(),
            floor_med,
            &mut rows,
            &mut notes,
        )
        .await?;
    notes.push(format!(
        "replayed: {} requests answered, {} of them recorded from the registry",
        replay.served(),
        replay.recorded()
    ));
    Ok(Section {
        title: format!(
            "Cold burst: 1, 10 and 200 cold keys in one request, {} ms per registry request",
            DELAY.as_millis()
        ),
        method: format!(
            "{total} small signed images in a real `docker-registry` 2.8 (no referrers API) \
             behind a TCP proxy that holds every request {} ms. Each burst is one verify request \
             over mTLS to a fresh provider (`Env::start_subject`, in process: empty caches, the \
             referrers API not yet probed), timed from send to complete answer; median of \
             {REPEATS}. Floor: the three round trips one digest key cannot avoid, made \
             sequentially through the same proxy with a plain reqwest client; and, per size, the \
             plain-client burst: every key's three GETs at once from one fresh reqwest client \
             (no probe, no verification), which is what this registry on this machine allows. \
             Registry CPU bound: the plain client's three round trips plus the registry's CPU \
             time for the plain-client burst (its threads' schedstat) spread over the \
             machine's {} cores, a time no client of this registry on this machine can beat. \
             Then the same bursts against *replayed answers*: a server that holds each request \
             the same {} ms and answers it from memory with the registry's own recorded \
             answer (status, headers, body; recorded in an unmeasured first burst), so that \
             the registry's CPU is out of the measurement and what remains is the round trips \
             and imagegate's own work.",
            DELAY.as_millis(),
            burst.cores,
            DELAY.as_millis()
        ),
        rows,
        notes,
    })
}

impl Burst<'_> {
    /// Measures every size against `upstream`, reached at `via`.
    async fn sizes(
        &self,
        upstream: &Upstream<'_>,
        via: &str,
        floor_med: f64,
        rows: &mut Vec<Row>,
        notes: &mut Vec<String>,
    ) -> Result<(), BenchError> {
        let repo = self.repo;
        let key = |i: &Image| format!("{via}/{repo}@{}", i.subject);
        let replayed = matches!(upstream, Upstream::Replay(_));
        let mut one_key = 0.0;
        let mut start = 0;
        for size in SIZES {
            let images = &self.images[start..start + size];
            start += size;
            let keys: Vec<String> = images.iter().map(key).collect();
            if replayed {
                // Unmeasured: records every answer these bursts need.
                self.verify(&keys, notes).await?;
                burst_floor(via, repo, images).await?;
            }
            let mut runs = Vec::new();
            let mut per_key = Vec::new();
            let mut registry_cpu = Vec::new();
            for _ in 0..REPEATS {
                let before = upstream.requests().await?;
                let took = upstream
                    .measuring_cpu(&mut registry_cpu, self.verify(&keys, notes))
                    .await?;
                runs.push(took);
                let after = upstream.requests().await?;
                per_key.push(after.saturating_sub(before) as f64 / size as f64);
            }
            let med = median(&runs);
            // The same burst from a plain client: what the registry (and this machine) allow.
            let mut plain = Vec::new();
            let mut plain_registry_cpu = Vec::new();
            for _ in 0..REPEATS {
                let took = upstream
                    .measuring_cpu(&mut plain_registry_cpu, burst_floor(via, repo, images))
                    .await?;
                plain.push(took as f64);
            }
            let plain_med = median(&plain);
            let whole = |xs: &[f64]| xs.iter().map(|x| *x as u64).collect::<Vec<_>>();
            let mut note = format!(
                "{}, {size} keys, runs (µs): {:?}; registry requests per key: {:?}; the same {} \
                 GETs from a plain client, runs (µs): {:?}",
                upstream.label(),
                whole(&runs),
                per_key.iter().map(|x| fmt(*x, 3)).collect::<Vec<_>>(),
                3 * size,
                whole(&plain)
            );
            if !registry_cpu.is_empty() {
                note.push_str(&format!(
                    "; registry CPU (µs) during each burst: {:?}, during each plain-client \
                     burst: {:?}",
                    whole(&registry_cpu),
                    whole(&plain_registry_cpu)
                ));
            }
            notes.push(note);
            if size == 1 {
                one_key = med;
            }
            let (goal, met) = match size {
                10 => ("≤ 1.2× one key", Some(med <= 1.2 * one_key)),
                200 => ("≤ 1.5× one key", Some(med <= 1.5 * one_key)),
                _ => ("—", None),
            };
            // The registry alone cannot answer a burst faster than its CPU time spread over
            // every core of the machine (which it shares with the proxy and the client).
            let bound = if plain_registry_cpu.is_empty() {
                String::new()
            } else {
                let bound =
                    3.0 * DELAY.as_micros() as f64 + median(&plain_registry_cpu) / self.cores;
                format!(
                    "; registry CPU bound {} ({}× one key)",
                    ms(bound as u32),
                    fmt(bound / one_key.max(1.0), 2)
                )
            };
            rows.push(Row::new(
                format!(
                    "{size} cold key(s) in one request, {}, median of {REPEATS}",
                    upstream.label()
                ),
                ms(floor_med as u32),
                ms(med as u32),
                format!(
                    "{}× floor, {}× one key, {}× the plain-client burst ({}){bound}",
                    fmt(med / floor_med.max(1.0), 2),
                    fmt(med / one_key.max(1.0), 2),
                    fmt(med / plain_med.max(1.0), 2),
                    ms(plain_med as u32),
                ),
                goal,
                met,
            ));
        }
        Ok(())
    }

    /// One verify request with `keys` to a fresh provider; microseconds from send to answer.
    async fn verify(&self, keys: &[String], notes: &mut Vec<String>) -> Result<f64, BenchError> {
        let env = self.env;
        let (server, _engine) = env.start_subject(self.workers).await?;
        let mut conn = Connection::open(&env.target(server.addrs().provider)?).await?;
        let t = Instant::now();
        let (status, body) = conn.post(provider_request(keys)).await?;
        let took = t.elapsed().as_micros() as f64;
        drop(conn);
        let _ = server.stop().await;
        let ok = count_success(&body);
        if status != 200 || ok != keys.len() {
            notes.push(format!(
                "{} keys: HTTP {status}, {ok} of {} verified: {}",
                keys.len(),
                keys.len(),
                String::from_utf8_lossy(&body[..body.len().min(300)])
            ));
        }
        Ok(took)
    }
}

fn count_success(body: &[u8]) -> usize {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return 0;
    };
    v["response"]["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i["value"]["isSuccess"].as_bool() == Some(true))
                .count()
        })
        .unwrap_or(0)
}

/// The burst floor: every image's three GETs ([`floor`]) at once from one fresh plain
/// client (an empty connection pool, as a fresh provider has), `3 × images` requests in all;
/// microseconds from the first request to the last answer. No probe, no verification: only
/// what the registry behind the proxy (and the machine it shares) take for that many
/// requests.
async fn burst_floor(via: &str, repo: &str, images: &[Image]) -> Result<u64, BenchError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(images.len())
        .build()
        .map_err(|e| BenchError::setup("the burst-floor HTTP client", e))?;
    let t = Instant::now();
    let all = images.iter().map(|image| floor(&client, via, repo, image));
    for took in futures_util::future::join_all(all).await {
        took?;
    }
    Ok(t.elapsed().as_micros() as u64)
}

/// The three GETs of one digest key, sequentially; microseconds.
async fn floor(
    client: &reqwest::Client,
    via: &str,
    repo: &str,
    image: &Image,
) -> Result<u64, BenchError> {
    let base = format!("http://{via}/v2/{repo}");
    let urls = [
        format!("{base}/manifests/{}", image.referrers_tag()),
        format!("{base}/manifests/{}", image.signature),
        format!("{base}/blobs/{}", image.envelope),
    ];
    let t = Instant::now();
    for url in urls {
        let r = client
            .get(&url)
            .header(
                reqwest::header::ACCEPT,
                "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, */*",
            )
            .send()
            .await
            .map_err(|e| BenchError::unexpected("the floor GET", format!("{url}: {e}")))?;
        let status = r.status();
        let _ = r.bytes().await;
        if !status.is_success() {
            return Err(BenchError::unexpected(
                "the floor GET",
                format!("{url}: HTTP {status}"),
            ));
        }
    }
    Ok(t.elapsed().as_micros() as u64)
}
