//! The provider listener, assembled from actix's parts: TCP, TLS 1.3 (or plain HTTP in
//! development), [`RefusalBodies`] under actix-http's HTTP/1 dispatcher, then the
//! application.
//!
//! actix-web's `HttpServer` builds the same chain but leaves no room for a layer between TLS
//! and the dispatcher; that layer is what gives the dispatcher's own refusals (400, 408,
//! 431) their `systemError` body. The settings `HttpServer` applied are applied here the same
//! way (keep-alive, request-head and disconnect timeouts, TLS handshake timeout and pending
//! handshakes, graceful shutdown of idle keep-alive connections, `TCP_NODELAY`).

use std::any::Any;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_http::HttpService;
use actix_server::{GracefulShutdownSignal, Server, ServerBuilder};
use actix_service::{fn_service, map_config, ServiceFactoryExt as _};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use actix_web::dev::AppConfig;
use actix_web::App;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::closing;
use crate::http_refusals::{RefusalBodies, RefusalObserver};
use crate::metrics::Metrics;
use crate::routes::provider::{self, ProviderState};

/// How long an idle keep-alive connection stays open: above Gatekeeper's 90 s idle timeout,
/// so that the client, not the server, closes idle connections (no request races a close).
const KEEP_ALIVE: Duration = Duration::from_secs(95);

/// How long a client may take to send a request head once connected (actix's default):
/// a slower head gets 408.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// After a refused body, how long the connection is read and discarded (never buffered)
/// before it is closed, so that the client reads the refusal instead of a connection reset.
const LINGER: Duration = Duration::from_secs(1);

/// Most TLS handshakes in progress per worker (actix's default is 256). At the limit the
/// worker stops accepting, so a new client waits until a pending handshake ends: an idle
/// connection costs an attacker almost nothing, and 400 of them held a new handshake for
/// 2.9 s with the default limit and timeout. Gatekeeper, the only legitimate client, keeps a
/// few keep-alive connections, so any legitimate load is far below this; an idle pending
/// handshake holds one socket and a few KiB, so 1024 of them per worker stay cheap.
const MAX_PENDING_HANDSHAKES: usize = 1024;

/// How long a client may take to complete its TLS handshake (actix's default is 3 s). On
/// loopback or in-cluster a handshake takes milliseconds; one second leaves a wide margin
/// for a throttled CPU, and keeps any wait behind stalled handshakes well under
/// Gatekeeper's verify deadline (2.9 s). With [`MAX_PENDING_HANDSHAKES`], stalling a worker
/// now takes more than 1000 new connections per second instead of about 85.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// What the provider listener is built from.
pub(crate) struct ProviderListener {
    pub(crate) listener: TcpListener,
    /// `None`: plain HTTP (development only).
    pub(crate) tls: Option<rustls::ServerConfig>,
    pub(crate) state: Arc<ProviderState>,
    pub(crate) metrics: Metrics,
    pub(crate) workers: Option<usize>,
    /// Seconds in-flight requests get to finish on a graceful stop.
    pub(crate) grace: u64,
}

impl ProviderListener {
    /// Starts serving (on the caller's runtime; the workers run their own threads).
    pub(crate) fn run(self) -> std::io::Result<Server> {
        let mut builder = Server::build()
            .disable_signals()
            .shutdown_timeout(self.grace);
        if let Some(workers) = self.workers {
            builder = builder.workers(workers);
        }
        let shutdown = builder.graceful_shutdown_signal();
        let (state, metrics) = (self.state, self.metrics);
        let builder = match self.tls {
            Some(mut config) => {
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                // Process-wide in actix-tls; read by each worker thread when it starts.
                actix_tls::accept::max_concurrent_tls_connect(MAX_PENDING_HANDSHAKES);
                listen_tls(builder, self.listener, config, state, metrics, shutdown)?
            }
            None => listen_plain(builder, self.listener, state, metrics, shutdown)?,
        };
        Ok(builder.run())
    }
}

fn listen_tls(
    builder: ServerBuilder,
    listener: TcpListener,
    config: rustls::ServerConfig,
    state: Arc<ProviderState>,
    metrics: Metrics,
    shutdown: GracefulShutdownSignal,
) -> std::io::Result<ServerBuilder> {
    builder.listen("imagegate-provider", listener, move || {
        let mut acceptor = Acceptor::new(config.clone());
        acceptor.set_handshake_timeout(TLS_HANDSHAKE_TIMEOUT);
        let metrics = metrics.clone();
        acceptor
            .map_init_err(|()| ())
            .map_err(|_| ())
            .and_then(fn_service(move |io: TlsStream<TcpStream>| {
                let wrapped = wrap(io, |io| io.get_ref().0, &metrics);
                async move { Ok::<_, ()>(wrapped) }
            }))
            .and_then(http(Arc::clone(&state), shutdown.clone()))
    })
}

fn listen_plain(
    builder: ServerBuilder,
    listener: TcpListener,
    state: Arc<ProviderState>,
    metrics: Metrics,
    shutdown: GracefulShutdownSignal,
) -> std::io::Result<ServerBuilder> {
    builder.listen("imagegate-provider", listener, move || {
        let metrics = metrics.clone();
        fn_service(move |io: TcpStream| {
            let wrapped = wrap(io, |io| io, &metrics);
            async move { Ok::<_, ()>(wrapped) }
        })
        .and_then(http(Arc::clone(&state), shutdown.clone()))
    })
}

/// `io` (whose TCP socket `tcp` reaches) with `TCP_NODELAY` set, under [`RefusalBodies`],
/// and its peer address: what the HTTP/1 service takes.
fn wrap<IO>(
    io: IO,
    tcp: impl FnOnce(&IO) -> &TcpStream,
    metrics: &Metrics,
) -> (RefusalBodies<IO>, Option<SocketAddr>) {
    let socket = tcp(&io);
    let peer = socket.peer_addr().ok();
    let _ = socket.set_nodelay(true);
    let observer = RefusalObserver {
        metrics: metrics.clone(),
        peer,
        head_timeout: HEAD_TIMEOUT,
    };
    (RefusalBodies::new(io, observer), peer)
}

/// actix-http's HTTP/1 service over a wrapped stream, serving the provider application.
fn http<IO>(
    state: Arc<ProviderState>,
    shutdown: GracefulShutdownSignal,
) -> impl actix_service::ServiceFactory<
    (RefusalBodies<IO>, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = (),
    InitError = (),
>
where
    IO: AsyncRead + AsyncWrite + Unpin + 'static,
{
    let app = App::new().configure(provider::configure(state));
    HttpService::build()
        .keep_alive(KEEP_ALIVE)
        .client_request_timeout(HEAD_TIMEOUT)
        .client_disconnect_timeout(LINGER)
        .graceful_shutdown_signal(move || {
            let shutdown = shutdown.clone();
            async move { shutdown.notified().await }
        })
        .on_connect_ext(|io: &RefusalBodies<IO>, data| closing::on_connect(io as &dyn Any, data))
        .h1(map_config(app, |()| AppConfig::default()))
        .map_err(|_| ())
}
