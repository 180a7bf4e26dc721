//! Settings from the environment (`SOAK_*`), with the defaults of `make soak`.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::SoakError;

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Total run time (`SOAK_SECONDS`, default 600).
    pub duration: Duration,
    /// Requests per second, one key each (`SOAK_RATE`, default 20).
    pub rate: u32,
    /// Delay added per registry request in the slow phase (`SOAK_SLOW_MS`, default 1500).
    pub slow_delay: Duration,
    /// The `imagegate` binary (`IMAGEGATE_BIN`, default `target/release/imagegate`).
    pub imagegate_bin: PathBuf,
    /// Where the Markdown report is written (`SOAK_REPORT`, default `target/soak-report.md`).
    pub report_path: PathBuf,
    /// Signed images pushed for the run (`SOAK_IMAGES`, default 120; at least 20).
    pub images: usize,
}

/// Longest cycle of the four fault phases; longer runs repeat the cycle.
pub const MAX_CYCLE: Duration = Duration::from_secs(120);

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SoakError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SoakError> {
        let number = |name: &'static str, default: u64, min: u64, max: u64| {
            let Some(value) = lookup(name) else {
                return Ok(default);
            };
            match value.trim().parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(SoakError::Setting {
                    name,
                    value,
                    reason: format!("use a whole number from {min} to {max}"),
                }),
            }
        };
        let target =
            lookup("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
        Ok(Self {
            duration: Duration::from_secs(number("SOAK_SECONDS", 600, 30, 86_400)?),
            rate: u32::try_from(number("SOAK_RATE", 20, 1, 500)?).unwrap_or(20),
            slow_delay: Duration::from_millis(number("SOAK_SLOW_MS", 1500, 10, 10_000)?),
            imagegate_bin: lookup("IMAGEGATE_BIN")
                .map_or_else(|| target.join("release").join("imagegate"), PathBuf::from),
            report_path: lookup("SOAK_REPORT")
                .map_or_else(|| target.join("soak-report.md"), PathBuf::from),
            images: usize::try_from(number("SOAK_IMAGES", 120, 20, 5_000)?).unwrap_or(120),
        })
    }

    /// The length of one fault cycle: the whole run up to [`MAX_CYCLE`].
    pub fn cycle(&self) -> Duration {
        self.duration.min(MAX_CYCLE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.duration, Duration::from_secs(600));
        assert_eq!(s.cycle(), MAX_CYCLE);
        assert_eq!(s.rate, 20);
        assert!(s.imagegate_bin.ends_with("release/imagegate"));
        let short = Settings::from_lookup(|n| (n == "SOAK_SECONDS").then(|| "60".into())).unwrap();
        assert_eq!(short.cycle(), Duration::from_secs(60));
        let bad = Settings::from_lookup(|n| (n == "SOAK_RATE").then(|| "0".into()));
        assert!(bad.unwrap_err().to_string().contains("SOAK_RATE"));
    }
}
