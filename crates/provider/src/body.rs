//! Reading a request body within bounds: JSON content type, size limit, read deadline.

use std::borrow::Cow;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use serde::Deserialize;
use tokio::time::Instant;

use crate::ready::ready_or_timeout_at;
use crate::rescue::RequestError;
use imagegate_ratify::go_duration;

/// What the provider reads of a `ProviderRequest` ([`crate::wire::ProviderRequest`]), borrowing
/// from the body where it can.
#[derive(Debug, Default, Deserialize, PartialEq)]
pub(crate) struct RequestView<'a> {
    /// `apiVersion`, if given.
    #[serde(rename = "apiVersion", default, borrow)]
    pub(crate) api_version: Option<Cow<'a, str>>,
    /// `kind`, if given.
    #[serde(default, borrow)]
    pub(crate) kind: Option<Cow<'a, str>>,
    /// `request.keys`; empty when either is absent.
    #[serde(default, rename = "request", deserialize_with = "keys_of")]
    pub(crate) keys: Vec<String>,
}

/// The `request` object; only `keys` is read.
#[derive(Deserialize)]
#[serde(rename = "RequestBody")]
struct BodyView {
    #[serde(default)]
    keys: Option<Vec<String>>,
}

/// `request.keys`, absent or `null` at either level meaning none.
fn keys_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let body = Option::<BodyView>::deserialize(d)?;
    Ok(body.and_then(|b| b.keys).unwrap_or_default())
}

/// Checks that `Content-Type` is `application/json` (parameters such as `charset` allowed).
pub(crate) fn check_content_type(headers: &HeaderMap) -> Result<(), RequestError> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Err(RequestError::ContentType {
            found: "missing".to_owned(),
        });
    };
    let text = value.to_str().unwrap_or_default();
    let essence = text.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        let mut found: String = text.chars().take(100).collect();
        if found.is_empty() {
            found = "not readable".to_owned();
        }
        Err(RequestError::ContentType {
            found: format!("{found:?}"),
        })
    }
}

/// Reads the whole body, refusing it as soon as it is known to exceed `limit` bytes (from
/// `Content-Length` before reading anything, else while streaming) or once `timeout` has
/// passed since `arrived`.
pub(crate) async fn read_bounded(
    headers: &HeaderMap,
    payload: &mut Payload,
    limit: usize,
    arrived: Instant,
    timeout: Duration,
) -> Result<Bytes, RequestError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(RequestError::BodyTooLarge { limit });
    }
    let capacity = declared
        .map_or(8 * 1024, |len| usize::try_from(len).unwrap_or(limit))
        .min(limit);
    let mut body = BytesMut::with_capacity(capacity);
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|err| RequestError::BodyRead {
                detail: err.to_string(),
            })?;
            if body.len() + chunk.len() > limit {
                return Err(RequestError::BodyTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(())
    };
    // A body that has already arrived is read without arming the timer.
    match ready_or_timeout_at(arrived + timeout, read).await {
        Ok(result) => result.map(|()| body.freeze()),
        Err(_) => Err(RequestError::BodyTimeout {
            timeout: go_duration(timeout),
        }),
    }
}

/// Parses a `ProviderRequest`, which must be a JSON object (serde would also accept an array
/// of field values).
pub(crate) fn parse_request(body: &[u8]) -> Result<RequestView<'_>, RequestError> {
    // What Gatekeeper sends is read without the general parser.
    if let Some(view) = crate::scan::scan_request(body) {
        return Ok(view);
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return serde_json::from_slice(body).map_err(|err| RequestError::from_json(&err));
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
        Err(err) => Err(RequestError::from_json(&err)),
        Ok(_) => Err(RequestError::WrongShape {
            detail: "the body is JSON but not an object".to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(content_type: Option<&'static str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(ct) = content_type {
            map.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        map
    }

    #[test]
    fn request_must_be_a_json_object() {
        let ok = parse_request(br#" {"request":{"keys":["a"]}}"#).unwrap();
        assert_eq!(ok.keys, vec!["a".to_owned()]);
        let full = parse_request(
            br#"{"apiVersion":"externaldata.gatekeeper.sh/v1beta1","kind":"Provider\u0052equest",
                 "request":{"keys":["a","[ns]b\n"],"future":1},"extra":true}"#,
        )
        .unwrap();
        assert_eq!(
            full.api_version.as_deref(),
            Some("externaldata.gatekeeper.sh/v1beta1")
        );
        assert_eq!(full.kind.as_deref(), Some("ProviderRequest"));
        assert_eq!(full.keys, vec!["a".to_owned(), "[ns]b\n".to_owned()]);
        for empty in [&br#"{}"#[..], br#"{"request":null}"#, br#"{"request":{}}"#] {
            assert_eq!(parse_request(empty).unwrap().keys, Vec::<String>::new());
        }
        for (body, code) in [
            (&b"[]"[..], "WRONG_SHAPE"),
            (b"[null,null,{\"keys\":[\"a\"]}]", "WRONG_SHAPE"),
            (b"\"keys\"", "WRONG_SHAPE"),
            (b"{\"request\":{\"keys\":\"a\"}}", "WRONG_SHAPE"),
            (b"", "NOT_JSON"),
            (b"{", "NOT_JSON"),
            (b"keys=a", "NOT_JSON"),
            (b"{} trailing", "NOT_JSON"),
        ] {
            let err = parse_request(body).unwrap_err();
            assert_eq!(err.code(), code, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn accepts_json_with_parameters_in_any_case() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert_eq!(check_content_type(&headers(Some(ct))), Ok(()), "{ct}");
        }
    }

    #[test]
    fn rejects_missing_and_other_types() {
        assert_eq!(
            check_content_type(&headers(None)),
            Err(RequestError::ContentType {
                found: "missing".into()
            })
        );
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/jsonx",
        ] {
            assert!(check_content_type(&headers(Some(ct))).is_err(), "{ct}");
        }
    }
}
