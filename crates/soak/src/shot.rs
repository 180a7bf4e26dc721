//! One request of the load and what came back, classified from the provider's answer.

use std::time::Duration;

use imagegate_engine::STALE_MARKER;

/// Whether a key is asked all the time or in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temperature {
    /// From the small warm set (its verdict is usually cached).
    Warm,
    /// From the cold pool (not seen before, or seen longer ago than the verdict TTL).
    Cold,
}

/// What the provider answered for the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A verification result.
    Verdict {
        /// `isSuccess`.
        success: bool,
        /// Marked stale (stale-if-error).
        stale: bool,
        /// A failed result whose reason is a registry failure (`LIST_REFERRERS_FAILURE`, …).
        registry_failure: bool,
    },
    /// A per-key `error`, e.g. `EXECUTOR_FAILURE: operation timed out after duration 2.9s`.
    KeyError(String),
    /// The request failed as a whole: connection, TLS, HTTP status or `systemError`.
    Request(String),
}

/// One request.
#[derive(Debug, Clone)]
pub struct Shot {
    /// Index into the image set.
    pub image: usize,
    /// Warm or cold.
    pub temperature: Temperature,
    /// When it was sent, since the start of the load.
    pub start: Duration,
    /// When the answer was complete.
    pub end: Duration,
    /// The answer.
    pub answer: Answer,
}

impl Shot {
    /// How long it took.
    pub fn latency(&self) -> Duration {
        self.end.saturating_sub(self.start)
    }
}

/// Error codes that mean the registry, not the content, failed.
const REGISTRY_CODES: &[&str] = &[
    "LIST_REFERRERS_FAILURE",
    "GET_REFERRER_MANIFEST_FAILURE",
    "GET_BLOB_CONTENT_FAILURE",
    "GET_SUBJECT_DESCRIPTOR_FAILURE",
    "EXECUTOR_FAILURE",
];

/// Classifies the HTTP status and body of a one-key verify request.
pub fn classify(status: u16, body: &[u8]) -> Answer {
    let text = || String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
    if status != 200 {
        return Answer::Request(format!("HTTP {status}: {}", text()));
    }
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Answer::Request(format!("not JSON: {}", text()));
    };
    let response = &v["response"];
    if let Some(e) = response["systemError"].as_str() {
        return Answer::Request(format!("systemError: {e}"));
    }
    let item = &response["items"][0];
    if let Some(e) = item["error"].as_str() {
        return Answer::KeyError(e.to_owned());
    }
    let value = &item["value"];
    let Some(success) = value["isSuccess"].as_bool() else {
        return Answer::Request(format!("item without isSuccess: {}", text()));
    };
    let reports = value["verifierReports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let stale = !reports.is_empty()
        && reports.iter().all(|r| {
            r["message"]
                .as_str()
                .is_some_and(|m| m.contains(STALE_MARKER))
        });
    let registry_failure = !success
        && reports.iter().any(|r| {
            let reason = r["errorReason"].as_str().unwrap_or_default();
            REGISTRY_CODES.iter().any(|c| reason.starts_with(c))
        });
    Answer::Verdict {
        success,
        stale,
        registry_failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(item: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(
            &serde_json::json!({"apiVersion": "v", "kind": "ProviderResponse",
            "response": {"items": [item]}}),
        )
        .unwrap()
    }

    #[test]
    fn classifies_answers() {
        let ok = body(serde_json::json!({"key": "k", "value": {"isSuccess": true,
            "verifierReports": [{"isSuccess": true, "message": "Notation signature verification success"}]}}));
        assert_eq!(
            classify(200, &ok),
            Answer::Verdict {
                success: true,
                stale: false,
                registry_failure: false
            }
        );
        let stale_msg =
            format!("Notation signature verification success{STALE_MARKER}, 3s past …)");
        let stale = body(serde_json::json!({"key": "k", "value": {"isSuccess": true,
            "verifierReports": [{"isSuccess": true, "message": stale_msg}]}}));
        assert_eq!(
            classify(200, &stale),
            Answer::Verdict {
                success: true,
                stale: true,
                registry_failure: false
            }
        );
        let down = body(serde_json::json!({"key": "k", "value": {"isSuccess": false,
            "verifierReports": [{"isSuccess": false, "errorReason": "LIST_REFERRERS_FAILURE: cannot"}]}}));
        assert_eq!(
            classify(200, &down),
            Answer::Verdict {
                success: false,
                stale: false,
                registry_failure: true
            }
        );
        let err =
            body(serde_json::json!({"key": "k", "error": "EXECUTOR_FAILURE: operation timed out"}));
        assert!(matches!(classify(200, &err), Answer::KeyError(e) if e.contains("timed out")));
        assert!(matches!(classify(500, b"x"), Answer::Request(_)));
        let sys = br#"{"response": {"systemError": "BAD_REQUEST: x"}}"#;
        assert!(matches!(classify(200, sys), Answer::Request(e) if e.contains("BAD_REQUEST")));
    }
}
