//! Per-key deadlines: a slow key times out alone, the rest answer, the response is prompt.
//!
//! Slow keys here never finish on their own (`hang/...`): whether a key misses its deadline
//! does not depend on how fast the machine is. Time bounds are derived from the configured
//! deadlines, with the margin between what the property allows and what breaking it costs.

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
    assert_eq!(
        items[1]["error"],
        "EXECUTOR_FAILURE: operation timed out after duration 2s"
    );
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
    assert_eq!(
        item["error"],
        "EXECUTOR_FAILURE: operation timed out after duration 300ms"
    );
    assert_eq!(item["value"], "hang/registry.test/x:1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handlers_deadline_applies_raised_or_lowered() {
    // The server was started with 500 ms; the handler (the engine after a reload) says more,
    // then less, and each request follows what it says then.
    let h = start_with(true, |c| c.deadlines.verify = Duration::from_millis(500)).await;
    h.handler.set_deadlines(Some(Duration::from_millis(3000)));
    let (status, body) = h
        .verify(&["sleep-1000/raised", "sleep-60000/stalled"])
        .await;
    assert_eq!(status, 200);
    let items = &body["response"]["items"];
    assert_eq!(items[0]["value"]["image"], "sleep-1000/raised", "{body}");
    assert_eq!(
        items[1]["error"],
        "EXECUTOR_FAILURE: operation timed out after duration 3s"
    );
    h.handler.set_deadlines(Some(Duration::from_millis(200)));
    let (status, body) = h.verify(&["sleep-60000/lowered"]).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["response"]["items"][0]["error"],
        "EXECUTOR_FAILURE: operation timed out after duration 200ms"
    );
}
