//! Request abuse beyond what `crates/provider/tests/it/bad_input.rs` covers (50 MiB bodies,
//! 1001 keys, bad JSON): deeply nested JSON and slowloris clients.

use std::time::Duration;

use imagegate_provider::VERIFY_PATH;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::{metrics_text, post, tls_connect, Provider};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deeply_nested_json_gets_a_clear_400_and_the_server_stays_up() {
    let p = Provider::start().await;
    let depth = 100_000;
    let open = "[".repeat(depth);
    let close = "]".repeat(depth);
    let objects = format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let cases = [
        // A bare array, never closed.
        (
            open.clone(),
            Some("not valid JSON (EOF while parsing a list"),
        ),
        // Nested arrays where the keys belong: refused at the first inner `[`.
        (
            format!(r#"{{"request":{{"keys":{open}{close}}}}}"#),
            Some("not a ProviderRequest (invalid type: sequence, expected a string"),
        ),
        // Nested values in fields nobody reads: skipped without recursion (serde_json
        // ignores values iteratively), so the request is served; no stack is at risk.
        (
            format!(r#"{{"request":{{"keys":["a"]}},"extra":{open}{close}}}"#),
            None,
        ),
        (
            format!(r#"{{"request":{{"keys":["a"],"extra":{objects}}}}}"#),
            None,
        ),
    ];
    for (body, want) in cases {
        let mut stream = p.connect().await;
        let started = Instant::now();
        let response = post(&mut stream, VERIFY_PATH, body.as_bytes())
            .await
            .unwrap();
        match want {
            Some(want) => {
                assert!(response.starts_with("HTTP/1.1 400"), "{response}");
                assert!(
                    response.contains(&format!("BAD_REQUEST: the request body is {want}")),
                    "{response}"
                );
            }
            None => {
                assert!(response.starts_with("HTTP/1.1 200"), "{response}");
                assert!(response.contains(r#""key":"a""#), "{response}");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // Only the two well-formed requests reached the engine, and the server still answers.
    assert_eq!(p.handler.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    let ok = p.verify(&["registry.test/after:1"]).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    // Operators see the refusals.
    let metrics = metrics_text(p.metrics_addr).await;
    for code in ["NOT_JSON", "WRONG_SHAPE"] {
        let line = format!(
            "ratify_system_error_count_total{{error=\"{code}\",workload_namespace=\"\"}} 1"
        );
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
    p.stop().await;
}

/// How a slow connection ended.
#[derive(Debug, PartialEq)]
enum Ended {
    /// The server answered (e.g. 408) or closed the connection.
    ByServer,
    /// Still open when the test stopped waiting.
    StillOpen,
}

/// Writes `bytes` one byte every `gap`, then waits; returns when the server gives up on
/// the connection or after `limit`.
async fn dribble<S>(mut stream: S, bytes: Vec<u8>, gap: Duration, limit: Duration) -> Ended
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let run = async {
        let mut buf = [0u8; 1024];
        for b in bytes {
            tokio::select! {
                // Any answer, EOF or error from the server ends the connection's life.
                _ = stream.read(&mut buf) => return,
                _ = tokio::time::sleep(gap) => {}
            }
            if stream.write_all(&[b]).await.is_err() || stream.flush().await.is_err() {
                return;
            }
        }
        let _ = stream.read(&mut buf).await;
    };
    match tokio::time::timeout(limit, run).await {
        Ok(()) => Ended::ByServer,
        Err(_) => Ended::StillOpen,
    }
}

/// Slowloris: many connections that never finish their TLS handshake, their request head or
/// their body. Each is cut off by a server-side timeout (TLS handshake 1 s, request head
/// 5 s, body 5 s: the provider's defaults), and a well-behaved client is served promptly
/// all along.
///
/// Time bounds are set between what the property allows and what breaking it costs, so a
/// loaded machine does not fail the test: a new client held up behind pending handshakes
/// waits whole handshake timeouts (with actix's default of 256 pending handshakes per
/// worker, 900 idle connections cost a new client three of them, 3 s), so it must finish
/// within two (2 s); a client held up behind a dribbling request would wait for its 5 s
/// timeout, so each request must finish within 2 s as well.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_cut_off_and_others_are_served_promptly() {
    const EACH: usize = 60;
    // Well above actix's default of 256 TLS handshakes in progress per worker, which made
    // every new handshake wait for a pending one to time out; the provider allows 1024 per
    // worker (crates/provider/src/listener.rs).
    const PRE_HANDSHAKE: usize = 900;
    /// The provider's TLS handshake timeout.
    const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);
    let prompt = 2 * HANDSHAKE_TIMEOUT;
    let p = Provider::start().await;
    let limit = Duration::from_secs(12);
    let gap = Duration::from_millis(250);
    let mut slow = Vec::new();
    // 1. TCP only: never send a ClientHello.
    for _ in 0..PRE_HANDSHAKE {
        let tcp = TcpStream::connect(p.addr).await.unwrap();
        slow.push(tokio::spawn(dribble(tcp, Vec::new(), gap, limit)));
    }
    // A new TLS client is not held up by the pending handshakes.
    let t0 = Instant::now();
    drop(p.connect().await);
    assert!(t0.elapsed() < prompt, "handshake took {:?}", t0.elapsed());
    // 2. Valid TLS, then the request head one byte at a time, never finished.
    let head = format!(
        "POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\nx-pad: {}",
        "a".repeat(200)
    );
    for _ in 0..EACH {
        let stream = p.connect().await;
        slow.push(tokio::spawn(dribble(
            stream,
            head.clone().into_bytes(),
            gap,
            limit,
        )));
    }
    // 3. A complete head announcing a body that arrives one byte at a time.
    let body_head = format!(
        "POST {VERIFY_PATH} HTTP/1.1\r\nhost: provider.test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n"
    );
    for _ in 0..EACH {
        let mut stream = p.connect().await;
        stream.write_all(body_head.as_bytes()).await.unwrap();
        slow.push(tokio::spawn(dribble(stream, vec![b' '; 1000], gap, limit)));
    }

    // A normal client, many times during the attack: each request well within a second.
    let started = Instant::now();
    let mut worst = Duration::ZERO;
    let mut served = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let t = Instant::now();
        let mut stream = tls_connect(p.addr, p.tls(Some(&p.client))).await.unwrap();
        let response = post(
            &mut stream,
            VERIFY_PATH,
            br#"{"request":{"keys":["registry.test/app:1"]}}"#,
        )
        .await
        .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        worst = worst.max(t.elapsed());
        served += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served >= 2, "only {served} requests served in 4 s");
    assert!(worst < prompt, "slowest request took {worst:?}");

    // Every slow connection was ended by the server, none was left to hold resources.
    let mut still_open = 0;
    for task in slow {
        if task.await.unwrap() == Ended::StillOpen {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "slow connections the server never cut off");
    let ok = p.verify(&["registry.test/after:1"]).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    p.stop().await;
}
