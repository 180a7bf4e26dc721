//! The real `imagegate serve --kubernetes` through API-server restarts (state kept, history
//! compacted, state lost) and with two replicas on one API server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagegate_testkit::kube_api::ApiServer;
use serde_json::Value;

#[tokio::test]
async fn restarts_and_compaction_recover_without_a_wrong_verdict() {
    let images = images("restart").await;
    let mut server = ApiServer::start();
    let c = client(&server);
    baseline(&c, &images).await;
    let serve = Serve::start(&server, "replica");
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));

    // Down: the configuration in force keeps answering.
    server.stop();
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
    // Back with the objects but without the history: re-watching from the old version gets
    // 410 and must re-list; a change made after the restart must arrive.
    server.compact();
    server.restart(true);
    let c = client(&server);
    let team_key = team_a_trusts_other(&c, &images).await;
    serve.wait_verdict(&team_key, Ok(false)).await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    let relisted = server
        .requests()
        .iter()
        .filter(|r| r.verb == "list" && r.resource == "verifiers")
        .count();
    assert!(relisted >= 2, "the watcher re-listed after 410");

    // Back with nothing at all: an empty API server is not a configuration; the old one
    // stays in force (no verdict flips to "not configured").
    server.restart(false);
    eventually(
        "a re-list after the wipe",
        || async {
            server
                .requests()
                .iter()
                .filter(|r| r.verb == "list" && r.resource == "verifiers")
                .count()
                > relisted
        },
        &serve.log,
    )
    .await;
    let c = client(&server);
    // Recreating the objects: a barrier for the wipe having been processed, and the
    // configuration follows the new objects (the namespaced override is gone now).
    baseline(&c, &images).await;
    wait_status(&server, "verifiers/verifier-notation", true, &serve.log).await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    serve.wait_verdict(&team_key, Ok(true)).await;
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
    assert!(serve.ready().await);
}

#[tokio::test]
async fn two_replicas_share_one_api_server_without_fighting_over_status() {
    let images = images("replicas").await;
    let server = ApiServer::start();
    let c = client(&server);
    baseline(&c, &images).await;
    create(&c, verifier("broken", None, "missing")).await;
    let a = Serve::start(&server, "replica-a");
    let b = Serve::start(&server, "replica-b");
    a.wait_ready().await;
    b.wait_ready().await;
    for s in [&a, &b] {
        assert_eq!(s.verdict(&images.signed).await, Ok(true));
    }
    wait_status(&server, "verifiers/broken", false, &a.log).await;
    // Barrier: a later object both replicas have seen (each answers with it in force).
    let team_key = team_a_trusts_other(&c, &images).await;
    a.wait_verdict(&team_key, Ok(false)).await;
    b.wait_verdict(&team_key, Ok(false)).await;
    wait_status(
        &server,
        "namespacedverifiers/team-a/team-verifier",
        true,
        &a.log,
    )
    .await;

    // Each object's status changed once, whoever wrote it, and one Event was recorded.
    let broken = server.object("verifiers", None, "broken").unwrap();
    let patches: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.verb == "patch" && r.name.as_deref() == Some("broken"))
        .collect();
    assert!(!patches.is_empty());
    // Created, then one status write: the other replica saw it and did not write again.
    assert_eq!(
        server.changes("verifiers", None, "broken"),
        2,
        "{patches:?}"
    );
    let events: Vec<Value> = server
        .objects("events")
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == "broken")
        .collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(broken["status"]["issuccess"], false);
}
