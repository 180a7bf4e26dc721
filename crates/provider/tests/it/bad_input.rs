//! Malformed requests: a clear `systemError`, the right status, bounded work, no crash.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use imagegate_provider::{MUTATE_PATH, VERIFY_PATH};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::Instant;

use crate::support::{
    client_config, provider_request, read_response, read_to_close, start, start_with, tls_connect,
    Harness,
};

const FIFTY_MIB: usize = 50 * 1024 * 1024;
/// Body bytes a client may have pushed before the refusal reaches it: the 1 MiB limit plus
/// loopback socket buffers, far below 50 MiB.
const BOUND: usize = 16 * 1024 * 1024;

/// Sends `body` with `method` and an optional content type; returns status, `Allow` and body.
async fn send(
    h: &Harness,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Value) {
    let mut request = h
        .client()
        .request(method.parse().unwrap(), h.url(path))
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, allow, body)
}

/// Checks the envelope of a refused request and returns its `systemError`.
fn system_error(body: &Value, idempotent: bool) -> String {
    assert_eq!(body["apiVersion"], "externaldata.gatekeeper.sh/v1alpha1");
    assert_eq!(body["kind"], "ProviderResponse");
    assert!(body["response"].get("items").is_none(), "{body}");
    assert_eq!(
        body["response"].get("idempotent").is_some(),
        idempotent,
        "{body}"
    );
    body["response"]["systemError"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bodies_get_400_with_a_system_error() {
    let h = start().await;
    let json_ct = Some("application/json");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"this is not json".to_vec(), "BAD_REQUEST: the request body is not valid JSON"),
        (b"{\"request\":".to_vec(), "BAD_REQUEST: the request body is not valid JSON"),
        (br#"{"request":{"keys":"registry.test/a"}}"#.to_vec(), "BAD_REQUEST: the request body is not a ProviderRequest (invalid type: string"),
        (br#"["registry.test/a"]"#.to_vec(), "BAD_REQUEST: the request body is not a ProviderRequest (the body is JSON but not an object)"),
        (br#"{"kind":"Pod","request":{"keys":["a"]}}"#.to_vec(), "BAD_REQUEST: the request body is not a ProviderRequest (kind is \"Pod\""),
        (br#"{"request":{"keys":[]}}"#.to_vec(), "BAD_REQUEST: the request has no keys"),
        (b"{}".to_vec(), "BAD_REQUEST: the request has no keys"),
        (Vec::new(), "BAD_REQUEST: the request body is not valid JSON"),
    ];
    for (body, want) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let (status, _, reply) = send(&h, "POST", VERIFY_PATH, json_ct, body).await;
        assert_eq!(status, 400, "{shown}");
        let error = system_error(&reply, false);
        assert!(error.starts_with(want), "{shown}: {error}");
    }
    // The server is still fine.
    assert_eq!(h.verify(&["registry.test/ok"]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutate_errors_are_idempotent_too() {
    let h = start().await;
    let (status, _, reply) = send(
        &h,
        "POST",
        MUTATE_PATH,
        Some("application/json"),
        b"nope".to_vec(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(system_error(&reply, true).starts_with("BAD_REQUEST: "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_keys_are_refused() {
    let h = start().await;
    let keys: Vec<String> = (0..1001).map(|i| format!("registry.test/a{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (status, body) = h.verify(&refs).await;
    assert_eq!(status, 400);
    let error = system_error(&body, false);
    assert!(
        error.contains("1001 keys, over the limit of 1000"),
        "{error}"
    );
    assert_eq!(h.handler.counters.started.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_content_type_is_refused() {
    let h = start().await;
    let body = serde_json::to_vec(&provider_request(&["a"])).unwrap();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, _, reply) = send(&h, "POST", VERIFY_PATH, ct, body.clone()).await;
        assert_eq!(status, 400, "{ct:?}");
        let error = system_error(&reply, false);
        assert!(error.contains("Content-Type: application/json"), "{error}");
    }
    let (status, _, _) = send(
        &h,
        "POST",
        VERIFY_PATH,
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_and_unknown_path_are_refused() {
    let h = start().await;
    let (status, allow, reply) = send(&h, "GET", VERIFY_PATH, None, Vec::new()).await;
    assert_eq!((status, allow.as_deref()), (405, Some("POST")));
    assert_eq!(
        system_error(&reply, false),
        "BAD_REQUEST: method GET is not allowed here; use POST"
    );
    let (status, _, reply) = send(
        &h,
        "PUT",
        MUTATE_PATH,
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 405);
    system_error(&reply, true);
    let (status, _, reply) = send(
        &h,
        "POST",
        "/ratify/gatekeeper/v3/verify",
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(system_error(&reply, false).contains("no endpoint at /ratify/gatekeeper/v3/verify"));
}

/// What happened to a 50 MiB upload.
struct Upload {
    /// The response head and body, or the read error.
    response: String,
    /// Body bytes the client had written when the response arrived.
    written_at_response: usize,
    /// Whether the server closed the connection afterwards (within 10 s).
    closed: bool,
}

/// Streams a 50 MiB body, declared with `content-length` or chunked, reading concurrently.
async fn send_fifty_mib(h: &Harness, chunked: bool) -> Upload {
    let stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = tokio::io::split(stream);
    let framing = if chunked {
        "transfer-encoding: chunked".to_owned()
    } else {
        format!("content-length: {FIFTY_MIB}")
    };
    let head = format!("POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\ncontent-type: application/json\r\n{framing}\r\n\r\n");
    let written = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&written);
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b' '; 64 * 1024];
        while counter.load(Ordering::SeqCst) < FIFTY_MIB {
            let sent = if chunked {
                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                framed.extend_from_slice(&chunk);
                framed.extend_from_slice(b"\r\n");
                writer.write_all(&framed).await
            } else {
                writer.write_all(&chunk).await
            };
            if sent.is_err() {
                return;
            }
            counter.fetch_add(chunk.len(), Ordering::SeqCst);
        }
    });
    let response = read_response(&mut reader)
        .await
        .unwrap_or_else(|e| e.to_string());
    let written_at_response = written.load(Ordering::SeqCst);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut rest))
        .await
        .is_ok();
    writing.abort();
    Upload {
        response,
        written_at_response,
        closed,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_declared_body_is_refused_before_it_is_read() {
    let h = start().await;
    let upload = send_fifty_mib(&h, false).await;
    assert!(
        upload.response.starts_with("HTTP/1.1 413"),
        "{}",
        upload.response
    );
    assert!(
        upload
            .response
            .contains("larger than the 1048576-byte limit"),
        "{}",
        upload.response
    );
    assert!(
        upload.written_at_response < BOUND,
        "answered after {} bytes",
        upload.written_at_response
    );
    assert!(upload.closed, "the server kept the connection open");
    assert_eq!(h.verify(&["registry.test/ok"]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mib_chunked_body_is_cut_off_at_the_limit() {
    let h = start().await;
    let upload = send_fifty_mib(&h, true).await;
    assert!(
        upload.response.starts_with("HTTP/1.1 413"),
        "{}",
        upload.response
    );
    assert!(
        upload.written_at_response < BOUND,
        "answered after {} bytes",
        upload.written_at_response
    );
    assert!(upload.closed, "the server kept the connection open");
    assert_eq!(h.verify(&["registry.test/ok"]).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_limit_is_configurable() {
    let h = start_with(true, |c| c.limits.max_body_bytes = 64).await;
    let keys = ["registry.test/a-rather-long-image-name-that-overflows:v1"; 2];
    let (status, body) = h.verify(&keys).await;
    assert_eq!(status, 413);
    assert!(system_error(&body, false).contains("64-byte limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_arrives_times_out() {
    let h = start_with(true, |c| {
        c.limits.body_read_timeout = Duration::from_millis(300)
    })
    .await;
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    let head = format!("POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"request\"");
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let response = read_response(&mut stream).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(
        response.contains("did not arrive within 300ms"),
        "{response}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_counted_as_system_errors() {
    let h = start().await;
    let _ = send(
        &h,
        "POST",
        VERIFY_PATH,
        Some("application/json"),
        b"x".to_vec(),
    )
    .await;
    let text = reqwest::get(h.metrics_url())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "ratify_system_error_count_total{error=\"NOT_JSON\",workload_namespace=\"\"} 1"
        ),
        "{text}"
    );
}

/// Sends `bytes` on a fresh mTLS connection, then nothing more;
/// returns everything the server wrote until it closed the connection.
async fn raw_exchange(h: &Harness, bytes: &[u8]) -> String {
    let mut stream = tls_connect(
        h.addrs.provider,
        client_config(&h.ca, Some(&h.client_leaf), &[&rustls::version::TLS13]),
    )
    .await
    .unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.flush().await.unwrap();
    read_to_close(&mut stream).await
}

/// Issue 16 item 7: the refusals actix-http's HTTP layer makes on its own (bad framing,
/// oversized head, slow head) carry the same JSON `systemError` as every other refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_layer_refusals_carry_a_system_error() {
    let h = start().await;
    let many_headers: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            b"POST /ratify/gatekeeper/v1/verify HTTP/1.1\r\nhost: provider.test\r\ncontent-length: abc\r\n\r\n".to_vec(),
            400,
            "BAD_REQUEST: the request is not well-formed HTTP/1.1",
        ),
        (
            b"NOT A REQUEST LINE\r\n\r\n".to_vec(),
            400,
            "BAD_REQUEST: the request is not well-formed HTTP/1.1",
        ),
        (
            format!("POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\n{many_headers}\r\n").into_bytes(),
            431,
            "BAD_REQUEST: the request head is too large",
        ),
        // A head that never completes: refused when the head timeout (5 s) passes.
        (
            format!("POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\n").into_bytes(),
            408,
            "BAD_REQUEST: the request head did not arrive within 5s",
        ),
    ];
    for (bytes, status, want) in cases {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
        let text = raw_exchange(&h, &bytes).await;
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "{shown}: {text}"
        );
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains("\r\ncontent-type: application/json"),
            "{shown}: {text}"
        );
        assert!(head.contains("\r\nconnection: close"), "{shown}: {text}");
        assert!(
            head.contains(&format!("\r\ncontent-length: {}", body.len())),
            "{shown}: {text}"
        );
        let reply: Value = serde_json::from_str(body).unwrap();
        let error = system_error(&reply, false);
        assert!(error.starts_with(want), "{shown}: {error}");
    }
    // Counted like the handlers' refusals.
    let metrics = String::from_utf8(h.metrics.encode().unwrap()).unwrap();
    for (code, n) in [
        ("MALFORMED_HTTP", 2),
        ("HEAD_TOO_LARGE", 1),
        ("HEAD_TIMEOUT", 1),
    ] {
        let line = format!(
            "ratify_system_error_count_total{{error=\"{code}\",workload_namespace=\"\"}} {n}"
        );
        assert!(metrics.contains(&line), "{line} not in\n{metrics}");
    }
    // The server still answers.
    let (status, _) = h.verify(&["registry.test/app:v1"]).await;
    assert_eq!(status, 200);
}
