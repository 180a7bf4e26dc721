//! One trace ID per HTTP request: from a configured header if present and sane, else a UUID.

use actix_web::http::header::{HeaderMap, HeaderName};

/// The longest header value accepted as a trace ID.
const MAX_TRACE_ID_LEN: usize = 128;

/// Picks the trace ID of a request.
#[derive(Clone, Debug)]
pub(crate) struct TraceIds {
    headers: Vec<HeaderName>,
}

// === impl TraceIds ===

impl TraceIds {
    /// Looks in `names` in order; names that are not valid header names are skipped
    /// ([`crate::ServerConfig::validate`] rejects them up front).
    pub(crate) fn new(names: &[String]) -> Self {
        let headers = names
            .iter()
            .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
            .collect();
        Self { headers }
    }

    /// The first configured header whose value is 1 to 128 visible ASCII characters, else a
    /// fresh UUID. Odd values are ignored rather than trusted into the logs.
    pub(crate) fn pick(&self, request: &HeaderMap) -> String {
        self.headers
            .iter()
            .filter_map(|name| request.get(name))
            .filter_map(|value| value.to_str().ok())
            .find(|value| {
                !value.is_empty()
                    && value.len() <= MAX_TRACE_ID_LEN
                    && value.bytes().all(|b| b.is_ascii_graphic())
            })
            .map_or_else(fresh_id, str::to_owned)
    }
}

/// A random (v4) UUID in its hyphenated lower-case form.
fn fresh_id() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn ids() -> TraceIds {
        TraceIds::new(&["x-ms-correlation-request-id".into(), "x-request-id".into()])
    }

    #[test]
    fn first_present_header_wins() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("second"),
        );
        assert_eq!(ids().pick(&headers), "second");
        headers.insert(
            HeaderName::from_static("x-ms-correlation-request-id"),
            HeaderValue::from_static("first"),
        );
        assert_eq!(ids().pick(&headers), "first");
    }

    #[test]
    fn odd_values_fall_back_to_a_uuid() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("has space"),
        );
        let id = ids().pick(&headers);
        assert_ne!(id, "has space");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_ne!(ids().pick(&HeaderMap::new()), id);
    }
}
