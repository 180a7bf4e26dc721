//! The load driver against the floor server over mutual TLS: requests flow, latencies are
//! recorded, pacing holds the offered rate, and a client without a certificate is refused
//! (the floor's TLS is as strict as the provider's).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use imagegate_bench::driver::{self, Connection, Pace, Target};
use imagegate_bench::floor::FloorServer;
use imagegate_bench::tls::TlsSetup;
use imagegate_provider::VERIFY_PATH;

const ANSWER: &str = r#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"ProviderResponse","response":{"items":[{"key":"k","value":{"isSuccess":true}}]}}"#;

async fn floor() -> (tempfile::TempDir, TlsSetup, FloorServer) {
    let dir = tempfile::tempdir().unwrap();
    let tls = TlsSetup::generate(dir.path()).unwrap();
    let floor = FloorServer::start(
        tls.floor_server_config().unwrap(),
        1,
        Bytes::from_static(ANSWER.as_bytes()),
    )
    .unwrap();
    (dir, tls, floor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_loop_and_paced_runs_against_the_floor() {
    let (_dir, tls, floor) = floor().await;
    let target = Target {
        addr: floor.addr,
        path: VERIFY_PATH.to_owned(),
        tls: tls.client_config().unwrap(),
    };
    let body = driver::provider_request(&["k".to_owned()]);

    let mut conn = Connection::open(&target).await.unwrap();
    let (status, answer) = conn.post(body.clone()).await.unwrap();
    assert_eq!((status, answer.as_ref()), (200, ANSWER.as_bytes()));

    let closed = driver::run(
        &target,
        2,
        Duration::from_millis(300),
        Pace::ClosedLoop,
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(closed.errors, 0, "{:?}", closed.first_error);
    assert!(closed.ok > 10, "{closed:?}");
    assert_eq!(closed.latency.samples as u64, closed.ok);
    assert!(closed.latency.p50_us > 0 && closed.latency.p50_us <= closed.latency.p99_us);

    // 100 req/s for 0.5 s: about 50 requests, far fewer than the closed loop manages.
    let paced = driver::run(
        &target,
        2,
        Duration::from_millis(500),
        Pace::Rate(100.0),
        body,
    )
    .await
    .unwrap();
    assert_eq!(paced.errors, 0, "{:?}", paced.first_error);
    assert!((35..=65).contains(&paced.ok), "{paced:?}");
    floor.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_refuses_a_client_without_a_certificate() {
    let (_dir, tls, floor) = floor().await;
    let ca = std::fs::read(&tls.client_ca).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::pem::PemObject::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let anonymous = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let target = Target {
        addr: floor.addr,
        path: VERIFY_PATH.to_owned(),
        tls: Arc::new(anonymous),
    };
    // TLS 1.3 reports the refused certificate after the handshake: on the first exchange.
    let refused = match Connection::open(&target).await {
        Err(_) => true,
        Ok(mut conn) => conn
            .post(driver::provider_request(&["k".to_owned()]))
            .await
            .is_err(),
    };
    assert!(refused, "a client without a certificate was served");
    floor.stop().await;
}
