//! Configuration loading: Ratify's config.json read unchanged, errors naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::path::Path;
use std::time::Duration;

use common::{config_json, vector_json, write_config};
use imagegate_engine::config::{AuthConfig, PolicySpec};
use imagegate_engine::policy::Quantifier;
use imagegate_engine::{ConfigError, EngineConfig};
use imagegate_testkit::vectors_dir;

fn strict() -> serde_json::Value {
    config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join("cert-e2e.crt")],
        serde_json::json!({"application/vnd.cncf.notary.signature": "any", "default": "all"}),
    )
}

fn load(value: &serde_json::Value) -> Result<EngineConfig, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    EngineConfig::load(&write_config(dir.path(), value), None)
}

fn field_of(e: ConfigError) -> String {
    match e {
        ConfigError::Invalid { field, .. } => field,
        other => panic!("expected a field error, got {other}"),
    }
}

#[test]
fn ratify_default_config_loads() {
    // The shape of Ratify's own config.json, with fields we do not use (pluginBinDirs,
    // localCachePath, cacheEnabled, crl, logger) left in.
    let mut v = strict();
    v["store"]["pluginBinDirs"] = serde_json::json!([]);
    v["store"]["plugins"][0]["localCachePath"] = serde_json::json!("/.ratify/local_oras_cache");
    v["store"]["plugins"][0]["cacheEnabled"] = serde_json::json!(true);
    v["store"]["plugins"][0]["ttl"] = serde_json::json!(30);
    v["store"]["plugins"][0]["cosignEnabled"] = serde_json::json!(true);
    v["crl"] = serde_json::json!({"cache": {"enabled": true}});
    v["logger"] = serde_json::json!({"formatter": "json"});
    let c = load(&v).unwrap();
    let store = &c.cluster.stores[0];
    assert_eq!(store.name, "oras");
    assert!(store.use_http && store.cosign_enabled);
    assert_eq!(store.referrers_ttl, Duration::from_secs(30));
    let PolicySpec::Config(p) = c.cluster.policy.as_ref().unwrap() else {
        panic!("config policy expected")
    };
    assert_eq!(p.default, Quantifier::All);
    assert_eq!(
        p.per_type["application/vnd.cncf.notary.signature"],
        Quantifier::Any
    );
    assert_eq!(c.cluster.verifiers.len(), 1);
    assert_eq!(c.cluster.verifiers[0].name(), "verifier-notation");
    assert_eq!(c.executor.verification_timeout, Duration::from_millis(5000));
    assert_eq!(c.settings, Default::default());
    assert_eq!(c.fingerprint.len(), 64);
}

#[test]
fn executor_defaults_and_imagegate_section() {
    let mut v = strict();
    v.as_object_mut().unwrap().remove("executor");
    v["imagegate"] =
        serde_json::json!({"cache": {"verdictTtlSeconds": 30}, "reloadIntervalMs": 100});
    let c = load(&v).unwrap();
    assert_eq!(c.executor.verification_timeout, Duration::from_millis(2900));
    assert_eq!(c.executor.mutation_timeout, Duration::from_millis(950));
    assert_eq!(c.settings.cache.verdict_ttl_seconds, 30);
    assert_eq!(c.settings.cache.failure_ttl_seconds, 2);
    assert_eq!(c.settings.reload_interval(), Duration::from_millis(100));

    v["imagegate"] = serde_json::json!({"cache": {"verdictTTL": 30}});
    let e = load(&v).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("imagegate: unknown field `verdictTTL`"),
        "{e}"
    );
}

#[test]
fn errors_name_the_field() {
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            Box::new(|v| {
                v["verifier"]["plugins"][0]["trustPolicyDoc"]["trustPolicies"][0]["trustStores"] =
                    serde_json::json!(["ca:e2e", "nosep"])
            }),
            "verifier.plugins[0].trustPolicyDoc.trustPolicies[0].trustStores[1]",
            "missing separator",
        ),
        (
            Box::new(|v| {
                v["verifier"]["plugins"][0]["trustPolicyDoc"]["version"] = serde_json::json!("2.0")
            }),
            "verifier.plugins[0].trustPolicyDoc",
            "unsupported version",
        ),
        (
            Box::new(|v| {
                v["policy"]["plugin"] =
                    serde_json::json!({"name": "regoPolicy", "policy": "package ratify.policy"})
            }),
            "policy.plugin.name",
            "not supported yet",
        ),
        (
            Box::new(|v| {
                v["policy"]["plugin"]["artifactVerificationPolicies"]["default"] =
                    serde_json::json!("most")
            }),
            "policy.plugin.artifactVerificationPolicies.default",
            "\"any\" or \"all\"",
        ),
        (
            Box::new(|v| v["verifier"]["plugins"] = serde_json::json!([])),
            "verifier.plugins",
            "at least one verifier",
        ),
        (
            Box::new(|v| v["store"]["plugins"][0]["name"] = serde_json::json!("localstore")),
            "store.plugins[0].name",
            "not supported",
        ),
        (
            Box::new(|v| v["verifier"]["plugins"][0]["type"] = serde_json::json!("cosign")),
            "verifier.plugins[0].type",
            "cosign verification is not supported yet",
        ),
        (
            Box::new(|v| {
                v["verifier"]["plugins"][0]["verificationCerts"] =
                    serde_json::json!(["/nonexistent/certs"])
            }),
            "verifier.plugins[0].verificationCerts[0]",
            "cannot read /nonexistent/certs",
        ),
        (
            Box::new(|v| v["verifier"]["plugins"][0]["verificationCerts"] = serde_json::json!([])),
            "verifier.plugins[0].trustPolicyDoc.trustPolicies[0].trustStores[0]",
            "trust store \"ca:e2e\" has no certificates",
        ),
        (
            Box::new(|v| {
                v["verifier"]["plugins"][0]["verificationCertStores"] =
                    serde_json::json!({"ca": {"e2e": ["missing-kmp"]}})
            }),
            "verifier.plugins[0].verificationCertStores.ca.e2e[0]",
            "KeyManagementProvider \"missing-kmp\" not found",
        ),
        (
            Box::new(|v| v["store"]["plugins"][0]["useHttp"] = serde_json::json!(3)),
            "store.plugins[0].useHttp",
            "true or false",
        ),
        (
            Box::new(|v| v["executor"]["verificationRequestTimeout"] = serde_json::json!(0)),
            "executor.verificationRequestTimeout",
            "positive",
        ),
    ];
    for (edit, field, text) in cases {
        let mut v = strict();
        edit(&mut v);
        let e = load(&v).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(text), "{field}: {msg}");
        assert_eq!(field_of(e), field, "{msg}");
    }
}

#[test]
fn syntax_and_read_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("config.json");
    std::fs::write(&p, b"{ not json").unwrap();
    let e = EngineConfig::load(&p, None).unwrap_err();
    assert!(
        matches!(e, ConfigError::Syntax { format: "JSON", .. }),
        "{e}"
    );
    let e = EngineConfig::load(Path::new("/nonexistent/config.json"), None).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e}");
}

#[test]
fn relative_cert_paths_and_docker_config_resolve_against_the_config_dir() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("certs")).unwrap();
    std::fs::copy(
        vectors_dir().join("cert-e2e.crt"),
        dir.path().join("certs/e2e.crt"),
    )
    .unwrap();
    std::fs::write(dir.path().join("docker.json"), br#"{"auths": {}}"#).unwrap();
    let mut v = config_json(
        vector_json("trustpolicy-strict.json"),
        &[std::path::PathBuf::from("certs")],
        serde_json::json!({}),
    );
    v["store"]["plugins"][0]["authProvider"] =
        serde_json::json!({"name": "dockerConfig", "configPath": "docker.json"});
    let c = EngineConfig::load(&write_config(dir.path(), &v), None).unwrap();
    assert_eq!(
        c.cluster.stores[0].auth,
        AuthConfig::DockerConfig {
            config_path: dir.path().join("docker.json")
        }
    );
    v["store"]["plugins"][0]["authProvider"] = serde_json::json!({"name": "awsEcrBasic"});
    let e = EngineConfig::load(&write_config(dir.path(), &v), None).unwrap_err();
    assert_eq!(field_of(e), "store.plugins[0].authProvider.name");
}

#[test]
fn legacy_cert_store_form_needs_kmps() {
    let mut v = strict();
    v["verifier"]["plugins"][0]["verificationCertStores"] = serde_json::json!({"e2e": ["kmp-a"]});
    let e = load(&v).unwrap_err();
    assert_eq!(
        field_of(e),
        "verifier.plugins[0].verificationCertStores.ca.e2e[0]"
    );
}
