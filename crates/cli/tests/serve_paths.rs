//! Paths of the `imagegate` binary that only a run of the binary shows: exit codes and
//! `--output json` of `verify`, `serve` without `--cert-dir`, `serve --crd-dir`,
//! `--metrics-max-subjects`, a rotated `dockerConfig` credential file picked up without a
//! restart, and the Ratify settings imagegate accepts but does not act on as Ratify would
//! (`cosignEnabled`, `useHttp`: logged once per load) or refuses (`type: cosign` verifiers).

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::serve::{self, Serve};
use common::{imagegate, registry, write_config};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::ratify::{
    config_policy, crd_file, inline_kmp, notation_verifier, oras_store,
};
use imagegate_testkit::{sign_image, Pki, Registry};
use serde_json::{json, Value};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A signing PKI with its files in a new directory.
struct Signer {
    pki: Pki,
    dir: tempfile::TempDir,
    root: PathBuf,
}

impl Signer {
    fn new() -> Self {
        let pki = Pki::generate();
        let dir = tempfile::tempdir().unwrap();
        let root = pki.write_files(dir.path()).root;
        Self { pki, dir, root }
    }

    /// Pushes and signs `repo:v1` in `registry`; returns `host/repo@digest`.
    async fn image(&self, registry: &Registry, repo: &str) -> String {
        sign_image(registry, repo, "v1", EnvelopeFormat::Jws, &self.pki)
            .await
            .pinned()
    }
}

fn verify(args: &[&str]) -> (Option<i32>, String, String) {
    let mut all = vec!["verify"];
    all.extend_from_slice(args);
    let out: Output = imagegate(&all);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

fn success(item: &Value) -> bool {
    item["value"]["isSuccess"].as_bool().unwrap_or(false)
}

// --- imagegate verify ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_exit_codes_and_json_output() {
    let s = Signer::new();
    let signed = s.image(registry(), "paths/verify-signed").await;
    let unsigned_desc = registry().pusher("paths/verify-unsigned").image("v1").await;
    let unsigned = format!(
        "{}/paths/verify-unsigned@{}",
        registry().host(),
        unsigned_desc.digest
    );
    let cfg = write_config(s.dir.path(), &s.root, |_| {});
    let cfg = cfg.to_str().unwrap();

    // 0: verified; the JSON is Ratify's verification result.
    let (code, out, err) = verify(&[&signed, "-c", cfg, "--output", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["isSuccess"], true, "{out}");
    assert_eq!(json["verifierReports"][0]["isSuccess"], true, "{out}");
    assert_eq!(
        json["verifierReports"][0]["verifierName"],
        "verifier-notation"
    );

    // 1: verification ran and failed (no signature).
    let (code, out, err) = verify(&[&unsigned, "-c", cfg, "--output", "json"]);
    assert_eq!(code, Some(1), "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["isSuccess"], false, "{out}");

    // 1 with a per-key error: the JSON carries the key and Ratify's error text.
    let (code, out, _) = verify(&["not a reference", "-c", cfg, "--output", "json"]);
    assert_eq!(code, Some(1), "{out}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["key"], "not a reference", "{out}");
    assert!(
        json["error"]
            .as_str()
            .unwrap()
            .starts_with("REFERENCE_INVALID"),
        "{out}"
    );

    // 2: nothing verified: a missing configuration, an invalid one, a usage error.
    let missing = s.dir.path().join("missing.json");
    let (code, out, err) = verify(&[&signed, "-c", missing.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("invalid configuration"), "{err}");
    let broken = s.dir.path().join("broken.json");
    std::fs::write(&broken, "{\"store\": 3}").unwrap();
    let (code, _, err) = verify(&[&signed, "-c", broken.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("store"), "{err}");
    let (code, _, err) = verify(&[&signed, "-c", cfg, "--output", "yaml"]);
    assert_eq!(code, Some(2), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosign_verifiers_are_refused_with_a_clear_message() {
    let s = Signer::new();
    let cfg = write_config(s.dir.path(), &s.root, |v| {
        v["verifier"]["plugins"][0]["type"] = json!("cosign");
        v["verifier"]["plugins"][0]["name"] = json!("verifier-cosign");
    });
    let image = format!(
        "{}/paths/cosign@sha256:{}",
        registry().host(),
        "ab".repeat(32)
    );
    let (code, out, err) = verify(&[&image, "-c", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("verifier type \"cosign\": cosign verification is not supported yet"),
        "{err}"
    );
    // serve refuses it at start-up too, before listening.
    let (code, err) = serve::refused(&["-c", cfg.to_str().unwrap(), "--insecure-plain-http"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("cosign verification is not supported yet"),
        "{err}"
    );
}

// --- imagegate serve -------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosign_enabled_and_use_http_are_accepted_and_logged_once_per_load() {
    let s = Signer::new();
    let image = s.image(registry(), "paths/compat").await;
    let cfg = write_config(s.dir.path(), &s.root, |v| {
        v["store"]["plugins"][0]["cosignEnabled"] = json!(true);
        v["store"]["plugins"][0]["useHttp"] = json!(true);
    });
    let mut serve = serve::start(&["-c", cfg.to_str().unwrap(), "--insecure-plain-http"]);
    // The store works (loopback is plain HTTP anyway), and verification is notation's.
    let items = serve.verify(&[&image, &image]);
    assert!(items.iter().all(success), "{items:?}");
    let cosign = "cosignEnabled is accepted but cosign signatures are not verified";
    let use_http = "useHttp applies to loopback registries only";
    assert_eq!(serve.count_log(cosign), 1, "{}", serve.log());
    assert_eq!(serve.count_log(use_http), 1, "{}", serve.log());
    assert!(serve
        .wait_for_log(cosign)
        .contains("store.plugins[0].cosignEnabled"));
    // A reload is a load: logged once more.
    let reloaded = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("10000", "9000");
    std::fs::write(&cfg, reloaded).unwrap();
    serve.wait_for_count("configuration reloaded", 1);
    assert_eq!(serve.count_log(cosign), 2, "{}", serve.log());
    assert_eq!(serve.stop(), Some(0));
}

#[test]
fn serve_requires_cert_dir_unless_plain_http_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let s = Signer::new();
    let cfg = write_config(dir.path(), &s.root, |_| {});
    let (code, err) = serve::refused(&["-c", cfg.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--cert-dir is required"), "{err}");
    assert!(err.contains("--insecure-plain-http"), "{err}");
    // Asked for: it serves plain HTTP, says so, and is ready.
    let mut serve = serve::start(&["-c", cfg.to_str().unwrap(), "--insecure-plain-http"]);
    serve.wait_for_log("serving plain HTTP");
    assert_eq!(serve.get(serve.health, "/readyz").0, 200);
    assert_eq!(serve.stop(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_stores_policies_and_verifiers_from_the_crd_dir() {
    let s = Signer::new();
    let image = s.image(registry(), "paths/crd").await;
    let crds = s.dir.path().join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    let pem = std::fs::read_to_string(&s.root).unwrap();
    let policy: Value = serde_json::from_str(&s.pki.trust_policy_json("certs")).unwrap();
    let objects = [
        oras_store("store-oras", None, Value::Null),
        config_policy(json!({"default": "all"})),
        inline_kmp("signer-root", None, &pem),
        notation_verifier("verifier-from-crd", None, "certs", &["signer-root"], policy),
    ];
    std::fs::write(crds.join("ratify.yaml"), crd_file(&objects)).unwrap();
    let cfg = s.dir.path().join("executor.json");
    std::fs::write(
        &cfg,
        r#"{"executor": {"verificationRequestTimeout": 10000}}"#,
    )
    .unwrap();
    let mut serve = serve::start(&[
        "-c",
        cfg.to_str().unwrap(),
        "--crd-dir",
        crds.to_str().unwrap(),
        "--insecure-plain-http",
    ]);
    let items = serve.verify(&[&image]);
    assert!(success(&items[0]), "{items:?}");
    assert_eq!(
        items[0]["value"]["verifierReports"][0]["verifierName"],
        "verifier-from-crd"
    );
    assert_eq!(serve.stop(), Some(0));
    // Without --crd-dir the same config has no store at all: refused at start-up.
    let (code, err) = serve::refused(&["-c", cfg.to_str().unwrap(), "--insecure-plain-http"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("should have at least one store"), "{err}");
}

/// The subjects that have a `ratify_verifier_duration` series in `/metrics`.
fn duration_subjects(serve: &Serve) -> Vec<String> {
    let (status, text) = serve.get(serve.metrics, "/metrics");
    assert_eq!(status, 200);
    let mut subjects: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("ratify_verifier_duration_count{"))
        .filter_map(|l| {
            let start = l.find("subject=\"")? + "subject=\"".len();
            let end = start + l[start..].find('"')?;
            Some(l[start..end].to_owned())
        })
        .collect();
    subjects.sort();
    subjects.dedup();
    subjects
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_max_subjects_bounds_the_verifier_duration_series() {
    let s = Signer::new();
    let mut images = Vec::new();
    for n in 0..3 {
        images.push(s.image(registry(), &format!("paths/metrics-{n}")).await);
    }
    let cfg = write_config(s.dir.path(), &s.root, |_| {});
    let mut serve = serve::start(&[
        "-c",
        cfg.to_str().unwrap(),
        "--insecure-plain-http",
        "--metrics-max-subjects",
        "2",
    ]);
    for (n, image) in images.iter().enumerate() {
        let items = serve.verify(&[image]);
        assert!(success(&items[0]), "{items:?}");
        let mut want: Vec<String> = images[n.saturating_sub(1)..=n].to_vec();
        want.sort();
        assert_eq!(duration_subjects(&serve), want, "after {n}");
    }
    assert_eq!(serve.stop(), Some(0));
    // 0 is refused as a usage error.
    let out = imagegate(&[
        "serve",
        "-c",
        cfg.to_str().unwrap(),
        "--metrics-max-subjects",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Base64 (standard alphabet, padded) of `bytes`, for a docker config `auth` entry.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes a docker config for `host` with `user:password`, atomically (as a Secret update
/// lands).
fn write_docker_config(path: &Path, host: &str, user: &str, password: &str) {
    let value = json!({"auths": {host: {"auth": base64(format!("{user}:{password}").as_bytes())}}});
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&value).unwrap()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_docker_config_credentials_are_used_without_a_restart() {
    // The registry only accepts the new password; the mounted credential file starts with
    // the old one.
    let registry = Registry::start_htpasswd("alice", "new-password");
    let s = Signer::new();
    let image = s.image(&registry, "paths/private").await;
    let docker = s.dir.path().join("docker-config.json");
    write_docker_config(&docker, &registry.host(), "alice", "old-password");
    let cfg = write_config(s.dir.path(), &s.root, |v| {
        v["store"]["plugins"][0]["authProvider"] =
            json!({"name": "dockerConfig", "configPath": docker});
    });
    let mut serve = serve::start(&["-c", cfg.to_str().unwrap(), "--insecure-plain-http"]);
    let items = serve.verify(&[&image]);
    assert!(
        !success(&items[0]),
        "the old password must not work: {items:?}"
    );
    let before = serve.count_log("configuration reloaded");

    write_docker_config(&docker, &registry.host(), "alice", "new-password");
    // The watcher notices the rotated file and reloads (an event in the log, not a sleep).
    serve.wait_for_count("configuration reloaded", before + 1);
    let items = serve.verify(&[&image]);
    assert!(
        success(&items[0]),
        "the new password was not picked up: {items:?}"
    );
    assert_eq!(serve.count_log("imagegate serving"), 1, "restarted?");
    // Neither password is ever logged.
    let log = serve.log();
    assert!(!log.contains("old-password") && !log.contains("new-password"));
    assert_eq!(serve.stop(), Some(0));
}
