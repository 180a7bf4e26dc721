//! Bodies for the refusals actix-http's HTTP/1 layer writes on its own.
//!
//! actix-http answers a request it cannot parse (400), whose head is over its limits (431) or
//! does not arrive in time (408) from inside its dispatcher, before any handler runs, with an
//! empty body; it offers no hook to change those responses. [`RefusalBodies`] wraps each
//! connection's stream below the dispatcher and gives exactly those responses the
//! `systemError` body (and `connection: close`) every other refusal of the provider has, so
//! that a client reads what was wrong whichever layer refused it.
//!
//! How such a refusal is recognised in the bytes the dispatcher writes: a response head with
//! status 400, 408 or 431, `content-length: 0` and no `content-type`. The application never
//! answers this way (each of its refusals carries a JSON body, see [`crate::rescue`]), and a
//! JSON body cannot contain the CR LF that ends a head line, so a match is always a real
//! response head, never body bytes. A refusal ends its connection, so nothing written after
//! it is inspected.
//!
//! Limit: the dispatcher writes each response head whole from its buffer; a head split
//! across two writes (only when the stream accepted part of a write, i.e. a client that has
//! stopped reading) keeps its empty body.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use imagegate_ratify::go_duration;
use memchr::memmem;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::metrics::Metrics;
use crate::rescue::RequestError;

/// actix-http's request head limits (`h1::decoder`: `MAX_HEADERS`, `MAX_BUFFER_SIZE`),
/// quoted in the 431 message.
const MAX_HEADERS: usize = 96;
const MAX_HEAD_BYTES: usize = 131_072;

/// Most header fields read from a response head being inspected (actix writes a handful).
const MAX_RESPONSE_HEADERS: usize = 32;

/// What the stream reports a rewritten refusal to: the `ratify_system_error_count` metric and
/// one log line, as for the refusals the handlers make.
#[derive(Clone)]
pub(crate) struct RefusalObserver {
    pub(crate) metrics: Metrics,
    pub(crate) peer: Option<SocketAddr>,
    /// actix-http's `client_request_timeout`, quoted in the 408 message.
    pub(crate) head_timeout: Duration,
}

/// A connection's stream whose HTTP-layer refusals get a `systemError` body.
pub(crate) struct RefusalBodies<IO> {
    io: IO,
    /// Rewritten bytes the inner stream has not accepted yet, from `written` on.
    pending: Vec<u8>,
    written: usize,
    /// A refusal was rewritten: the connection is ending, nothing more is inspected.
    refused: bool,
    observer: RefusalObserver,
}

impl<IO> RefusalBodies<IO> {
    pub(crate) fn new(io: IO, observer: RefusalObserver) -> Self {
        Self {
            io,
            pending: Vec::new(),
            written: 0,
            refused: false,
            observer,
        }
    }
}

impl<IO: AsyncWrite + Unpin> RefusalBodies<IO> {
    /// Writes what is pending; ready once nothing is.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        if !self.pending.is_empty() {
            self.pending = Vec::new();
            self.written = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for RefusalBodies<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for RefusalBodies<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if !this.refused {
            if let Some((bytes, err)) = with_refusal_body(buf, this.observer.head_timeout) {
                this.refused = true;
                this.pending = bytes;
                report(&this.observer, &err);
                // The bytes are taken; what the stream does not accept now is written by the
                // next write, flush or shutdown.
                if let Poll::Ready(Err(e)) = this.drain(cx) {
                    return Poll::Ready(Err(e));
                }
                return Poll::Ready(Ok(buf.len()));
            }
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

fn report(observer: &RefusalObserver, err: &RequestError) {
    tracing::warn!(
        code = err.code(),
        error = %err,
        peer = ?observer.peer,
        "request refused by the HTTP layer"
    );
    observer.metrics.inc_system_error(err.code(), "");
}

/// `written` with its HTTP-layer refusal (if it holds one) given a `systemError` body:
/// the bytes to write instead, and the refusal.
fn with_refusal_body(written: &[u8], head_timeout: Duration) -> Option<(Vec<u8>, RequestError)> {
    // Cheap test first: every response the application writes has a non-empty body.
    let length_at = memmem::find(written, b"\r\ncontent-length: 0\r\n")?;
    // The head holding that line starts at the last status line before it.
    let start = memmem::rfind(&written[..length_at], b"HTTP/1.")?;
    let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut head = httparse::Response::new(&mut fields);
    let head_len = match head.parse(&written[start..]) {
        Ok(httparse::Status::Complete(len)) => len,
        _ => return None,
    };
    if start + head_len < length_at {
        return None; // the line belongs to a later head
    }
    let err = match head.code? {
        400 => RequestError::MalformedHttp,
        408 => RequestError::HeadTimeout {
            timeout: go_duration(head_timeout),
        },
        431 => RequestError::HeadTooLarge {
            max_headers: MAX_HEADERS,
            max_bytes: MAX_HEAD_BYTES,
        },
        _ => return None,
    };
    if head
        .headers
        .iter()
        .any(|h| h.name.eq_ignore_ascii_case("content-type"))
    {
        return None;
    }
    let body = err.system_error_json(false);
    let mut out = Vec::with_capacity(written.len() + body.len() + 96);
    out.extend_from_slice(&written[..start]);
    out.extend_from_slice(
        format!(
            "HTTP/1.{} {} {}\r\n",
            head.version.unwrap_or(1),
            err.status().as_u16(),
            head.reason.unwrap_or_default()
        )
        .as_bytes(),
    );
    for h in head.headers.iter().filter(|h| {
        !h.name.eq_ignore_ascii_case("content-length") && !h.name.eq_ignore_ascii_case("connection")
    }) {
        out.extend_from_slice(h.name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(h.value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(
        format!(
            "connection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out.extend_from_slice(&written[start + head_len..]);
    Some((out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn rewrite(bytes: &str) -> Option<(String, &'static str)> {
        with_refusal_body(bytes.as_bytes(), TIMEOUT)
            .map(|(out, err)| (String::from_utf8(out).unwrap(), err.code()))
    }

    /// The body of the single response in `text`, parsed.
    fn body_of(text: &str) -> serde_json::Value {
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn dispatcher_refusals_get_a_system_error_body() {
        let cases = [
            (
                "400 Bad Request",
                "MALFORMED_HTTP",
                "not well-formed HTTP/1.1",
            ),
            ("408 Request Timeout", "HEAD_TIMEOUT", "within 5s"),
            (
                "431 Request Header Fields Too Large",
                "HEAD_TOO_LARGE",
                "over 96 header fields",
            ),
        ];
        for (status, code, says) in cases {
            let written = format!(
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\ndate: Mon, 07 Dec 2026 15:00:00 GMT\r\n\r\n"
            );
            let (out, got) = rewrite(&written).unwrap();
            assert_eq!(got, code);
            assert!(out.starts_with(&format!("HTTP/1.1 {status}\r\n")), "{out}");
            assert!(
                out.contains("\r\ndate: Mon, 07 Dec 2026 15:00:00 GMT\r\n"),
                "{out}"
            );
            assert!(out.contains("\r\nconnection: close\r\n"), "{out}");
            assert!(
                out.contains("\r\ncontent-type: application/json\r\n"),
                "{out}"
            );
            let body = body_of(&out);
            let length = format!("\r\ncontent-length: {}\r\n", body.to_string().len());
            assert!(out.contains(&length), "{out}");
            assert!(!out.contains("content-length: 0\r\n"), "{out}");
            let message = body["response"]["systemError"].as_str().unwrap();
            assert!(message.starts_with("BAD_REQUEST: "), "{message}");
            assert!(message.contains(says), "{message}");
            assert_eq!(body["kind"], "ProviderResponse");
        }
    }

    #[test]
    fn a_refusal_behind_pipelined_responses_keeps_them_intact() {
        let first =
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}";
        let written = format!("{first}HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n");
        let (out, code) = rewrite(&written).unwrap();
        assert_eq!(code, "MALFORMED_HTTP");
        assert!(out.starts_with(first), "{out}");
        assert!(
            body_of(&out[first.len()..])["response"]["systemError"].is_string(),
            "{out}"
        );
    }

    #[test]
    fn the_applications_responses_pass_untouched() {
        let untouched = [
            // An answer.
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}",
            // The application's own refusals carry a JSON body.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\nconnection: close\r\ncontent-type: application/json\r\n\r\n{}",
            // Ratify v2's answer to an unreadable body: 200, empty.
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            // An empty-bodied status the dispatcher is not the only one to use.
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n",
            // A JSON body quoting a status line is body, not a head.
            "HTTP/1.1 200 OK\r\ncontent-length: 40\r\ncontent-type: application/json\r\n\r\n{\"m\":\"HTTP/1.1 400 Bad Request content-length: 0\"}",
            // An incomplete head is not judged.
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ];
        for written in untouched {
            assert!(rewrite(written).is_none(), "{written}");
        }
        // A 400 that already has a content type is the application's.
        assert!(rewrite(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n\r\n"
        )
        .is_none());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let alphabet = b"HTP/1. 0248\r\ncontent-length: 0xyz";
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    alphabet[(seed % alphabet.len() as u64) as usize]
                })
                .collect();
            let _ = with_refusal_body(&bytes, TIMEOUT);
        }
    }
}
