//! Mutual TLS: who gets in, who is refused, and at which point.

use std::time::Duration;

use imagegate_provider::{Server, Transport};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::pki::Ca;
use crate::support::{client_config, https_client, start, start_with, tls_connect, verify_on};

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// Handshake plus one request; the error text names the TLS alert on refusal.
async fn attempt(
    addr: std::net::SocketAddr,
    config: rustls::ClientConfig,
) -> Result<String, String> {
    let mut stream = tls_connect(addr, config).await.map_err(|e| e.to_string())?;
    verify_on(&mut stream, "registry.test/app:1")
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_client_is_served_over_tls13() {
    let h = start().await;
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), TLS13),
    )
    .await
    .unwrap();
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let response = verify_on(&mut stream, "registry.test/app:1").await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("\"image\":\"registry.test/app:1\""),
        "{response}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_without_certificate_is_refused() {
    let h = start().await;
    let err = attempt(h.addrs.provider, client_config(&h.ca, None, TLS13))
        .await
        .unwrap_err();
    assert!(err.contains("CertificateRequired"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_from_another_ca_is_refused() {
    let h = start().await;
    let stranger = Ca::new("some other CA").client("intruder");
    let err = attempt(
        h.addrs.provider,
        client_config(&h.ca, Some(&stranger), TLS13),
    )
    .await
    .unwrap_err();
    assert!(err.contains("UnknownCA"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_without_client_auth_usage_is_refused() {
    let h = start().await;
    // Issued by the trusted CA, but for server authentication only.
    let server_only = h.ca.server("not-a-client");
    let err = attempt(
        h.addrs.provider,
        client_config(&h.ca, Some(&server_only), TLS13),
    )
    .await
    .unwrap_err();
    assert!(err.contains("UnsupportedCertificate"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls12_only_client_is_refused() {
    let h = start().await;
    let err = attempt(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), TLS12),
    )
    .await
    .unwrap_err();
    assert!(err.contains("ProtocolVersion"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_the_tls_port_gets_no_http_response() {
    let h = start().await;
    let mut tcp = TcpStream::connect(h.addrs.provider).await.unwrap();
    tcp.write_all(b"POST /ratify/gatekeeper/v1/verify HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the server kept the connection open");
    assert!(
        !buf.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&buf)
    );
    // Whatever came back is at most a TLS alert record (content type 21).
    assert!(buf.is_empty() || buf[0] == 21, "{buf:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_client_ca_any_tls13_client_is_served() {
    let h = start_with(false, |_| {}).await;
    let client = https_client(client_config(&h.ca, None, TLS13), h.addrs.provider);
    let response = client
        .post(h.url(imagegate_provider::VERIFY_PATH))
        .header("content-type", "application/json")
        .body(r#"{"request":{"keys":["a"]}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_mode_serves_http_when_asked_for() {
    let config = crate::support::local_config(Transport::PlaintextForDevelopment, |_| {});
    let metrics = imagegate_provider::Metrics::new().unwrap();
    let handler = crate::support::handler::TestHandler::new(metrics.clone());
    let server = Server::start(config, handler, metrics).await.unwrap();
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}{}",
            server.addrs().provider,
            imagegate_provider::VERIFY_PATH
        ))
        .header("content-type", "application/json")
        .body(r#"{"request":{"keys":["a"]}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    server.stop().await.unwrap();
}
