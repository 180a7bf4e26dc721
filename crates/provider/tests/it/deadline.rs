//! Per-key deadlines: a slow key times out alone, the rest answer, the response is prompt.
//!
//! Slow keys here never finish on their own (`hang/...`): whether a key misses its deadline
//! does not depend on how fast the machine is. Time bounds are derived from the configured
//! deadlines, with the margin between what the property allows and what breaking it costs.

use std::num::NonZeroUsize;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::support::{start_with, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_key_times_out_alone() {
    let deadline = Duration::from_secs(2);
    let h = start_with(true, |c| c.deadlines.verify = deadline).await;
    let started = Instant::now();
    let (status, body) = h
        .verify(&["registry.test/fast", "hang/slow", "sleep-50/medium"])
        .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    // The response waits for the deadline, not for the key that never finishes (which would
    // hold it until the client gives up, 20 s).
    assert!(elapsed >= deadline, "took {elapsed:?}");
    assert!(elapsed < 3 * deadline, "took {elapsed:?}");
    let items = &body["response"]["items"];
    assert_eq!(items[0]["value"]["image"], "registry.test/fast");
    assert_eq!(items[1]["key"], "hang/slow");
    assert_eq!(items[1]["error"], "operation timed out after duration 2s");
    assert!(items[1].get("value").is_none());
    assert_eq!(items[2]["value"]["image"], "sleep-50/medium");
    // The engine saw the request's deadline, not a fresh one...
    let remaining = items[0]["value"]["remainingMs"].as_u64().unwrap();
    assert!(remaining <= 2000, "{remaining}");
    // ...and the slow key's work was cancelled, not left running.
    wait_until("the slow key to be cancelled", || {
        h.handler.counters.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(h.handler.counters.in_flight.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_uses_its_own_deadline() {
    let verify = Duration::from_secs(5);
    let h = start_with(true, |c| {
        c.deadlines.verify = verify;
        c.deadlines.mutate = Duration::from_millis(300);
    })
    .await;
    let started = Instant::now();
    let (status, body) = h.mutate(&["hang/registry.test/x:1"]).await;
    assert_eq!(status, 200);
    // Under the verify deadline the answer would take at least 5 s.
    assert!(started.elapsed() < verify, "{:?}", started.elapsed());
    let item = &body["response"]["items"][0];
    assert_eq!(item["error"], "operation timed out after duration 300ms");
    assert_eq!(item["value"], "hang/registry.test/x:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_permit_counts_against_the_deadline() {
    // One key at a time. Two keys answer at once, the third holds the only permit until the
    // deadline, the last two need half a deadline each once they get the permit. If the wait
    // for the permit did not count against the deadline, they would get their own deadline
    // after the third key's and both answer (4 answered, 1 timed out, after 2 deadlines).
    // Counted from the request's arrival, they have no time left when the permit frees up.
    let deadline = Duration::from_millis(1000);
    let h = start_with(true, |c| {
        c.deadlines.verify = deadline;
        c.concurrency.per_request = NonZeroUsize::new(1).unwrap();
    })
    .await;
    let started = Instant::now();
    let (status, body) = h
        .verify(&["a", "b", "hang/c", "sleep-500/d", "sleep-500/e"])
        .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= deadline, "{:?}", started.elapsed());
    let items = body["response"]["items"].as_array().unwrap();
    let answered: Vec<_> = items
        .iter()
        .filter(|i| i.get("value").is_some())
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    let timed_out: Vec<_> = items
        .iter()
        .filter(|i| i["error"] == "operation timed out after duration 1s")
        .map(|i| i["key"].as_str().unwrap())
        .collect();
    assert_eq!(answered, ["a", "b"], "{body}");
    assert_eq!(
        timed_out,
        ["hang/c", "sleep-500/d", "sleep-500/e"],
        "{body}"
    );
    wait_until("every key to end", || {
        h.handler.counters.in_flight.load(Ordering::SeqCst) == 0
    })
    .await;
}
