//! Whole-request failures and their one mapping to the wire.
//!
//! Every request the provider cannot process becomes a [`RequestError`], and
//! [`RequestError::response`] turns it into an HTTP status plus a `ProviderResponse` whose
//! `systemError` says what was wrong and what to do. Nothing else writes error responses.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use thiserror::Error;

use crate::wire::{ProviderResponse, API_GROUP, REQUEST_KIND};

/// The code Ratify puts in front of malformed-request errors.
pub(crate) const BAD_REQUEST: &str = "BAD_REQUEST";

/// The longest parser detail quoted back to the caller.
const MAX_DETAIL: usize = 200;

/// The shape a request must have, quoted in error messages.
const EXPECTED: &str = "send {\"apiVersion\":\"externaldata.gatekeeper.sh/v1beta1\",\
\"kind\":\"ProviderRequest\",\"request\":{\"keys\":[\"<image>\",...]}}";

/// Why a whole request was refused.
#[derive(Debug, Error, PartialEq)]
pub(crate) enum RequestError {
    /// `Content-Type` is missing or not JSON.
    #[error(
        "{BAD_REQUEST}: Content-Type is {found}, not application/json; \
         send the ProviderRequest as JSON with Content-Type: application/json"
    )]
    ContentType { found: String },
    /// The body is over the size limit.
    #[error(
        "{BAD_REQUEST}: the request body is larger than the {limit}-byte limit; \
         send fewer keys per request or raise the provider's body size limit"
    )]
    BodyTooLarge { limit: usize },
    /// The body did not arrive in time.
    #[error(
        "{BAD_REQUEST}: the request body did not arrive within {timeout}; \
         send the whole body promptly"
    )]
    BodyTimeout { timeout: String },
    /// The body could not be read.
    #[error("{BAD_REQUEST}: the request body could not be read ({detail}); retry the request")]
    BodyRead { detail: String },
    /// The body is not JSON.
    #[error("{BAD_REQUEST}: the request body is not valid JSON ({detail}); {EXPECTED}")]
    NotJson { detail: String },
    /// The body is JSON of the wrong shape.
    #[error("{BAD_REQUEST}: the request body is not a ProviderRequest ({detail}); {EXPECTED}")]
    WrongShape { detail: String },
    /// `request.keys` is missing or empty.
    #[error("{BAD_REQUEST}: the request has no keys; {EXPECTED}")]
    NoKeys,
    /// More keys than allowed.
    #[error(
        "{BAD_REQUEST}: the request has {count} keys, over the limit of {limit}; \
         send at most {limit} keys per request or raise the provider's key limit"
    )]
    TooManyKeys { count: usize, limit: usize },
    /// The method is not POST.
    #[error("{BAD_REQUEST}: method {method} is not allowed here; use POST")]
    MethodNotAllowed { method: String },
    /// The path is not an endpoint.
    #[error(
        "{BAD_REQUEST}: no endpoint at {path}; use POST /ratify/gatekeeper/v1/verify \
         or POST /ratify/gatekeeper/v1/mutate"
    )]
    NotFound { path: String },
    /// The HTTP layer could not parse the request: its request line, a header or the body
    /// framing (refused by actix-http before any handler runs; see `http_refusals`).
    #[error(
        "{BAD_REQUEST}: the request is not well-formed HTTP/1.1 (its request line, a header \
         or the body framing could not be parsed); send a valid HTTP/1.1 request"
    )]
    MalformedHttp,
    /// The request head is over the HTTP layer's limits.
    #[error(
        "{BAD_REQUEST}: the request head is too large (over {max_headers} header fields or \
         {max_bytes} bytes); send fewer and shorter headers"
    )]
    HeadTooLarge {
        max_headers: usize,
        max_bytes: usize,
    },
    /// The request head did not arrive in time.
    #[error(
        "{BAD_REQUEST}: the request head did not arrive within {timeout}; \
         send the whole request promptly"
    )]
    HeadTimeout { timeout: String },
}

// === impl RequestError ===

impl RequestError {
    /// A JSON parse failure, classified as "not JSON" or "wrong shape".
    pub(crate) fn from_json(err: &serde_json::Error) -> Self {
        let detail = truncate(&err.to_string());
        match err.classify() {
            serde_json::error::Category::Data => Self::WrongShape { detail },
            _ => Self::NotJson { detail },
        }
    }

    /// A request whose `kind` or `apiVersion` belongs to something else.
    pub(crate) fn check_kind(api_version: Option<&str>, kind: Option<&str>) -> Result<(), Self> {
        if let Some(kind) = kind.filter(|k| *k != REQUEST_KIND) {
            return Err(Self::WrongShape {
                detail: format!("kind is {:?}, not {REQUEST_KIND:?}", truncate(kind)),
            });
        }
        if let Some(version) = api_version {
            let group = version.split('/').next().unwrap_or_default();
            if group != API_GROUP {
                return Err(Self::WrongShape {
                    detail: format!(
                        "apiVersion is {:?}, not in group {API_GROUP:?}",
                        truncate(version)
                    ),
                });
            }
        }
        Ok(())
    }

    /// The HTTP status for this failure.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout { .. } | Self::HeadTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            Self::HeadTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::ContentType { .. }
            | Self::BodyRead { .. }
            | Self::NotJson { .. }
            | Self::WrongShape { .. }
            | Self::NoKeys
            | Self::TooManyKeys { .. }
            | Self::MalformedHttp => StatusCode::BAD_REQUEST,
        }
    }

    /// A short label for logs and the `ratify_system_error_count` metric.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::ContentType { .. } => "BAD_CONTENT_TYPE",
            Self::BodyTooLarge { .. } => "BODY_TOO_LARGE",
            Self::BodyTimeout { .. } => "BODY_TIMEOUT",
            Self::BodyRead { .. } => "BODY_READ",
            Self::NotJson { .. } => "NOT_JSON",
            Self::WrongShape { .. } => "WRONG_SHAPE",
            Self::NoKeys => "NO_KEYS",
            Self::TooManyKeys { .. } => "TOO_MANY_KEYS",
            Self::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::MalformedHttp => "MALFORMED_HTTP",
            Self::HeadTooLarge { .. } => "HEAD_TOO_LARGE",
            Self::HeadTimeout { .. } => "HEAD_TIMEOUT",
        }
    }

    /// The HTTP response: status, `systemError`, and `Allow` for a wrong method.
    ///
    /// The connection is closed afterwards. `unread` is the request body as far as it was
    /// read; holding it until the response is sent makes the server close the connection
    /// (after a short bounded linger) instead of draining the rest of a huge chunked body.
    /// Ratify v2's answer to a request it cannot read or parse: HTTP 200 with an empty body
    /// (its handler returns before writing). The connection is closed as after any refusal.
    pub(crate) fn response_v2(unread: Payload) -> HttpResponse {
        let mut builder = HttpResponse::Ok();
        builder.force_close();
        builder.body(HoldingBody {
            json: None,
            _unread: unread,
        })
    }

    pub(crate) fn response(&self, idempotent: bool, unread: Payload) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status());
        if matches!(self, Self::MethodNotAllowed { .. }) {
            builder.insert_header((header::ALLOW, "POST"));
        }
        builder.force_close();
        builder.content_type("application/json");
        builder.body(HoldingBody {
            json: Some(Bytes::from(self.system_error_json(idempotent))),
            _unread: unread,
        })
    }

    /// The `ProviderResponse` body carrying this failure as its `systemError`.
    pub(crate) fn system_error_json(&self, idempotent: bool) -> Vec<u8> {
        let body = ProviderResponse::with_system_error(self.to_string(), idempotent);
        // Serialising a struct of strings cannot fail; fall back to an empty body regardless.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// A response body that keeps the unread request body alive until it has been sent.
struct HoldingBody {
    json: Option<Bytes>,
    _unread: Payload,
}

impl MessageBody for HoldingBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.json.as_ref().map_or(0, |b| b.len() as u64))
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Poll::Ready(self.get_mut().json.take().map(Ok))
    }
}

/// `text` cut to [`MAX_DETAIL`] characters, so that no request content is echoed at length.
fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_err(body: &str) -> RequestError {
        let err = serde_json::from_str::<crate::wire::ProviderRequest>(body).unwrap_err();
        RequestError::from_json(&err)
    }

    #[test]
    fn status_and_code_table() {
        let cases = [
            (
                RequestError::ContentType {
                    found: "missing".into(),
                },
                400,
                "BAD_CONTENT_TYPE",
            ),
            (
                RequestError::BodyTooLarge { limit: 1 },
                413,
                "BODY_TOO_LARGE",
            ),
            (
                RequestError::BodyTimeout {
                    timeout: "5s".into(),
                },
                408,
                "BODY_TIMEOUT",
            ),
            (
                RequestError::BodyRead { detail: "x".into() },
                400,
                "BODY_READ",
            ),
            (json_err("{"), 400, "NOT_JSON"),
            (json_err("not json"), 400, "NOT_JSON"),
            (json_err(r#"{"request":{"keys":[1]}}"#), 400, "WRONG_SHAPE"),
            (RequestError::NoKeys, 400, "NO_KEYS"),
            (
                RequestError::TooManyKeys { count: 2, limit: 1 },
                400,
                "TOO_MANY_KEYS",
            ),
            (
                RequestError::MethodNotAllowed {
                    method: "GET".into(),
                },
                405,
                "METHOD_NOT_ALLOWED",
            ),
            (
                RequestError::NotFound { path: "/".into() },
                404,
                "NOT_FOUND",
            ),
            (RequestError::MalformedHttp, 400, "MALFORMED_HTTP"),
            (
                RequestError::HeadTooLarge {
                    max_headers: 96,
                    max_bytes: 131_072,
                },
                431,
                "HEAD_TOO_LARGE",
            ),
            (
                RequestError::HeadTimeout {
                    timeout: "5s".into(),
                },
                408,
                "HEAD_TIMEOUT",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status().as_u16(), status, "{err}");
            assert_eq!(err.code(), code, "{err}");
            assert!(err.to_string().starts_with("BAD_REQUEST: "), "{err}");
        }
    }

    #[test]
    fn kind_and_group_are_checked_when_present() {
        assert_eq!(RequestError::check_kind(None, None), Ok(()));
        assert_eq!(
            RequestError::check_kind(
                Some("externaldata.gatekeeper.sh/v1beta1"),
                Some("ProviderRequest")
            ),
            Ok(())
        );
        assert!(RequestError::check_kind(None, Some("Pod")).is_err());
        assert!(RequestError::check_kind(Some("v1"), None).is_err());
    }

    #[test]
    fn details_are_truncated() {
        let long = "x".repeat(1000);
        let out = truncate(&long);
        assert_eq!(out.len(), MAX_DETAIL + 3);
        assert!(out.ends_with("..."));
        assert_eq!(truncate("short"), "short");
    }
}
