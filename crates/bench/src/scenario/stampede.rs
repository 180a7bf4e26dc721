//! Stampede: many concurrent requests (one connection each) for one uncached image through
//! the real provider over mTLS; the registry's access log must show one fetch per object.
//! Run for a digest key and for a tag key, each on its own fresh image.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Barrier;

use crate::driver::{self, Connection};
use crate::env::Env;
use crate::error::BenchError;
use crate::fixture::push_signed;
use crate::registry::AccessEntry;
use crate::report::{fmt, ms, Row, Section};
use crate::scenario::cold::attribute;
use crate::scenario::warm::check_verified;

/// Bound on waiting for the access log to settle.
const LOG_SETTLE: Duration = Duration::from_secs(10);

/// Objects a digest key fetches, in order.
const DIGEST_OBJECTS: [&str; 3] = ["referrers tag index", "signature manifest", "envelope blob"];

/// Runs the stampede benchmark with `concurrency` simultaneous requests.
pub async fn run(concurrency: usize, workers: usize) -> Result<Section, BenchError> {
    let env = Env::new(3600)?;
    let host = env.registry.host();
    let images = push_signed(&host, "bench/stampede", 0, 3, &env.pki).await;
    let [single, by_digest, by_tag] = images.as_slice() else {
        return Err(BenchError::setup("the stampede images", "expected three"));
    };
    let (server, _engine) = env.start_subject(workers).await?;
    let target = env.target(server.addrs().provider)?;

    // Reference point: one request for a third uncached image, alone. It also makes the
    // client learn that this registry has no referrers API, as a running provider has.
    let mut conn = Connection::open(&target).await?;
    let t = Instant::now();
    let (status, answer) = conn
        .post(driver::provider_request(std::slice::from_ref(&single.key)))
        .await?;
    let single_time = t.elapsed();
    check_verified(status, &answer)?;
    drop(conn);

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for (label, image, key) in [
        ("digest key", by_digest, by_digest.key.clone()),
        ("tag key", by_tag, by_tag.tag_key()),
    ] {
        let before = env.registry.settled_entries(LOG_SETTLE).await?.len();
        let wall = fire(&target, concurrency, &key).await?;
        let entries = env.registry.settled_entries(LOG_SETTLE).await?;
        let mine: Vec<&AccessEntry> = entries.get(before..).unwrap_or_default().iter().collect();
        let counts = attribute(std::slice::from_ref(image), &mine);
        let mut objects: Vec<&str> = Vec::new();
        if label == "tag key" {
            objects.push(if counts.kind("image manifest (HEAD)") > 0 {
                "image manifest (HEAD)"
            } else {
                "image manifest"
            });
        }
        objects.extend(DIGEST_OBJECTS);
        let fetched: Vec<usize> = objects.iter().map(|o| counts.kind(o)).collect();
        let expected = objects.len();
        let total = counts.per_image(image) + counts.unattributed.len();
        rows.push(Row::new(
            format!("{concurrency} concurrent requests, {label}: fetches per object"),
            "1 each",
            objects
                .iter()
                .zip(&fetched)
                .map(|(o, n)| format!("{o} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            format!("{total} requests / {expected} objects"),
            "exactly 1 per object",
            Some(fetched.iter().all(|&n| n == 1) && total == expected),
        ));
        rows.push(Row::new(
            format!("{concurrency} concurrent requests, {label}: wall time"),
            format!("{} (1 request alone)", ms(micros(single_time))),
            ms(micros(wall)),
            format!(
                "{}×",
                fmt(wall.as_secs_f64() / single_time.as_secs_f64().max(1e-9), 2)
            ),
            "—",
            None,
        ));
        notes.push(format!(
            "{label}: registry requests by kind: {}; unattributed: {}",
            counts.kinds_text(),
            counts.unattributed.len()
        ));
    }
    server
        .stop()
        .await
        .map_err(|e| BenchError::setup("stopping the provider", e))?;
    Ok(Section {
        title: format!("3. Stampede: {concurrency} concurrent requests for one uncached image"),
        method: format!(
            "The real provider + engine over mTLS with empty caches. {concurrency} connections \
             are opened first, then released together (a barrier), each sending one request for \
             the same uncached image: once as a digest key, once as a tag key (another image). \
             Every answer must say verified. The registry's access log gives the requests per \
             object; the wall time (barrier to last answer) is compared with one request for a \
             third uncached image sent alone."
        ),
        rows,
        notes,
    })
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Opens `n` connections, then sends `key` on all of them at once; returns the time from the
/// release to the last verified answer.
async fn fire(target: &driver::Target, n: usize, key: &str) -> Result<Duration, BenchError> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(Connection::open(target).await?);
    }
    let barrier = Arc::new(Barrier::new(n + 1));
    let body = driver::provider_request(&[key.to_owned()]);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let (barrier, body) = (barrier.clone(), body.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                conn.post(body).await
            })
        })
        .collect();
    barrier.wait().await;
    let start = Instant::now();
    for task in tasks {
        let (status, answer) = task
            .await
            .map_err(|e| BenchError::Driver(format!("request task failed: {e}")))??;
        check_verified(status, &answer)?;
    }
    Ok(start.elapsed())
}
