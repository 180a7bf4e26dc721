//! Ratify v2's `Executor` and `NamespacedExecutor` from the Kubernetes API, through the real
//! `imagegate serve --kubernetes` and a real registry: an Executor alone configures imagegate
//! (ready, verdicts), its status is written in v2's fields (`succeeded`, `error`,
//! `briefError`), a bad NamespacedExecutor is reported on its own status while the cluster
//! Executor keeps serving, and an API server without the v2 CRDs still serves the v1 kinds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagegate_testkit::kube_api::ApiServer;
use serde_json::{json, Value};

const SA: &str = "imagegate-executor-token";

/// An Executor (or NamespacedExecutor in `namespace`) for this test's registry, trusting
/// `root_pem` inline, with `verifier_type` as its one verifier's type.
fn executor(name: &str, namespace: Option<&str>, root_pem: &str, verifier_type: &str) -> Value {
    let kind = if namespace.is_some() {
        "NamespacedExecutor"
    } else {
        "Executor"
    };
    json!({
        "apiVersion": "config.ratify.sh/v2alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scopes": [registry().host()],
            "verifiers": [{
                "name": "notation-1",
                "type": verifier_type,
                "parameters": {
                    "trustedIdentities": ["*"],
                    "certificates": [{"type": "ca", "inline": {"certs": root_pem}}]
                }
            }],
            "stores": [{
                "type": "registry-store",
                "parameters": {"plainHttp": true, "credential": {"provider": "static"}}
            }],
            "policyEnforcer": {
                "type": "threshold-policy",
                "parameters": {"policy": {"threshold": 1, "rules": [{"verifierName": "notation-1"}]}}
            }
        }
    })
}

#[tokio::test]
async fn an_executor_from_the_api_server_configures_imagegate_with_v2_status() {
    let images = images("executor").await;
    let server = ApiServer::start();
    let c = client(&server);
    let serve = Serve::start(&server, SA);

    create(
        &c,
        executor("cluster", None, &images.pki.root_pem(), "notation"),
    )
    .await;
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
    let shown = wait_status(&server, "executors/cluster", true, &serve.log).await;
    assert!(shown.get("issuccess").is_none(), "v2 fields only: {shown}");

    // A NamespacedExecutor with a verifier type imagegate does not implement: refused on its
    // own status, naming the field; the cluster Executor keeps serving every namespace.
    create(
        &c,
        executor("team", Some("team-a"), &images.pki.root_pem(), "cosign"),
    )
    .await;
    let bad = wait_status(
        &server,
        "namespacedexecutors/team-a/team",
        false,
        &serve.log,
    )
    .await;
    let brief = bad["briefError"].as_str().unwrap_or_default();
    assert!(brief.starts_with("CONFIG_INVALID: "), "{bad}");
    assert!(
        bad["error"].as_str().unwrap_or_default().contains("cosign"),
        "{bad}"
    );
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    let team_key = format!("[team-a]{}", images.signed);
    assert_eq!(serve.verdict(&team_key).await, Ok(true));
}

#[tokio::test]
async fn without_the_v2_crds_the_v1_kinds_still_serve() {
    let images = images("v1only").await;
    let mut options = imagegate_testkit::kube_api::ApiServerOptions::default();
    options.resources.retain(|r| r.group != "config.ratify.sh");
    let server = ApiServer::start_with(options);
    let c = client(&server);
    let serve = Serve::start(&server, SA);
    baseline(&c, &images).await;
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
}
