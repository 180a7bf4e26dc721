//! `imagegate serve --kubernetes` (the real binary) against the testkit Kubernetes API server
//! and a real registry: objects applied change verdicts, a bad object gets a status error and
//! an Event while the old configuration stays in force, deleted objects leave the
//! configuration, the watch survives restarts and compaction, statuses are written once per
//! change, two replicas do not fight, and every request is allowed by the rendered RBAC.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagegate_testkit::kube_api::ApiServer;
use imagegate_testkit::ratify;
use serde_json::{json, Value};

const SA: &str = "imagegate-sa-token";

#[tokio::test]
async fn objects_drive_readiness_verdicts_namespaces_and_deletion() {
    let images = images("objects").await;
    let server = ApiServer::start();
    let c = client(&server);
    let serve = Serve::start(&server, SA);
    // Nothing applied: not ready, and keys get Ratify's "not configured" error.
    eventually(
        "a first list",
        || async { !requests_by(&server, SA).is_empty() },
        &serve.log,
    )
    .await;
    assert!(!serve.ready().await);

    baseline(&c, &images).await;
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));

    // Statuses like Ratify's; the KMP lists what it loaded.
    wait_status(&server, "verifiers/verifier-notation", true, &serve.log).await;
    let kmp_status = status(&server, "keymanagementproviders", None, "signer");
    assert_eq!(kmp_status["issuccess"], true, "{kmp_status}");
    assert!(kmp_status["lastfetchedtime"].is_string(), "{kmp_status}");
    assert_eq!(
        kmp_status["properties"]["Certificates"][0]["Name"], "signer",
        "{kmp_status}"
    );
    assert!(
        kmp_status["properties"]["Certificates"][0]["NotAfter"]
            .as_str()
            .is_some_and(|t| t.starts_with("2099")),
        "{kmp_status}"
    );

    // A namespace's own verifier (trusting another root) overrides the cluster one there.
    let team_key = team_a_trusts_other(&c, &images).await;
    serve.wait_verdict(&team_key, Ok(false)).await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    // Deleting it shrinks the configuration: the cluster verifier applies again.
    api(&c, "NamespacedVerifier", Some("team-a"))
        .delete("team-verifier", &Default::default())
        .await
        .unwrap();
    serve.wait_verdict(&team_key, Ok(true)).await;

    // Changing the cluster KMP to a root that did not sign the image changes the verdict.
    set_spec(
        &c,
        "KeyManagementProvider",
        None,
        "signer",
        kmp("signer", None, &images.other.root_pem())["spec"].clone(),
    )
    .await;
    serve.wait_verdict(&images.signed, Ok(false)).await;
}

#[tokio::test]
async fn a_bad_object_gets_status_and_an_event_and_the_old_configuration_stays() {
    let images = images("bad").await;
    let server = ApiServer::start();
    let c = client(&server);
    baseline(&c, &images).await;
    let serve = Serve::start(&server, SA);
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    wait_status(&server, "verifiers/verifier-notation", true, &serve.log).await;

    // A bad edit of the working verifier: it names a KMP that does not exist.
    set_spec(
        &c,
        "Verifier",
        None,
        "verifier-notation",
        verifier_spec("missing"),
    )
    .await;
    let st = wait_status(&server, "verifiers/verifier-notation", false, &serve.log).await;
    let brief = st["brieferror"].as_str().unwrap();
    assert!(brief.starts_with("PLUGIN_INIT_FAILURE: "), "{st}");
    assert!(brief.chars().count() <= 100, "{st}");
    assert!(st["error"].as_str().unwrap().contains("missing"), "{st}");
    // The last good version stays in force.
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
    // A Warning Event names the object.
    let events = server.objects("events");
    let about: Vec<&Value> = events
        .iter()
        .filter(|e| e["involvedObject"]["name"] == "verifier-notation")
        .collect();
    assert_eq!(about.len(), 1, "{events:?}");
    assert_eq!(about[0]["type"], "Warning");
    assert_eq!(about[0]["reason"], "VerifierFailed");

    // An unknown kind-level problem in a new object leaves the others alone.
    create(
        &c,
        ratify::object(
            "Policy",
            "not-ratify-policy",
            None,
            json!({"type": "config-policy", "parameters": {}}),
        ),
    )
    .await;
    let st = wait_status(&server, "policies/not-ratify-policy", false, &serve.log).await;
    assert!(
        st["brieferror"]
            .as_str()
            .unwrap()
            .starts_with("CONFIG_INVALID: "),
        "{st}"
    );
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));

    // Fixing the verifier: success again, one more status write.
    set_spec(
        &c,
        "Verifier",
        None,
        "verifier-notation",
        verifier_spec("signer"),
    )
    .await;
    wait_status(&server, "verifiers/verifier-notation", true, &serve.log).await;
    // Barrier: one more object whose status must be written after everything above.
    create(&c, store("store-two")).await;
    wait_status(&server, "stores/store-two", true, &serve.log).await;
    // Status written once per change: ok, failed, ok.
    let writes = requests_by(&server, SA)
        .iter()
        .filter(|r| {
            r.verb == "patch"
                && r.resource == "verifiers"
                && r.name.as_deref() == Some("verifier-notation")
        })
        .count();
    assert_eq!(writes, 3, "status writes for the verifier");
    // The secrets never reach the log.
    assert!(!serve.log().contains("BEGIN CERTIFICATE"));

    rbac_allows_every_request(&server);
}

/// Every request the server made is granted by the rendered ClusterRole.
fn rbac_allows_every_request(server: &ApiServer) {
    let overlay =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/overlays/gatekeeper");
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&overlay)
        .output()
        .expect("kubectl (Debian kubernetes-client) renders the overlay");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole" && d["metadata"]["name"] == "imagegate")
        .expect("the rendered overlay has the imagegate ClusterRole");
    let binding = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRoleBinding" && d["roleRef"]["name"] == "imagegate")
        .expect("and binds it");
    assert_eq!(binding["subjects"][0]["name"], "imagegate");
    let crds: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "CustomResourceDefinition")
        .collect();
    let rules = role["rules"].as_array().unwrap();
    let mut used = std::collections::BTreeSet::new();
    for r in requests_by(server, SA) {
        let resource = match &r.subresource {
            Some(s) => format!("{}/{s}", r.resource),
            None => r.resource.clone(),
        };
        let granted = rules.iter().any(|rule| {
            let has = |field: &str, v: &str| {
                rule[field]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == v || x == "*"))
            };
            has("apiGroups", &r.group) && has("resources", &resource) && has("verbs", &r.verb)
        });
        assert!(
            granted,
            "{} {} {resource} is not granted by {rules:?}",
            r.verb, r.group
        );
        if r.group.starts_with("config.ratify.") {
            assert!(
                crds.iter()
                    .any(|c| c["spec"]["names"]["plural"] == r.resource.as_str()),
                "no CRD for {}",
                r.resource
            );
        }
        used.insert((r.verb.clone(), resource));
    }
    for needed in [
        ("list", "verifiers"),
        ("watch", "verifiers"),
        ("patch", "verifiers/status"),
        ("create", "events"),
        ("watch", "secrets"),
    ] {
        assert!(
            used.contains(&(needed.0.to_owned(), needed.1.to_owned())),
            "{needed:?} not exercised: {used:?}"
        );
    }
}
