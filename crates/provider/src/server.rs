//! Starting and stopping the three listeners.

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};
use tokio::task::JoinHandle;

use crate::config::{ServerConfig, Transport};
use crate::dispatch::Dispatcher;
use crate::error::ProviderError;
use crate::handler::KeyHandler;
use crate::listener::ProviderListener;
use crate::metrics::Metrics;
use crate::routes::health::HealthState;
use crate::routes::provider::ProviderState;
use crate::routes::{health, metrics as metrics_route};
use crate::tls::TlsState;
use crate::trace::TraceIds;

/// The addresses the listeners actually bound (port 0 resolved).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct BoundAddrs {
    /// The provider listener (HTTPS unless plain HTTP was asked for).
    pub provider: SocketAddr,
    /// The health listener, if enabled.
    pub health: Option<SocketAddr>,
    /// The metrics listener, if enabled.
    pub metrics: Option<SocketAddr>,
}

/// A running provider; stop it with [`Server::stop`]. Dropping it stops the listeners
/// without waiting for in-flight requests.
#[derive(Debug)]
pub struct Server {
    addrs: BoundAddrs,
    listeners: Vec<Listener>,
    reloader: Option<JoinHandle<()>>,
    stopping: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Listener {
    name: &'static str,
    handle: ServerHandle,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

/// Starts the provider, waits for `shutdown`, then stops gracefully.
///
/// Pass [`crate::shutdown_signal`] as `shutdown` to stop on SIGTERM or SIGINT.
pub async fn run(
    config: ServerConfig,
    handler: Arc<dyn KeyHandler>,
    metrics: Metrics,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), ProviderError> {
    let server = Server::start(config, handler, metrics).await?;
    shutdown.await;
    server.stop().await
}

// === impl Server ===

impl Server {
    /// Validates `config`, loads TLS material, binds every listener and starts serving.
    ///
    /// Must be called within a tokio runtime; the listeners run their own worker threads.
    pub async fn start(
        config: ServerConfig,
        handler: Arc<dyn KeyHandler>,
        metrics: Metrics,
    ) -> Result<Self, ProviderError> {
        config.validate()?;
        let tls = match &config.transport {
            Transport::Tls(files) => Some(TlsState::load(files).await?),
            Transport::PlaintextForDevelopment => {
                tracing::warn!(
                    "serving plain HTTP: Gatekeeper requires HTTPS; use only in development"
                );
                None
            }
        };
        let grace =
            config.shutdown_grace.as_secs() + u64::from(config.shutdown_grace.subsec_nanos() > 0);
        let stopping = Arc::new(AtomicBool::new(false));
        let mut server = Self {
            addrs: BoundAddrs {
                provider: config.provider_addr,
                health: None,
                metrics: None,
            },
            listeners: Vec::new(),
            reloader: None,
            stopping: Arc::clone(&stopping),
        };

        let state = Arc::new(ProviderState {
            dispatcher: Dispatcher::new(
                Arc::clone(&handler),
                config.limits.max_key_bytes,
                config.deadlines,
            ),
            metrics: metrics.clone(),
            trace_ids: TraceIds::new(&config.trace_id_headers),
            limits: config.limits.clone(),
        });
        let listener = bind("provider", config.provider_addr)?;
        server.addrs.provider = local_addr("provider", config.provider_addr, &listener)?;
        let addr = server.addrs.provider;
        let http = ProviderListener {
            listener,
            tls: match &tls {
                Some(tls) => Some(tls.server_config()?),
                None => None,
            },
            state,
            metrics: metrics.clone(),
            workers: config.workers.map(NonZeroUsize::get),
            grace,
        }
        .run()
        .map_err(|source| bind_error("provider", addr, source))?;
        server.push("provider", http);

        if let Some(addr) = config.health_addr {
            let state = web::Data::new(HealthState { handler, stopping });
            let routes = move || health::configure(state.clone());
            server.addrs.health = Some(server.start_plain("health", addr, grace, routes)?);
        }
        if let Some(addr) = config.metrics_addr {
            let data = web::Data::new(metrics.clone());
            let routes = move || metrics_route::configure(data.clone());
            server.addrs.metrics = Some(server.start_plain("metrics", addr, grace, routes)?);
        }

        if let Some(tls) = tls {
            server.reloader = Some(tokio::spawn(tls.reload_loop(metrics)));
        }
        tracing::info!(
            provider = %server.addrs.provider,
            health = ?server.addrs.health,
            metrics = ?server.addrs.metrics,
            tls = matches!(config.transport, Transport::Tls(_)),
            "provider listening"
        );
        Ok(server)
    }

    /// The addresses actually bound.
    pub fn addrs(&self) -> BoundAddrs {
        self.addrs
    }

    /// Stops accepting connections, lets in-flight requests finish within the shutdown grace,
    /// then stops the health and metrics listeners. `/readyz` reports "shutting down" from
    /// the start of the stop.
    pub async fn stop(mut self) -> Result<(), ProviderError> {
        self.stopping.store(true, Ordering::Release);
        tracing::info!("stopping: finishing in-flight requests");
        let mut result = Ok(());
        for listener in &mut self.listeners {
            listener.handle.stop(true).await;
            if let Some(task) = listener.task.take() {
                let outcome = match task.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(err)) => Err(err.to_string()),
                    Err(err) => Err(err.to_string()),
                };
                if let (Err(detail), Ok(())) = (outcome, &result) {
                    result = Err(ProviderError::Serve {
                        listener: listener.name,
                        detail,
                    });
                }
            }
        }
        if let Some(reloader) = self.reloader.take() {
            reloader.abort();
        }
        tracing::info!("stopped");
        result
    }

    /// Starts a one-worker plain-HTTP listener serving the routes `routes` registers.
    fn start_plain<R, C>(
        &mut self,
        name: &'static str,
        addr: SocketAddr,
        grace: u64,
        routes: R,
    ) -> Result<SocketAddr, ProviderError>
    where
        R: Fn() -> C + Clone + Send + 'static,
        C: FnOnce(&mut web::ServiceConfig) + 'static,
    {
        let listener = bind(name, addr)?;
        let bound = local_addr(name, addr, &listener)?;
        let http = HttpServer::new(move || App::new().configure(routes()))
            .disable_signals()
            .shutdown_timeout(grace)
            .workers(1)
            .listen(listener)
            .map_err(|source| bind_error(name, addr, source))?;
        self.push(name, http.run());
        Ok(bound)
    }

    fn push(&mut self, name: &'static str, server: actix_web::dev::Server) {
        let handle = server.handle();
        self.listeners.push(Listener {
            name,
            handle,
            task: Some(tokio::spawn(server)),
        });
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        for listener in &self.listeners {
            if listener.task.is_some() {
                // The command is sent at once; the returned future only waits for completion.
                drop(listener.handle.stop(false));
            }
        }
        if let Some(reloader) = &self.reloader {
            reloader.abort();
        }
    }
}

fn bind(listener: &'static str, addr: SocketAddr) -> Result<TcpListener, ProviderError> {
    TcpListener::bind(addr).map_err(|source| bind_error(listener, addr, source))
}

fn local_addr(
    listener: &'static str,
    addr: SocketAddr,
    socket: &TcpListener,
) -> Result<SocketAddr, ProviderError> {
    socket
        .local_addr()
        .map_err(|source| bind_error(listener, addr, source))
}

fn bind_error(listener: &'static str, addr: SocketAddr, source: std::io::Error) -> ProviderError {
    ProviderError::Bind {
        listener,
        addr,
        source,
    }
}
