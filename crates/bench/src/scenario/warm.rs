//! Warm: one key per request whose verdict is cached, over mTLS, against an actix floor with
//! the same TLS that answers a constant ProviderResponse. Subject and floor runs alternate
//! (A B, B A, …) and medians are reported.

use std::time::Duration;

use bytes::Bytes;

use crate::cpu::{threads_cpu_ns, DRIVER_THREADS, SERVER_THREADS};
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
    /// The verify path measured (and served by the floor): Ratify v1's by default, or
    /// `/ratify/gatekeeper/v2/verify` for the v2 endpoint.
    pub verify_path: &'static str,
}

/// The p99 goal at half load, microseconds.
const P99_GOAL_US: u32 = 1000;
/// The throughput goal relative to the floor.
const RPS_GOAL: f64 = 0.9;
/// Closed-loop slices per round (each `duration / SLICES_PER_ROUND` long).
const SLICES_PER_ROUND: usize = 8;

/// Runs the warm benchmark.
pub async fn run(opts: &WarmOptions) -> Result<Section, BenchError> {
    let env = Env::new(3600)?;
    let images = push_signed(&env.registry.host(), "bench/warm", 0, 1, &env.pki).await;
    let image = images
        .first()
        .ok_or_else(|| BenchError::setup("the warm image", "nothing was pushed"))?;
    let (server, engine) = env.start_subject(opts.workers).await?;
    let subject = env.target_at(server.addrs().provider, opts.verify_path)?;
    let body = driver::provider_request(std::slice::from_ref(&image.key));

    // The first request verifies and caches; its answer becomes the floor's constant.
    let mut conn = Connection::open(&subject).await?;
    let (status, answer) = conn.post(body.clone()).await?;
    check_verified(status, &answer)?;
    drop(conn);
    let floor = FloorServer::start_at(
        env.tls.floor_server_config()?,
        opts.workers,
        answer,
        opts.verify_path,
    )?;
    let floor_target = env.target_at(floor.addr, opts.verify_path)?;

    // Warm both up (connections, allocators, CPU caches); not measured.
    let warmup = Duration::from_millis(500);
    for t in [&subject, &floor_target] {
        driver::run(t, opts.connections, warmup, Pace::ClosedLoop, body.clone()).await?;
    }

    let mut notes = Vec::new();
    let (mut s_rps, mut f_rps, mut errors) = (Vec::new(), Vec::new(), 0);
    let (mut pair_ratios, mut s_cpu, mut f_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let (mut s_drv, mut f_drv) = (Vec::new(), Vec::new());
    // Short slices, interleaved: this VM's speed drifts by tens of per cent within seconds,
    // and both servers must see the same drift.
    let (slices, slice) = (
        opts.rounds * SLICES_PER_ROUND,
        opts.duration / SLICES_PER_ROUND as u32,
    );
    let (mut s_total, mut f_total) = (0u64, 0u64);
    for round in 0..slices {
        let (s, f) = pair(
            opts,
            &subject,
            &floor_target,
            round,
            slice,
            Pace::ClosedLoop,
            &body,
        )
        .await?;
        s_total += s.run.ok;
        f_total += f.run.ok;
        errors += s.run.errors + f.run.errors;
        note_error(&mut notes, &s.run, "subject");
        note_error(&mut notes, &f.run, "floor");
        s_rps.push(s.run.rps());
        f_rps.push(f.run.rps());
        pair_ratios.push(s.run.rps() / f.run.rps().max(1e-9));
        s_cpu.push(s.server_us);
        f_cpu.push(f.server_us);
        s_drv.push(s.driver_us);
        f_drv.push(f.driver_us);
    }
    let (s_med, f_med) = (median(&s_rps), median(&f_rps));
    let ratio_of_medians = s_med / f_med.max(1e-9);
    let pair_median = median(&pair_ratios);
    // Equal time for both, so the ratio of the totals is the ratio of the mean throughputs.
    let ratio = s_total as f64 / f_total.max(1) as f64;
    let seconds = slice.as_secs_f64() * slices as f64;
    let (s_mean, f_mean) = (s_total as f64 / seconds, f_total as f64 / seconds);
    let (s_cpu_med, f_cpu_med) = (median(&s_cpu), median(&f_cpu));
    // The driver does the same work per request against either server, so the server's CPU
    // per request over the driver's, in the same slice, cancels the machine's speed of the
    // moment; the subject's over the floor's is imagegate's own cost.
    let per_driver = |srv: &[f64], drv: &[f64]| {
        let v: Vec<f64> = srv.iter().zip(drv).map(|(s, d)| s / d.max(1e-9)).collect();
        median(&v)
    };
    let relative_cost = per_driver(&s_cpu, &s_drv) / per_driver(&f_cpu, &f_drv).max(1e-9);

    let half = (s_mean / 2.0).max(1.0);
    let (mut s_p99, mut f_p99, mut s_p50, mut f_p50) = (vec![], vec![], vec![], vec![]);
    let mut achieved = Vec::new();
    for round in 0..opts.rounds {
        let (s, f) = pair(
            opts,
            &subject,
            &floor_target,
            round,
            opts.duration,
            Pace::Rate(half),
            &body,
        )
        .await?;
        let (s, f) = (s.run, f.run);
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
        "closed loop, requests/s per slice: subject [{}], floor [{}]; subject/floor per slice \
         [{}]: median {}×; ratio of the median requests/s {}×",
        list(&s_rps, 0),
        list(&f_rps, 0),
        list(&pair_ratios, 3),
        fmt(pair_median, 3),
        fmt(ratio_of_medians, 3)
    ));
    notes.push(format!(
        "CPU per answered request (closed loop, µs, per slice): server workers subject [{}], \
         floor [{}]; load driver with the subject [{}], with the floor [{}]",
        list(&s_cpu, 2),
        list(&f_cpu, 2),
        list(&s_drv, 2),
        list(&f_drv, 2)
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
             and workers answering the subject's own response bytes as a constant. Throughput: \
             {} slices of {} s per server, subject and floor back to back in alternating order \
             (A B, B A, …), so that both see the same drift of the machine; the ratio is total \
             subject requests over total floor requests. CPU per request is read from the \
             threads' schedstat (time on CPU, steal excluded). Latency: {} rounds of {} s each, \
             alternating likewise, medians reported; it is \
             measured from send to last byte at a fixed offered rate of half the subject's \
             closed-loop throughput, for both servers.",
            opts.connections,
            opts.workers,
            slices,
            fmt(slice.as_secs_f64(), 2),
            opts.rounds,
            fmt(opts.duration.as_secs_f64(), 1),
        ),
        rows: vec![
            Row::new(
                "requests/s (closed loop, interleaved slices, mean)",
                fmt(f_mean, 0),
                fmt(s_mean, 0),
                format!("{}×", fmt(ratio, 3)),
                "≥ 0.9× floor",
                Some(ratio >= RPS_GOAL && errors == 0),
            ),
            Row::new(
                "server CPU per request (closed loop, median; ratio relative to the driver's)",
                format!("{} µs", fmt(f_cpu_med, 2)),
                format!("{} µs", fmt(s_cpu_med, 2)),
                format!("{}×", fmt(relative_cost, 3)),
                "—",
                None,
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

/// One measured run and what the loaded server's and the driver's threads spent on CPU.
struct Measured {
    run: RunStats,
    /// Server worker CPU per answered request, microseconds.
    server_us: f64,
    /// Load-driver CPU per answered request, microseconds.
    driver_us: f64,
}

/// Runs subject and floor once each, in an order alternating with `round`.
async fn pair(
    opts: &WarmOptions,
    subject: &driver::Target,
    floor: &driver::Target,
    round: usize,
    duration: Duration,
    pace: Pace,
    body: &Bytes,
) -> Result<(Measured, Measured), BenchError> {
    let go = |t| measured(opts, t, duration, pace, body);
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

/// One run against `target`, with the CPU its server and the driver spent per request.
async fn measured(
    opts: &WarmOptions,
    target: &driver::Target,
    duration: Duration,
    pace: Pace,
    body: &Bytes,
) -> Result<Measured, BenchError> {
    let (server0, driver0) = (
        threads_cpu_ns(SERVER_THREADS)?,
        threads_cpu_ns(DRIVER_THREADS)?,
    );
    let run = driver::run(target, opts.connections, duration, pace, body.clone()).await?;
    let (server1, driver1) = (
        threads_cpu_ns(SERVER_THREADS)?,
        threads_cpu_ns(DRIVER_THREADS)?,
    );
    let per_request = |ns: u64| ns as f64 / 1000.0 / (run.ok.max(1) as f64);
    Ok(Measured {
        server_us: per_request(server1.saturating_sub(server0)),
        driver_us: per_request(driver1.saturating_sub(driver0)),
        run,
    })
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
        && v["response"]["items"].as_array().is_some_and(|items| {
            // Ratify v1's `isSuccess`, or v2's `succeeded`.
            items
                .iter()
                .all(|i| i["value"]["isSuccess"] == true || i["value"]["succeeded"] == true)
        })
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

#[cfg(test)]
mod tests {
    use super::check_verified;

    #[test]
    fn verified_answers_of_both_protocols_are_recognised() {
        let v1 = br#"{"response":{"items":[{"key":"a","value":{"isSuccess":true}}]}}"#;
        let v2 = br#"{"response":{"items":[{"key":"a","value":{"succeeded":true,"artifactReports":null}}]}}"#;
        let denied = br#"{"response":{"items":[{"key":"a","value":{"succeeded":false}}]}}"#;
        assert!(check_verified(200, v1).is_ok());
        assert!(check_verified(200, v2).is_ok());
        assert!(check_verified(200, denied).is_err());
        assert!(check_verified(500, v2).is_err());
        assert!(check_verified(200, br#"{"response":{"items":[]}}"#).is_err());
    }
}
