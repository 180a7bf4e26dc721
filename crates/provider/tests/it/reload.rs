//! Hot reload of the server certificate and the client CA, keeping open connections.

use crate::support::pki::{write_atomic, Ca};
use crate::support::{client_config, start, tls_connect, verify_on, wait_until};

const TLS13: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// The leaf certificate the server presents on a new connection.
async fn served_cert(h: &crate::support::Harness) -> Vec<u8> {
    let stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), TLS13),
    )
    .await
    .unwrap();
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_server_certificate_is_served_without_dropping_connections() {
    let h = start().await;
    let mut open = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), TLS13),
    )
    .await
    .unwrap();
    assert!(verify_on(&mut open, "a")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));

    let new_leaf = h.ca.server("server-2");
    new_leaf.write_server_files(h.dir.path());
    wait_until("the server certificate reload", || {
        h.metrics.tls_reload_count("server_cert", true) == 1
    })
    .await;

    assert_eq!(served_cert(&h).await, new_leaf.cert_der().to_vec());
    // The connection opened before the rotation still works.
    assert!(verify_on(&mut open, "b")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_server_files_are_rejected_and_the_old_certificate_stays() {
    let h = start().await;
    let original = served_cert(&h).await;

    write_atomic(&h.dir.path().join("tls.crt"), b"not a certificate");
    wait_until("the bad certificate to be rejected", || {
        h.metrics.tls_reload_count("server_cert", false) == 1
    })
    .await;
    assert_eq!(served_cert(&h).await, original);

    // A valid certificate with a key that does not belong to it is rejected as well.
    let other = h.ca.server("server-3");
    write_atomic(&h.dir.path().join("tls.crt"), other.cert_pem.as_bytes());
    wait_until("the mismatched pair to be rejected", || {
        h.metrics.tls_reload_count("server_cert", false) == 2
    })
    .await;
    assert_eq!(served_cert(&h).await, original);

    // Once the matching key arrives too, the pair loads.
    write_atomic(&h.dir.path().join("tls.key"), other.key_pem.as_bytes());
    wait_until("the fixed pair to load", || {
        h.metrics.tls_reload_count("server_cert", true) == 1
    })
    .await;
    assert_eq!(served_cert(&h).await, other.cert_der().to_vec());
    assert_eq!(h.metrics.tls_reload_count("server_cert", false), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_client_ca_refuses_old_clients_and_accepts_new_ones() {
    let h = start().await;
    let old_config = client_config(&h.ca, Some(&h.client_leaf), TLS13);
    let mut open = tls_connect(h.addrs.provider, old_config.clone())
        .await
        .unwrap();
    assert!(verify_on(&mut open, "a")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));

    let new_ca = Ca::new("rotated client CA");
    let new_client = new_ca.client("gatekeeper-rotated");
    write_atomic(
        &h.dir.path().join("client-ca.crt"),
        new_ca.cert_pem.as_bytes(),
    );
    wait_until("the client CA reload", || {
        h.metrics.tls_reload_count("client_ca", true) == 1
    })
    .await;

    let mut refused = tls_connect(h.addrs.provider, old_config).await.unwrap();
    let err = verify_on(&mut refused, "b").await.unwrap_err().to_string();
    assert!(err.contains("UnknownCA"), "{err}");

    let mut fresh = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&new_client), TLS13),
    )
    .await
    .unwrap();
    assert!(verify_on(&mut fresh, "c")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));
    // The connection authenticated before the rotation is not dropped.
    assert!(verify_on(&mut open, "d")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_client_ca_is_rejected_and_the_old_one_stays() {
    let h = start().await;
    write_atomic(
        &h.dir.path().join("client-ca.crt"),
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    wait_until("the bad client CA to be rejected", || {
        h.metrics.tls_reload_count("client_ca", false) == 1
    })
    .await;
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), TLS13),
    )
    .await
    .unwrap();
    assert!(verify_on(&mut stream, "a")
        .await
        .unwrap()
        .starts_with("HTTP/1.1 200"));
}
