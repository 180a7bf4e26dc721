//! The one place the CLI reads the wall clock; libraries get time injected.

use time::OffsetDateTime;

/// The current time in UTC.
#[allow(clippy::disallowed_methods)] // the edge of the program: the clock is read here only
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::from(std::time::SystemTime::now())
}
