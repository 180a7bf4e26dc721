//! A minimal HTTP/1.1 server on its own thread and runtime, for mock and hostile
//! registries. One request per connection (`Connection: close`), so every reply
//! shape — including lying or stalling ones — is easy to produce. It stops when the
//! [`MockServer`] is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A parsed request.
#[derive(Clone, Debug)]
pub struct Request {
    /// `GET`, `HEAD`, `PUT`, …
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Lower-case header names.
    pub headers: HashMap<String, String>,
    /// The body (at most 1 MiB is read).
    pub body: Vec<u8>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
    /// The query string, without `?` (empty when there is none).
    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
    /// A header value by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What to answer.
pub enum Reply {
    /// A normal response; `Content-Length` is added unless `headers` has one.
    Full {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The body.
        body: Vec<u8>,
    },
    /// A chunked body of `chunk` repeated `repeat` times (no declared length).
    Chunked {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// One chunk.
        chunk: Vec<u8>,
        /// How many times it is sent.
        repeat: usize,
    },
    /// Declares `declared` bytes, sends `sent`, then stalls for an hour.
    Stall {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// The declared `Content-Length`.
        declared: u64,
        /// What is actually sent before stalling.
        sent: Vec<u8>,
    },
}

impl Reply {
    /// An empty reply with `status`.
    pub fn status(status: u16) -> Self {
        Reply::Full {
            status,
            headers: vec![],
            body: vec![],
        }
    }
    /// A reply with a body and its `Content-Type`.
    pub fn json(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply::Full {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }
    /// Adds a header.
    pub fn with_header(mut self, k: &str, v: &str) -> Self {
        match &mut self {
            Reply::Full { headers, .. }
            | Reply::Chunked { headers, .. }
            | Reply::Stall { headers, .. } => headers.push((k.into(), v.into())),
        }
        self
    }
}

/// The request handler of a [`MockServer`].
pub type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// A running mock server on 127.0.0.1; stops (with every open connection) on drop.
pub struct MockServer {
    /// The port it listens on.
    pub port: u16,
    stop: Option<oneshot::Sender<()>>,
}

impl MockServer {
    /// Starts a server answering every request with `handler`, on its own thread and
    /// single-threaded runtime.
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let handler: Handler = Arc::new(handler);
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let (stop, mut stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = TcpListener::from_std(std_listener).unwrap();
                loop {
                    let accepted = tokio::select! {
                        _ = &mut stopped => break,
                        a = listener.accept() => a,
                    };
                    let Ok((stream, _)) = accepted else {
                        continue;
                    };
                    let h = handler.clone();
                    tokio::spawn(async move {
                        let _ = serve(stream, h).await;
                    });
                }
            });
            // Dropping the runtime here cancels connections still being served.
        });
        Self {
            port,
            stop: Some(stop),
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

async fn serve(mut stream: TcpStream, handler: Handler) -> std::io::Result<()> {
    let Some(req) = read_request(&mut stream).await? else {
        return Ok(());
    };
    let reply = handler(&req);
    let head_only = req.method == "HEAD";
    match reply {
        Reply::Full {
            status,
            headers,
            body,
        } => write_full(&mut stream, status, &headers, &body, head_only).await?,
        Reply::Chunked {
            status,
            headers,
            chunk,
            repeat,
        } => {
            let mut head = status_line(status, &headers);
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            stream.write_all(head.as_bytes()).await?;
            for _ in 0..repeat {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                stream.write_all(&chunk).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Reply::Stall {
            status,
            headers,
            declared,
            sent,
        } => {
            let mut head = status_line(status, &headers);
            head.push_str(&format!("Content-Length: {declared}\r\n\r\n"));
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&sent).await?;
            stream.flush().await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }
    stream.flush().await?;
    Ok(())
}

/// Writes a whole reply: status line, `headers` (with a `Content-Length` of `body` unless
/// they carry one), and `body` unless the request was a HEAD.
pub(crate) async fn write_full<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    head_only: bool,
) -> std::io::Result<()> {
    let mut head = status_line(status, headers);
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    Ok(())
}

fn status_line(status: u16, headers: &[(String, String)]) -> String {
    let mut s = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s
}

/// Reads one request (head up to 64 KiB, body up to 1 MiB) from any byte stream.
pub(crate) async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> std::io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > 64 * 1024 {
            return Ok(None);
        }
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = buf[end + 4..].to_vec();
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len.min(1 << 20) {
        let n = stream.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&tmp[..n]);
    }
    Ok(Some(Request {
        method,
        target,
        headers,
        body,
    }))
}
