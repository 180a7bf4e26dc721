//! Our own optional `imagegate` section of `config.json` (Ratify ignores unknown top-level
//! sections, so a file with it still loads in Ratify).
//!
//! ```json
//! "imagegate": {
//!   "cache": {
//!     "verdictTtlSeconds": 10,        // successful verdicts (Ratify's --cache-ttl default)
//!     "failureTtlSeconds": 2,         // failed verdicts, shorter so transient errors heal
//!     "tagTtlSeconds": 5,             // tag -> digest resolutions
//!     "maxVerdicts": 100000,          // verdict cache entries
//!     "manifestCacheBytes": 2097152,  // signature manifests, by digest, byte budget (2 MiB)
//!     "blobCacheBytes": 2097152,      // signature envelopes, by digest, byte budget (2 MiB)
//!     "referrersCacheBytes": 2097152, // referrer listings (for the store's `ttl`), byte budget
//!     "staleGraceSeconds": 0,         // stale-if-error window after a verdict's TTL; 0 = off
//!     "serveStaleFailures": false     // within it, also serve stale *failed* verdicts
//!   },
//!   "concurrency": {
//!     "maxVerifications": 0,          // concurrent signature verifications; 0 = CPU count
//!     "maxSignaturesPerSubject": 100, // more signature referrers than this fail the subject
//!     "maxSignaturesInFlight": 4,     // signatures of one subject fetched/verified at once
//!     "maxRequestsPerRegistry": 256   // registry requests in flight per registry host
//!   },
//!   "registry": {
//!     "requestTimeoutMs": 10000, "connectTimeoutMs": 5000, "maxAttempts": 4,
//!     "plainHttpHosts": ["registry.lan:5000"], // besides loopback, which is always plain HTTP
//!     "maxBlobBytes": 1048576,          // largest signature envelope read (real ones: 2-30 KiB)
//!     "maxManifestBytes": 4194304,      // largest manifest or referrers page read
//!     "maxInFlightBytes": 33554432,     // registry content in memory at once, all keys
//!     "maxInFlightBytesPerHost": 16777216 // the part of it one registry host may hold
//!   },
//!   "reloadIntervalMs": 2000,         // how often the config file is checked for changes
//!   "messages": "cause-first"         // failed reports' `message`: "cause-first" or "ratify"
//! }
//! ```
//!
//! `messages` picks the wording of a failed report's `message` (see
//! [`imagegate_ratify::Wording`]): `"cause-first"` (the default) starts it with the cause
//! ("unsigned: …", "untrusted signer: …", "image not found: …") and keeps it short enough to
//! survive Gatekeeper's 256-character audit cut behind the subject a template prints;
//! `"ratify"` writes Ratify v1's text byte for byte. `errorReason` is Ratify's in both, and
//! no decision depends on the choice.
//!
//! Unknown keys inside `imagegate` are errors (they are most likely typos). The `cache`
//! settings, `concurrency.maxVerifications` and `concurrency.maxRequestsPerRegistry` take
//! effect at start-up; the others on every reload.
//!
//! # Memory
//!
//! The byte budgets count what an item keeps on the heap (payload, parsed form, key and cache
//! record: see [`super::budget`]), so together they bound the content caches' resident memory
//! (6 MiB by default). Content (signature manifests and envelopes, immutable, by digest) is
//! only read again when a verdict expires and its subject is re-verified; the budgets keep the
//! most frequently re-verified subjects' content (by default about 500 signature
//! manifests, which weigh ~4 KiB with their parse, and 800 envelopes of ~2.5 KiB),
//! which spares the registry two of the three requests of such a re-verification. A cold
//! verification never depends on them: every verification fetches each object at most once
//! whatever the budget, so 0 (off) is valid and only costs registry requests on
//! re-verification. Verdicts are bounded by `maxVerdicts`; one cached verdict costs about
//! 2 KiB (key, rendered reports, cache entry and expiry timer), so the default bound is about
//! 200 MiB at worst.

use std::time::Duration;

use imagegate_ratify::Wording;
use serde::Deserialize;

/// The `imagegate` section, with defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// Cache settings.
    pub cache: CacheSettings,
    /// Concurrency bounds.
    pub concurrency: ConcurrencySettings,
    /// Registry client settings.
    pub registry: RegistrySettings,
    /// Poll interval of the config watcher, in milliseconds.
    pub reload_interval_ms: u64,
    /// Wording of failed reports' `message`.
    pub messages: Wording,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cache: CacheSettings::default(),
            concurrency: ConcurrencySettings::default(),
            registry: RegistrySettings::default(),
            reload_interval_ms: 2000,
            messages: Wording::CauseFirst,
        }
    }
}

impl Settings {
    /// The watcher's poll interval (at least 50 ms).
    pub fn reload_interval(&self) -> Duration {
        Duration::from_millis(self.reload_interval_ms.max(50))
    }
}

/// `imagegate.cache`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSettings {
    /// TTL of successful verdicts, seconds.
    pub verdict_ttl_seconds: u64,
    /// TTL of failed verdicts, seconds.
    pub failure_ttl_seconds: u64,
    /// TTL of tag → digest resolutions, seconds.
    pub tag_ttl_seconds: u64,
    /// Most cached verdicts.
    pub max_verdicts: u64,
    /// Byte budget of the manifest cache.
    pub manifest_cache_bytes: u64,
    /// Byte budget of the blob (envelope) cache.
    pub blob_cache_bytes: u64,
    /// Byte budget of the referrers cache (listings live for the store's `ttl`).
    pub referrers_cache_bytes: u64,
    /// Stale-if-error grace, seconds: when a verdict's TTL has passed and re-verification
    /// fails for a transient reason (registry unreachable, timeout, 5xx, 429), the last
    /// verdict is served, marked stale, until this long after its TTL. 0 turns it off.
    pub stale_grace_seconds: u64,
    /// Whether a stale *failed* verdict may be served too (otherwise only successes are).
    pub serve_stale_failures: bool,
}

impl Default for CacheSettings {
    fn default() -> Self {
        Self {
            verdict_ttl_seconds: 10,
            failure_ttl_seconds: 2,
            tag_ttl_seconds: 5,
            max_verdicts: 100_000,
            manifest_cache_bytes: 2 * 1024 * 1024,
            blob_cache_bytes: 2 * 1024 * 1024,
            referrers_cache_bytes: 2 * 1024 * 1024,
            stale_grace_seconds: 0,
            serve_stale_failures: false,
        }
    }
}

/// `imagegate.concurrency`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct ConcurrencySettings {
    /// Concurrent signature verifications (CPU work); 0 means the number of CPUs.
    pub max_verifications: usize,
    /// Most signature referrers verified for one subject.
    pub max_signatures_per_subject: usize,
    /// Signatures of one subject fetched and verified at once (0 counts as 1). Verification
    /// stops as soon as the config policy's decision cannot change.
    pub max_signatures_in_flight: usize,
    /// Registry requests in flight at once per registry host (0 counts as 1): a registry that
    /// stalls holds only its own host's share, never a share a healthy registry needs.
    pub max_requests_per_registry: usize,
}

impl Default for ConcurrencySettings {
    fn default() -> Self {
        Self {
            max_verifications: 0,
            max_signatures_per_subject: 100,
            max_signatures_in_flight: 4,
            max_requests_per_registry: 256,
        }
    }
}

/// `imagegate.registry`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct RegistrySettings {
    /// Deadline of one HTTP exchange, ms.
    pub request_timeout_ms: u64,
    /// Deadline of connection set-up, ms.
    pub connect_timeout_ms: u64,
    /// Attempts per request on 429/5xx/transient errors.
    pub max_attempts: u32,
    /// Registries reached over plain HTTP besides loopback.
    pub plain_http_hosts: Vec<String>,
    /// Largest blob (signature envelope) read, bytes.
    pub max_blob_bytes: u64,
    /// Largest manifest or referrers page read, bytes.
    pub max_manifest_bytes: u64,
    /// Registry content held in memory at once by all keys, bytes (fetches wait for room
    /// up to their deadline, then fail that key).
    pub max_in_flight_bytes: u64,
    /// The part of `max_in_flight_bytes` one registry host may hold, bytes.
    pub max_in_flight_bytes_per_host: u64,
}

impl Default for RegistrySettings {
    fn default() -> Self {
        let oci = imagegate_oci::ClientConfig::default();
        Self {
            request_timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
            max_attempts: 4,
            plain_http_hosts: Vec::new(),
            max_blob_bytes: oci.max_blob_bytes,
            max_manifest_bytes: oci.max_manifest_bytes,
            max_in_flight_bytes: oci.max_in_flight_bytes,
            max_in_flight_bytes_per_host: oci.max_in_flight_bytes_per_host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_budgets_default_to_six_mib_and_can_be_turned_off() {
        let c = CacheSettings::default();
        let total = c.manifest_cache_bytes + c.blob_cache_bytes + c.referrers_cache_bytes;
        assert_eq!(total, 6 * 1024 * 1024);
        let s: Settings = serde_json::from_str(
            r#"{"cache": {"referrersCacheBytes": 0, "blobCacheBytes": 1024}}"#,
        )
        .unwrap();
        assert_eq!(s.cache.referrers_cache_bytes, 0);
        assert_eq!(s.cache.blob_cache_bytes, 1024);
        assert_eq!(s.cache.manifest_cache_bytes, c.manifest_cache_bytes);
        let typo = serde_json::from_str::<Settings>(r#"{"cache": {"referrerCacheBytes": 1}}"#);
        assert!(typo.is_err(), "unknown keys are refused");
    }

    #[test]
    fn messages_default_to_cause_first_and_take_ratify() {
        assert_eq!(Settings::default().messages, Wording::CauseFirst);
        let s: Settings = serde_json::from_str(r#"{"messages": "ratify"}"#).unwrap();
        assert_eq!(s.messages, Wording::Ratify);
        let s: Settings = serde_json::from_str(r#"{"messages": "cause-first"}"#).unwrap();
        assert_eq!(s.messages, Wording::CauseFirst);
        assert!(serde_json::from_str::<Settings>(r#"{"messages": "short"}"#).is_err());
    }
}
