//! Registry credentials never appear in logs, errors, `Debug` output or metrics.
//!
//! The engine runs behind the real provider (TLS, mutual TLS) against Debian's
//! `docker-registry` with htpasswd Basic auth and with Docker token auth, credentials coming
//! from a docker `config.json`. Everything is logged at TRACE level into a buffer (this is its
//! own test binary so that the global subscriber sees nothing else), successful and failing
//! verifications run (unsigned image, missing repository, wrong password), and then the
//! logs, the provider's responses, the `/metrics` text, the error strings and the `Debug` of
//! every credential-carrying type are searched for the password, the base64 `auth` string
//! and the bearer tokens.
#![allow(unreachable_pub)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "security/support/mod.rs"]
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use imagegate_cli::adapter::EngineHandler;
use imagegate_engine::clock::FixedClock;
use imagegate_engine::{Engine, EngineOptions};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_oci::{ClientConfig, DockerConfig, RegistryClient, StaticCredentials};
use imagegate_provider::{Metrics, VERIFY_PATH};
use imagegate_testkit::{sign_image, Pki, Registry};

use support::{metrics_text, post, Provider};

/// Everything logged by this process, at TRACE level, `log` records included.
fn captured() -> &'static Mutex<Vec<u8>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("no other subscriber in this test binary");
        buf
    })
}

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logs() -> String {
    String::from_utf8_lossy(&captured().lock().unwrap()).into_owned()
}

/// A hard-to-guess secret, so that a hit is never a coincidence.
fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    format!(
        "{prefix}-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn basic_auth(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// Writes a docker `config.json` with an `auth` entry for `host`; returns its path.
fn docker_config(dir: &Path, name: &str, host: &str, user: &str, password: &str) -> PathBuf {
    let path = dir.join(name);
    let json = serde_json::json!({"auths": {host: {"auth": basic_auth(user, password)}}});
    std::fs::write(&path, json.to_string()).unwrap();
    path
}

/// A Ratify `config.json` trusting `pki`, reading credentials from `docker_config`.
fn engine(dir: &Path, name: &str, pki: &Pki, docker_config: &Path) -> Engine {
    let root = dir.join(format!("{name}-root.pem"));
    std::fs::write(&root, pki.root_pem()).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&pki.trust_policy_json("certs")).unwrap();
    let config = serde_json::json!({
        "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true,
            "authProvider": {"name": "dockerConfig", "configPath": docker_config}}]},
        "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy"}},
        "verifier": {"version": "1.0.0", "plugins": [{
            "name": "verifier-notation", "type": "notation",
            "artifactTypes": "application/vnd.cncf.notary.signature",
            "verificationCerts": [root],
            "trustPolicyDoc": policy}]},
        "executor": {"verificationRequestTimeout": 8000, "mutationRequestTimeout": 8000}
    });
    let path = dir.join(format!("{name}-ratify-config.json"));
    std::fs::write(&path, config.to_string()).unwrap();
    let options = EngineOptions {
        clock: Arc::new(FixedClock(time::macros::datetime!(2025-01-02 00:00 UTC))),
        ..EngineOptions::default()
    };
    Engine::from_config_file(&path, options).unwrap()
}

/// Runs verify requests through a provider backed by `engine`; returns the response
/// bodies and the `/metrics` text.
async fn through_provider(engine: Engine, keys: &[String]) -> (Vec<String>, String) {
    let metrics = Metrics::new().unwrap();
    let engine = Engine::clone(&engine);
    let (server, ca, client, _dir) =
        Provider::start_with(EngineHandler::shared(engine), metrics, 1).await;
    let addr = server.addrs().provider;
    let mut responses = Vec::new();
    for key in keys {
        let mut stream = support::tls_connect(addr, support::client_config(&ca, Some(&client)))
            .await
            .unwrap();
        let body = serde_json::json!({"request": {"keys": [key]}}).to_string();
        responses.push(
            post(&mut stream, VERIFY_PATH, body.as_bytes())
                .await
                .unwrap(),
        );
    }
    let text = metrics_text(server.addrs().metrics.unwrap()).await;
    server.stop().await.unwrap();
    (responses, text)
}

/// Fails if any `secret` occurs in any of `places` (name, text).
fn assert_absent(secrets: &[(&str, &str)], places: &[(&str, &str)]) {
    for (secret_name, secret) in secrets {
        assert!(
            secret.len() >= 16,
            "{secret_name} is too short to search for"
        );
        for (place, text) in places {
            if let Some(at) = text.find(secret) {
                let start = at.saturating_sub(200);
                panic!(
                    "{secret_name} leaked into {place}: ...{}...",
                    &text[start..(at + secret.len() + 50).min(text.len())]
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_credentials_never_leak() {
    captured();
    let user = "h1-security-user";
    let password = secret("pw");
    let wrong = secret("wrongpw");
    let registry = Registry::start_htpasswd(user, &password);
    let pki = Pki::generate();
    let signed = sign_image(&registry, "sec/app", "v1", EnvelopeFormat::Jws, &pki).await;
    let unsigned = registry.pusher("sec/app").image("unsigned").await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let good_config = docker_config(dir.path(), "good.json", &host, user, &password);
    let bad_config = docker_config(dir.path(), "bad.json", &host, user, &wrong);

    let keys = vec![
        signed.pinned(),
        format!("{host}/sec/app@{}", unsigned.digest),
        format!("{host}/sec/app:v1"),
        format!("{host}/sec/missing:v1"),
    ];
    let good = engine(dir.path(), "good", &pki, &good_config);
    let good_debug = format!("{good:?} {:?}", good.config());
    let (good_responses, good_metrics) = through_provider(good, &keys).await;
    // The control: with the right password the signed image verifies, so the registry
    // really was reached with the credentials.
    assert!(
        good_responses[0].contains(r#""isSuccess":true"#),
        "{}",
        good_responses[0]
    );
    assert!(
        good_responses[1].contains(r#""isSuccess":false"#),
        "{}",
        good_responses[1]
    );

    let bad = engine(dir.path(), "bad", &pki, &bad_config);
    let bad_debug = format!("{bad:?} {:?}", bad.config());
    let (bad_responses, bad_metrics) = through_provider(bad, &keys).await;
    assert!(
        !bad_responses[0].contains(r#""isSuccess":true"#),
        "{}",
        bad_responses[0]
    );
    let all_bad = bad_responses.join("\n");
    assert!(
        all_bad.contains("the registry refused the credentials"),
        "a wrong password should surface as an authentication failure: {all_bad}"
    );

    // The registry client on its own: errors and Debug output.
    let docker = DockerConfig::from_file(&bad_config).unwrap();
    let client_config = ClientConfig {
        credentials: Arc::new(docker.clone()),
        ..ClientConfig::default()
    };
    let client = RegistryClient::new(client_config.clone()).unwrap();
    let err = client
        .resolve(&registry.reference("sec/app:v1"))
        .await
        .unwrap_err();
    let statics = StaticCredentials::default().with(&host, registry.credential().unwrap());
    let debug = format!(
        "{docker:?} {client_config:?} {statics:?} {:?} {err:?} {good_debug} {bad_debug}",
        registry.credential()
    );
    assert!(
        debug.contains(user),
        "the Debug output lost the user name: {debug}"
    );

    let secrets = [
        ("the password", password.as_str()),
        ("the wrong password", wrong.as_str()),
        ("the base64 auth", &basic_auth(user, &password)),
        ("the wrong base64 auth", &basic_auth(user, &wrong)),
    ];
    let logs = logs();
    assert!(
        logs.contains(&host),
        "the TRACE capture saw no registry traffic"
    );
    assert_absent(
        &secrets,
        &[
            ("the logs", &logs),
            ("the responses", &good_responses.join("\n")),
            ("the responses (wrong password)", &all_bad),
            ("the metrics", &good_metrics),
            ("the metrics (wrong password)", &bad_metrics),
            ("the client error", &err.to_string()),
            ("Debug output", &debug),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_and_token_credentials_never_leak() {
    captured();
    let user = "h1-token-user";
    let password = secret("tokenpw");
    let wrong = secret("tokenwrong");
    let registry = Registry::start_token(user, &password);
    let issuer = registry.token_issuer().unwrap();
    let pki = Pki::generate();
    let signed = sign_image(&registry, "tok/app", "v1", EnvelopeFormat::Cose, &pki).await;
    let host = registry.host();
    let dir = tempfile::tempdir().unwrap();
    let keys = vec![signed.pinned(), format!("{host}/tok/app:v1")];
    let good = engine(
        dir.path(),
        "good",
        &pki,
        &docker_config(dir.path(), "good.json", &host, user, &password),
    );
    let (good_responses, good_metrics) = through_provider(good, &keys).await;
    assert!(
        good_responses[0].contains(r#""isSuccess":true"#),
        "{}",
        good_responses[0]
    );
    let bad = engine(
        dir.path(),
        "bad",
        &pki,
        &docker_config(dir.path(), "bad.json", &host, user, &wrong),
    );
    let (bad_responses, bad_metrics) = through_provider(bad, &keys).await;
    assert!(
        !bad_responses[0].contains(r#""isSuccess":true"#),
        "{}",
        bad_responses[0]
    );

    // Every token of this issuer starts with the same JWT header and shares its signature
    // key; the header segment plus the start of any payload marks a token in the text.
    let sample = issuer.push_token("tok/app");
    let header = sample.split('.').next().unwrap().to_owned();
    assert!(issuer.requests.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let logs = logs();
    assert_absent(
        &[
            ("the password", &password),
            ("the wrong password", &wrong),
            ("the base64 auth", &basic_auth(user, &password)),
            ("a bearer token (JWT header)", &format!("{header}.")),
        ],
        &[
            ("the logs", &logs),
            ("the responses", &good_responses.join("\n")),
            ("the responses (wrong password)", &bad_responses.join("\n")),
            ("the metrics", &good_metrics),
            ("the metrics (wrong password)", &bad_metrics),
        ],
    );
}

/// A docker config that is malformed around the secret: the parse error must not quote it,
/// neither in `Display` nor in `Debug` (serde_json's own messages quote the offending string).
#[test]
fn malformed_docker_config_errors_do_not_quote_secrets() {
    let auth = basic_auth("someone", &secret("pw"));
    let cases = [
        // The auth decodes, but has no colon.
        serde_json::json!({"auths": {"registry.test": {"auth":
            base64::engine::general_purpose::STANDARD.encode(&auth)}}})
        .to_string(),
        // Truncated JSON right after the secret.
        format!(r#"{{"auths": {{"registry.test": {{"auth": "{auth}""#),
        // The auth is not base64 at all (the secret as plain text).
        serde_json::json!({"auths": {"registry.test": {"auth": format!("someone:{auth}")}}})
            .to_string(),
        // A number where the password belongs, next to the secret.
        serde_json::json!({"auths": {"registry.test": {"auth": auth, "password": 7}}}).to_string(),
        // A JSON string where the entry object belongs: serde_json's "invalid type" message
        // quotes the string.
        serde_json::json!({"auths": {"registry.test": auth}}).to_string(),
        // The secret as an unknown escape inside a string.
        format!(r#"{{"auths": {{"registry.test": {{"auth": "{auth}\q"}}}}}}"#),
    ];
    for text in cases {
        let err = DockerConfig::from_json(text.as_bytes()).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert_absent(&[("the base64 auth", &auth)], &[("the error", &shown)]);
    }
    // The same string-for-object mistake inside a Kubernetes secret, and in the secret
    // object itself (a string where `data` belongs).
    let inner = serde_json::json!({"auths": {"registry.test": auth}}).to_string();
    let secrets = [
        serde_json::json!({"type": "kubernetes.io/dockerconfigjson",
            "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(inner)}}),
        serde_json::json!({"type": "kubernetes.io/dockerconfigjson", "data": auth}),
    ];
    for secret in secrets {
        let err = DockerConfig::from_k8s_secret_json(secret.to_string().as_bytes()).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert_absent(&[("the base64 auth", &auth)], &[("the error", &shown)]);
        // The error still says where the problem is.
        assert!(shown.contains("line 1, column"), "{shown}");
    }
}
