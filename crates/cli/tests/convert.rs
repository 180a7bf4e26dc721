//! `imagegate convert` as a user runs it: a v1 config.json in the current directory becomes
//! an Executor on stdout (relative certificate paths made absolute, notes on stderr); what v2
//! cannot express exits 2 naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

mod common;

use std::process::Command;

const CONFIG: &str = r#"{
  "store": {"plugins": [{"name": "oras", "useHttp": true, "ttl": 30}]},
  "policy": {"plugin": {"name": "configPolicy",
    "artifactVerificationPolicies": {"application/vnd.cncf.notary.signature": "any"}}},
  "verifier": {"plugins": [{"name": "verifier-notation", "type": "notation",
    "verificationCerts": ["certs/ca.crt"],
    "trustPolicyDoc": {"version": "1.0", "trustPolicies": [{"name": "default",
      "registryScopes": ["myacr.azurecr.io/app"], "signatureVerification": {"level": "strict"},
      "trustStores": ["ca:certs"], "trustedIdentities": ["*"]}]}}]}
}"#;

#[test]
fn converts_a_config_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .args(["convert", "--config", "config.json", "--name", "prod"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    // (The YAML's structure is checked in the engine's convert tests; here, what a user sees.)
    let expected = std::fs::canonicalize(dir.path())
        .unwrap()
        .join("certs/ca.crt");
    for line in [
        "kind: Executor\n",
        "  name: prod\n",
        "  - myacr.azurecr.io/app\n",
        &format!("        - {}\n", expected.display()),
    ] {
        assert!(yaml.contains(line), "{line:?} in\n{yaml}");
    }
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("note: store.plugins[0].ttl"), "{stderr}");

    // --output writes the file instead.
    let target = dir.path().join("executor.yaml");
    let out = common::imagegate(&[
        "convert",
        "--config",
        dir.path().join("config.json").to_str().unwrap(),
        "--name",
        "prod",
        "-o",
        target.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), yaml);
}

#[test]
fn inexpressible_configs_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    std::fs::write(&path, CONFIG.replace("\"strict\"", "\"audit\"")).unwrap();
    let out = common::imagegate(&["convert", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "verifier.plugins[0].trustPolicyDoc.trustPolicies[0].signatureVerification.level: \
             v2 verifies at level strict only"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
