//! Time injection. The only place in the engine that reads the wall clock ([`SystemClock`]).
//!
//! Monotonic time (cache expiry, the per-thread verdict memo, deadlines) is
//! `tokio::time::Instant` throughout, one type, which tests can pause and advance.

use time::OffsetDateTime;

pub use imagegate_ratify::rfc3339_nano;

/// Source of the current time for certificate checks and result timestamps.
pub trait Clock: Send + Sync + 'static {
    /// The current time (UTC).
    fn now(&self) -> OffsetDateTime;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The engine's one wall-clock edge; injected elsewhere.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always answers the same instant (tests, reproducible CLI runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_answers_its_instant() {
        // The formatting itself is tested where it lives (imagegate-ratify).
        let t = time::macros::datetime!(2025-05-01 12:00:00 +02:00);
        assert_eq!(FixedClock(t).now(), t);
        assert_eq!(rfc3339_nano(FixedClock(t).now()), "2025-05-01T10:00:00Z");
    }
}
