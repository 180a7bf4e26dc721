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
    // The key waits for the test to open the gate: it is in flight for as long as the test
    // needs, whatever the machine's speed.
    let in_flight = tokio::spawn(async move {
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .body(r#"{"request":{"keys":["gate/registry.test/slow"]}}"#)
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
    // Not ready any more while draining (the stop has begun once /readyz says so)...
    wait_for_readyz(&health, (503, "shutting down")).await;
    // ...the provider listener is closed to new connections...
    wait_for_refusal(h.addrs.provider).await;
    // ...and the stop waits for the in-flight key.
    assert!(!stopping.is_finished());
    assert!(!in_flight.is_finished());

    h.handler.gate.add_permits(1);
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("\"image\":\"gate/registry.test/slow\""),
        "{body}"
    );
    stopping.await.unwrap().unwrap();
    assert!(tokio::net::TcpStream::connect(h.addrs.health.unwrap())
        .await
        .is_err());
}

/// Polls `url` until it answers `want` (10 s at most).
async fn wait_for_readyz(url: &str, want: (u16, &str)) {
    let mut last = (0, String::new());
    for _ in 0..500 {
        if let Ok(response) = reqwest::get(url).await {
            let status = response.status().as_u16();
            last = (status, response.text().await.unwrap_or_default());
            if (last.0, last.1.as_str()) == want {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{url} never answered {want:?}; last {last:?}");
}

/// Polls until a TCP connection to `addr` is refused (10 s at most).
async fn wait_for_refusal(addr: std::net::SocketAddr) {
    for _ in 0..500 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{addr} still accepts connections");
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
    // `run` does not report its addresses: take a free port, and if another process takes
    // it before `run` binds it (a bind error), try another one.
    let mut attempts = 0;
    let (addr, tx, running) = loop {
        attempts += 1;
        assert!(attempts <= 5, "no free port in 5 attempts");
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let config = local_config(Transport::PlaintextForDevelopment, |c| {
            c.provider_addr = addr;
            c.health_addr = None;
            c.metrics_addr = None;
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(imagegate_provider::run(
            config,
            handler.clone(),
            metrics.clone(),
            async {
                let _ = rx.await;
            },
        ));
        // Wait until the port accepts connections or `run` ends.
        loop {
            if running.is_finished() {
                break;
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !running.is_finished() {
            break (addr, tx, running);
        }
        let err = running.await.unwrap().unwrap_err();
        assert!(
            matches!(err, ProviderError::Bind { .. }),
            "run failed: {err}"
        );
    };
    // A real request is served while the shutdown future is pending.
    let (status, body) = post_plain(addr, r#"{"request":{"keys":["registry.test/app:1"]}}"#).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""image":"registry.test/app:1""#), "{body}");
    assert!(!running.is_finished());
    // Completing the future stops the server: `run` returns Ok and the port is closed.
    tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// POSTs `body` to the verify path of a plain-HTTP provider at `addr`.
async fn post_plain(addr: std::net::SocketAddr, body: &'static str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}{}", imagegate_provider::VERIFY_PATH))
        .header("content-type", "application/json")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}
