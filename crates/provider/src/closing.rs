//! Connections that announced `connection: close` serve nothing more (RFC 9112 §9.6: a
//! server that sends `close` "MUST NOT process any further requests received on that
//! connection").
//!
//! actix-http keeps serving requests a client pipelined behind a response that carries
//! `connection: close`, so the provider marks each connection (connection data set up in
//! `on_connect`) once it has answered with `close`. A request that arrives on a marked
//! connection never reaches a handler: its response is held back until the client goes
//! (the usual case: it read the refusal and closed), for at most [`LINGER`], and then the
//! connection is dropped without a byte of that response being written — so the first
//! response is flushed, and nothing after it.

use std::any::Any;
use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Extensions;
use actix_web::http::ConnectionType;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};

/// How long a request pipelined behind a `close` is held before the connection is dropped.
pub(crate) const LINGER: Duration = Duration::from_secs(1);

/// Per-connection flag: a response with `connection: close` was produced.
#[derive(Clone, Default)]
struct Closing(Rc<Cell<bool>>);

/// `HttpServer::on_connect` hook: gives every connection its flag.
pub(crate) fn on_connect(_conn: &dyn Any, data: &mut Extensions) {
    data.insert(Closing::default());
}

/// Whether `req` arrived on a connection that already answered with `close`.
pub(crate) fn is_closing(req: &HttpRequest) -> bool {
    req.conn_data::<Closing>().is_some_and(|c| c.0.get())
}

/// Marks `req`'s connection when `response` closes it.
pub(crate) fn note(req: &HttpRequest, response: &HttpResponse) {
    if response.head().connection_type() == ConnectionType::Close {
        if let Some(c) = req.conn_data::<Closing>() {
            c.0.set(true);
        }
    }
}

/// The "response" to a request on a closing connection: after [`LINGER`] (unless the
/// connection went first), a body that fails before its first byte, which makes actix drop
/// the connection without writing it.
pub(crate) async fn abandon() -> HttpResponse {
    tokio::time::sleep(LINGER).await;
    HttpResponse::ServiceUnavailable()
        .force_close()
        .body(Abandoned)
}

struct Abandoned;

impl MessageBody for Abandoned {
    type Error = std::io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::other(
            "request pipelined behind connection: close is not served",
        ))))
    }
}
