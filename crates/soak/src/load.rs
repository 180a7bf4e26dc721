//! The steady-rate load: one verify request per tick, one key each, four warm keys for every
//! cold one; every request is recorded as a [`Shot`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use imagegate_oci::error_chain;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::images::ImageSet;
use crate::shot::{classify, Answer, Shot, Temperature};

/// The verify path of the provider.
const VERIFY_URL_PATH: &str = "/ratify/gatekeeper/v1/verify";

/// Most requests in flight; a tick finding none free is counted as skipped.
const MAX_IN_FLIGHT: usize = 512;

/// The client the load uses now; the TLS rotation swaps it.
pub type SharedClient = Arc<Mutex<reqwest::Client>>;

/// Counters of the load loop itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    /// Ticks where no request could be sent (too many in flight).
    pub skipped: usize,
}

/// Sends `rate` requests per second until `until`, then waits for the stragglers (each is
/// bounded by the client timeout). Returns every shot, in completion order.
pub async fn run(
    images: Arc<ImageSet>,
    client: SharedClient,
    url: String,
    rate: u32,
    start: Instant,
    until: Instant,
) -> (Vec<Shot>, LoadStats) {
    let shots = Arc::new(Mutex::new(Vec::new()));
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut stats = LoadStats::default();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = tokio::task::JoinSet::new();
    let (mut n, mut warm_next, mut cold_next) = (0usize, 0usize, 0usize);
    let url = format!("{url}{VERIFY_URL_PATH}");
    while Instant::now() < until {
        ticker.tick().await;
        n += 1;
        let (image, temperature) = if n % 5 == 0 && !images.cold.is_empty() {
            cold_next += 1;
            (
                images.cold[cold_next % images.cold.len()],
                Temperature::Cold,
            )
        } else if !images.warm.is_empty() {
            warm_next += 1;
            (
                images.warm[warm_next % images.warm.len()],
                Temperature::Warm,
            )
        } else {
            continue;
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            stats.skipped += 1;
            continue;
        };
        let client = match client.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let key = images.images[image].key.clone();
        let (shots, url) = (shots.clone(), url.clone());
        tasks.spawn(async move {
            let sent = start.elapsed();
            let answer = send(&client, &url, &key).await;
            let shot = Shot {
                image,
                temperature,
                start: sent,
                end: start.elapsed(),
                answer,
            };
            if let Ok(mut s) = shots.lock() {
                s.push(shot);
            }
            drop(permit);
        });
        // Reap finished tasks so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let shots = match Arc::try_unwrap(shots) {
        Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
        Err(arc) => arc.lock().map(|s| s.clone()).unwrap_or_default(),
    };
    (shots, stats)
}

/// One verify request for `key`.
pub async fn send(client: &reqwest::Client, url: &str, key: &str) -> Answer {
    let body = serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": [key]}
    });
    let response = match client.post(url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return Answer::Request(error_chain(&e)),
    };
    let status = response.status().as_u16();
    match response.bytes().await {
        Ok(bytes) => classify(status, &bytes),
        Err(e) => Answer::Request(error_chain(&e)),
    }
}
