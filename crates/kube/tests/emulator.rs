//! The testkit Kubernetes API emulator speaks the protocol kube-rs's client and watcher expect:
//! checked here with kube-rs itself.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
use imagegate_kube::kinds::{Kind, RATIFY_V1};
use imagegate_testkit::kube_api::{ApiServer, ApiServerOptions};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::Client;
use serde_json::json;

fn client(server: &ApiServer) -> Client {
    let config = kube::Config::new(server.url().parse().unwrap());
    Client::try_from(config).unwrap()
}

fn kind(name: &str) -> &'static Kind {
    RATIFY_V1.iter().find(|k| k.kind == name).unwrap()
}

fn verifiers(c: &Client) -> Api<DynamicObject> {
    Api::all_with(c.clone(), &kind("Verifier").api_resource())
}

fn verifier(name: &str, artifact: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "config.ratify.deislabs.io/v1beta1", "kind": "Verifier",
        "metadata": {"name": name},
        "spec": {"name": "notation", "artifactTypes": artifact},
        "status": {"issuccess": true}
    }))
    .unwrap()
}

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn create_list_get_update_delete_follow_the_api_server_rules() {
    let server = ApiServer::start();
    let c = client(&server);
    let api = verifiers(&c);
    let created = api
        .create(&PostParams::default(), &verifier("v1", "a"))
        .await
        .unwrap();
    // Status is dropped on create when it is a subresource; generation starts at 1.
    assert!(created.data.get("status").is_none());
    assert_eq!(created.metadata.generation, Some(1));
    let again = api
        .create(&PostParams::default(), &verifier("v1", "a"))
        .await;
    assert!(
        matches!(again, Err(kube::Error::Api(e)) if e.code == 409 && e.reason == "AlreadyExists")
    );

    let list = api.list(&Default::default()).await.unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list
        .metadata
        .resource_version
        .as_deref()
        .is_some_and(|v| !v.is_empty()));

    // A stale resourceVersion conflicts; the current one updates and bumps generation.
    let mut stale = created.clone();
    stale.data["spec"]["artifactTypes"] = json!("b");
    let mut fresh = stale.clone();
    api.replace("v1", &PostParams::default(), &fresh)
        .await
        .unwrap();
    let conflict = api.replace("v1", &PostParams::default(), &stale).await;
    assert!(
        matches!(conflict, Err(kube::Error::Api(e)) if e.code == 409 && e.reason == "Conflict")
    );
    fresh = api.get("v1").await.unwrap();
    assert_eq!(fresh.metadata.generation, Some(2));
    assert_eq!(fresh.data["spec"]["artifactTypes"], "b");

    let missing = api.get("nope").await;
    assert!(matches!(missing, Err(kube::Error::Api(e)) if e.code == 404 && e.reason == "NotFound"));
    api.delete("v1", &Default::default()).await.unwrap();
    assert!(api.get_opt("v1").await.unwrap().is_none());
}

#[tokio::test]
async fn status_subresource_merge_and_apply_patches_and_conflicts() {
    let server = ApiServer::start();
    let c = client(&server);
    let api = verifiers(&c);
    let created = api
        .create(&PostParams::default(), &verifier("v", "a"))
        .await
        .unwrap();
    let rv = created.metadata.resource_version.clone().unwrap();
    let patched = api
        .patch_status(
            "v",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"resourceVersion": rv}, "status": {"issuccess": false, "error": "E"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data["status"]["issuccess"], false);
    // Status writes do not move generation, and spec in a status write is ignored.
    assert_eq!(patched.metadata.generation, Some(1));
    // The same precondition again is stale now.
    let stale = api
        .patch_status(
            "v",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"resourceVersion": rv}, "status": {"issuccess": true}}),
            ),
        )
        .await;
    assert!(matches!(stale, Err(kube::Error::Api(e)) if e.code == 409));
    // A write that changes nothing keeps the resourceVersion.
    let same = api
        .patch_status(
            "v",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"error": "E"}})),
        )
        .await
        .unwrap();
    assert_eq!(
        same.metadata.resource_version,
        patched.metadata.resource_version
    );
    // Server-side apply needs a field manager.
    let apply = json!({"apiVersion": "config.ratify.deislabs.io/v1beta1", "kind": "Verifier",
                       "metadata": {"name": "v"}, "status": {"issuccess": true}});
    let no_manager = api
        .patch_status("v", &PatchParams::default(), &Patch::Apply(&apply))
        .await;
    assert!(matches!(no_manager, Err(kube::Error::Api(e)) if e.code == 400));
    let applied = api
        .patch_status("v", &PatchParams::apply("imagegate"), &Patch::Apply(&apply))
        .await
        .unwrap();
    assert_eq!(applied.data["status"]["issuccess"], true);
    // Strategic merge is refused for custom resources.
    let smp = api
        .patch_status(
            "v",
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": {}})),
        )
        .await;
    assert!(matches!(smp, Err(kube::Error::Api(e)) if e.code == 415));
    // The main resource ignores .status.
    let mut whole = api.get("v").await.unwrap();
    whole.data["status"] = json!({"issuccess": false});
    let replaced = api
        .replace("v", &PostParams::default(), &whole)
        .await
        .unwrap();
    assert_eq!(replaced.data["status"]["issuccess"], true);
}

#[tokio::test]
async fn watch_replays_history_sends_bookmarks_and_expires_compacted_versions() {
    let server = ApiServer::start_with(ApiServerOptions {
        bookmark_every: Duration::from_millis(200),
        ..ApiServerOptions::default()
    });
    let c = client(&server);
    let api = verifiers(&c);
    api.create(&PostParams::default(), &verifier("a", "x"))
        .await
        .unwrap();
    let list = api.list(&Default::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();
    api.create(&PostParams::default(), &verifier("b", "x"))
        .await
        .unwrap();
    api.delete("a", &Default::default()).await.unwrap();

    let params = WatchParams::default().timeout(5);
    let mut stream = api.watch(&params, &rv).await.unwrap().boxed();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        let ev = tokio::time::timeout(WAIT, stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push(match ev {
            WatchEvent::Added(o) => format!("ADDED {}", o.metadata.name.unwrap()),
            WatchEvent::Deleted(o) => format!("DELETED {}", o.metadata.name.unwrap()),
            WatchEvent::Bookmark(_) => "BOOKMARK".into(),
            other => format!("{other:?}"),
        });
    }
    assert_eq!(seen, ["ADDED b", "DELETED a", "BOOKMARK"]);

    // After compaction the old version is answered in-stream with 410 Expired.
    server.compact();
    let mut old = api.watch(&params, &rv).await.unwrap().boxed();
    let ev = tokio::time::timeout(WAIT, old.try_next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match ev {
        WatchEvent::Error(e) => {
            assert_eq!(e.code, 410);
            assert_eq!(e.reason, "Expired");
        }
        other => panic!("expected 410, got {other:?}"),
    }
}

#[tokio::test]
async fn restart_keeps_or_loses_state_and_the_log_records_verbs() {
    let mut server = ApiServer::start();
    let c = client(&server);
    let api = verifiers(&c);
    api.create(&PostParams::default(), &verifier("a", "x"))
        .await
        .unwrap();
    let port = server.addr().port();
    server.restart(true);
    assert_eq!(server.addr().port(), port);
    assert_eq!(api.list(&Default::default()).await.unwrap().items.len(), 1);
    server.restart(false);
    assert_eq!(api.list(&Default::default()).await.unwrap().items.len(), 0);

    let verbs: Vec<(String, String)> = server
        .requests()
        .iter()
        .map(|r| (r.verb.clone(), r.resource.clone()))
        .collect();
    assert!(verbs.contains(&("create".into(), "verifiers".into())));
    assert!(verbs.contains(&("list".into(), "verifiers".into())));
}

#[tokio::test]
async fn a_required_token_is_checked() {
    let server = ApiServer::start_with(ApiServerOptions {
        token: Some("s3cret".into()),
        ..ApiServerOptions::default()
    });
    let anonymous = verifiers(&client(&server)).list(&Default::default()).await;
    assert!(matches!(anonymous, Err(kube::Error::Api(e)) if e.code == 401));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, server.kubeconfig()).unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let authed = verifiers(&Client::try_from(config).unwrap());
    assert!(authed
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .is_empty());
}

#[tokio::test]
async fn field_selectors_filter_lists() {
    let server = ApiServer::start();
    let c = client(&server);
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        c.clone(),
        "default",
        &imagegate_kube::kinds::SECRETS.api_resource(),
    );
    for (name, kind) in [
        ("pull", "kubernetes.io/dockerconfigjson"),
        ("tls", "kubernetes.io/tls"),
    ] {
        let s: DynamicObject = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name}, "type": kind, "data": {}}))
        .unwrap();
        secrets.create(&PostParams::default(), &s).await.unwrap();
    }
    let lp = kube::api::ListParams::default().fields("type=kubernetes.io/dockerconfigjson");
    let names: Vec<String> = secrets
        .list(&lp)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|o| o.metadata.name.unwrap())
        .collect();
    assert_eq!(names, ["pull"]);
    let bad = secrets
        .list(&kube::api::ListParams::default().fields("spec.x=1"))
        .await;
    assert!(matches!(bad, Err(kube::Error::Api(e)) if e.code == 400));
}

/// Debian's kubectl (the CI installs it for `kubectl kustomize`) works against the emulator.
#[tokio::test]
async fn kubectl_applies_and_gets_with_printer_columns() {
    let server = ApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    std::fs::write(&kubeconfig, server.kubeconfig()).unwrap();
    let file = dir.path().join("v.yaml");
    std::fs::write(
        &file,
        "apiVersion: config.ratify.deislabs.io/v1beta1\nkind: Verifier\nmetadata:\n  name: v\nspec:\n  name: notation\n  artifactTypes: x\n",
    )
    .unwrap();
    let kubectl = |args: &[&str]| {
        let out = std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .expect("kubectl (Debian kubernetes-client)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let applied = kubectl(&["apply", "--validate=false", "-f", file.to_str().unwrap()]);
    assert_eq!(
        applied.trim(),
        "verifier.config.ratify.deislabs.io/v created"
    );
    let api = verifiers(&client(&server));
    api.patch_status(
        "v",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"status": {"issuccess": false, "brieferror": "PLUGIN_INIT_FAILURE: x"}}),
        ),
    )
    .await
    .unwrap();
    let table = kubectl(&["get", "verifiers"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "ISSUCCESS", "ERROR"]);
    assert_eq!(lines[1], ["v", "false", "PLUGIN_INIT_FAILURE:", "x"]);
    kubectl(&["delete", "verifier", "v"]);
    assert!(api.get_opt("v").await.unwrap().is_none());
}
