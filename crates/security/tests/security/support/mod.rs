//! Test harness: the real provider on loopback with TLS 1.3 and mutual TLS, a trivial key
//! handler, raw TLS clients.

pub mod pki;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use imagegate_provider::{
    KeyContext, KeyHandler, KeyOutcome, Metrics, RequestKey, Server, ServerConfig, TlsFiles,
    Transport, VERIFY_PATH,
};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use self::pki::{Ca, Leaf, SERVER_NAME};

/// Echoes each key back as its value and counts calls.
#[derive(Default)]
pub struct Echo {
    pub calls: AtomicUsize,
}

impl KeyHandler for Echo {
    fn verify(&self, key: RequestKey, _: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { KeyOutcome::Value(serde_json::json!({"image": key.image})) })
    }

    fn mutate(&self, key: RequestKey, ctx: KeyContext) -> BoxFuture<'static, KeyOutcome> {
        self.verify(key, ctx)
    }

    fn ready(&self) -> bool {
        true
    }
}

/// A provider with mutual TLS against `ca`, every listener on 127.0.0.1 port 0.
pub struct Provider {
    pub server: Option<Server>,
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub ca: Ca,
    pub client: Leaf,
    pub handler: Arc<Echo>,
    _dir: tempfile::TempDir,
}

impl Provider {
    /// Starts the provider with `handler`, its default limits and `workers` HTTP workers.
    pub async fn start_with(
        handler: Arc<dyn KeyHandler>,
        metrics: Metrics,
        workers: usize,
    ) -> (Server, Ca, Leaf, tempfile::TempDir) {
        let ca = Ca::new("imagegate security test CA");
        let dir = tempfile::tempdir().unwrap();
        ca.server().write_server_files(dir.path());
        let ca_path = dir.path().join("client-ca.crt");
        std::fs::write(&ca_path, &ca.cert_pem).unwrap();
        let mut files = TlsFiles::new(dir.path());
        files.client_ca = Some(ca_path);
        let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut config = ServerConfig::new(Transport::Tls(files));
        config.provider_addr = local;
        config.health_addr = None;
        config.metrics_addr = Some(local);
        config.workers = std::num::NonZeroUsize::new(workers);
        config.shutdown_grace = Duration::from_secs(2);
        let server = Server::start(config, handler, metrics).await.unwrap();
        let client = ca.client();
        (server, ca, client, dir)
    }

    /// Starts the provider with the [`Echo`] handler and one worker.
    pub async fn start() -> Self {
        let handler = Arc::new(Echo::default());
        let (server, ca, client, dir) =
            Self::start_with(handler.clone(), Metrics::new().unwrap(), 1).await;
        Self {
            addr: server.addrs().provider,
            metrics_addr: server.addrs().metrics.unwrap(),
            server: Some(server),
            ca,
            client,
            handler,
            _dir: dir,
        }
    }

    /// A TLS 1.3 client configuration trusting the test CA, presenting `identity`.
    pub fn tls(&self, identity: Option<&Leaf>) -> ClientConfig {
        client_config(&self.ca, identity)
    }

    /// A connection with the valid client certificate.
    pub async fn connect(&self) -> TlsStream<TcpStream> {
        tls_connect(self.addr, self.tls(Some(&self.client)))
            .await
            .unwrap()
    }

    /// One verify request with `keys` on a fresh, valid connection: the raw response.
    pub async fn verify(&self, keys: &[&str]) -> String {
        let body = serde_json::json!({"request": {"keys": keys}}).to_string();
        let mut stream = self.connect().await;
        post(&mut stream, VERIFY_PATH, body.as_bytes())
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await.unwrap();
        }
    }
}

/// A TLS 1.3-only client configuration trusting `ca`, presenting `identity` if given.
pub fn client_config(ca: &Ca, identity: Option<&Leaf>) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots);
    match identity {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.cert_der()], leaf.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// Connects and runs the TLS handshake (TLS 1.3: the client side may finish before the
/// server has checked the client certificate; a refusal shows on the first read).
pub async fn tls_connect(
    addr: SocketAddr,
    config: ClientConfig,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(SERVER_NAME).unwrap();
    TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
}

/// Sends one JSON POST and reads the response (head and `content-length` body) within 10 s.
pub async fn post<S>(stream: &mut S, path: &str, body: &[u8]) -> std::io::Result<String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {SERVER_NAME}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    let wrote = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        stream.flush().await
    }
    .await;
    // A refused handshake may fail the write first; the read then shows the alert.
    match (wrote, read_response(stream).await) {
        (Ok(()), read) => read,
        (Err(write), Ok(_)) => Err(write),
        (Err(_), Err(read)) => Err(read),
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body, within 10 s.
pub async fn read_response<S>(stream: &mut S) -> std::io::Result<String>
where
    S: AsyncRead + Unpin,
{
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("closed after {:?}", String::from_utf8_lossy(&buf)),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        let l = l.to_ascii_lowercase();
                        l.strip_prefix("content-length:")
                            .and_then(|v| v.trim().parse::<usize>().ok())
                    })
                    .unwrap_or(0);
                if body.len() >= len {
                    return Ok(text);
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response in 10 s"))?
}

/// `GET /metrics` on the plain-HTTP metrics listener.
pub async fn metrics_text(addr: SocketAddr) -> String {
    reqwest::Client::new()
        .get(format!("http://{addr}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
