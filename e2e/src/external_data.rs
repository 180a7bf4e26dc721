//! Gatekeeper's `external_data` builtin, emulated: argument checks, the per-key response
//! cache, the provider call, and the value Rego receives.
//!
//! Behaviour follows Gatekeeper (frameworks `drivers/rego/builtin.go`, `externaldata/*`):
//! * keys are looked up per `(provider, key)` in a TTL cache (3 minutes by default); fresh
//!   hits are served from it, every other key goes to the provider in **one** request, in
//!   the order the Rego built them (duplicates kept);
//! * every returned item is cached, error items included; a system error is not;
//! * cached items come first, then the provider's; items with a non-empty `error` go to
//!   `errors`, the rest to `responses`;
//! * `status_code` is the provider's HTTP status, or **0 when no request was sent** (every key
//!   cached); a transport failure gives 500 with `system_error` set and null lists;
//! * an unknown provider gives 400 and `system_error` "key is not found in provider cache".

pub mod cache;
pub mod table;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::clock::Clock;
use crate::wire::{Item, ProviderResponse};

pub use cache::ResponseCache;
pub use table::{TableEntry, TableProvider};

/// Gatekeeper's default `--external-data-provider-response-cache-ttl`.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(180);

/// Most keys accepted in one call (a bound, far above what one object carries).
pub const MAX_KEYS: usize = 10_000;

/// What one provider call produced, as Gatekeeper sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum ProviderReply {
    /// The provider answered: its HTTP status and parsed body.
    Answered {
        /// HTTP status code.
        status: u16,
        /// The parsed `ProviderResponse`.
        response: ProviderResponse,
    },
    /// Connection, TLS, timeout or body-parsing failure (Gatekeeper: status 500).
    Failed {
        /// The error text, e.g. "failed to send external data request: …".
        message: String,
    },
}

/// Something that answers provider requests: a table in unit tests, the real provider over
/// HTTPS in the end-to-end harness.
pub trait ProviderTransport: Send {
    /// Sends `keys` to the provider registered as `provider`.
    fn send(&mut self, provider: &str, keys: &[String]) -> ProviderReply;
}

/// Why an `external_data` call is an evaluation error (Gatekeeper: the admission request
/// fails with HTTP 500 and is denied).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExternalDataError {
    /// The argument is not `{"provider": string, "keys": [string]}`.
    #[error(
        "external_data argument must be {{\"provider\": <string>, \"keys\": [<string>...]}}: {0}"
    )]
    BadArgument(String),
    /// More than [`MAX_KEYS`] keys.
    #[error("external_data called with {0} keys; at most {MAX_KEYS} are accepted")]
    TooManyKeys(usize),
}

/// The value `external_data` returns to Rego.
#[derive(Debug, Clone, PartialEq)]
pub struct RegoResponse {
    /// `[key, value]` pairs; `None` serialises as null (Gatekeeper's error paths).
    pub responses: Option<Vec<(String, Value)>>,
    /// `[key, error]` pairs; `None` serialises as null.
    pub errors: Option<Vec<(String, String)>>,
    /// The provider's HTTP status; 0 when every key came from the cache.
    pub status_code: u16,
    /// A whole-request failure; empty when none.
    pub system_error: String,
}

impl RegoResponse {
    fn failure(status_code: u16, system_error: String) -> Self {
        Self {
            responses: None,
            errors: None,
            status_code,
            system_error,
        }
    }

    /// The JSON object Rego receives.
    pub fn to_json(&self) -> Value {
        let responses = self
            .responses
            .as_ref()
            .map(|r| r.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>());
        let errors = self
            .errors
            .as_ref()
            .map(|e| e.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>());
        json!({
            "responses": responses,
            "errors": errors,
            "status_code": self.status_code,
            "system_error": self.system_error,
        })
    }
}

/// One request that reached a provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCall {
    /// Provider name.
    pub provider: String,
    /// Keys sent, in order.
    pub keys: Vec<String>,
}

/// Gatekeeper's external-data side: registered providers, the response cache and a log of
/// the requests that went out.
pub struct Gatekeeper {
    providers: BTreeMap<String, Box<dyn ProviderTransport>>,
    cache: Option<ResponseCache>,
    clock: Arc<dyn Clock>,
    calls: Vec<ProviderCall>,
}

impl std::fmt::Debug for Gatekeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gatekeeper")
            .field("providers", &self.providers.keys().collect::<Vec<_>>())
            .field("cache", &self.cache)
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl Gatekeeper {
    /// No providers, cache with [`DEFAULT_CACHE_TTL`].
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            providers: BTreeMap::new(),
            cache: Some(ResponseCache::new(DEFAULT_CACHE_TTL)),
            clock,
            calls: Vec::new(),
        }
    }

    /// Sets the cache TTL; `None` or zero disables the cache (Gatekeeper: TTL 0).
    pub fn with_cache_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.cache = ttl.filter(|t| !t.is_zero()).map(ResponseCache::new);
        self
    }

    /// Registers (or replaces) the provider named `name` (a Provider object's metadata.name).
    pub fn register(&mut self, name: &str, transport: Box<dyn ProviderTransport>) {
        self.providers.insert(name.to_owned(), transport);
    }

    /// Removes a provider, as deleting the Provider object does.
    pub fn unregister(&mut self, name: &str) {
        self.providers.remove(name);
    }

    /// Requests that reached a provider so far.
    pub fn calls(&self) -> &[ProviderCall] {
        &self.calls
    }

    /// Returns and forgets the request log.
    pub fn take_calls(&mut self) -> Vec<ProviderCall> {
        std::mem::take(&mut self.calls)
    }

    /// Runs the builtin on its Rego argument.
    pub fn external_data(&mut self, arg: &Value) -> Result<RegoResponse, ExternalDataError> {
        let (provider, keys) = parse_argument(arg)?;
        let now = self.clock.now_unix_seconds();
        let mut items: Vec<Item> = Vec::new();
        let mut to_send: Vec<String> = Vec::new();
        for key in keys {
            match self
                .cache
                .as_ref()
                .and_then(|c| c.get(&provider, &key, now))
            {
                Some(hit) => items.push(hit),
                None => to_send.push(key),
            }
        }
        let mut status_code = 0;
        let mut system_error = String::new();
        if !to_send.is_empty() {
            let Some(transport) = self.providers.get_mut(&provider) else {
                return Ok(RegoResponse::failure(
                    400,
                    "key is not found in provider cache".to_owned(),
                ));
            };
            self.calls.push(ProviderCall {
                provider: provider.clone(),
                keys: to_send.clone(),
            });
            match transport.send(&provider, &to_send) {
                ProviderReply::Failed { message } => {
                    return Ok(RegoResponse::failure(500, message));
                }
                ProviderReply::Answered { status, response } => {
                    if let Some(cache) = self.cache.as_mut() {
                        for item in &response.response.items {
                            cache.insert(&provider, item, now);
                        }
                    }
                    items.extend(response.response.items);
                    system_error = response.response.system_error;
                    status_code = status;
                }
            }
        }
        let mut responses = Vec::new();
        let mut errors = Vec::new();
        for item in items {
            if item.error.is_empty() {
                responses.push((item.key, item.value));
            } else {
                errors.push((item.key, item.error));
            }
        }
        Ok(RegoResponse {
            responses: Some(responses),
            errors: Some(errors),
            status_code,
            system_error,
        })
    }
}

fn parse_argument(arg: &Value) -> Result<(String, Vec<String>), ExternalDataError> {
    let provider = arg
        .get("provider")
        .and_then(Value::as_str)
        .ok_or_else(|| ExternalDataError::BadArgument("\"provider\" must be a string".into()))?;
    let keys = arg
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| ExternalDataError::BadArgument("\"keys\" must be an array".into()))?;
    if keys.len() > MAX_KEYS {
        return Err(ExternalDataError::TooManyKeys(keys.len()));
    }
    let keys = keys
        .iter()
        .map(|k| {
            k.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ExternalDataError::BadArgument(format!("key {k} is not a string")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((provider.to_owned(), keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn gatekeeper(clock: &ManualClock) -> Gatekeeper {
        let mut table = TableProvider::new();
        table.insert("ok", TableEntry::Value(json!({"isSuccess": true})));
        table.insert("bad", TableEntry::Error("boom".into()));
        let mut gk = Gatekeeper::new(Arc::new(clock.clone()));
        gk.register("p", Box::new(table));
        gk
    }

    fn arg(keys: &[&str]) -> Value {
        json!({"provider": "p", "keys": keys})
    }

    #[test]
    fn splits_responses_and_errors_and_passes_status() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        let r = gk.external_data(&arg(&["ok", "bad", "gone"])).unwrap();
        assert_eq!(r.status_code, 200);
        assert_eq!(r.responses.as_ref().unwrap().len(), 1);
        assert_eq!(
            r.errors.as_ref().unwrap(),
            &vec![("bad".to_owned(), "boom".to_owned())]
        );
        assert_eq!(gk.calls().len(), 1);
        assert_eq!(gk.calls()[0].keys, vec!["ok", "bad", "gone"]);
    }

    #[test]
    fn full_cache_hit_has_status_zero_and_sends_nothing() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        gk.external_data(&arg(&["ok", "bad"])).unwrap();
        let r = gk.external_data(&arg(&["bad", "ok"])).unwrap();
        assert_eq!(r.status_code, 0);
        assert_eq!(r.errors.unwrap().len(), 1, "error items are cached too");
        assert_eq!(gk.calls().len(), 1);
    }

    #[test]
    fn partial_hit_sends_only_missing_keys_and_lists_cached_first() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        gk.external_data(&arg(&["ok"])).unwrap();
        let r = gk.external_data(&arg(&["bad", "ok"])).unwrap();
        assert_eq!(gk.calls()[1].keys, vec!["bad"]);
        assert_eq!(r.status_code, 200);
        assert_eq!(r.responses.unwrap()[0].0, "ok");
    }

    #[test]
    fn stale_entries_are_refetched_after_the_ttl() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        gk.external_data(&arg(&["ok"])).unwrap();
        clock.advance(DEFAULT_CACHE_TTL);
        assert_eq!(gk.external_data(&arg(&["ok"])).unwrap().status_code, 0);
        clock.advance(Duration::from_secs(1));
        assert_eq!(gk.external_data(&arg(&["ok"])).unwrap().status_code, 200);
        assert_eq!(gk.calls().len(), 2);
    }

    #[test]
    fn disabled_cache_always_calls() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock).with_cache_ttl(None);
        gk.external_data(&arg(&["ok"])).unwrap();
        gk.external_data(&arg(&["ok"])).unwrap();
        assert_eq!(gk.calls().len(), 2);
    }

    #[test]
    fn system_errors_and_transport_failures_are_not_cached() {
        let clock = ManualClock::at(1000);
        let mut gk = Gatekeeper::new(Arc::new(clock.clone()));
        let mut table = TableProvider::new();
        table.system_error = Some("operation timed out".into());
        table.status = 500;
        gk.register("p", Box::new(table));
        let r = gk.external_data(&arg(&["ok"])).unwrap();
        assert_eq!(
            (r.status_code, r.system_error.as_str()),
            (500, "operation timed out")
        );
        gk.external_data(&arg(&["ok"])).unwrap();
        assert_eq!(gk.calls().len(), 2);

        let mut down = TableProvider::new();
        down.down = Some("failed to send external data request: connection refused".into());
        gk.register("p", Box::new(down));
        let r = gk.external_data(&arg(&["ok"])).unwrap();
        assert_eq!(r.status_code, 500);
        assert_eq!(r.to_json()["responses"], Value::Null);
        assert!(r.system_error.contains("connection refused"));
    }

    #[test]
    fn unknown_provider_is_400_and_bad_arguments_are_errors() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        let r = gk
            .external_data(&json!({"provider": "nope", "keys": ["a"]}))
            .unwrap();
        assert_eq!(r.status_code, 400);
        assert!(!r.system_error.is_empty());
        assert!(matches!(
            gk.external_data(&json!({"provider": "p", "keys": [1]})),
            Err(ExternalDataError::BadArgument(_))
        ));
        assert!(gk.external_data(&json!({"keys": []})).is_err());
    }

    #[test]
    fn rego_shape_has_pairs() {
        let clock = ManualClock::at(1000);
        let mut gk = gatekeeper(&clock);
        let v = gk.external_data(&arg(&["ok", "bad"])).unwrap().to_json();
        assert_eq!(v["responses"], json!([["ok", {"isSuccess": true}]]));
        assert_eq!(v["errors"], json!([["bad", "boom"]]));
        assert_eq!(v["system_error"], json!(""));
    }
}
