//! HTTP/2 to a registry that offers it over TLS (ALPN `h2`, as registries served by Go's
//! `net/http` do, Debian's `docker-registry` included): a burst of requests shares one
//! connection, and a stream that stalls mid-body meets its deadline without holding up the
//! connection's other streams.
//!
//! The registry here is a small hyper HTTP/2 server over rustls that serves one manifest by
//! digest and one answer that stalls, and counts its TCP connections and the HTTP version of
//! every request.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, StreamExt as _};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, Version};
use hyper_util::rt::{TokioExecutor, TokioIo};
use imagegate_oci::{ClientConfig, OciError, Reference, RegistryClient};
use imagegate_testkit::azure::TestCa;
use sha2::{Digest as _, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn manifest_digest() -> String {
    format!(
        "sha256:{}",
        hex::encode(Sha256::digest(MANIFEST.as_bytes()))
    )
}

/// The HTTP/2-only test registry.
struct H2Registry {
    addr: SocketAddr,
    ca_pem: String,
    connections: Arc<AtomicUsize>,
    versions: Arc<Mutex<Vec<Version>>>,
}

impl H2Registry {
    async fn start() -> Self {
        let ca = TestCa::generate();
        let mut tls = (*ca.server_config()).clone();
        tls.alpn_protocols = vec![b"h2".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(tls));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let versions = Arc::new(Mutex::new(Vec::new()));
        let (counted, seen) = (connections.clone(), versions.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                let (acceptor, seen) = (acceptor.clone(), seen.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let seen = seen.clone();
                        async move { Ok::<_, Infallible>(answer(&seen, req)) }
                    });
                    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            ca_pem: ca.ca_pem.clone(),
            connections,
            versions,
        }
    }

    fn client(&self, request_timeout: Duration) -> RegistryClient {
        RegistryClient::new(ClientConfig {
            plain_http_loopback: false,
            extra_root_pems: vec![self.ca_pem.clone().into_bytes()],
            request_timeout,
            ..Default::default()
        })
        .unwrap()
    }

    fn reference(&self, repository: &str) -> Reference {
        Reference::parse(&format!("{}/{repository}:v1", self.addr)).unwrap()
    }
}

/// `/v2/h2/app/manifests/<digest>`: the manifest; `/v2/h2/stall/…`: a 200 that declares
/// 1 000 bytes, sends 10 and then nothing; anything else: 404.
fn answer(
    seen: &Mutex<Vec<Version>>,
    req: Request<Incoming>,
) -> Response<BoxBody<Bytes, Infallible>> {
    seen.lock().unwrap().push(req.version());
    let path = req.uri().path();
    let manifest_path = format!("/v2/h2/app/manifests/{}", manifest_digest());
    let (status, body): (u16, BoxBody<Bytes, Infallible>) = if path == manifest_path {
        (
            200,
            Full::new(Bytes::from_static(MANIFEST.as_bytes())).boxed(),
        )
    } else if path.starts_with("/v2/h2/stall/") {
        let first =
            stream::once(async { Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'{'; 10]))) });
        (
            200,
            BodyExt::boxed(StreamBody::new(first.chain(stream::pending()))),
        )
    } else {
        (404, Full::new(Bytes::new()).boxed())
    };
    let mut response = Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        "application/vnd.oci.image.manifest.v1+json"
            .parse()
            .unwrap(),
    );
    if path.starts_with("/v2/h2/stall/") {
        headers.insert("content-length", "1000".parse().unwrap());
    }
    response
}

async fn within<T>(secs: u64, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("operation did not end within its deadline")
}

#[tokio::test]
async fn a_burst_shares_one_http2_connection() {
    let registry = H2Registry::start().await;
    let client = registry.client(Duration::from_secs(10));
    let subject = registry.reference("h2/app");
    let digest = manifest_digest();

    // The first request sets up the connection (TLS, ALPN h2)...
    within(10, client.fetch_manifest(&subject, &digest))
        .await
        .unwrap();
    // ...and a burst of 20 concurrent requests rides on it.
    let burst = (0..20).map(|_| client.fetch_manifest(&subject, &digest));
    for fetched in within(10, futures_util::future::join_all(burst)).await {
        fetched.unwrap();
    }

    let versions = registry.versions.lock().unwrap().clone();
    assert_eq!(versions.len(), 21);
    assert!(
        versions.iter().all(|v| *v == Version::HTTP_2),
        "{versions:?}"
    );
    assert_eq!(registry.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_stalled_http2_stream_times_out_and_the_connection_serves_on() {
    let registry = H2Registry::start().await;
    let client = registry.client(Duration::from_secs(1));
    let digest = manifest_digest();
    let good = registry.reference("h2/app");
    within(10, client.fetch_manifest(&good, &digest))
        .await
        .unwrap();

    // A body that stops after 10 of its 1 000 bytes: the request's deadline ends it...
    let stalled = registry.reference("h2/stall");
    let err = within(10, client.fetch_manifest(&stalled, &digest))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Timeout { .. }), "{err}");

    // ...and the same connection still answers the next request.
    within(10, client.fetch_manifest(&good, &digest))
        .await
        .unwrap();
    assert_eq!(registry.connections.load(Ordering::SeqCst), 1);
}
