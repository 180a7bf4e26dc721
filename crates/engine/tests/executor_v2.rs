//! Ratify v2 `Executor` / `NamespacedExecutor` YAML in the CRD directory, against the real
//! registry and the real notation verifier: scopes, namespaced executors, the v2 answer,
//! refused fields, ambiguity with v1 kinds, and bad objects on reload.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::path::Path;

use common::fixture::{E2E_DN, E2E_SIGNATURE, E2E_SUBJECT};
use common::{pem_block, pushed, registry};
use imagegate_engine::v2::{self, V2Outcome};
use imagegate_engine::{ConfigError, Engine, ReloadOutcome};
use imagegate_testkit::ratify::{crd_file, oras_store};
use imagegate_testkit::vectors_dir;
use serde_json::Value;

/// One Executor (or NamespacedExecutor in `namespace`) trusting `cert` inline for `scopes`.
fn executor(name: &str, namespace: Option<&str>, scopes: &str, cert: &str) -> String {
    let (kind, ns) = match namespace {
        Some(n) => ("NamespacedExecutor", format!("\n  namespace: {n}")),
        None => ("Executor", String::new()),
    };
    format!(
        r#"apiVersion: config.ratify.sh/v2alpha1
kind: {kind}
metadata:
  name: {name}{ns}
spec:
  scopes: {scopes}
  concurrency: 3
  verifiers:
    - name: notation-1
      type: notation
      parameters:
        trustedIdentities: ["*"]
        certificates:
          - type: ca
            inline:
              certs: |
{pem}  stores:
    - type: registry-store
      parameters:
        plainHttp: true
        credential:
          provider: static
  policyEnforcer:
    type: threshold-policy
    parameters:
      policy:
        threshold: 1
        rules:
          - verifierName: notation-1
"#,
        pem = pem_block(cert, 16),
    )
}

fn engine_with(dir: &Path, yaml: &str) -> Result<Engine, ConfigError> {
    common::crd_engine(dir, "executors.yaml", yaml)
}

fn host_scope() -> String {
    format!("[\"{}\"]", registry().host())
}

#[tokio::test]
async fn an_executor_verifies_and_answers_in_v2_shape() {
    let image = pushed("v2/signed").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(
        dir.path(),
        &executor("ratify", None, &host_scope(), "cert-e2e.crt"),
    )
    .unwrap();
    assert_eq!(engine.config().cluster.scopes, vec![registry().host()]);
    let r = engine.verify_key(&image, "t").await.unwrap();
    assert!(r.is_success, "{r:#?}");
    assert_eq!(r.verifier_reports[0].verifier_name, "notation-1");
    let V2Outcome::Value(v) = v2::from_v1(&image, r.is_success, &r.verifier_reports) else {
        panic!("error outcome");
    };
    let expected = format!(
        r#"{{"succeeded":true,"artifactReports":[{{"subject":"{image}","artifact":"{E2E_SIGNATURE}","results":[{{"verifierName":"notation-1","description":"Notation signature verification succeeded","detail":"{{\"Issuer\":\"{E2E_DN}\",\"SN\":\"{E2E_DN}\"}}"}}]}}]}}"#
    );
    assert_eq!(v.render(), expected);
}

#[tokio::test]
async fn untrusted_and_out_of_scope_images() {
    let image = pushed("v2/untrusted").await;
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_with(
        dir.path(),
        &executor("ratify", None, &host_scope(), "cert-expired_e2e.crt"),
    )
    .unwrap();
    let r = engine.verify_key(&image, "t").await.unwrap();
    assert!(!r.is_success);
    let V2Outcome::Value(v) = v2::from_v1(&image, false, &r.verifier_reports) else {
        panic!("error outcome");
    };
    let reports = v.artifact_reports.unwrap();
    assert_eq!(reports[0].artifact, E2E_SIGNATURE);
    assert_eq!(
        reports[0].results[0].error_reason,
        v2::from_v1::UNTRUSTED_SIGNER
    );

    // Another registry: no executor matches, as v2 words it, and nothing is fetched.
    let other = format!("other.example/app@{E2E_SUBJECT}");
    let e = engine.verify_key(&other, "t").await.unwrap_err();
    assert_eq!(
        v2::key_error(&e),
        format!(
            "failed to match executor for artifact \"{other}\": no executor configured for \
             the artifact \"{other}\""
        )
    );
}

#[tokio::test]
async fn namespaced_executors_serve_their_namespace_and_fall_back_whole() {
    let image = pushed("v2/namespaced").await;
    let dir = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{}---\n{}",
        executor("cluster", None, &host_scope(), "cert-expired_e2e.crt"),
        executor("team", Some("team-a"), &host_scope(), "cert-e2e.crt"),
    );
    let engine = engine_with(dir.path(), &yaml).unwrap();
    assert!(
        engine
            .verify_key(&format!("[team-a]{image}"), "t")
            .await
            .unwrap()
            .is_success
    );
    for key in [image.clone(), format!("[team-b]{image}")] {
        assert!(
            !engine.verify_key(&key, "t").await.unwrap().is_success,
            "{key}"
        );
    }
    // A namespace's scopes are its own Executor's: team-a only serves another registry.
    let yaml = format!(
        "{}---\n{}",
        executor("cluster", None, &host_scope(), "cert-e2e.crt"),
        executor(
            "team",
            Some("team-a"),
            "[\"*.example.com\"]",
            "cert-e2e.crt"
        ),
    );
    let engine = engine_with(dir.path(), &yaml).unwrap();
    let e = engine
        .verify_key(&format!("[team-a]{image}"), "t")
        .await
        .unwrap_err();
    assert!(e.detail.starts_with("failed to match executor"), "{e}");
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
}

#[test]
fn certificates_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let certs = vectors_dir().join("cert-e2e.crt");
    let yaml = executor("ratify", None, "[\"ghcr.io\"]", "cert-e2e.crt").replace(
        "            inline:\n              certs: |\n",
        &format!(
            "            files: [\"{}\"]\n            x-drop: |\n",
            certs.display()
        ),
    );
    // The PEM body now hangs under an unknown key: refused, naming it.
    let e = engine_with(dir.path(), &yaml).unwrap_err().to_string();
    assert!(
        e.contains("spec.verifiers[0].parameters.certificates[0].x-drop: is not a field"),
        "{e}"
    );
    let start = yaml.find("            x-drop").unwrap();
    let end = yaml.find("  stores:").unwrap();
    let yaml = format!("{}{}", &yaml[..start], &yaml[end..]);
    let engine = engine_with(dir.path(), &yaml).unwrap();
    assert_eq!(engine.config().cluster.verifiers[0].name(), "notation-1");
}

/// Each bad Executor is refused with an error naming the field, and a bad Executor written
/// over a good one leaves the good one serving.
#[tokio::test]
async fn bad_executors_are_refused_naming_the_field() {
    let good = executor("ratify", None, "[\"ghcr.io\"]", "cert-e2e.crt");
    let cases: Vec<(String, &str)> = vec![
        (
            good.replace("type: notation", "type: cosign"),
            "spec.verifiers[0].type: verifier type \"cosign\": cosign verification is not implemented",
        ),
        (
            good.replace("scopes: [\"ghcr.io\"]", "scopes: [\"*\"]"),
            "spec.scopes[0]: bare \"*\" is not a valid scope",
        ),
        (
            good.replace("scopes: [\"ghcr.io\"]", "scopes: [\"ghcr.io/app:1\"]"),
            "spec.scopes[0]: scope \"ghcr.io/app:1\": a repository scope",
        ),
        (
            good.replace("scopes: [\"ghcr.io\"]", "scopes: [\"ghcr.io\", \"ghcr.io\"]"),
            "spec.scopes[1]: scope \"ghcr.io\" is listed twice",
        ),
        (
            good.replace("scopes: [\"ghcr.io\"]", "scopes: []"),
            "spec.scopes: is required",
        ),
        (
            good.replace("          - type: ca\n", "          - type: ca\n            azurekeyvault: {vaultURL: \"https://v.vault.azure.net\"}\n"),
            "spec.verifiers[0].parameters.certificates[0].azurekeyvault: the Azure Key Vault key provider is not implemented",
        ),
        (
            good.replace("          provider: static", "          provider: azure"),
            "spec.stores[0].parameters.credential.provider: credential provider \"azure\" is not implemented",
        ),
        (
            good.replace("          provider: static", "          provider: static\n          username: u\n          password: p"),
            "spec.stores[0].parameters.credential.username: static credentials",
        ),
        (
            good.replace("        plainHttp: true", "        plainHttp: true\n        maxBlobBytes: 10"),
            "spec.stores[0].parameters.maxBlobBytes: registry-store parameter \"maxBlobBytes\" is not implemented",
        ),
        (
            good.replace("type: registry-store", "type: filesystem-oci-store"),
            "spec.stores[0].type: store type \"filesystem-oci-store\" is not implemented",
        ),
        (
            good.replace("          - verifierName: notation-1", "          - rules: [{verifierName: notation-1}]"),
            "spec.policyEnforcer.parameters.policy.rules[0].rules: nested rules",
        ),
        (
            good.replace("threshold: 1", "threshold: 2"),
            "spec.policyEnforcer.parameters.policy.threshold: 2 is more than the 1 rules",
        ),
        (
            good.replace("verifierName: notation-1", "verifierName: cosign-1"),
            "spec.policyEnforcer.parameters.policy.rules[0].verifierName: names no verifier",
        ),
        (
            good.split("  policyEnforcer:").next().unwrap().to_owned(),
            "spec.policyEnforcer: is required by imagegate",
        ),
        (
            good.replace("  concurrency: 3\n", "  concurrency: 3\n  extra: 1\n"),
            "spec.extra: is not a field",
        ),
        (
            good.replace("config.ratify.sh/v2alpha1", "config.ratify.sh/v1"),
            "apiVersion: version \"v1\" is not supported; use config.ratify.sh/v2alpha1",
        ),
        (
            format!("{good}---\n{}", executor("second", None, "[\"docker.io\"]", "cert-e2e.crt")),
            "Executor \"second\": a second Executor for the cluster",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (yaml, expected) in &cases {
        let e = engine_with(dir.path(), yaml).unwrap_err().to_string();
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
    }

    // A good Executor serving; then every bad one in turn is written over it: each reload is
    // refused and the good one keeps serving.
    let image = pushed("v2/reload").await;
    let good = executor("ratify", None, &host_scope(), "cert-e2e.crt");
    let engine = engine_with(dir.path(), &good).unwrap();
    assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
    for (yaml, expected) in &cases {
        std::fs::write(dir.path().join("crds/executors.yaml"), yaml).unwrap();
        let e = engine.reload().unwrap_err().to_string();
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
        assert_eq!(engine.generation(), 1);
        assert!(engine.verify_key(&image, "t").await.unwrap().is_success);
    }
    // A fixed Executor (trusting another certificate) is taken.
    let fixed = executor("ratify", None, &host_scope(), "cert-expired_e2e.crt");
    std::fs::write(dir.path().join("crds/executors.yaml"), &fixed).unwrap();
    assert_eq!(
        engine.reload().unwrap(),
        ReloadOutcome::Reloaded { generation: 2 }
    );
    assert!(!engine.verify_key(&image, "t").await.unwrap().is_success);
}

/// v1 kinds and an Executor for the same scope are ambiguous; different scopes coexist.
#[test]
fn v1_and_v2_kinds_for_one_scope_are_refused() {
    let v1_verifier = crd_file(&[oras_store("team-store", Some("team-a"), Value::Null)]);
    let dir = tempfile::tempdir().unwrap();
    let both = format!(
        "{v1_verifier}---\n{}",
        executor("team", Some("team-a"), "[\"ghcr.io\"]", "cert-e2e.crt")
    );
    let e = engine_with(dir.path(), &both).unwrap_err().to_string();
    assert!(
        e.contains("ambiguous configuration: namespace \"team-a\" is configured by both"),
        "{e}"
    );
    // v1 in team-a, v2 for the cluster: fine.
    let apart = format!(
        "{v1_verifier}---\n{}",
        executor("cluster", None, "[\"ghcr.io\"]", "cert-e2e.crt")
    );
    let engine = engine_with(dir.path(), &apart).unwrap();
    assert!(engine.config().namespaced["team-a"].scopes.is_empty());
    assert_eq!(engine.config().cluster.scopes, vec!["ghcr.io".to_owned()]);
}
