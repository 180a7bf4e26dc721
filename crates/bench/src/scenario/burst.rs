//! Cold burst (issue 11 item 6): 1, 10 and 200 cold digest keys in one verify request through
//! the real provider, with every registry request delayed by a proxy (injected latency), each
//! against the 3-round-trip floor (referrers tag index, signature manifest, envelope) measured
//! through the same proxy in the same run. The referrers-API probe is single-flight per
//! repository, so a burst pays one probe, not one per key.

use std::time::{Duration, Instant};

use crate::delay::DelayProxy;
use crate::driver::{provider_request, Connection};
use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::{push_signed, Image};
use crate::report::{fmt, ms, Row, Section};
use crate::stats::median;

/// Latency added to every registry request (the issue asks for 20–50 ms).
pub const DELAY: Duration = Duration::from_millis(30);
/// Burst sizes.
const SIZES: [usize; 3] = [1, 10, 200];
/// Measurements per size (each on a fresh provider: cold caches, nothing learned).
const REPEATS: usize = 3;
/// Bound on waiting for the registry's access log to settle.
const LOG_SETTLE: Duration = Duration::from_secs(10);

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
    let via = proxy.addr().to_string();
    let key = |i: &Image| format!("{via}/{repo}@{}", i.subject);

    // Floor: the three unavoidable round trips of one key, sequentially, through the proxy.
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
    let mut one_key = 0.0;
    let mut start = 0;
    for size in SIZES {
        let keys: Vec<String> = images[start..start + size].iter().map(key).collect();
        start += size;
        let mut runs = Vec::new();
        let mut per_key = Vec::new();
        for _ in 0..REPEATS {
            let before = env.registry.settled_entries(LOG_SETTLE).await?.len();
            let (server, _engine) = env.start_subject(workers).await?;
            let mut conn = Connection::open(&env.target(server.addrs().provider)?).await?;
            let t = Instant::now();
            let (status, body) = conn.post(provider_request(&keys)).await?;
            let took = t.elapsed().as_micros() as f64;
            drop(conn);
            let _ = server.stop().await;
            let ok = count_success(&body);
            if status != 200 || ok != size {
                notes.push(format!(
                    "{size} keys: HTTP {status}, {ok} of {size} verified: {}",
                    String::from_utf8_lossy(&body[..body.len().min(300)])
                ));
            }
            runs.push(took);
            let after = env.registry.settled_entries(LOG_SETTLE).await?.len();
            per_key.push(after.saturating_sub(before) as f64 / size as f64);
        }
        let med = median(&runs);
        // The same burst from a plain client: what the registry (and this machine) allow.
        let mut plain = Vec::new();
        for _ in 0..REPEATS {
            plain.push(burst_floor(&via, repo, &images[start - size..start]).await? as f64);
        }
        let plain_med = median(&plain);
        notes.push(format!(
            "{size} keys, runs (µs): {:?}; registry requests per key (access log): {:?}; \
             the same {} GETs from a plain client, runs (µs): {:?}",
            runs.iter().map(|x| *x as u64).collect::<Vec<_>>(),
            per_key.iter().map(|x| fmt(*x, 3)).collect::<Vec<_>>(),
            3 * size,
            plain.iter().map(|x| *x as u64).collect::<Vec<_>>()
        ));
        if size == 1 {
            one_key = med;
        }
        let (goal, met) = match size {
            10 => ("≤ 1.2× one key", Some(med <= 1.2 * one_key)),
            200 => ("≤ 1.5× one key", Some(med <= 1.5 * one_key)),
            _ => ("—", None),
        };
        rows.push(Row::new(
            format!("{size} cold key(s) in one request, median of {REPEATS}"),
            ms(floor_med as u32),
            ms(med as u32),
            format!(
                "{}× floor, {}× one key, {}× the plain-client burst ({})",
                fmt(med / floor_med.max(1.0), 2),
                fmt(med / one_key.max(1.0), 2),
                fmt(med / plain_med.max(1.0), 2),
                ms(plain_med as u32)
            ),
            goal,
            met,
        ));
    }
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
             (no probe, no verification), which is what this registry on this machine allows.",
            DELAY.as_millis()
        ),
        rows,
        notes,
    })
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
