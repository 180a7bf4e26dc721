//! Ratify CRD directories (cluster and namespaced kinds) and hot reload, against the real
//! registry and the real notation verifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
#![allow(clippy::disallowed_methods)] // Measures real elapsed time: an edge, not product code.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pushed;
use common::{config_json, options, vector_json, write_config};
use imagegate_engine::{ConfigError, Engine, ReloadOutcome};
use imagegate_testkit::ratify::{
    config_policy, crd_file, inline_kmp, notation_verifier, object, oras_store,
};
use imagegate_testkit::{vector, vectors_dir};
use serde_json::{json, Value};

/// A PEM vector's text.
fn pem(file: &str) -> String {
    String::from_utf8(vector(file)).unwrap()
}

/// The cluster objects (the verifier trusting `cluster_kmp_cert`) and team-a's own store,
/// certificate (cert-e2e) and verifier (trusting the provider `namespaced_ref`), each
/// changed by `edit`, as a CRD file.
fn crds_edited(
    cluster_kmp_cert: &str,
    namespaced_ref: &str,
    edit: impl FnMut(&mut Value),
) -> String {
    let policy = vector_json("trustpolicy-strict.json");
    // The namespaced verifier names its kind with `type` (Ratify reads `name` or `type`).
    let team_verifier = json!({"type": "notation",
        "artifactTypes": "application/vnd.cncf.notary.signature",
        "parameters": {"verificationCertStores": {"ca": {"e2e": [namespaced_ref]}},
                       "trustPolicyDoc": policy.clone()}});
    let mut objects = vec![
        oras_store("store-oras", None, json!({"useHttp": true})),
        config_policy(json!({"default": "all"})),
        inline_kmp("cluster-cert", None, &pem(cluster_kmp_cert)),
        notation_verifier("verifier-notation", None, "e2e", &["cluster-cert"], policy),
        inline_kmp("e2e-cert", Some("team-a"), &pem("cert-e2e.crt")),
        oras_store("team-store", Some("team-a"), json!({"ttl": 60})),
        object("Verifier", "verifier-team", Some("team-a"), team_verifier),
    ];
    objects.iter_mut().for_each(edit);
    crd_file(&objects)
}

fn crds(cluster_kmp_cert: &str, namespaced_ref: &str) -> String {
    crds_edited(cluster_kmp_cert, namespaced_ref, |_| {})
}

/// Applies `edit` to the config Policy only.
fn policy_edit(mut edit: impl FnMut(&mut Value)) -> impl FnMut(&mut Value) {
    move |o| {
        if o["kind"] == "Policy" {
            edit(o);
        }
    }
}

fn crd_engine(dir: &Path, yaml: &str) -> Result<Engine, ConfigError> {
    common::crd_engine(dir, "ratify.yaml", yaml)
}

#[tokio::test]
async fn namespaced_keys_use_namespaced_crds() {
    let image = pushed("scopes/ns").await;
    let dir = tempfile::tempdir().unwrap();
    // Cluster verifier trusts another certificate; team-a's verifier trusts cert-e2e.
    let engine = crd_engine(dir.path(), &crds("cert-expired_e2e.crt", "team-a/e2e-cert")).unwrap();
    let config = engine.config();
    assert_eq!(
        config.namespaced["team-a"].stores[0].referrers_ttl,
        Duration::from_secs(60)
    );
    assert_eq!(
        config.cluster.stores[0].referrers_ttl,
        Duration::from_secs(10)
    );

    let team = engine
        .verify_key(&format!("[team-a]{image}"), "t")
        .await
        .unwrap();
    assert!(team.is_success, "{team:#?}");
    assert_eq!(team.verifier_reports[0].verifier_name, "verifier-team");
    assert_eq!(team.verifier_reports[0].subject, image);

    for key in [
        image.clone(),
        format!("[team-b]{image}"),
        format!("[]{image}"),
    ] {
        let r = engine.verify_key(&key, "t").await.unwrap();
        assert!(!r.is_success, "{key}");
        assert_eq!(
            r.verifier_reports[0].verifier_name, "verifier-notation",
            "{key}"
        );
    }
    // team-a has its own store (own credentials), so its content is cached apart: two
    // referrer listings, one per credential scope; team-b and bare keys share the cluster's.
    assert_eq!(engine.stats().referrers.1, 2);
}

#[tokio::test]
async fn crd_rules_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    // A namespaced verifier may not use another namespace's provider.
    let e = crd_engine(dir.path(), &crds("cert-e2e.crt", "team-b/e2e-cert")).unwrap_err();
    assert!(e.to_string().contains("OPERATION_FORBIDDEN"), "{e}");
    assert!(
        e.to_string()
            .contains("NamespacedVerifier team-a/verifier-team"),
        "{e}"
    );

    let misnamed = crds_edited(
        "cert-e2e.crt",
        "team-a/e2e-cert",
        policy_edit(|p| p["metadata"]["name"] = json!("my-policy")),
    );
    let e = crd_engine(dir.path(), &misnamed).unwrap_err();
    assert!(
        e.to_string().contains("must be named \"ratify-policy\""),
        "{e}"
    );

    let no_ns = crds_edited("cert-e2e.crt", "team-a/e2e-cert", |o| {
        o["metadata"].as_object_mut().unwrap().remove("namespace");
    });
    let e = crd_engine(dir.path(), &no_ns).unwrap_err();
    assert!(
        e.to_string().contains("metadata.namespace: is required"),
        "{e}"
    );

    let rego = crds_edited(
        "cert-e2e.crt",
        "team-a/e2e-cert",
        policy_edit(|p| p["spec"]["type"] = json!("rego-policy")),
    );
    let e = crd_engine(dir.path(), &rego).unwrap_err();
    assert!(
        e.to_string()
            .contains("rego policy provider is not supported yet"),
        "{e}"
    );
}

fn write_strict(dir: &Path, cert: &str) -> std::path::PathBuf {
    let mut v = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join(cert)],
        serde_json::json!({}),
    );
    v["imagegate"] =
        serde_json::json!({"reloadIntervalMs": 100, "cache": {"verdictTtlSeconds": 600}});
    write_config(dir, &v)
}

#[tokio::test]
async fn hot_reload_bumps_generation_and_keeps_old_config_on_error() {
    let image = pushed("scopes/reload").await;
    let dir = tempfile::tempdir().unwrap();
    let path = write_strict(dir.path(), "cert-e2e.crt");
    let engine = Engine::from_config_file(&path, options()).unwrap();
    assert_eq!(engine.generation(), 1);
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
    assert_eq!(engine.reload().unwrap(), ReloadOutcome::Unchanged);

    // Trust another certificate: the cached verdict (600 s TTL) must not be served.
    write_strict(dir.path(), "cert-expired_e2e.crt");
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert!(!engine.verify_key(&image, "t").await.unwrap().is_success);

    // A broken file is rejected; generation 2 stays in force.
    std::fs::write(&path, b"{\"store\": ").unwrap();
    assert!(matches!(engine.reload(), Err(ConfigError::Syntax { .. })));
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Unchanged,
        "reported once"
    );
    let mut v: Value = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    v["verifier"]["plugins"][0]["trustPolicyDoc"]["trustPolicies"][0]["trustStores"] =
        serde_json::json!(["ca:"]);
    write_config(dir.path(), &v);
    let e = engine.reload().unwrap_err();
    assert!(
        e.to_string()
            .starts_with("verifier.plugins[0].trustPolicyDoc.trustPolicies[0]"),
        "{e}"
    );
    assert_eq!(engine.generation(), 2);
    assert!(!engine.verify_key(&image, "t").await.unwrap().is_success);

    // The watcher picks up a good file on its own.
    let _watch = engine.watch();
    write_strict(dir.path(), "cert-e2e.crt");
    let deadline = Instant::now() + Duration::from_secs(10);
    while engine.generation() < 3 {
        assert!(Instant::now() < deadline, "watcher did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
}

#[tokio::test]
async fn crd_changes_are_reloaded() {
    let image = pushed("scopes/crd-reload").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = crd_engine(dir.path(), &crds("cert-expired_e2e.crt", "team-a/e2e-cert")).unwrap();
    assert!(!engine.verify_key(&image, "t").await.unwrap().is_success);
    std::fs::write(
        dir.path().join("crds/ratify.yaml"),
        crds("cert-e2e.crt", "team-a/e2e-cert"),
    )
    .unwrap();
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
}

/// A trust certificate rotated in its directory (as a mounted Secret is) reloads the
/// configuration although `config.json` did not change; a removed directory is reported and
/// the configuration in force stays.
#[tokio::test]
async fn rotated_certificate_files_are_reloaded() {
    let image = pushed("scopes/cert-rotation").await;
    let dir = tempfile::tempdir().unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    let mut v = config_json(
        vector_json("trustpolicy-strict.json"),
        std::slice::from_ref(&certs),
        serde_json::json!({}),
    );
    v["imagegate"] = serde_json::json!({"cache": {"verdictTtlSeconds": 600}});
    let install = |name: &str| {
        std::fs::write(certs.join("trusted.crt"), vector(name)).unwrap();
    };
    install("cert-expired_e2e.crt");
    let path = write_config(dir.path(), &v);
    let engine = Engine::from_config_file(&path, options()).unwrap();
    assert!(!engine.verify_key(&image, "t").await.unwrap().is_success);
    assert_eq!(engine.reload().unwrap(), ReloadOutcome::Unchanged);

    install("cert-e2e.crt");
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
    assert_eq!(engine.reload().unwrap(), ReloadOutcome::Unchanged);

    // A file added next to it is a change too (it is loaded as part of the store).
    std::fs::write(certs.join("second.crt"), vector("cert-expired_e2e.crt")).unwrap();
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 3 }
    );

    std::fs::remove_dir_all(&certs).unwrap();
    let e = engine.reload().unwrap_err();
    assert!(e.to_string().contains("verificationCerts"), "{e}");
    assert_eq!(engine.generation(), 3);
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
}
