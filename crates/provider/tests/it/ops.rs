//! Health, readiness, metrics, start-up errors and graceful shutdown.

use std::sync::atomic::Ordering;
use std::time::Duration;

use imagegate_provider::{Metrics, ProviderError, Server, TlsFiles, Transport};

use crate::support::handler::TestHandler;
use crate::support::pki::Ca;
use crate::support::{local_config, start};

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_readyz_follow_the_handler() {
    let h = start().await;
    assert_eq!(get(&h.health_url("/healthz")).await, (200, "ok".to_owned()));
    assert_eq!(get(&h.health_url("/readyz")).await, (200, "ok".to_owned()));
    h.handler.ready.store(false, Ordering::SeqCst);
    let (status, text) = get(&h.health_url("/readyz")).await;
    assert_eq!(status, 503);
    assert!(text.starts_with("not ready"), "{text}");
    assert_eq!(get(&h.health_url("/healthz")).await.0, 200);
    h.handler.ready.store(true, Ordering::SeqCst);
    assert_eq!(get(&h.health_url("/readyz")).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_ratify_names_after_requests() {
    let h = start().await;
    assert_eq!(
        h.verify(&["registry.test/a", "[team-a]registry.test/b"])
            .await
            .0,
        200
    );
    assert_eq!(h.mutate(&["registry.test/a:1"]).await.0, 200);
    let response = reqwest::get(h.metrics_url()).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        imagegate_provider::METRICS_CONTENT_TYPE
    );
    let text = response.text().await.unwrap();
    for series in [
        "ratify_verification_request_count 1",
        "ratify_verification_request_bucket{le=\"4900\"} 1",
        "ratify_mutation_request_count 1",
        "ratify_mutation_request_bucket{le=\"1800\"} 1",
        "ratify_registry_request_count_total{registry_host=\"registry.test\",status_code=\"200\",workload_namespace=\"team-a\"} 1",
        "ratify_blob_cache_count_total{hit=\"false\",workload_namespace=\"\"} 2",
        "ratify_verifier_duration_count{error=\"\",subject=\"registry.test/a\",success=\"true\",verifier=\"verifier-notation\",workload_namespace=\"\"} 1",
    ] {
        assert!(text.contains(series), "missing {series} in\n{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_in_flight_requests() {
    let mut h = start().await;
    let client = h.client();
    let url = h.url(imagegate_provider::VERIFY_PATH);
    let in_flight = tokio::spawn(async move {
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .body(r#"{"request":{"keys":["sleep-1000/registry.test/slow"]}}"#)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    });
    crate::support::wait_until("the slow key to start", || {
        h.handler.counters.started.load(Ordering::SeqCst) == 1
    })
    .await;

    let health = h.health_url("/readyz");
    let server = h.server.take().unwrap();
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Not ready any more while draining; new connections to the provider are refused.
    assert_eq!(get(&health).await, (503, "shutting down".to_owned()));
    assert!(tokio::net::TcpStream::connect(h.addrs.provider)
        .await
        .is_err());

    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"image\":\"sleep-1000/registry.test/slow\""),
        "{body}"
    );
    stopping.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(h.addrs.health.unwrap())
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_errors_name_the_problem() {
    let metrics = Metrics::new().unwrap();
    let handler = TestHandler::new(metrics.clone());
    let dir = tempfile::tempdir().unwrap();

    // Missing files.
    let config = local_config(Transport::Tls(TlsFiles::new(dir.path())), |_| {});
    let err = Server::start(config, handler.clone(), metrics.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, ProviderError::Tls(_)), "{err}");
    assert!(err.to_string().contains("tls.crt"), "{err}");

    // A certificate with someone else's key.
    let ca = Ca::new("ca");
    let (a, b) = (ca.server("a"), ca.server("b"));
    std::fs::write(dir.path().join("tls.crt"), &a.cert_pem).unwrap();
    std::fs::write(dir.path().join("tls.key"), &b.key_pem).unwrap();
    let config = local_config(Transport::Tls(TlsFiles::new(dir.path())), |_| {});
    let err = Server::start(config, handler.clone(), metrics.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot be used together"), "{err}");

    // A port already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = local_config(Transport::PlaintextForDevelopment, |c| {
        c.provider_addr = addr
    });
    let err = Server::start(config, handler.clone(), metrics.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ProviderError::Bind {
                listener: "provider",
                ..
            }
        ),
        "{err}"
    );

    // An impossible setting.
    let config = local_config(Transport::PlaintextForDevelopment, |c| {
        c.limits.max_body_bytes = 0
    });
    let err = Server::start(config, handler, metrics).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("max body bytes must be greater than zero"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_until_the_shutdown_future_completes() {
    let metrics = Metrics::new().unwrap();
    let handler = TestHandler::new(metrics.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = local_config(Transport::PlaintextForDevelopment, |_| {});
    let running = tokio::spawn(imagegate_provider::run(config, handler, metrics, async {
        let _ = rx.await;
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!running.is_finished());
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
