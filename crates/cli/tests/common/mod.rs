//! Helpers shared by the CLI integration tests: the test registry and the built binary.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use imagegate_testkit::Registry;
use serde_json::{json, Value};

pub mod serve;

/// The registry of this test binary (Debian's docker-registry on a free loopback port),
/// started on first use.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::start)
}

/// Runs the built `imagegate` binary with `args`.
pub fn imagegate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_imagegate"))
        .args(args)
        .output()
        .expect("cannot run the imagegate binary")
}

/// A Ratify `config.json` trusting `root` (strict, every registry, any Notation signature),
/// changed by `tweak`, written to `dir` whole and renamed into place (a watcher never sees
/// half a file). Returns its path.
pub fn write_config(dir: &Path, root: &Path, tweak: impl FnOnce(&mut Value)) -> PathBuf {
    let mut value = json!({
        "store": {"version": "1.0.0", "plugins": [{"name": "oras"}]},
        "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy",
            "artifactVerificationPolicies": {"application/vnd.cncf.notary.signature": "any"}}},
        "verifier": {"version": "1.0.0", "plugins": [{
            "name": "verifier-notation", "type": "notation",
            "artifactTypes": "application/vnd.cncf.notary.signature",
            "verificationCerts": [root],
            "trustPolicyDoc": {"version": "1.0", "trustPolicies": [{
                "name": "all", "registryScopes": ["*"],
                "signatureVerification": {"level": "strict"},
                "trustStores": ["ca:certs"], "trustedIdentities": ["*"]}]}}]},
        "executor": {"verificationRequestTimeout": 10000, "mutationRequestTimeout": 5000},
        "imagegate": {"reloadIntervalMs": 100}
    });
    tweak(&mut value);
    let path = dir.join("config.json");
    let tmp = dir.join("config.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    path
}
