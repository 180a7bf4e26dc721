//! What was learned about a repository's referrers API, and the single-flight probe.
//!
//! The OCI distribution spec forbids a 404 from a registry that implements the referrers
//! API (an unknown subject gets an empty index), so a plain 404 on the API URL means "no API
//! here": the referrers tag schema is used directly for a while. What is remembered is kept
//! narrow and brief: per registry host *and repository* (registries route repositories to
//! different backends), for [`MEMORY`]. A 404 that says `MANIFEST_UNKNOWN` (the ORAS
//! artifacts behaviour, older Quay: the API exists but does not know this subject) and a
//! redirect that lands on a 404 decide nothing about the API; that one listing falls back to
//! the tag schema.
//!
//! Single flight: while the first key of a cold repository probes the API, other keys of the
//! same repository wait for its answer (once, up to their deadline), so a cold burst pays
//! one probe, not one per key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long a conclusion about a repository's referrers API is kept.
pub(crate) const MEMORY: Duration = Duration::from_secs(120);
/// Most repositories remembered.
const MAX_ENTRIES: usize = 4096;

/// What a referrers API call concluded about the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// It answered with an index: the API exists.
    Present,
    /// A plain 404 (or a non-index answer) on the API URL itself: no API.
    Absent,
    /// Nothing can be concluded (an error, a 404 for the subject, a redirected 404).
    Unknown,
}

enum Entry {
    Known { api: bool, at: Instant },
    Probing(watch::Receiver<()>),
}

/// What a caller should do next.
pub(crate) enum Next {
    /// Use the API (known present, or unknown and the caller may probe without waiting).
    Api,
    /// Use the tag schema directly.
    TagSchema,
    /// Probe the API; report the outcome through the guard (dropping it wakes waiters).
    Probe(ProbeGuard),
    /// Another key is probing: wait on this, then ask again with `waited = true`.
    Wait(watch::Receiver<()>),
}

/// Held by the one key probing a repository; waiters wake when it is dropped.
pub(crate) struct ProbeGuard {
    _done: watch::Sender<()>,
}

/// The memory of every repository's referrers API.
#[derive(Default)]
pub(crate) struct ApiMemory {
    map: Mutex<HashMap<String, Entry>>,
}

impl ApiMemory {
    /// What to do for repository `key` (`host/repository`). A caller that already waited once
    /// never waits again: it uses the API itself.
    pub(crate) fn next(&self, key: &str, waited: bool) -> Next {
        let Ok(mut map) = self.map.lock() else {
            return Next::Api;
        };
        match map.get(key) {
            Some(Entry::Known { api, at }) if at.elapsed() < MEMORY => {
                return if *api { Next::Api } else { Next::TagSchema };
            }
            Some(Entry::Probing(rx)) if rx.has_changed().is_ok() => {
                return if waited {
                    Next::Api
                } else {
                    Next::Wait(rx.clone())
                };
            }
            _ => {}
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| match e {
                Entry::Known { at, .. } => at.elapsed() < MEMORY,
                Entry::Probing(rx) => rx.has_changed().is_ok(),
            });
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        let (tx, rx) = watch::channel(());
        map.insert(key.to_owned(), Entry::Probing(rx));
        Next::Probe(ProbeGuard { _done: tx })
    }

    /// Records what a call to the API concluded (by the prober or any later caller).
    pub(crate) fn record(&self, key: &str, verdict: Verdict) {
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        match verdict {
            Verdict::Present | Verdict::Absent => {
                map.insert(
                    key.to_owned(),
                    Entry::Known {
                        api: verdict == Verdict::Present,
                        at: Instant::now(),
                    },
                );
            }
            // An inconclusive probe leaves nothing behind: the next key probes again.
            Verdict::Unknown => {
                if matches!(map.get(key), Some(Entry::Probing(_))) {
                    map.remove(key);
                }
            }
        }
    }
}

/// Waits until the probe behind `rx` is over or `deadline` passes.
pub(crate) async fn wait(mut rx: watch::Receiver<()>, deadline: Instant) {
    let _ = tokio::time::timeout_at(deadline, rx.changed()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn single_flight_then_narrow_and_brief() {
        let m = ApiMemory::default();
        let Next::Probe(guard) = m.next("h/a", false) else {
            panic!("the first key probes");
        };
        let Next::Wait(rx) = m.next("h/a", false) else {
            panic!("a second key waits");
        };
        // Another repository on the same host is not affected.
        assert!(matches!(m.next("h/b", false), Next::Probe(_)));
        m.record("h/a", Verdict::Absent);
        drop(guard);
        wait(rx, Instant::now() + Duration::from_secs(1)).await;
        assert!(matches!(m.next("h/a", true), Next::TagSchema));
        tokio::time::advance(MEMORY).await;
        assert!(matches!(m.next("h/a", false), Next::Probe(_)));
        m.record("h/a", Verdict::Present);
        assert!(matches!(m.next("h/a", false), Next::Api));
    }

    #[tokio::test]
    async fn an_abandoned_or_inconclusive_probe_frees_the_waiters() {
        let m = ApiMemory::default();
        let Next::Probe(guard) = m.next("h/a", false) else {
            panic!("probe");
        };
        let Next::Wait(rx) = m.next("h/a", false) else {
            panic!("wait");
        };
        drop(guard); // the prober's key was cancelled
        wait(rx, Instant::now() + Duration::from_secs(30)).await;
        // The dead probe is replaced; a caller that waited once uses the API itself.
        assert!(matches!(m.next("h/a", true), Next::Probe(_)));
        m.record("h/a", Verdict::Unknown);
        assert!(matches!(m.next("h/a", true), Next::Probe(_)));
    }
}
