//! `make soak`: imagegate under steady load while faults are injected (issue 6, "Faults under
//! load"). Loopback only, bounded in time (`SOAK_SECONDS`) and rate (`SOAK_RATE`).
//!
//! The driver starts Debian's `docker-registry` behind a delaying TCP proxy, pushes and signs
//! a set of images with two signing PKIs (plus a few unsigned ones), starts `imagegate serve`
//! as its own process with TLS 1.3 + mutual TLS and a stale-if-error grace, and sends one-key
//! verify requests at a steady rate (four warm keys for each cold one). Each fault cycle
//! (the whole run up to 120 s, repeated) goes through:
//!
//! 1. **registry down** then **back**: during the outage answers are stale verdicts (within
//!    the grace) or per-key failures; none later than the deadline; afterwards fresh
//!    verifications succeed;
//! 2. **slow registry** (the proxy delays every registry request): per-key deadlines hold and
//!    warm keys stay fast;
//! 3. **TLS rotation**: a new server leaf and a new client CA (bundle old+new, the client
//!    switches after the reload is seen in the provider's metrics, then the old CA is
//!    removed and a client with its certificate must be refused): no request fails;
//! 4. **trust reload**: `config.json` alternates between trusting both signing roots and only
//!    the first: only images of the second signer change verdict.
//!
//! Throughout the run a **hostile registry** ([`hostile`], issue 16) is asked for too: one
//! request a second with two of its keys, each subject listing 8 signatures with distinct
//! 256 KiB digest-correct envelopes (far beyond real 2-30 KiB envelopes; the memory bound
//! itself is shown by `tests/hostile_memory.rs`), cycling every 10 s through big envelopes, changing bytes
//! (listings and envelopes that never match their digests) and stalls mid-body. None of its
//! keys may ever be accepted, no request may fail as a whole, and it counts towards the RSS
//! trend like everything else.
//!
//! [`judge::judge`] decides which answers were acceptable given the faults in force, and the
//! provider's RSS (sampled from `/proc` every 2 s) must show no growth trend: after a warm-up
//! of one cycle (a quarter of the run at most), the least-squares trend across the rest may
//! not exceed 5 % of the mean RSS or 4 MiB, whichever is larger. Runs shorter than two cycles
//! report the trend without judging it (they are still filling caches and metric series).
#![deny(missing_docs)]
// A harness, not a library of the product: it measures and waits on real (wall and monotonic) time.
#![allow(clippy::disallowed_methods)]

pub mod error;
pub mod faults;
pub mod hostile;
pub mod images;
pub mod judge;
pub mod load;
pub mod process;
pub mod provider;
pub mod proxy;
pub mod registry;
pub mod report;
pub mod settings;
pub mod shot;
pub mod stats;
pub mod tls;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

pub use crate::error::SoakError;
pub use crate::report::Report;
pub use crate::settings::Settings;

use crate::faults::{Faults, TlsState};
use crate::images::Trust;
use crate::judge::{Bounds, Timeline};
use crate::provider::{Layout, Provider, FAILURE_TTL_SECONDS, VERIFY_DEADLINE};

/// How often the provider's RSS is sampled.
const RSS_EVERY: Duration = Duration::from_secs(2);

/// Runs the soak and returns its report (which may not pass); `Err` when the run itself
/// could not be carried out. Must run on a multi-threaded tokio runtime.
pub async fn run(settings: &Settings) -> Result<Report, SoakError> {
    let dir = tempfile::tempdir().map_err(|e| SoakError::io(std::env::temp_dir(), e))?;
    let registry = registry::Registry::start(dir.path()).await?;
    let proxy = Arc::new(proxy::DelayProxy::start(registry.addr()).await?);
    eprintln!("soak: pushing and signing {} images…", settings.images);
    let images = images::push(registry.addr(), proxy.addr(), settings.images, dir.path()).await?;
    let counts = (images.warm.len(), images.cold.len());
    let groups: Vec<_> = images.images.iter().map(|i| i.group).collect();
    let images = Arc::new(images);

    let roots = (images.first_root.clone(), images.second_root.clone());
    let layout = Layout::new(dir.path(), roots)?;
    let server_ca = tls::Ca::new("soak server CA")?;
    let client_ca = tls::Ca::new("soak client CA 0")?;
    let identity = client_ca.client("gatekeeper 0")?;
    tls::write_server_files(&layout.cert_dir, &server_ca.server("imagegate soak 0")?)?;
    tls::write_atomic(&layout.client_ca, client_ca.cert_pem.as_bytes())?;
    layout.write_config(Trust::Both)?;
    let provider = Arc::new(
        Provider::start(
            &settings.imagegate_bin,
            &layout,
            &dir.path().join("provider.log"),
        )
        .await?,
    );
    let client_timeout = VERIFY_DEADLINE + Duration::from_secs(3);
    let client = Arc::new(Mutex::new(tls::client(
        &server_ca,
        &identity,
        layout.provider,
        client_timeout,
    )?));
    let url = format!("https://{}:{}", tls::SERVER_NAME, layout.provider.port());
    let verify_url = format!("{url}/ratify/gatekeeper/v1/verify");
    let hostile = hostile::HostileRegistry::start(hostile::HostileOptions {
        subjects: 16,
        signatures: 8,
        envelope_bytes: 256 * 1024,
    });
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let notes = Arc::new(Mutex::new(Vec::new()));

    eprintln!(
        "soak: {} s at {} requests/s against {} (pid {})",
        settings.duration.as_secs(),
        settings.rate,
        layout.provider,
        provider.pid()
    );
    let start = Instant::now();
    let until = start + settings.duration;
    let rss = tokio::spawn(sample_rss(provider.clone(), start, until));
    let faults = Faults {
        registry,
        proxy: proxy.clone(),
        provider: provider.clone(),
        layout: layout.clone(),
        tls: TlsState {
            server_ca,
            client_ca,
            identity,
            generation: 0,
        },
        client: client.clone(),
        client_timeout,
        slow_delay: settings.slow_delay,
        trust: Trust::Both,
        timeline: timeline.clone(),
        notes: notes.clone(),
        url: url.clone(),
        dir: dir.path().to_path_buf(),
    };
    let controller = tokio::spawn(faults.run(start, settings.duration, settings.cycle()));
    let attack = {
        let (client, url) = (client.clone(), verify_url.clone());
        tokio::spawn(async move {
            let stats = hostile::load(&hostile, &client, &url, start, until).await;
            (
                stats,
                hostile.requests.load(std::sync::atomic::Ordering::Relaxed),
            )
        })
    };
    let (shots, load) = load::run(images.clone(), client, url, settings.rate, start, until).await;
    let (hostile, hostile_served) = attack.await.unwrap_or_default();
    let mut registry = controller.await.map_err(|e| SoakError::Process {
        what: "fault controller",
        detail: e.to_string(),
    })?;
    let (samples, series) = rss.await.unwrap_or_default();
    let metrics = provider.metrics().await.unwrap_or_default();
    let alive = provider.alive();
    let tail = provider.log_tail(20);
    let stopping = std::time::Instant::now();
    if let Ok(p) = Arc::try_unwrap(provider) {
        tokio::task::block_in_place(|| p.stop());
    }
    if let Ok(mut n) = notes.lock() {
        let secs = stopping.elapsed().as_secs_f64();
        n.push(format!(
            "{:7.1}s provider exited {secs:.1} s after SIGTERM",
            start.elapsed().as_secs_f64()
        ));
    }
    tokio::task::block_in_place(|| registry.down());
    drop(proxy);

    let timeline = timeline.lock().map(|t| t.clone()).unwrap_or_default();
    let bounds = Bounds {
        cycle: settings.cycle(),
        deadline: VERIFY_DEADLINE,
        after_fault: Duration::from_secs(FAILURE_TTL_SECONDS + 3),
        hang_slack: Duration::from_millis(1500),
        initial_trust: Trust::Both,
    };
    let mut judgement = judge::judge(&shots, &groups, &timeline, &bounds);
    if !alive {
        judgement.violation_count += 1;
        judgement
            .violations
            .push(format!("the provider exited during the run; log:\n{tail}"));
    }
    let warmup = settings
        .cycle()
        .as_secs_f64()
        .min(settings.duration.as_secs_f64() / 4.0);
    let reloads = "imagegate_tls_reload_count_total";
    Ok(Report {
        duration: settings.duration,
        cycle: settings.cycle(),
        rate: settings.rate,
        images: counts,
        judgement,
        rss: report::RssTrend::fit(samples, warmup),
        metric_lines: series,
        final_metrics: metrics.clone(),
        skipped: load.skipped,
        stale_metric: provider::counter(&metrics, "imagegate_stale_verdicts_total", &[]),
        tls_reloads: (
            provider::counter(&metrics, reloads, &[("result", "ok")]),
            provider::counter(&metrics, reloads, &[("result", "error")]),
        ),
        notes: notes.lock().map(|n| n.clone()).unwrap_or_default(),
        hostile,
        hostile_served,
    })
}

/// Samples the RSS of the provider every [`RSS_EVERY`] until `until`, and the number of
/// sample lines of its `/metrics` every fifth time (label cardinality is a classic slow leak).
async fn sample_rss(
    provider: Arc<Provider>,
    start: Instant,
    until: Instant,
) -> (Vec<(f64, u64)>, Vec<(f64, usize)>) {
    let (mut rss, mut series) = (Vec::new(), Vec::new());
    let mut ticker = tokio::time::interval(RSS_EVERY);
    let mut n = 0usize;
    while Instant::now() < until {
        ticker.tick().await;
        if let Some(kib) = provider::rss_kib(provider.pid()) {
            rss.push((start.elapsed().as_secs_f64(), kib));
        }
        if n % 5 == 0 {
            if let Ok(text) = provider.metrics().await {
                let lines = text.lines().filter(|l| !l.starts_with('#')).count();
                series.push((start.elapsed().as_secs_f64(), lines));
            }
        }
        n += 1;
    }
    (rss, series)
}
