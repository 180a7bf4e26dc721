//! Time injection. The only place in the engine that reads the wall clock.

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
    fn formats_like_go_rfc3339nano() {
        let t = time::macros::datetime!(2025-05-01 10:00:00.123456789 UTC);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00.123456789Z");
        let t = time::macros::datetime!(2025-05-01 10:00:00.5 UTC);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00.5Z");
        let t = time::macros::datetime!(2025-05-01 12:00:00 +02:00);
        assert_eq!(rfc3339_nano(t), "2025-05-01T10:00:00Z");
        assert_eq!(rfc3339_nano(FixedClock(t).now()), "2025-05-01T10:00:00Z");
    }
}
