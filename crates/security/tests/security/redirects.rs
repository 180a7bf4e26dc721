//! Redirect policy of the registry client (`crates/oci/src/transport/redirect.rs`,
//! `policy`): no downgrade from `https://` to `http://` (not even to loopback, unless
//! the target is listed in `insecure_hosts`) and no plain-HTTP hop to a host that is neither
//! loopback nor configured, each refused before any connection is made. (Loops, and credentials dropped on a cross-host hop: `crates/oci/tests/hostile.rs`.)
//!
//! Nothing here connects off loopback: the non-loopback targets (TEST-NET-1 192.0.2.1,
//! 10.0.0.1) must be refused by the policy itself, which the error kind and the elapsed time
//! show (a connection attempt would be a transport error or a 5 s connect timeout).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imagegate_oci::{ClientConfig, Descriptor, OciError, Reference, RegistryClient, RetryPolicy};
use imagegate_testkit::{MockServer, Reply, Request};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::support::pki::Ca;

const BLOB: &[u8] = b"redirected blob";

fn blob() -> Descriptor {
    imagegate_testkit::desc(
        "application/octet-stream",
        &imagegate_testkit::sha256(BLOB),
        BLOB.len(),
    )
}

/// A registry client that retries nothing (a refusal must not be retried anyway).
fn client(config: ClientConfig) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        retry: RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        },
        ..config
    })
    .unwrap()
}

/// An HTTPS "registry" on 127.0.0.1 answering every request with `307 Location: <to>`.
async fn https_redirector(ca: &Ca, to: String) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let leaf = ca.server();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert_der()], leaf.key_der())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let to = to.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let reply = format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nlocation: {to}\r\ncontent-length: 0\r\n\
                     connection: close\r\n\r\n"
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, task)
}

/// A plain-HTTP blob server on loopback that counts the requests it gets.
fn counting_blob_server() -> (MockServer, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let server = MockServer::start(move |_: &Request| {
        h.fetch_add(1, Ordering::SeqCst);
        Reply::json(200, "application/octet-stream", BLOB.to_vec())
    });
    (server, hits)
}

/// Fetches the blob through `client`; returns the result and how long it took.
async fn fetch(client: &RegistryClient, host: &str) -> (Result<bytes::Bytes, OciError>, Duration) {
    let r = Reference::parse(&format!("{host}/redirect/app:v1")).unwrap();
    let started = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(20), client.fetch_blob(&r, &blob()))
        .await
        .expect("the fetch did not end");
    (result, started.elapsed())
}

fn assert_refused(result: Result<bytes::Bytes, OciError>, took: Duration, target: &str) {
    let err = result.expect_err(target);
    assert!(
        matches!(err, OciError::Redirect { .. }),
        "{target}: {err:?}"
    );
    assert!(
        err.to_string()
            .contains("redirect to a http:// URL is not allowed"),
        "{target}: {err}"
    );
    assert!(took < Duration::from_secs(1), "{target}: took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_registry_cannot_downgrade_to_plain_http() {
    let ca = Ca::new("redirect test CA");
    let (blob_server, hits) = counting_blob_server();
    let https_only = || ClientConfig {
        plain_http_loopback: false,
        extra_root_pems: vec![ca.cert_pem.clone().into_bytes()],
        ..ClientConfig::default()
    };
    for target in [
        "http://192.0.2.1/v2/redirect/app/blobs/x".to_owned(),
        "http://10.0.0.1:5000/v2/redirect/app/blobs/x".to_owned(),
        format!("{}/storage/blob", blob_server.url()),
    ] {
        let (addr, task) = https_redirector(&ca, target.clone()).await;
        let (result, took) = fetch(&client(https_only()), &addr.to_string()).await;
        assert_refused(result, took, &target);
        task.abort();
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "a refused redirect was followed"
    );

    // Configured: the plain-HTTP host listed in `insecure_hosts` is followed.
    let target = format!("{}/storage/blob", blob_server.url());
    let (addr, task) = https_redirector(&ca, target).await;
    let configured = ClientConfig {
        insecure_hosts: vec![blob_server.host()],
        ..https_only()
    };
    let (result, _) = fetch(&client(configured), &addr.to_string()).await;
    assert_eq!(result.unwrap().as_ref(), BLOB);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_registry_cannot_send_the_client_off_loopback() {
    for target in [
        "http://192.0.2.1/v2/redirect/app/blobs/x",
        "http://10.0.0.1:5000/v2/redirect/app/blobs/x",
        "http://169.254.169.254/latest/meta-data/",
    ] {
        let registry = MockServer::start(move |_: &Request| {
            Reply::status(307).with_header("Location", target)
        });
        let (result, took) = fetch(&client(ClientConfig::default()), &registry.host()).await;
        assert_refused(result, took, target);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_hop_between_loopback_hosts_needs_configuration() {
    let (blob_server, hits) = counting_blob_server();
    let target = format!("{}/storage/blob", blob_server.url());
    let t = target.clone();
    let registry =
        MockServer::start(move |_: &Request| Reply::status(307).with_header("Location", &t));
    // Loopback is not plain HTTP by itself here: only the registry is listed.
    let strict = ClientConfig {
        plain_http_loopback: false,
        insecure_hosts: vec![registry.host()],
        ..ClientConfig::default()
    };
    let (result, took) = fetch(&client(strict.clone()), &registry.host()).await;
    assert_refused(result, took, &target);
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    let both = ClientConfig {
        insecure_hosts: vec![registry.host(), blob_server.host()],
        ..strict
    };
    let (result, _) = fetch(&client(both), &registry.host()).await;
    assert_eq!(result.unwrap().as_ref(), BLOB);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

/// Once a chain has been on `https://`, a plain-HTTP hop needs the target listed in
/// `insecure_hosts`; `plain_http_loopback` (on by default) is not enough, or any HTTPS
/// registry could send imagegate to services on the pod's own loopback. The chain here starts
/// on a plain-HTTP loopback registry (the only way to reach an HTTPS server on loopback with
/// the default configuration), goes to HTTPS, then tries to come back to plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_hop_cannot_lead_to_plain_http_on_loopback() {
    let ca = Ca::new("redirect test CA");
    let (blob_server, hits) = counting_blob_server();
    let target = format!("{}/storage/blob", blob_server.url());
    let (https_addr, task) = https_redirector(&ca, target.clone()).await;
    let hop = format!("https://{https_addr}/v2/redirect/app/blobs/hop");
    let registry =
        MockServer::start(move |_: &Request| Reply::status(307).with_header("Location", &hop));
    let defaults = ClientConfig {
        extra_root_pems: vec![ca.cert_pem.clone().into_bytes()],
        ..ClientConfig::default()
    };
    assert!(defaults.plain_http_loopback);
    let (result, took) = fetch(&client(defaults.clone()), &registry.host()).await;
    assert_refused(result, took, &target);
    // The same straight from an HTTPS registry: `127.1` is not recognised as loopback by the
    // configuration, so the registry is reached over HTTPS (the URL becomes 127.0.0.1).
    let direct = format!("127.1:{}", https_addr.port());
    let (result, took) = fetch(&client(defaults.clone()), &direct).await;
    assert_refused(result, took, &target);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "an https:// to http:// redirect to loopback was followed"
    );

    // Listed explicitly: followed.
    let listed = ClientConfig {
        insecure_hosts: vec![blob_server.host()],
        ..defaults
    };
    let (result, _) = fetch(&client(listed), &registry.host()).await;
    assert_eq!(result.unwrap().as_ref(), BLOB);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    task.abort();
}
