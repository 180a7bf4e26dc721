//! Injected time: the Gatekeeper cache asks a [`Clock`] instead of reading the system time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Seconds since the Unix epoch, as Gatekeeper's cache stores them.
pub trait Clock: Send + Sync {
    /// The current time, in whole seconds since the Unix epoch.
    fn now_unix_seconds(&self) -> u64;
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    seconds: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock showing `seconds` since the epoch.
    pub fn at(seconds: u64) -> Self {
        Self {
            seconds: Arc::new(AtomicU64::new(seconds)),
        }
    }

    /// Moves the clock forward by `by` (whole seconds, saturating).
    pub fn advance(&self, by: Duration) {
        let add = by.as_secs();
        let _ = self
            .seconds
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
                Some(s.saturating_add(add))
            });
    }
}

impl Clock for ManualClock {
    fn now_unix_seconds(&self) -> u64 {
        self.seconds.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_time_and_advance_saturates() {
        let a = ManualClock::at(10);
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now_unix_seconds(), 15);
        b.advance(Duration::from_secs(u64::MAX));
        assert_eq!(a.now_unix_seconds(), u64::MAX);
    }
}
