//! Per-key deadlines: a slow key times out alone, the rest answer, the response is prompt.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use crate::support::{start_with, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_key_times_out_alone() {
    let h = start_with(true, |c| c.deadlines.verify = Duration::from_millis(500)).await;
    let started = Instant::now();
    let (status, body) = h
        .verify(&["registry.test/fast", "sleep-10000/slow", "sleep-50/medium"])
        .await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert!(elapsed < Duration::from_millis(2000), "took {elapsed:?}");
    assert!(elapsed >= Duration::from_millis(500), "took {elapsed:?}");
    let items = &body["response"]["items"];
    assert_eq!(items[0]["value"]["image"], "registry.test/fast");
    assert_eq!(items[1]["key"], "sleep-10000/slow");
    assert_eq!(
        items[1]["error"],
        "operation timed out after duration 500ms"
    );
    assert!(items[1].get("value").is_none());
    assert_eq!(items[2]["value"]["image"], "sleep-50/medium");
    // The engine saw a deadline within the configured 500 ms...
    let remaining = items[0]["value"]["remainingMs"].as_u64().unwrap();
    assert!((1..=500).contains(&remaining), "{remaining}");
    // ...and the slow key's work was cancelled, not left running.
    wait_until("the slow key to be cancelled", || {
        h.handler.counters.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(h.handler.counters.in_flight.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_uses_its_own_deadline() {
    let h = start_with(true, |c| {
        c.deadlines.verify = Duration::from_secs(5);
        c.deadlines.mutate = Duration::from_millis(300);
    })
    .await;
    let started = Instant::now();
    let (status, body) = h.mutate(&["sleep-5000/registry.test/x:1"]).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(1500));
    let item = &body["response"]["items"][0];
    assert_eq!(item["error"], "operation timed out after duration 300ms");
    assert_eq!(item["value"], "sleep-5000/registry.test/x:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_permit_counts_against_the_deadline() {
    // One key at a time, 400 ms each, 1 s deadline: two keys finish, the rest time out, and
    // the whole response is still ready at about the deadline.
    let h = start_with(true, |c| {
        c.deadlines.verify = Duration::from_millis(1000);
        c.concurrency.per_request = std::num::NonZeroUsize::new(1).unwrap();
    })
    .await;
    let started = Instant::now();
    let (status, body) = h.verify(&["sleep-400/a"; 5]).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < Duration::from_millis(2000));
    let items = body["response"]["items"].as_array().unwrap();
    let ok = items.iter().filter(|i| i.get("value").is_some()).count();
    let timed_out = items
        .iter()
        .filter(|i| i["error"] == "operation timed out after duration 1s")
        .count();
    assert_eq!((ok, timed_out), (2, 3), "{body}");
}
