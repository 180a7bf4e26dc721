//! Warm: one key per request whose verdict is cached, over mTLS, against an actix floor with
//! the same TLS that answers a constant ProviderResponse. Subject and floor runs alternate
//! (A B, B A, …) and medians are reported.

use std::time::Duration;

use bytes::Bytes;

use crate::driver::{self, Connection, Pace, RunStats};
use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::push_signed;
use crate::floor::FloorServer;
use crate::report::{fmt, ms, Row, Section};
use crate::stats::median;

/// Settings of the warm benchmark.
#[derive(Clone, Debug)]
pub struct WarmOptions {
    /// Keep-alive connections of the load driver.
    pub connections: usize,
    /// Length of one measured run.
    pub duration: Duration,
    /// Subject/floor pairs per phase.
    pub rounds: usize,
    /// HTTP worker threads of both servers.
    pub workers: usize,
}

/// The p99 goal at half load, microseconds.
const P99_GOAL_US: u32 = 1000;
/// The throughput goal relative to the floor.
const RPS_GOAL: f64 = 0.9;

/// Runs the warm benchmark.
pub async fn run(opts: &WarmOptions) -> Result<Section, BenchError> {
    let env = Env::new(3600)?;
    let images = push_signed(&env.registry.host(), "bench/warm", 0, 1, &env.pki).await;
    let image = images
        .first()
        .ok_or_else(|| BenchError::setup("the warm image", "nothing was pushed"))?;
    let (server, engine) = env.start_subject(opts.workers).await?;
    let subject = env.target(server.addrs().provider)?;
    let body = driver::provider_request(std::slice::from_ref(&image.key));

    // The first request verifies and caches; its answer becomes the floor's constant.
    let mut conn = Connection::open(&subject).await?;
    let (status, answer) = conn.post(body.clone()).await?;
    check_verified(status, &answer)?;
    drop(conn);
    let floor = FloorServer::start(env.tls.floor_server_config()?, opts.workers, answer)?;
    let floor_target = env.target(floor.addr)?;

    // Warm both up (connections, allocators, CPU caches); not measured.
    let warmup = Duration::from_millis(500);
    for t in [&subject, &floor_target] {
        driver::run(t, opts.connections, warmup, Pace::ClosedLoop, body.clone()).await?;
    }

    let mut notes = Vec::new();
    let (mut s_rps, mut f_rps, mut errors) = (Vec::new(), Vec::new(), 0);
    for round in 0..opts.rounds {
        let (s, f) = pair(
            opts,
            &subject,
            &floor_target,
            round,
            Pace::ClosedLoop,
            &body,
        )
        .await?;
        errors += s.errors + f.errors;
        note_error(&mut notes, &s, "subject");
        note_error(&mut notes, &f, "floor");
        s_rps.push(s.rps());
        f_rps.push(f.rps());
    }
    let (s_med, f_med) = (median(&s_rps), median(&f_rps));
    let ratio = s_med / f_med.max(1e-9);

    let half = (s_med / 2.0).max(1.0);
    let (mut s_p99, mut f_p99, mut s_p50, mut f_p50) = (vec![], vec![], vec![], vec![]);
    let mut achieved = Vec::new();
    for round in 0..opts.rounds {
        let (s, f) = pair(
            opts,
            &subject,
            &floor_target,
            round,
            Pace::Rate(half),
            &body,
        )
        .await?;
        errors += s.errors + f.errors;
        note_error(&mut notes, &s, "subject (paced)");
        note_error(&mut notes, &f, "floor (paced)");
        s_p99.push(f64::from(s.latency.p99_us));
        f_p99.push(f64::from(f.latency.p99_us));
        s_p50.push(f64::from(s.latency.p50_us));
        f_p50.push(f64::from(f.latency.p50_us));
        achieved.push(s.rps());
    }
    let (sp99, fp99) = (median(&s_p99) as u32, median(&f_p99) as u32);
    let (sp50, fp50) = (median(&s_p50) as u32, median(&f_p50) as u32);
    let stats = engine.stats();
    floor.stop().await;
    server
        .stop()
        .await
        .map_err(|e| BenchError::setup("stopping the provider", e))?;

    let list = |v: &[f64], d| v.iter().map(|x| fmt(*x, d)).collect::<Vec<_>>().join(", ");
    notes.push(format!(
        "closed loop, requests/s per round: subject [{}], floor [{}]",
        list(&s_rps, 0),
        list(&f_rps, 0)
    ));
    notes.push(format!(
        "half load = {} req/s offered (achieved by the subject: [{}]); p99 µs per round: subject [{}], floor [{}]",
        fmt(half, 0),
        list(&achieved, 0),
        list(&s_p99, 0),
        list(&f_p99, 0)
    ));
    notes.push(format!(
        "engine verdict cache during the run: {} hits, {} miss(es) (the first request); failed requests: {errors}",
        stats.verdicts.0, stats.verdicts.1
    ));
    Ok(Section {
        title: "1. Warm: cached verdict, one key per request, mTLS".into(),
        method: format!(
            "Load driver: {} keep-alive HTTP/1.1 connections over TLS 1.3 with a client certificate \
             (hyper + tokio-rustls, same process), each sending `POST /ratify/gatekeeper/v1/verify` \
             with one digest key whose verdict is cached. Subject: the real provider + engine \
             (`Server::start`, mTLS, {} workers). Floor: actix-web with the identical rustls set-up \
             and workers answering the subject's own response bytes as a constant. {} rounds of \
             {} s each, subject and floor alternating (A B, B A, …); medians reported. Latency is \
             measured from send to last byte at a fixed offered rate of half the subject's \
             closed-loop throughput, for both servers.",
            opts.connections,
            opts.workers,
            opts.rounds,
            fmt(opts.duration.as_secs_f64(), 1),
        ),
        rows: vec![
            Row::new(
                "requests/s (closed loop, median)",
                fmt(f_med, 0),
                fmt(s_med, 0),
                format!("{}×", fmt(ratio, 3)),
                "≥ 0.9× floor",
                Some(ratio >= RPS_GOAL && errors == 0),
            ),
            Row::new(
                format!("p99 latency at half load ({} req/s)", fmt(half, 0)),
                ms(fp99),
                ms(sp99),
                format!("{}×", fmt(f64::from(sp99) / f64::from(fp99.max(1)), 2)),
                "≤ 1 ms",
                Some(sp99 <= P99_GOAL_US),
            ),
            Row::new(
                "p50 latency at half load",
                ms(fp50),
                ms(sp50),
                format!("{}×", fmt(f64::from(sp50) / f64::from(fp50.max(1)), 2)),
                "—",
                None,
            ),
        ],
        notes,
    })
}

/// Runs subject and floor once each, in an order alternating with `round`.
async fn pair(
    opts: &WarmOptions,
    subject: &driver::Target,
    floor: &driver::Target,
    round: usize,
    pace: Pace,
    body: &Bytes,
) -> Result<(RunStats, RunStats), BenchError> {
    let go = |t| driver::run(t, opts.connections, opts.duration, pace, body.clone());
    if round % 2 == 0 {
        let s = go(subject).await?;
        let f = go(floor).await?;
        Ok((s, f))
    } else {
        let f = go(floor).await?;
        let s = go(subject).await?;
        Ok((s, f))
    }
}

fn note_error(notes: &mut Vec<String>, r: &RunStats, who: &str) {
    if let Some(e) = &r.first_error {
        notes.push(format!("{who}: {} failed request(s), first: {e}", r.errors));
    }
}

/// Checks that a ProviderResponse says the one key verified.
pub(crate) fn check_verified(status: u16, answer: &[u8]) -> Result<(), BenchError> {
    let text = String::from_utf8_lossy(answer);
    let v: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|e| BenchError::unexpected("the provider", format!("{e}: {text}")))?;
    let ok = status == 200
        && v["response"]["items"]
            .as_array()
            .is_some_and(|items| items.iter().all(|i| i["value"]["isSuccess"] == true))
        && v["response"]["items"]
            .as_array()
            .is_some_and(|i| !i.is_empty());
    if ok {
        Ok(())
    } else {
        Err(BenchError::unexpected(
            "the provider",
            format!("HTTP {status}, not every key verified: {text}"),
        ))
    }
}
