//! The cold and stampede scenarios end to end on a small scale, with the real registry, the
//! real engine and provider: the request counting they report must hold.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

use imagegate_bench::scenario::{cold, stampede};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_verifications_cost_three_registry_requests() {
    let section = cold::run(4).await.unwrap();
    let md = section.markdown();
    assert!(section.all_met(), "{md}");
    assert!(md.contains("min 3 / median 3 / max 3"), "{md}");
    assert!(md.contains("verified: 4 of 4"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_fetches_each_object_once() {
    let section = stampede::run(12, 1).await.unwrap();
    let md = section.markdown();
    assert!(section.all_met(), "{md}");
    assert!(
        md.contains("referrers tag index 1, signature manifest 1, envelope blob 1"),
        "{md}"
    );
}
