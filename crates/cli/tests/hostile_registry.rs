//! A registry that never answers, through the real `imagegate serve` (issue 16 items 3 and 7):
//!
//! * keys stalled on it hold nothing a key for a healthy registry (Debian's docker-registry
//!   with signed images) needs: beside 64 stalled keys in one request, and while 20 such
//!   requests are in flight, the signed images are verified, within the configured deadline;
//! * `verificationRequestTimeout` changed by a reload applies to the next request, raised as
//!   well as lowered, and the timeout text always carries `EXECUTOR_FAILURE:`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::serve::{self, Serve};
use common::{registry, write_config};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::{sha256, sign_image, Pki};
use serde_json::{json, Value};
use tokio::time::Instant;

/// Stalled keys in each request: the provider's former per-request slot count.
const STALLED_PER_REQUEST: usize = 64;
/// Concurrent stalled requests (20 × 64 exceeded the provider's former 1 024 global slots).
const STALLED_REQUESTS: usize = 20;

/// A registry that accepts connections, reads what is sent and never answers.
struct Stall {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Stall {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                // Drain the request and hold the connection open without a byte of answer.
                std::thread::spawn(move || drain(stream));
            }
        });
        Self { addr, accepted }
    }

    /// A key on this registry for a distinct subject `i`, each in its own repository: the
    /// referrers-API probe is single-flight per repository, so keys of one repository would
    /// wait behind one stalled probe instead of each holding a connection (and a permit).
    fn key(&self, i: usize) -> String {
        format!(
            "{}/evil/app{i}@{}",
            self.addr,
            sha256(format!("{i}").as_bytes())
        )
    }

    /// Waits until at least `n` connections were accepted (the stalled keys reached it).
    async fn wait_for_connections(&self, n: usize) {
        let until = Instant::now() + Duration::from_secs(30);
        while self.accepted.load(Ordering::SeqCst) < n {
            assert!(
                Instant::now() < until,
                "the stalled registry saw fewer than {n} connections"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn drain(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
}

/// `imagegate serve` with `config` (plain HTTP).
fn serve(config: &Path) -> Serve {
    serve::start(&[
        "--config",
        config.to_str().unwrap(),
        "--insecure-plain-http",
    ])
}

/// A `config.json` trusting `root` for every registry (plain-HTTP registries, every
/// artifact verified), with this verification deadline.
fn write_deadline(dir: &Path, root: &Path, deadline: Duration) -> PathBuf {
    write_config(dir, root, |v| {
        v["store"]["plugins"][0]["useHttp"] = json!(true);
        v["policy"]["plugin"]["artifactVerificationPolicies"] = json!({"default": "all"});
        v["executor"] = json!({
            "verificationRequestTimeout": deadline.as_millis(),
            "mutationRequestTimeout": 950
        });
    })
}

/// Waits until the log says configuration generation `generation` is in force.
fn wait_for_generation(serve: &mut Serve, generation: u64) {
    serve.wait_for_line(&[
        "configuration reloaded",
        &format!("\"generation\":{generation}"),
    ]);
}

/// `count` signed images on the healthy registry; their pinned keys.
async fn signed_images(pki: &Pki, repo: &str, count: usize) -> Vec<String> {
    let mut keys = Vec::with_capacity(count);
    for i in 0..count {
        let signed = sign_image(registry(), repo, &format!("t{i}"), EnvelopeFormat::Jws, pki).await;
        keys.push(signed.pinned());
    }
    keys
}

fn assert_verified(item: &Value, key: &str) {
    assert_eq!(item["key"], key);
    assert_eq!(item["value"]["isSuccess"], true, "{item}");
}

fn assert_not_verified(item: &Value) {
    assert_ne!(item["value"]["isSuccess"], true, "{item}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_registry_keys_do_not_starve_healthy_ones() {
    let deadline = Duration::from_millis(4000);
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let config = write_deadline(dir.path(), &root, deadline);
    // One fresh signed image per request and per probe: a cached verdict would prove nothing.
    let good = signed_images(&pki, "fair/good", 1 + STALLED_REQUESTS + 8).await;
    let stall = Stall::start();
    let serve = serve(&config);
    let client = Client {
        provider: serve.provider,
    };

    // One request: 64 stalled keys, then the signed image.
    let request = |n: usize, good: &str| {
        let mut keys: Vec<String> = (0..STALLED_PER_REQUEST)
            .map(|i| stall.key(n * STALLED_PER_REQUEST + i))
            .collect();
        keys.push(good.to_owned());
        keys
    };
    let started = Instant::now();
    let items = client.verify(&request(0, &good[0])).await;
    let elapsed = started.elapsed();
    assert_eq!(items.len(), STALLED_PER_REQUEST + 1);
    assert_verified(&items[STALLED_PER_REQUEST], &good[0]);
    items[..STALLED_PER_REQUEST]
        .iter()
        .for_each(assert_not_verified);
    // Every key answered by its deadline (the response waits for the stalled ones).
    assert!(elapsed < deadline * 2, "took {elapsed:?}");

    // For the record: four probes with nothing stalled.
    let quiet = Instant::now();
    let baseline = futures_util::future::join_all(
        good[1 + STALLED_REQUESTS + 4..]
            .iter()
            .map(|key| client.verify(std::slice::from_ref(key))),
    )
    .await;
    let quiet = quiet.elapsed();
    for items in &baseline {
        assert_eq!(items[0]["value"]["isSuccess"], true, "{}", items[0]);
    }

    // Twenty such requests at once, then four probes while they are all still stalled.
    let stalled: Vec<_> = (0..STALLED_REQUESTS)
        .map(|n| {
            let keys = request(n + 1, &good[n + 1]);
            let serve_addr = serve.provider;
            tokio::spawn(async move {
                let s = Client {
                    provider: serve_addr,
                };
                s.verify(&keys).await
            })
        })
        .collect();
    let before = stall.accepted.load(Ordering::SeqCst);
    stall.wait_for_connections(before + 32).await;
    let probes = good[1 + STALLED_REQUESTS..1 + STALLED_REQUESTS + 4].to_vec();
    let probing = Instant::now();
    let answers = futures_util::future::join_all(
        probes
            .iter()
            .map(|key| client.verify(std::slice::from_ref(key))),
    )
    .await;
    let still_stalled = stalled.iter().filter(|t| !t.is_finished()).count();
    // For the record (not asserted: speed goals belong to benchmarks).
    eprintln!(
        "one request with {STALLED_PER_REQUEST} stalled keys: {elapsed:?} (deadline \
         {deadline:?}); four probes beside {STALLED_REQUESTS} stalled requests: {:?} \
         (alone: {quiet:?})",
        probing.elapsed()
    );
    for (items, key) in answers.iter().zip(&probes) {
        assert_verified(&items[0], key);
    }
    // The probes did not wait for the stalled keys' deadline.
    assert_eq!(
        still_stalled, STALLED_REQUESTS,
        "probes answered only after the stalls ended"
    );
    for (n, task) in stalled.into_iter().enumerate() {
        let items = task.await.unwrap();
        assert_verified(&items[STALLED_PER_REQUEST], &good[n + 1]);
        items[..STALLED_PER_REQUEST]
            .iter()
            .for_each(assert_not_verified);
    }
    drop(serve);
}

/// Posts to the provider (also from spawned tasks).
struct Client {
    provider: SocketAddr,
}

impl Client {
    /// Posts `keys` to `/verify`; the items, in request order.
    async fn verify(&self, keys: &[String]) -> Vec<Value> {
        let body = json!({
            "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
            "kind": "ProviderRequest",
            "request": {"keys": keys}
        });
        let resp = reqwest::Client::new()
            .post(format!(
                "http://{}/ratify/gatekeeper/v1/verify",
                self.provider
            ))
            .json(&body)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        body["response"]["items"].as_array().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloaded_verification_timeout_applies_raised_and_lowered() {
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let config = write_deadline(dir.path(), &root, Duration::from_millis(1000));
    let stall = Stall::start();
    let mut serve = serve(&config);
    let client = Client {
        provider: serve.provider,
    };
    let timed_out = |items: &[Value], text: &str| {
        assert_eq!(items.len(), 1);
        assert!(items[0].get("value").is_none(), "{}", items[0]);
        assert_eq!(items[0]["error"], text);
    };

    let items = client.verify(&[stall.key(0)]).await;
    timed_out(
        &items,
        "EXECUTOR_FAILURE: operation timed out after duration 1s",
    );

    // Raised: the provider waits the new, longer time (it used to keep the start-up one).
    write_deadline(dir.path(), &root, Duration::from_millis(2500));
    wait_for_generation(&mut serve, 2);
    let started = Instant::now();
    let items = client.verify(&[stall.key(1)]).await;
    assert!(started.elapsed() >= Duration::from_millis(2500));
    timed_out(
        &items,
        "EXECUTOR_FAILURE: operation timed out after duration 2.5s",
    );

    // Lowered.
    write_deadline(dir.path(), &root, Duration::from_millis(600));
    wait_for_generation(&mut serve, 3);
    let items = client.verify(&[stall.key(2)]).await;
    timed_out(
        &items,
        "EXECUTOR_FAILURE: operation timed out after duration 600ms",
    );

    // A signed image is still verified under the lowered deadline.
    let good = signed_images(&pki, "fair/reload", 1).await;
    let items = client.verify(&good).await;
    assert_verified(&items[0], &good[0]);
    drop(serve);
}
