//! The floor of the warm benchmark: an actix-web server with the provider's TLS set-up that
//! reads the request body and answers a constant ProviderResponse. Whatever the provider
//! spends above this is the cost of imagegate itself.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpResponse, HttpServer};
use bytes::Bytes;
use imagegate_provider::VERIFY_PATH;
use tokio::task::JoinHandle;

use crate::error::BenchError;

/// The provider's keep-alive (crates/provider/src/server.rs), so both servers keep
/// connections the same way.
const KEEP_ALIVE: Duration = Duration::from_secs(95);

/// A running floor server; stopped by [`FloorServer::stop`] (or on drop, without waiting).
pub struct FloorServer {
    /// Where it listens (127.0.0.1, a free port).
    pub addr: SocketAddr,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FloorServer {
    /// Starts the floor on a free 127.0.0.1 port with `workers` threads, answering `response`
    /// (JSON) to `POST` [`VERIFY_PATH`].
    pub fn start(
        tls: rustls::ServerConfig,
        workers: usize,
        response: Bytes,
    ) -> Result<Self, BenchError> {
        Self::start_at(tls, workers, response, VERIFY_PATH)
    }

    /// Like [`FloorServer::start`], answering on `path` (e.g. the Ratify v2 verify path).
    pub fn start_at(
        tls: rustls::ServerConfig,
        workers: usize,
        response: Bytes,
        path: &'static str,
    ) -> Result<Self, BenchError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|e| BenchError::io("binding the floor server", "127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::io("reading the floor address", "127.0.0.1:0", e))?;
        let server = HttpServer::new(move || {
            let response = response.clone();
            App::new().route(
                path,
                web::post().to(move |_body: Bytes| {
                    let response = response.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("application/json")
                            .body(response)
                    }
                }),
            )
        })
        .disable_signals()
        .workers(workers.max(1))
        .keep_alive(KEEP_ALIVE)
        .listen_rustls_0_23(listener, tls)
        .map_err(|e| BenchError::setup("the floor server", e))?
        .run();
        let handle = server.handle();
        Ok(Self {
            addr,
            handle,
            task: Some(tokio::spawn(server)),
        })
    }

    /// Stops the server and waits for its workers.
    pub async fn stop(mut self) {
        self.handle.stop(false).await;
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        if self.task.is_some() {
            drop(self.handle.stop(false));
        }
    }
}
