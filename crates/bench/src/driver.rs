//! The load driver: HTTP/1.1 keep-alive connections over TLS 1.3 with a client certificate
//! (hyper on tokio-rustls), each sending one request at a time, either as fast as the server
//! answers (closed loop) or at a fixed rate (open loop), for a fixed duration.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::error::BenchError;
use crate::stats::Latency;

/// Largest response body read (ProviderResponses of one key are far smaller).
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
/// Most latency samples kept per run (beyond this, requests are counted but not sampled).
const MAX_SAMPLES: usize = 2_000_000;
/// Bound on connecting plus the TLS handshake.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on one request in the benchmarks.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and what to send.
#[derive(Clone)]
pub struct Target {
    /// The server (127.0.0.1).
    pub addr: SocketAddr,
    /// The request path.
    pub path: String,
    /// TLS client settings (with the client certificate).
    pub tls: Arc<rustls::ClientConfig>,
}

/// How requests are paced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Each connection sends its next request as soon as the previous answer arrives.
    ClosedLoop,
    /// All connections together send this many requests per second, evenly spread.
    Rate(f64),
}

/// The outcome of one timed run.
#[derive(Clone, Debug)]
pub struct RunStats {
    /// Requests answered with HTTP 200.
    pub ok: u64,
    /// Requests that failed or got another status.
    pub errors: u64,
    /// The first failure, for the report.
    pub first_error: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of the successful requests, from send to the last body byte.
    pub latency: Latency,
}

impl RunStats {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// One keep-alive HTTP/1.1 connection over TLS.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    path: String,
}

impl Connection {
    /// Connects, completes the TLS 1.3 handshake (presenting the client certificate) and the
    /// HTTP/1.1 handshake.
    pub async fn open(target: &Target) -> Result<Self, BenchError> {
        let connect = async {
            let tcp = TcpStream::connect(target.addr)
                .await
                .map_err(|e| BenchError::Driver(format!("connect {}: {e}", target.addr)))?;
            tcp.set_nodelay(true)
                .map_err(|e| BenchError::Driver(format!("TCP_NODELAY: {e}")))?;
            let name = ServerName::IpAddress(target.addr.ip().into());
            let tls = TlsConnector::from(Arc::clone(&target.tls))
                .connect(name, tcp)
                .await
                .map_err(|e| BenchError::Driver(format!("TLS handshake: {e}")))?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
                .await
                .map_err(|e| BenchError::Driver(format!("HTTP handshake: {e}")))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok::<_, BenchError>(sender)
        };
        let sender = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| BenchError::Timeout {
                what: "connecting to the server under test",
                seconds: CONNECT_TIMEOUT.as_secs(),
            })??;
        Ok(Self {
            sender,
            host: target.addr.to_string(),
            path: target.path.clone(),
        })
    }

    /// Sends `body` as a JSON POST and reads the whole answer: status and body.
    pub async fn post(&mut self, body: Bytes) -> Result<(u16, Bytes), BenchError> {
        let exchange = async {
            self.sender
                .ready()
                .await
                .map_err(|e| BenchError::Driver(format!("connection closed: {e}")))?;
            let request = hyper::Request::post(self.path.as_str())
                .header(HOST, self.host.as_str())
                .header(CONTENT_TYPE, "application/json")
                .body(Full::new(body))
                .map_err(|e| BenchError::Driver(format!("building the request: {e}")))?;
            let response = self
                .sender
                .send_request(request)
                .await
                .map_err(|e| BenchError::Driver(format!("sending: {e}")))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| BenchError::Driver(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| BenchError::Timeout {
                what: "an answer from the server under test",
                seconds: REQUEST_TIMEOUT.as_secs(),
            })?
    }
}

/// A ProviderRequest body with `keys`.
pub fn provider_request(keys: &[String]) -> Bytes {
    let body = serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": keys}
    });
    Bytes::from(body.to_string())
}

/// Opens `connections` connections, then sends `body` on all of them for `duration` at
/// `pace`. Connection set-up is not part of the measured time.
pub async fn run(
    target: &Target,
    connections: usize,
    duration: Duration,
    pace: Pace,
    body: Bytes,
) -> Result<RunStats, BenchError> {
    let connections = connections.max(1);
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Connection::open(target).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let per_conn_samples = MAX_SAMPLES / connections;
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, conn)| {
            let body = body.clone();
            let ticker = match pace {
                Pace::ClosedLoop => None,
                Pace::Rate(rate) => {
                    let period = Duration::from_secs_f64(connections as f64 / rate.max(1.0));
                    let offset = period.mul_f64(i as f64 / connections as f64);
                    let mut t = tokio::time::interval_at((start + offset).into(), period);
                    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    Some(t)
                }
            };
            tokio::spawn(drive(conn, body, deadline, ticker, per_conn_samples))
        })
        .collect();
    let mut all = Vec::new();
    let (mut ok, mut errors, mut first_error) = (0, 0, None);
    for task in tasks {
        let r = task
            .await
            .map_err(|e| BenchError::Driver(format!("driver task failed: {e}")))?;
        ok += r.ok;
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
        all.extend(r.samples);
    }
    Ok(RunStats {
        ok,
        errors,
        first_error,
        elapsed: start.elapsed(),
        latency: Latency::of(&mut all),
    })
}

struct ConnResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    samples: Vec<u32>,
}

async fn drive(
    mut conn: Connection,
    body: Bytes,
    deadline: Instant,
    mut ticker: Option<tokio::time::Interval>,
    max_samples: usize,
) -> ConnResult {
    let mut r = ConnResult {
        ok: 0,
        errors: 0,
        first_error: None,
        samples: Vec::with_capacity(max_samples.min(1 << 16)),
    };
    loop {
        if let Some(t) = ticker.as_mut() {
            if tokio::time::timeout_at(deadline.into(), t.tick())
                .await
                .is_err()
            {
                break;
            }
        }
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        match conn.post(body.clone()).await {
            Ok((200, _)) => {
                r.ok += 1;
                if r.samples.len() < max_samples {
                    let us = sent.elapsed().as_micros();
                    r.samples.push(u32::try_from(us).unwrap_or(u32::MAX));
                }
            }
            Ok((status, body)) => {
                r.errors += 1;
                r.first_error.get_or_insert_with(|| {
                    format!("HTTP {status}: {}", String::from_utf8_lossy(&body))
                });
            }
            Err(e) => {
                r.errors += 1;
                r.first_error.get_or_insert_with(|| e.to_string());
                // A broken connection stays broken: stop this connection.
                break;
            }
        }
    }
    r
}
