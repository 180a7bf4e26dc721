//! The run's report: per-phase table, violations, RSS trend; rendered as Markdown.

use std::fmt::Write as _;
use std::time::Duration;

use crate::judge::Judgement;
use crate::stats::{regression, Latency};

/// RSS of the provider over the run and its trend.
#[derive(Debug, Clone, Default)]
pub struct RssTrend {
    /// `(seconds since start, KiB)` samples.
    pub samples: Vec<(f64, u64)>,
    /// Samples before this many seconds are warm-up (caches filling) and not fitted.
    pub warmup_secs: f64,
    /// Least-squares slope over the fitted samples, KiB per minute.
    pub slope_kib_per_min: f64,
    /// Mean of the fitted samples, KiB.
    pub mean_kib: f64,
    /// Growth the trend predicts across the fitted window, KiB.
    pub trend_growth_kib: f64,
    /// Largest growth allowed: 5 % of the mean or 4 MiB, whichever is larger.
    pub allowed_growth_kib: f64,
}

impl RssTrend {
    /// Fits the samples taken after `warmup_secs`.
    pub fn fit(samples: Vec<(f64, u64)>, warmup_secs: f64) -> Self {
        let fitted: Vec<(f64, f64)> = samples
            .iter()
            .filter(|(t, _)| *t >= warmup_secs)
            .map(|(t, kib)| (*t, *kib as f64))
            .collect();
        let mean = if fitted.is_empty() {
            0.0
        } else {
            fitted.iter().map(|p| p.1).sum::<f64>() / fitted.len() as f64
        };
        let slope = regression(&fitted).map_or(0.0, |l| l.slope);
        let span = match (fitted.first(), fitted.last()) {
            (Some(a), Some(b)) => b.0 - a.0,
            _ => 0.0,
        };
        Self {
            samples,
            warmup_secs,
            slope_kib_per_min: slope * 60.0,
            mean_kib: mean,
            trend_growth_kib: slope * span,
            allowed_growth_kib: (mean * 0.05).max(4096.0),
        }
    }

    /// Whether the fitted window spans at least one whole fault cycle after the warm-up:
    /// shorter runs are still filling caches and metric series for the first time, so their
    /// trend says nothing about a leak.
    pub fn judged(&self, cycle: Duration) -> bool {
        let fitted: Vec<f64> = self
            .samples
            .iter()
            .filter(|(t, _)| *t >= self.warmup_secs)
            .map(|(t, _)| *t)
            .collect();
        match (fitted.first(), fitted.last()) {
            (Some(a), Some(b)) => b - a >= cycle.as_secs_f64() * 0.95,
            _ => false,
        }
    }

    /// Whether RSS shows no growth trend (and there were enough samples to tell).
    pub fn flat(&self) -> bool {
        let fitted = self
            .samples
            .iter()
            .filter(|(t, _)| *t >= self.warmup_secs)
            .count();
        fitted >= 5 && self.trend_growth_kib <= self.allowed_growth_kib
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Run length.
    pub duration: Duration,
    /// Length of one fault cycle.
    pub cycle: Duration,
    /// Requests per second asked for.
    pub rate: u32,
    /// Images pushed (warm, cold).
    pub images: (usize, usize),
    /// The judge's findings.
    pub judgement: Judgement,
    /// RSS of the provider.
    pub rss: RssTrend,
    /// `(seconds since start, sample lines of /metrics)`, every 10 s.
    pub metric_lines: Vec<(f64, usize)>,
    /// The provider's `/metrics` at the end of the run.
    pub final_metrics: String,
    /// Ticks without a free request slot.
    pub skipped: usize,
    /// `imagegate_stale_verdicts_total` at the end.
    pub stale_metric: u64,
    /// TLS reloads (ok, error) by the provider's count.
    pub tls_reloads: (u64, u64),
    /// What the fault controller did, with times.
    pub notes: Vec<String>,
    /// What the hostile registry's keys got.
    pub hostile: crate::hostile::HostileStats,
    /// Requests the hostile registry served.
    pub hostile_served: u64,
}

impl Report {
    /// Whether the run passed: no violations and a flat RSS.
    pub fn passed(&self) -> bool {
        self.judgement.passed()
            && self.hostile.passed()
            && (self.rss.flat() || !self.rss.judged(self.cycle))
    }

    /// The report as Markdown (a level-3 heading and below, to sit inside a section).
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let j = &self.judgement;
        let total: usize = j.phases.iter().map(|(_, p)| p.requests).sum();
        let _ =
            writeln!(
            s,
            "Run: {} s, {} fault cycle(s) of {} s, {} requests/s (one key each, 4 warm : 1 cold), \
             {} warm + {} cold images; {} requests, {} skipped. **{}**\n",
            self.duration.as_secs(),
            self.duration.as_secs().div_ceil(self.cycle.as_secs().max(1)),
            self.cycle.as_secs(),
            self.rate,
            self.images.0,
            self.images.1,
            total,
            self.skipped,
            if self.passed() { "PASS" } else { "FAIL" },
        );
        let _ = writeln!(
            s,
            "| phase | requests | ok | stale | registry failures | key timeouts | other key errors | wrong verdicts | request errors | hangs | p50 ms | p95 ms | p99 ms | max ms | warm p99 ms | cold p99 ms |"
        );
        let _ = writeln!(
            s,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (phase, p) in &j.phases {
            let l = &p.latency;
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                phase.name(),
                p.requests,
                p.ok,
                p.stale,
                p.registry_failures,
                p.key_timeouts,
                p.key_errors,
                p.wrong,
                p.request_errors,
                p.hangs,
                ms(l.p50),
                ms(l.p95),
                ms(l.p99),
                ms(l.max),
                ms(p.warm.p99),
                ms(p.cold.p99),
            );
        }
        let observed: Vec<String> = j
            .reload_observed_after
            .iter()
            .map(|o| o.map_or("never".into(), |d| format!("{} ms", d.as_millis())))
            .collect();
        let _ = writeln!(
            s,
            "\nStale verdicts served (`imagegate_stale_verdicts_total`): {}. Fresh cold \
             verifications after each registry restart: {:?}. Trust-store reloads seen in \
             verdicts after: {}. TLS reloads by the provider: {} ok, {} rejected (a \
             certificate written before its key is rejected once, then loaded).",
            self.stale_metric,
            j.fresh_after_recovery,
            observed.join(", "),
            self.tls_reloads.0,
            self.tls_reloads.1,
        );
        let r = &self.rss;
        let _ = writeln!(
            s,
            "\nRSS of `imagegate serve` (every 2 s, {} samples; fitted after {:.0} s of warm-up): \
             mean {:.1} MiB, slope {:+.1} KiB/min, trend over the fitted window {:+.0} KiB \
             (allowed {:.0} KiB) → **{}**.\n",
            r.samples.len(),
            r.warmup_secs,
            r.mean_kib / 1024.0,
            r.slope_kib_per_min,
            r.trend_growth_kib,
            r.allowed_growth_kib,
            match (r.judged(self.cycle), r.flat()) {
                (false, _) => "not judged: the run is shorter than two fault cycles",
                (true, true) => "flat",
                (true, false) => "GROWING",
            },
        );
        let _ = writeln!(
            s,
            "| t (s) | RSS (MiB) | /metrics sample lines |\n|---:|---:|---:|"
        );
        let step = (r.samples.len() / 20).max(1);
        for (i, (t, kib)) in r.samples.iter().enumerate() {
            if i % step == 0 || i + 1 == r.samples.len() {
                let lines = self
                    .metric_lines
                    .iter()
                    .rev()
                    .find(|(at, _)| at <= t)
                    .map_or(String::new(), |(_, n)| n.to_string());
                let _ = writeln!(s, "| {t:.0} | {:.1} | {lines} |", *kib as f64 / 1024.0);
            }
        }
        if j.violation_count == 0 {
            let _ = writeln!(s, "\nViolations: none.");
        } else {
            let _ = writeln!(
                s,
                "\nViolations ({}; first {} listed):\n",
                j.violation_count,
                j.violations.len()
            );
            for v in &j.violations {
                let _ = writeln!(s, "- {v}");
            }
        }
        let h = &self.hostile;
        let _ = writeln!(
            s,
            "\nHostile registry (16 subjects x 8 signatures x 256 KiB envelopes; big / changing / \
             stalling): {} requests ({} / {} / {} per phase), {} keys answered, **{} wrong verdicts**, \
             {} request errors; it served {} requests.",
            h.requests,
            h.by_phase[0],
            h.by_phase[1],
            h.by_phase[2],
            h.answered,
            h.wrong,
            h.request_errors,
            self.hostile_served
        );
        for e in &h.examples {
            let _ = writeln!(s, "- hostile request error: {e}");
        }
        let _ = writeln!(s, "\n<details><summary>Fault timeline</summary>\n\n```");
        for n in &self.notes {
            let _ = writeln!(s, "{n}");
        }
        let _ = writeln!(s, "```\n</details>");
        s
    }
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// Latency as `p50/p95/p99/max` in ms (for logs).
pub fn short(l: &Latency) -> String {
    format!(
        "{}/{}/{}/{} ms",
        l.p50.as_millis(),
        l.p95.as_millis(),
        l.p99.as_millis(),
        l.max.as_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_growing_rss() {
        let flat: Vec<(f64, u64)> = (0..100)
            .map(|i| (i as f64 * 2.0, 50_000 + (i % 3) * 500))
            .collect();
        let t = RssTrend::fit(flat, 20.0);
        assert!(t.flat(), "{t:?}");
        assert!(t.judged(Duration::from_secs(120)) && !t.judged(Duration::from_secs(200)));
        let leak: Vec<(f64, u64)> = (0..100)
            .map(|i| (i as f64 * 2.0, 50_000 + i * 200))
            .collect();
        let t = RssTrend::fit(leak, 20.0);
        assert!(!t.flat(), "{t:?}");
        assert!((t.slope_kib_per_min - 6000.0).abs() < 1.0, "{t:?}");
        assert!(
            !RssTrend::fit(vec![(30.0, 1)], 20.0).flat(),
            "too few samples"
        );
    }

    #[test]
    fn renders_markdown() {
        let r = Report {
            duration: Duration::from_secs(60),
            cycle: Duration::from_secs(60),
            rate: 20,
            rss: RssTrend::fit((0..30).map(|i| (i as f64 * 2.0, 40_000)).collect(), 10.0),
            ..Report::default()
        };
        let md = r.to_markdown();
        assert!(
            md.contains("PASS") && md.contains("| t (s) | RSS (MiB) |"),
            "{md}"
        );
        assert!(md.contains("Violations: none."));
    }
}
