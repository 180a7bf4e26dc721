//! Issue 16 item 7: a refusal that says `connection: close` really closes the connection; a
//! request pipelined behind it on the same connection is not served (RFC 9112 §9.6).

use std::sync::atomic::Ordering;

use imagegate_provider::VERIFY_PATH;
use tokio::io::AsyncWriteExt;

use crate::support::{client_config, provider_request, read_to_close, start, tls_connect};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_served_after_a_refusal_that_closes() {
    let h = start().await;
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    let good = serde_json::to_vec(&provider_request(&["registry.example/app:v1"])).unwrap();
    // A refused request (wrong content type, complete body) and a valid one behind it, in
    // one write.
    let mut bytes = format!(
        "POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\ncontent-type: text/plain\r\n\
         content-length: 2\r\n\r\n{{}}"
    )
    .into_bytes();
    bytes.extend_from_slice(
        format!(
            "POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n",
            good.len()
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&good);
    stream.write_all(&bytes).await.unwrap();
    stream.flush().await.unwrap();
    let text = read_to_close(&mut stream).await;
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("connection: close"),
        "{text}"
    );
    assert!(text.contains("systemError"), "{text}");
    assert_eq!(text.matches("HTTP/1.1 ").count(), 1, "{text}");
    assert_eq!(h.handler.counters.started.load(Ordering::SeqCst), 0);

    // A connection without a refusal still serves pipelined requests.
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    let one = format!(
        "POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        good.len()
    );
    let mut two = one.clone().into_bytes();
    two.extend_from_slice(&good);
    two.extend_from_slice(
        one.replace("HTTP/1.1\r\n", "HTTP/1.1\r\nconnection: close\r\n")
            .as_bytes(),
    );
    two.extend_from_slice(&good);
    stream.write_all(&two).await.unwrap();
    let text = read_to_close(&mut stream).await;
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
}
