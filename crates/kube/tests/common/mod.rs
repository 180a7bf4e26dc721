//! Helpers for the serve tests: the real `imagegate serve --kubernetes` as a child process
//! against the testkit API server, a signed and an unsigned image in a real registry, the
//! Ratify objects, and verdicts over the provider's wire protocol.
#![allow(clippy::disallowed_methods)] // Test/demo code that waits in real time for a child process.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use imagegate_kube::kinds::{Kind, EVENTS, RATIFY_V1, RATIFY_V2, SECRETS};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::kube_api::ApiServer;
use imagegate_testkit::ratify;
use imagegate_testkit::{free_port, sign_image, Pki, Registry};
use kube::api::{Api, DynamicObject, PostParams};
use kube::Client;
use serde_json::{json, Value};

/// Longest wait for anything the server does.
pub const WAIT: Duration = Duration::from_secs(60);

/// The registry of this test binary.
pub fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::start)
}

/// A signed image, an unsigned one, the signer's PKI and an unrelated PKI.
pub struct Images {
    pub signed: String,
    pub unsigned: String,
    pub pki: Pki,
    pub other: Pki,
}

/// Pushes the images (once per test binary run; repos are per call).
pub async fn images(repo: &str) -> Images {
    let pki = Pki::generate();
    let other = Pki::generate();
    let signed = sign_image(
        registry(),
        &format!("{repo}-signed"),
        "v1",
        EnvelopeFormat::Jws,
        &pki,
    )
    .await;
    let unsigned_repo = format!("{repo}-unsigned");
    let d = registry().pusher(&unsigned_repo).image("v1").await;
    Images {
        signed: signed.pinned(),
        unsigned: format!("{}/{unsigned_repo}@{}", registry().host(), d.digest),
        pki,
        other,
    }
}

/// The built binary: `$IMAGEGATE_BIN`, else `target/debug/imagegate` of this workspace.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("IMAGEGATE_BIN") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/imagegate");
    assert!(
        p.is_file(),
        "build the binary first: cargo build -p imagegate-cli ({})",
        p.display()
    );
    p
}

/// One `imagegate serve --kubernetes` process. Killed by PID on drop.
pub struct Serve {
    child: Child,
    pub port: u16,
    pub health: u16,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Serve {
    /// Starts it with a kubeconfig for `server` carrying `token`.
    pub fn start(server: &ApiServer, token: &str) -> Self {
        Self::start_with_env(server, token, &[])
    }

    /// Like [`Serve::start`], with extra environment variables (e.g. `AZURE_*`).
    pub fn start_with_env(server: &ApiServer, token: &str, env: &[(String, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        let text = server
            .kubeconfig()
            .replace("user: {}", &format!("user: {{\"token\": \"{token}\"}}"));
        std::fs::write(&kubeconfig, text).unwrap();
        let (port, health, metrics) = (free_port(), free_port(), free_port());
        let log = dir.path().join("serve.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(binary())
            .args(["serve", "--kubernetes", "--insecure-plain-http"])
            .args(["--http", &format!("127.0.0.1:{port}")])
            .args(["--health", &format!("127.0.0.1:{health}")])
            .args(["--metrics", &format!("127.0.0.1:{metrics}")])
            .args(["--log-format", "text", "--log-level", "info"])
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", dir.path())
            .env_remove("KUBERNETES_SERVICE_HOST")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Self {
            child,
            port,
            health,
            log,
            _dir: dir,
        }
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether `/readyz` answers 200.
    pub async fn ready(&self) -> bool {
        let url = format!("http://127.0.0.1:{}/readyz", self.health);
        matches!(http().get(url).send().await, Ok(r) if r.status() == 200)
    }

    /// Waits until ready.
    pub async fn wait_ready(&self) {
        let log = self.log.clone();
        eventually("ready", || async { self.ready().await }, &log).await;
    }

    /// The provider's answer for `key`: `Ok(isSuccess)` or `Err(item error)`.
    pub async fn verdict(&self, key: &str) -> Result<bool, String> {
        let body = json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1",
                          "kind": "ProviderRequest", "request": {"keys": [key]}});
        let url = format!("http://127.0.0.1:{}/ratify/gatekeeper/v1/verify", self.port);
        let r: Value = http()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let item = &r["response"]["items"][0];
        match item["error"].as_str() {
            Some(e) if !e.is_empty() => Err(e.to_owned()),
            _ => Ok(item["value"]["isSuccess"].as_bool().unwrap_or(false)),
        }
    }

    /// Waits until `key` gets `want`.
    pub async fn wait_verdict(&self, key: &str, want: Result<bool, ()>) {
        let log = self.log.clone();
        eventually(
            &format!("{key} -> {want:?}"),
            || async { self.verdict(key).await.map_err(|_| ()) == want },
            &log,
        )
        .await;
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// Polls `check` until true (every 50 ms, up to [`WAIT`]); panics with the server log.
pub async fn eventually<F, Fut>(what: &str, mut check: F, log: &Path)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "timed out waiting for {what}; server log:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// Waits until the `.status` of `object` (`plural/name`, or `plural/namespace/name` for
/// a namespaced kind, as kubectl names objects) says it succeeded (`want`) or failed: Ratify
/// v1 kinds in `issuccess`, v2 executors in `succeeded`. Objects get their status when the
/// configuration is applied. Returns that status.
pub async fn wait_status(server: &ApiServer, object: &str, want: bool, log: &Path) -> Value {
    let parts: Vec<&str> = object.split('/').collect();
    let (plural, namespace, name) = match parts[..] {
        [plural, name] => (plural, None, name),
        [plural, namespace, name] => (plural, Some(namespace), name),
        _ => panic!("not plural/name or plural/namespace/name: {object}"),
    };
    let field = if plural.ends_with("executors") {
        "succeeded"
    } else {
        "issuccess"
    };
    eventually(
        &format!("{object} with status {field}={want}"),
        || async { status(server, plural, namespace, name)[field] == want },
        log,
    )
    .await;
    status(server, plural, namespace, name)
}

/// A kube-rs client for the test itself (anonymous: the emulator logs it without a token).
pub fn client(server: &ApiServer) -> Client {
    Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap()
}

fn kind(name: &str) -> &'static Kind {
    RATIFY_V1
        .iter()
        .chain(RATIFY_V2)
        .find(|k| k.kind == name)
        .unwrap()
}

/// The API of `kind_name` in `namespace` (or cluster-wide).
pub fn api(c: &Client, kind_name: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let k = match kind_name {
        "Secret" => &SECRETS,
        "Event" => &EVENTS,
        other => kind(other),
    };
    match namespace {
        Some(ns) => Api::namespaced_with(c.clone(), ns, &k.api_resource()),
        None => Api::all_with(c.clone(), &k.api_resource()),
    }
}

/// Creates `obj` (apiVersion/kind/metadata/spec) in the API server.
pub async fn create(c: &Client, obj: Value) -> DynamicObject {
    let kind_name = obj["kind"].as_str().unwrap().to_owned();
    let ns = obj["metadata"]["namespace"].as_str().map(str::to_owned);
    let o: DynamicObject = serde_json::from_value(obj).unwrap();
    api(c, &kind_name, ns.as_deref())
        .create(&PostParams::default(), &o)
        .await
        .unwrap()
}

/// Replaces the spec of an object (read, change, PUT with its resourceVersion).
/// [`team_a_verifier`] trusting the other root of `images` (a namespaced inline KMP
/// `other`): `team-a`'s key for the signed image, which that verifier does not trust.
pub async fn team_a_trusts_other(c: &Client, images: &Images) -> String {
    let other = kmp("other", Some("team-a"), &images.other.root_pem());
    team_a_verifier(c, other, &images.signed).await
}

/// Creates the namespaced `kmp` (in `team-a`) and the verifier `team-verifier` trusting it
/// there: `team-a`'s own verifier. Returns `image`'s key as asked from `team-a`.
pub async fn team_a_verifier(c: &Client, kmp: Value, image: &str) -> String {
    let name = kmp["metadata"]["name"].as_str().unwrap().to_owned();
    create(c, kmp).await;
    let kmp_ref = format!("team-a/{name}");
    create(c, verifier("team-verifier", Some("team-a"), &kmp_ref)).await;
    format!("[team-a]{image}")
}

pub async fn set_spec(c: &Client, kind_name: &str, ns: Option<&str>, name: &str, spec: Value) {
    let a = api(c, kind_name, ns);
    let mut o = a.get(name).await.unwrap();
    o.data["spec"] = spec;
    a.replace(name, &PostParams::default(), &o).await.unwrap();
}

#[allow(unused_imports)] // each test binary uses some of them
pub use imagegate_testkit::ratify::{inline_kmp as kmp, trust_policy};

/// The PEM of a PKI's root.
pub fn root_pem(pki: &Pki) -> String {
    pki.root_pem()
}

/// The store `name` (plain-HTTP registries).
pub fn store(name: &str) -> Value {
    ratify::oras_store(name, None, json!({"useHttp": true}))
}

/// The config policy: every artifact verified.
pub fn policy() -> Value {
    ratify::config_policy(json!({"default": "all"}))
}

/// The notation verifier spec trusting the KMP `kmp_ref` (as the CA store `e2e`).
pub fn verifier_spec(kmp_ref: &str) -> Value {
    ratify::notation_verifier_spec("e2e", &[kmp_ref], trust_policy("e2e"))
}

/// The notation verifier `name` (namespaced in `namespace`) with [`verifier_spec`].
pub fn verifier(name: &str, namespace: Option<&str>, kmp_ref: &str) -> Value {
    ratify::object("Verifier", name, namespace, verifier_spec(kmp_ref))
}

/// Creates the cluster baseline: store, policy, KMP `signer` with the image signer's root,
/// verifier `verifier-notation`.
pub async fn baseline(c: &Client, images: &Images) {
    create(c, store("store-oras")).await;
    create(c, policy()).await;
    create(c, kmp("signer", None, &images.pki.root_pem())).await;
    create(c, verifier("verifier-notation", None, "signer")).await;
}

/// The `.status` of an object as the API server holds it.
pub fn status(server: &ApiServer, plural: &str, ns: Option<&str>, name: &str) -> Value {
    server
        .object(plural, ns, name)
        .map(|o| o["status"].clone())
        .unwrap_or(Value::Null)
}

/// Requests the server made (identified by its token).
pub fn requests_by(
    server: &ApiServer,
    token: &str,
) -> Vec<imagegate_testkit::kube_api::LoggedRequest> {
    let bearer = format!("Bearer {token}");
    server
        .requests()
        .into_iter()
        .filter(|r| r.authorization.as_deref() == Some(bearer.as_str()))
        .collect()
}
