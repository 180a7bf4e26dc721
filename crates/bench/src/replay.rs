//! A registry with capacity, for the cold-burst benchmark: a loopback HTTP server that holds
//! every request for a fixed delay (as [`crate::delay::DelayProxy`] does) and then answers it
//! from memory with the real registry's own answer — status, headers and body, recorded from
//! `docker-registry` the first time that request was seen.
//!
//! Debian's registry spends one to three milliseconds of CPU per request on this machine, so
//! a burst of hundreds of requests measures the registry's CPU, not the client. Replaying its
//! answers from memory takes that CPU away and leaves what the burst benchmark is about: the
//! round trips and the client's own work. The answers are the registry's bytes, so what the
//! client parses and verifies is unchanged. Only `GET` and `HEAD` are served (the benchmark
//! reads); anything else gets 405.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderMap, ACCEPT, CONNECTION, TRANSFER_ENCODING};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::BenchError;

/// Most distinct answers recorded (the benchmark needs a few per image).
const MAX_RECORDED: usize = 100_000;
/// Bound on one request to the real registry while recording.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// One recorded answer.
#[derive(Clone)]
struct Recorded {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

struct Shared {
    upstream: String,
    delay: Duration,
    client: reqwest::Client,
    answers: Mutex<HashMap<String, Recorded>>,
    served: AtomicUsize,
    recorded: AtomicUsize,
}

/// A running replaying registry; stops accepting when dropped.
pub struct ReplayRegistry {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl ReplayRegistry {
    /// Listens on a free loopback port; records from the registry at `upstream`
    /// (`127.0.0.1:<port>`) and answers every request after `delay`.
    pub async fn start(upstream: &str, delay: Duration) -> Result<Self, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| BenchError::setup("the replaying registry", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::setup("the replaying registry", e))?;
        let client = reqwest::Client::builder()
            .timeout(UPSTREAM_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BenchError::setup("the replaying registry's client", e))?;
        let shared = Arc::new(Shared {
            upstream: format!("http://{upstream}"),
            delay,
            client,
            answers: Mutex::new(HashMap::new()),
            served: AtomicUsize::new(0),
            recorded: AtomicUsize::new(0),
        });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far (recorded or replayed).
    pub fn served(&self) -> usize {
        self.shared.served.load(Ordering::Relaxed)
    }

    /// Requests that had to be recorded from the real registry so far.
    pub fn recorded(&self) -> usize {
        self.shared.recorded.load(Ordering::Relaxed)
    }
}

impl Drop for ReplayRegistry {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    tokio::time::sleep(shared.delay).await;
    shared.served.fetch_add(1, Ordering::Relaxed);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "the replaying registry only reads",
        );
    }
    let target = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let accept = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let key = format!("{} {target} {accept}", req.method());
    let known = shared
        .answers
        .lock()
        .ok()
        .and_then(|answers| answers.get(&key).cloned());
    let recorded = match known {
        Some(r) => r,
        None => match record(shared, req.method(), &target, &accept).await {
            Ok(r) => {
                shared.recorded.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut answers) = shared.answers.lock() {
                    if answers.len() < MAX_RECORDED {
                        answers.insert(key, r.clone());
                    }
                }
                r
            }
            Err(e) => return plain(StatusCode::BAD_GATEWAY, &e.to_string()),
        },
    };
    let mut response = Response::new(Full::new(recorded.body));
    *response.status_mut() = recorded.status;
    *response.headers_mut() = recorded.headers;
    response
}

/// Asks the real registry once.
async fn record(
    shared: &Shared,
    method: &Method,
    target: &str,
    accept: &str,
) -> Result<Recorded, reqwest::Error> {
    // reqwest and hyper share the `http` crate's types.
    let mut request = shared
        .client
        .request(method.clone(), format!("{}{target}", shared.upstream));
    if !accept.is_empty() {
        request = request.header(ACCEPT, accept);
    }
    let upstream = request.send().await?;
    let status = upstream.status();
    let mut headers = upstream.headers().clone();
    headers.remove(CONNECTION);
    headers.remove(TRANSFER_ENCODING);
    let body = upstream.bytes().await?;
    Ok(Recorded {
        status,
        headers,
        body,
    })
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_once_from_upstream_then_from_memory() {
        // The "registry": counts what reaches it and answers with a marked body.
        let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = upstream.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = upstream.accept().await {
                let counted = counted.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let n = counted.fetch_add(1, Ordering::Relaxed) + 1;
                        async move {
                            let mut r = Response::new(Full::new(Bytes::from(format!(
                                "{} #{n}",
                                req.uri().path()
                            ))));
                            r.headers_mut().insert(
                                "docker-content-digest",
                                hyper::header::HeaderValue::from_static("sha256:ab"),
                            );
                            Ok::<_, Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let replay = ReplayRegistry::start(&upstream_addr.to_string(), Duration::from_millis(5))
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("http://{}/v2/a/manifests/x", replay.addr());
        for _ in 0..3 {
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.headers()["docker-content-digest"], "sha256:ab");
            assert_eq!(r.text().await.unwrap(), "/v2/a/manifests/x #1");
        }
        let post = client.post(&url).send().await.unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(hits.load(Ordering::Relaxed), 1);
        assert_eq!((replay.served(), replay.recorded()), (4, 1));
    }
}
