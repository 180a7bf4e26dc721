//! Client certificates outside their validity window are refused at the TLS handshake.
//! (No certificate, another CA, TLS 1.2 and plain HTTP: `crates/provider/tests/it/mtls.rs`.)

use time::Duration;

use crate::support::{post, tls_connect, Provider};

/// Handshake plus one request with `leaf`; `Err` carries the TLS alert on refusal.
async fn attempt(p: &Provider, leaf: &crate::support::pki::Leaf) -> Result<String, String> {
    let mut stream = tls_connect(p.addr, p.tls(Some(leaf)))
        .await
        .map_err(|e| e.to_string())?;
    post(
        &mut stream,
        imagegate_provider::VERIFY_PATH,
        br#"{"request":{"keys":["registry.test/app:1"]}}"#,
    )
    .await
    .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_client_certificate_is_refused_at_the_handshake() {
    let p = Provider::start().await;
    // Control: a currently valid certificate from the same CA is served.
    let ok = attempt(&p, &p.client).await.unwrap();
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");

    let expired = p.ca.client_valid(Duration::days(-30), Duration::days(-1));
    let err = attempt(&p, &expired).await.unwrap_err();
    assert!(err.contains("CertificateExpired"), "{err}");
    assert_eq!(
        p.handler.calls.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the refused client reached the engine"
    );
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_yet_valid_client_certificate_is_refused_at_the_handshake() {
    let p = Provider::start().await;
    let future = p.ca.client_valid(Duration::days(1), Duration::days(30));
    let err = attempt(&p, &future).await.unwrap_err();
    // rustls sends the same alert for both ends of the validity window.
    assert!(err.contains("CertificateExpired"), "{err}");
    assert_eq!(p.handler.calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    p.stop().await;
}
