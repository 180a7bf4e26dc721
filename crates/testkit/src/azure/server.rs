//! An HTTPS/1.1 server (one request per connection) with an async handler, on its own
//! thread and runtime, for the Azure emulators. Stops, with every open connection, on drop.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::http::{read_request, write_full, Reply, Request};

/// The boxed future an [`AsyncHandler`] returns.
pub type ReplyFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;
/// The request handler of a [`TlsServer`].
pub type AsyncHandler = Arc<dyn Fn(Request) -> ReplyFuture + Send + Sync>;

/// A running HTTPS (or, without a TLS config, plain HTTP) server on 127.0.0.1.
pub struct TlsServer {
    /// The port it listens on.
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
}

impl TlsServer {
    /// Starts answering every request with `handler`; TLS when `tls` is given.
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: AsyncHandler) -> Self {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (stop, mut stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
                loop {
                    let accepted = tokio::select! {
                        _ = &mut stopped => break,
                        a = listener.accept() => a,
                    };
                    let Ok((stream, _)) = accepted else { continue };
                    let h = handler.clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        match acceptor {
                            Some(a) => {
                                if let Ok(mut s) = a.accept(stream).await {
                                    let _ = serve(&mut s, h).await;
                                }
                            }
                            None => {
                                let mut s = stream;
                                let _ = serve(&mut s, h).await;
                            }
                        }
                    });
                }
            });
            rt.shutdown_background();
        });
        Self {
            port,
            stop: Some(stop),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve<S>(stream: &mut S, handler: AsyncHandler) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let Some(req) = read_request(stream).await? else {
        return Ok(());
    };
    let head_only = req.method == "HEAD";
    let (status, headers, body) = match handler(req).await {
        Reply::Full {
            status,
            headers,
            body,
        } => (status, headers, body),
        _ => (
            500,
            Vec::new(),
            b"emulator replies are always Full".to_vec(),
        ),
    };
    write_full(stream, status, &headers, &body, head_only).await?;
    stream.flush().await?;
    stream.shutdown().await?;
    Ok(())
}
