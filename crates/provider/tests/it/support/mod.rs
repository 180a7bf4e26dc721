//! Test harness: a provider on loopback ports with real TLS, and clients for it.

pub mod handler;
pub mod pki;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use imagegate_provider::{BoundAddrs, Metrics, Server, ServerConfig, TlsFiles, Transport};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use self::handler::TestHandler;
use self::pki::{Ca, Leaf, SERVER_NAME};

/// How often the test servers look at their TLS files.
pub const RELOAD_INTERVAL: Duration = Duration::from_millis(100);

pub struct Harness {
    pub server: Option<Server>,
    pub addrs: BoundAddrs,
    pub ca: Ca,
    pub client_leaf: Leaf,
    pub dir: tempfile::TempDir,
    pub handler: Arc<TestHandler>,
    pub metrics: Metrics,
}

/// A provider with mutual TLS on, all listeners on 127.0.0.1 port 0.
pub async fn start() -> Harness {
    start_with(true, |_| {}).await
}

/// A provider with mutual TLS on or off and `tweak` applied to its configuration.
pub async fn start_with(mtls: bool, tweak: impl FnOnce(&mut ServerConfig)) -> Harness {
    let ca = Ca::new("imagegate test CA");
    let dir = tempfile::tempdir().unwrap();
    ca.server("server-1").write_server_files(dir.path());
    let ca_path = dir.path().join("client-ca.crt");
    std::fs::write(&ca_path, &ca.cert_pem).unwrap();
    let mut files = TlsFiles::new(dir.path());
    files.reload_interval = RELOAD_INTERVAL;
    files.client_ca = mtls.then_some(ca_path);
    let config = local_config(Transport::Tls(files), tweak);
    let metrics = Metrics::new().unwrap();
    let handler = TestHandler::new(metrics.clone());
    let server = Server::start(config, handler.clone(), metrics.clone())
        .await
        .unwrap();
    Harness {
        addrs: server.addrs(),
        server: Some(server),
        client_leaf: ca.client("gatekeeper-client"),
        ca,
        dir,
        handler,
        metrics,
    }
}

/// `transport` with every listener on 127.0.0.1 port 0, one worker, then `tweak`.
pub fn local_config(transport: Transport, tweak: impl FnOnce(&mut ServerConfig)) -> ServerConfig {
    let local: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = ServerConfig::new(transport);
    config.provider_addr = local;
    config.health_addr = Some(local);
    config.metrics_addr = Some(local);
    config.workers = std::num::NonZeroUsize::new(1);
    config.shutdown_grace = Duration::from_secs(5);
    tweak(&mut config);
    config
}

impl Harness {
    /// A client trusting the test CA and presenting the valid client certificate.
    pub fn client(&self) -> reqwest::Client {
        let config = client_config(
            &self.ca,
            Some(&self.client_leaf),
            &[&rustls::version::TLS13],
        );
        https_client(config, self.addrs.provider)
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://{SERVER_NAME}:{}{path}", self.addrs.provider.port())
    }

    /// POSTs `body` as JSON; returns status and parsed body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client()
            .post(self.url(path))
            .header("content-type", "application/json")
            .header("x-ms-correlation-request-id", "trace-test")
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let parsed = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("response is not JSON ({err}): {text}"));
        (status, parsed)
    }

    /// `POST /verify` with `keys` in a Gatekeeper-shaped request.
    pub async fn verify(&self, keys: &[&str]) -> (u16, Value) {
        self.post(imagegate_provider::VERIFY_PATH, &provider_request(keys))
            .await
    }

    /// `POST /mutate` with `keys` in a Gatekeeper-shaped request.
    pub async fn mutate(&self, keys: &[&str]) -> (u16, Value) {
        self.post(imagegate_provider::MUTATE_PATH, &provider_request(keys))
            .await
    }

    pub fn health_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addrs.health.unwrap())
    }

    pub fn metrics_url(&self) -> String {
        format!("http://{}/metrics", self.addrs.metrics.unwrap())
    }
}

pub fn provider_request(keys: &[&str]) -> Value {
    serde_json::json!({
        "apiVersion": "externaldata.gatekeeper.sh/v1beta1",
        "kind": "ProviderRequest",
        "request": {"keys": keys},
    })
}

/// A rustls client configuration trusting `ca`, with an optional client identity.
pub fn client_config(
    ca: &Ca,
    identity: Option<&Leaf>,
    versions: &[&'static SupportedProtocolVersion],
) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots);
    match identity {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.cert_der()], leaf.key_der())
            .unwrap(),
        None => builder.with_no_client_auth(),
    }
}

/// A reqwest client using `config` and resolving the test server name to `addr`.
pub fn https_client(config: ClientConfig, addr: SocketAddr) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .resolve(SERVER_NAME, addr)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A raw TLS connection; the handshake's client side may finish before the server refuses.
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

/// Sends a verify request for one key on `stream` and reads one response (keep-alive).
pub async fn verify_on<S>(stream: &mut S, key: &str) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let body = serde_json::to_vec(&provider_request(&[key])).unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: {SERVER_NAME}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        imagegate_provider::VERIFY_PATH,
        body.len()
    );
    let wrote = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.flush().await
    }
    .await;
    // If the server refused the handshake, the write may fail first; the read shows the alert.
    match (wrote, read_response(stream).await) {
        (Ok(()), read) => read,
        (Err(write), Ok(_)) => Err(write),
        (Err(_), Err(read)) => Err(read),
    }
}

/// Reads one HTTP/1.1 response with a `content-length` body, within 10 s.
pub async fn read_response<S>(stream: &mut S) -> std::io::Result<String>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "connection closed after {:?}",
                        String::from_utf8_lossy(&buf)
                    ),
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let len = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
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

/// Reads everything until the server closes (within 10 s).
pub async fn read_to_close<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the connection was not closed");
    String::from_utf8_lossy(&buf).into_owned()
}

/// Polls `done` every 20 ms for up to 10 s.
pub async fn wait_until(what: &str, done: impl Fn() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}
