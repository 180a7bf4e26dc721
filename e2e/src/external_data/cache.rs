//! Gatekeeper's provider response cache: one entry per `(provider, key)`, stamped with the
//! second it was received, stale once older than the TTL.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::wire::Item;

/// Most entries kept; the oldest-received entries are dropped beyond it.
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone)]
struct Entry {
    received: u64,
    value: Value,
    error: String,
}

/// The TTL cache.
#[derive(Debug, Clone)]
pub struct ResponseCache {
    ttl: Duration,
    entries: HashMap<(String, String), Entry>,
}

impl ResponseCache {
    /// An empty cache with `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: HashMap::new(),
        }
    }

    /// The item cached for `key`, if received no more than the TTL before `now`.
    pub fn get(&self, provider: &str, key: &str, now: u64) -> Option<Item> {
        let entry = self.entries.get(&(provider.to_owned(), key.to_owned()))?;
        if now.saturating_sub(entry.received) > self.ttl.as_secs() {
            return None;
        }
        Some(Item {
            key: key.to_owned(),
            value: entry.value.clone(),
            error: entry.error.clone(),
        })
    }

    /// Stores a returned item, keyed by the key the provider returned.
    pub fn insert(&mut self, provider: &str, item: &Item, now: u64) {
        if self.entries.len() >= MAX_ENTRIES {
            self.evict_stale(now);
        }
        if self.entries.len() >= MAX_ENTRIES {
            return;
        }
        self.entries.insert(
            (provider.to_owned(), item.key.clone()),
            Entry {
                received: now,
                value: item.value.clone(),
                error: item.error.clone(),
            },
        );
    }

    /// Drops entries older than the TTL (Gatekeeper's background sweeper).
    pub fn evict_stale(&mut self, now: u64) {
        let ttl = self.ttl.as_secs();
        self.entries
            .retain(|_, e| now.saturating_sub(e.received) <= ttl);
    }

    /// Number of entries, stale ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_provider_and_expire() {
        let mut c = ResponseCache::new(Duration::from_secs(10));
        let item = Item {
            key: "k".into(),
            value: Value::Bool(true),
            error: String::new(),
        };
        c.insert("a", &item, 100);
        assert!(c.get("a", "k", 110).is_some());
        assert!(c.get("a", "k", 111).is_none());
        assert!(c.get("b", "k", 100).is_none());
        c.evict_stale(111);
        assert!(c.is_empty());
    }
}
