//! `imagegate convert`'s conversion: a v1 `config.json` and the Executor converted from it
//! give the same verdicts over the same images (real registry, real notation verifier), and
//! what v2 cannot express is refused naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::path::Path;

use common::{config_json, judged_images, options, registry, vector_json, write_config};
use imagegate_engine::v2::convert::{convert, ConvertError, ConvertOptions};
use imagegate_engine::v2::{self, V2Outcome};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_testkit::vectors_dir;

/// The images both engines judge: signed, signed plus an invalid signature, unsigned.
async fn images() -> Vec<String> {
    let host = registry().host();
    let mut images = judged_images("convert/").await.to_vec();
    images.push(format!("{host}/convert/unsigned:unsigned"));
    images
}

fn v1_config(dir: &Path, cert: &str, policies: serde_json::Value) -> std::path::PathBuf {
    let v = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join(cert)],
        policies,
    );
    write_config(dir, &v)
}

/// Converts `v1` and builds an engine from the Executor (with an empty `config.json`).
fn converted_engine(v1: &Path, dir: &Path) -> (Engine, Vec<String>) {
    let out = convert(
        &std::fs::read(v1).unwrap(),
        v1.parent().unwrap(),
        &ConvertOptions {
            name: None,
            scopes: vec![registry().host()],
        },
    )
    .unwrap();
    let crd_dir = dir.join("crds");
    std::fs::create_dir_all(&crd_dir).unwrap();
    std::fs::write(crd_dir.join("executor.yaml"), &out.yaml).unwrap();
    let path = write_config(dir, &serde_json::json!({}));
    let engine = Engine::from_config_file(
        &path,
        EngineOptions {
            crd_dir: Some(crd_dir),
            ..options()
        },
    )
    .unwrap();
    (engine, out.notes)
}

#[tokio::test]
async fn v1_config_and_converted_executor_give_the_same_verdicts() {
    let images = images().await;
    for cert in ["cert-e2e.crt", "cert-expired_e2e.crt"] {
        let v1_dir = tempfile::tempdir().unwrap();
        let v2_dir = tempfile::tempdir().unwrap();
        let v1_path = v1_config(
            v1_dir.path(),
            cert,
            serde_json::json!({"application/vnd.cncf.notary.signature": "any"}),
        );
        let v1 = Engine::from_config_file(&v1_path, options()).unwrap();
        let (v2e, notes) = converted_engine(&v1_path, v2_dir.path());
        assert_eq!(notes.len(), 1, "only the executor section note: {notes:?}");
        let mut passed = 0;
        for image in &images {
            let a = v1.verify_key(image, "t").await;
            let b = v2e.verify_key(image, "t").await;
            let (a, b) = (a.unwrap(), b.unwrap());
            assert_eq!(a.is_success, b.is_success, "{cert} {image}");
            passed += usize::from(a.is_success);
            // And the v2 answers built from both verdicts are the same, but for the name.
            let render = |r: &imagegate_engine::VerifyResult| match v2::from_v1(
                image,
                r.is_success,
                &r.verifier_reports,
            ) {
                V2Outcome::Value(v) => v.render(),
                V2Outcome::Error(e) => v2::key_error(&e),
            };
            assert_eq!(render(&a), render(&b), "{cert} {image}");
        }
        let expected = if cert == "cert-e2e.crt" { 3 } else { 0 };
        assert_eq!(passed, expected, "{cert}");
    }
}

#[test]
fn the_yaml_is_an_executor_with_notes() {
    let dir = tempfile::tempdir().unwrap();
    let mut v = config_json(
        vector_json("trustpolicy-strict.json"),
        &[Path::new("certs/ca.crt").to_path_buf()],
        serde_json::json!({"default": "all"}),
    );
    v["store"]["plugins"][0]["ttl"] = serde_json::json!(30);
    let path = write_config(dir.path(), &v);
    let out = convert(
        &std::fs::read(&path).unwrap(),
        dir.path(),
        &ConvertOptions {
            name: Some("prod".into()),
            scopes: vec!["*.azurecr.io".into()],
        },
    )
    .unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&out.yaml).unwrap();
    assert_eq!(
        doc,
        serde_json::json!({
            "apiVersion": "config.ratify.sh/v2alpha1",
            "kind": "Executor",
            "metadata": {"name": "prod"},
            "spec": {
                "scopes": ["*.azurecr.io"],
                "verifiers": [{"name": "verifier-notation", "type": "notation", "parameters": {
                    "scopes": ["*"], "trustedIdentities": ["*"],
                    "certificates": [{"type": "ca", "files": [dir.path().join("certs/ca.crt").display().to_string()]}]}}],
                "stores": [{"type": "registry-store", "parameters": {
                    "plainHttp": true, "credential": {"provider": "dockerConfig"}}}],
                "policyEnforcer": {"type": "threshold-policy", "parameters": {"policy": {
                    "threshold": 1, "rules": [{"verifierName": "verifier-notation"}]}}},
            }
        })
    );
    assert_eq!(out.notes.len(), 3, "{:?}", out.notes);
    assert!(
        out.notes[0].starts_with("store.plugins[0].ttl"),
        "{:?}",
        out.notes
    );
    assert!(out.notes[1].contains("(\"all\")"), "{:?}", out.notes);
    assert!(out.yaml.starts_with("# Converted by `imagegate convert`"));
    assert_eq!(out.yaml.matches("\n# note: ").count(), 3);
}

#[test]
fn what_v2_cannot_express_is_refused() {
    let base = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({}),
    );
    let run = |v: &serde_json::Value, scopes: Vec<String>| {
        convert(
            &serde_json::to_vec(v).unwrap(),
            Path::new("/"),
            &ConvertOptions { name: None, scopes },
        )
        .unwrap_err()
    };
    let scoped = || vec!["ghcr.io".to_owned()];
    assert_eq!(run(&base, vec![]), ConvertError::NoScopes);
    let tp = "/verifier/plugins/0/trustPolicyDoc/trustPolicies/0";
    let cases: Vec<(&str, serde_json::Value, &str)> = vec![
        (
            "/signatureVerification/level",
            serde_json::json!("audit"),
            "verifier.plugins[0].trustPolicyDoc.trustPolicies[0].signatureVerification.level",
        ),
        (
            "/signatureVerification/override",
            serde_json::json!({"revocation": "skip"}),
            "trustPolicies[0].signatureVerification.override",
        ),
        (
            "/trustStores",
            serde_json::json!(["ca:a", "tsa:b"]),
            "trustPolicies[0].trustStores",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut v = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        v.pointer_mut(&format!("{tp}{parent}")).unwrap()[key] = value;
        let e = run(&v, scoped());
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let mut two = base.clone();
    let p = two["verifier"]["plugins"][0].clone();
    two["verifier"]["plugins"].as_array_mut().unwrap().push(p);
    assert!(run(&two, scoped())
        .to_string()
        .starts_with("verifier.plugins[1]:"));
    let mut kmp = base.clone();
    kmp["verifier"]["plugins"][0]["verificationCertStores"] =
        serde_json::json!({"ca": {"e2e": ["kmp"]}});
    assert!(run(&kmp, scoped())
        .to_string()
        .starts_with("verifier.plugins[0].verificationCertStores:"));
    let mut rego = base.clone();
    rego["policy"]["plugin"] = serde_json::json!({"name": "regoPolicy"});
    assert!(run(&rego, scoped())
        .to_string()
        .starts_with("policy.plugin.name:"));
}
