//! Judging a run: which answers were acceptable given the faults in force when they were
//! asked, per-phase counts and latencies, and the list of violations.

use std::time::Duration;

use crate::images::{Group, Trust};
use crate::shot::{Answer, Shot, Temperature};
use crate::stats::Latency;

/// The phases of one fault cycle, by position in the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Steady load, no fault.
    Baseline,
    /// The registry is stopped.
    Outage,
    /// The registry is back.
    Recovery,
    /// The registry answers through the delaying proxy.
    Slow,
    /// Server certificate and client CA are rotated.
    Rotation,
    /// The trust store changes through a config reload.
    Reload,
}

impl Phase {
    /// Every phase, in cycle order.
    pub const ALL: [Phase; 6] = [
        Phase::Baseline,
        Phase::Outage,
        Phase::Recovery,
        Phase::Slow,
        Phase::Rotation,
        Phase::Reload,
    ];

    /// Where each phase starts, as a fraction of the cycle.
    pub fn start(self) -> f64 {
        match self {
            Self::Baseline => 0.0,
            Self::Outage => 0.10,
            Self::Recovery => 0.25,
            Self::Slow => 0.40,
            Self::Rotation => 0.52,
            Self::Reload => 0.75,
        }
    }

    /// The phase at `t` into a run of cycles of length `cycle`.
    pub fn at(t: Duration, cycle: Duration) -> Self {
        let pos = (t.as_secs_f64() % cycle.as_secs_f64()) / cycle.as_secs_f64();
        Self::ALL
            .iter()
            .rev()
            .find(|p| pos >= p.start())
            .copied()
            .unwrap_or(Self::Baseline)
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Baseline => "baseline",
            Self::Outage => "1 registry down",
            Self::Recovery => "1 registry back",
            Self::Slow => "2 slow registry",
            Self::Rotation => "3 TLS rotation",
            Self::Reload => "4 trust reload",
        }
    }
}

/// A fault in force from `from` to `to` (since the start of the load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start.
    pub from: Duration,
    /// End.
    pub to: Duration,
}

/// A trust-store change: `config.json` rewritten at `at` to trust `trust`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reload {
    /// When the file was written.
    pub at: Duration,
    /// What it trusts.
    pub trust: Trust,
}

/// One TLS rotation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotation {
    /// When the new files were written.
    pub started: Duration,
    /// How long until the provider reported reloading both (observed through its metrics).
    pub reloaded_after: Option<Duration>,
    /// Whether a client with the retired CA's certificate was refused afterwards.
    pub old_client_refused: Option<bool>,
    /// Why the rotation did not complete, if it did not.
    pub failed: Option<String>,
}

/// What the fault controller did and when.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Registry stopped → listening again.
    pub outages: Vec<Window>,
    /// Delay on → off.
    pub slow: Vec<Window>,
    /// Trust-store changes.
    pub reloads: Vec<Reload>,
    /// TLS rotations.
    pub rotations: Vec<Rotation>,
}

/// Counts and latencies of one phase.
#[derive(Debug, Clone, Default)]
pub struct PhaseStats {
    /// Requests sent.
    pub requests: usize,
    /// Fresh verdicts as expected.
    pub ok: usize,
    /// Stale verdicts (as expected).
    pub stale: usize,
    /// Failed verdicts caused by the registry.
    pub registry_failures: usize,
    /// Per-key deadline errors.
    pub key_timeouts: usize,
    /// Other per-key errors.
    pub key_errors: usize,
    /// Verdicts other than expected.
    pub wrong: usize,
    /// Requests that failed as a whole (connection, TLS, HTTP, systemError).
    pub request_errors: usize,
    /// Answers later than the deadline plus slack.
    pub hangs: usize,
    /// All latencies.
    pub latency: Latency,
    /// Latencies of warm keys.
    pub warm: Latency,
    /// Latencies of cold keys.
    pub cold: Latency,
}

/// The verdict of the judge.
#[derive(Debug, Clone, Default)]
pub struct Judgement {
    /// Per phase, in [`Phase::ALL`] order.
    pub phases: Vec<(Phase, PhaseStats)>,
    /// Everything that should not have happened (capped list plus a count).
    pub violations: Vec<String>,
    /// Total violations (the list is capped).
    pub violation_count: usize,
    /// Per reload: how long until a verdict under the new trust store was seen.
    pub reload_observed_after: Vec<Option<Duration>>,
    /// Per outage: fresh successful cold verifications after the registry came back.
    pub fresh_after_recovery: Vec<usize>,
}

/// Bounds the judge applies.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    /// Length of a fault cycle.
    pub cycle: Duration,
    /// The per-key verification deadline.
    pub deadline: Duration,
    /// How long failures may go on after a fault ends (cached transient failures, backoff).
    pub after_fault: Duration,
    /// How much later than the deadline an answer may come before it counts as a hang.
    pub hang_slack: Duration,
    /// The trust configuration in force before the first reload.
    pub initial_trust: Trust,
}

/// Most violations listed individually.
const MAX_LISTED: usize = 20;

/// Judges `shots` against the `timeline`; `groups[i]` is the group of image `i`.
pub fn judge(shots: &[Shot], groups: &[Group], timeline: &Timeline, b: &Bounds) -> Judgement {
    let mut j = Judgement::default();
    let faults: Vec<Window> = timeline
        .outages
        .iter()
        .chain(&timeline.slow)
        .map(|w| Window {
            from: w.from,
            to: w.to + b.after_fault,
        })
        .collect();
    let observed = observe_reloads(shots, groups, timeline, b.initial_trust);
    j.reload_observed_after = timeline
        .reloads
        .iter()
        .zip(&observed)
        .map(|(r, o)| o.map(|o| o.saturating_sub(r.at)))
        .collect();
    for (i, (r, o)) in timeline.reloads.iter().zip(&observed).enumerate() {
        if o.is_none() {
            j.violation(format!(
                "reload {} at {:?} to {:?} was never observed in a verdict",
                i + 1,
                r.at,
                r.trust
            ));
        }
    }
    for (i, r) in timeline.rotations.iter().enumerate() {
        if let Some(why) = &r.failed {
            j.violation(format!("TLS rotation {} failed: {why}", i + 1));
        }
        if r.old_client_refused == Some(false) {
            j.violation(format!(
                "TLS rotation {}: a client certificate from the retired CA was still accepted",
                i + 1
            ));
        }
    }
    let mut per_phase: Vec<Tally> = Phase::ALL.iter().map(|p| Tally::new(*p)).collect();
    for shot in shots {
        let phase = Phase::at(shot.start, b.cycle);
        let Some(tally) = per_phase.iter_mut().find(|x| x.phase == phase) else {
            continue;
        };
        let stats = &mut tally.stats;
        stats.requests += 1;
        let latency = shot.latency();
        tally.all.push(latency);
        match shot.temperature {
            Temperature::Warm => tally.warm.push(latency),
            Temperature::Cold => tally.cold.push(latency),
        }
        let in_fault = faults
            .iter()
            .any(|w| shot.start <= w.to && shot.end >= w.from);
        let what = |kind: &str| {
            format!(
                "{kind} at {:.1}s ({}, image {}, {:?}, {} ms)",
                shot.start.as_secs_f64(),
                phase.name(),
                shot.image,
                shot.temperature,
                latency.as_millis()
            )
        };
        if latency > b.deadline + b.hang_slack {
            stats.hangs += 1;
            j.violation(what("answer later than the deadline"));
        }
        let group = groups.get(shot.image).copied().unwrap_or(Group::Unsigned);
        match &shot.answer {
            Answer::Request(e) => {
                stats.request_errors += 1;
                j.violation(format!("{}: {e}", what("request failed")));
            }
            Answer::KeyError(e) => {
                if e.contains("timed out") {
                    stats.key_timeouts += 1;
                } else {
                    stats.key_errors += 1;
                }
                if !in_fault {
                    j.violation(format!("{}: {e}", what("per-key error outside a fault")));
                }
            }
            Answer::Verdict {
                registry_failure: true,
                ..
            } => {
                stats.registry_failures += 1;
                if !in_fault {
                    j.violation(what("registry failure outside a fault"));
                }
            }
            Answer::Verdict { success, stale, .. } => {
                let allowed = expected(shot, group, timeline, &observed, b.initial_trust);
                if !allowed.contains(success) {
                    stats.wrong += 1;
                    j.violation(format!(
                        "{}: got isSuccess={success}",
                        what("wrong verdict")
                    ));
                } else if *stale {
                    stats.stale += 1;
                    if !in_fault {
                        j.violation(what("stale verdict outside a fault"));
                    }
                } else {
                    stats.ok += 1;
                }
            }
        }
    }
    for w in &timeline.outages {
        let from = w.to + b.after_fault;
        let fresh = shots
            .iter()
            .filter(|s| s.start >= from && s.temperature == Temperature::Cold)
            .filter(|s| s.start < from + b.cycle / 4)
            .filter(|s| {
                matches!(
                    s.answer,
                    Answer::Verdict {
                        success: true,
                        stale: false,
                        ..
                    }
                )
            })
            .count();
        if fresh == 0 {
            j.violation(format!(
                "no fresh successful cold verification after the registry came back at {:?}",
                w.to
            ));
        }
        j.fresh_after_recovery.push(fresh);
    }
    j.phases = per_phase
        .into_iter()
        .map(|mut t| {
            t.stats.latency = Latency::of(&t.all);
            t.stats.warm = Latency::of(&t.warm);
            t.stats.cold = Latency::of(&t.cold);
            (t.phase, t.stats)
        })
        .collect();
    j
}

/// Counts and latency samples of one phase while judging.
struct Tally {
    phase: Phase,
    stats: PhaseStats,
    all: Vec<Duration>,
    warm: Vec<Duration>,
    cold: Vec<Duration>,
}

impl Tally {
    fn new(phase: Phase) -> Self {
        Self {
            phase,
            stats: PhaseStats::default(),
            all: Vec::new(),
            warm: Vec::new(),
            cold: Vec::new(),
        }
    }
}

impl Judgement {
    fn violation(&mut self, text: String) {
        self.violation_count += 1;
        if self.violations.len() < MAX_LISTED {
            self.violations.push(text);
        }
    }

    /// Whether nothing went wrong.
    pub fn passed(&self) -> bool {
        self.violation_count == 0
    }
}

/// For each reload, the end of the first answer that could only come from the new trust
/// store: a fresh verdict on a rotating-signer image equal to the new expectation.
fn observe_reloads(
    shots: &[Shot],
    groups: &[Group],
    timeline: &Timeline,
    initial: Trust,
) -> Vec<Option<Duration>> {
    let mut before = initial;
    timeline
        .reloads
        .iter()
        .map(|r| {
            let changed = r.trust != before;
            before = r.trust;
            shots
                .iter()
                .filter(|s| s.start >= r.at)
                .filter(|s| groups.get(s.image) == Some(&Group::Rotating))
                .filter(|s| match s.answer {
                    Answer::Verdict {
                        success,
                        stale: false,
                        registry_failure: false,
                    } => !changed || success == Group::Rotating.passes(r.trust),
                    _ => false,
                })
                .map(|s| s.end)
                .min()
        })
        .collect()
}

/// The verdicts acceptable for `shot`: under the trust store in force, or, while a reload
/// was in progress (written but not yet observed), under either.
fn expected(
    shot: &Shot,
    group: Group,
    timeline: &Timeline,
    observed: &[Option<Duration>],
    initial: Trust,
) -> Vec<bool> {
    let last = timeline.reloads.iter().rposition(|r| r.at <= shot.end);
    let Some(i) = last else {
        return vec![group.passes(initial)];
    };
    let now = group.passes(timeline.reloads[i].trust);
    let before = if i == 0 {
        initial
    } else {
        timeline.reloads[i - 1].trust
    };
    match observed.get(i).copied().flatten() {
        Some(o) if shot.start > o => vec![now],
        _ => vec![now, group.passes(before)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn bounds() -> Bounds {
        Bounds {
            cycle: S(100),
            deadline: Duration::from_millis(2900),
            after_fault: S(3),
            hang_slack: Duration::from_millis(1500),
            initial_trust: Trust::Both,
        }
    }

    fn verdict(success: bool, stale: bool, registry_failure: bool) -> Answer {
        Answer::Verdict {
            success,
            stale,
            registry_failure,
        }
    }

    fn shot(image: usize, start_ms: u64, ms: u64, answer: Answer) -> Shot {
        Shot {
            image,
            temperature: Temperature::Cold,
            start: Duration::from_millis(start_ms),
            end: Duration::from_millis(start_ms + ms),
            answer,
        }
    }

    const GROUPS: [Group; 3] = [Group::Stable, Group::Rotating, Group::Unsigned];

    #[test]
    fn phases_by_cycle_position() {
        assert_eq!(Phase::at(S(5), S(100)), Phase::Baseline);
        assert_eq!(Phase::at(S(12), S(100)), Phase::Outage);
        assert_eq!(Phase::at(S(45), S(100)), Phase::Slow);
        assert_eq!(Phase::at(S(99), S(100)), Phase::Reload);
        assert_eq!(Phase::at(S(112), S(100)), Phase::Outage);
    }

    #[test]
    fn failures_are_allowed_only_inside_faults() {
        let timeline = Timeline {
            outages: vec![Window {
                from: S(10),
                to: S(20),
            }],
            ..Timeline::default()
        };
        let shots = vec![
            shot(0, 1_000, 10, verdict(true, false, false)),
            shot(0, 12_000, 10, verdict(true, true, false)),
            shot(1, 13_000, 10, verdict(false, false, true)),
            shot(0, 22_000, 10, verdict(false, false, true)),
            shot(0, 24_000, 10, verdict(true, false, false)),
            shot(0, 30_000, 10, verdict(false, false, true)),
            shot(0, 31_000, 10, verdict(true, true, false)),
        ];
        let j = judge(&shots, &GROUPS, &timeline, &bounds());
        assert_eq!(j.violation_count, 2, "{:?}", j.violations);
        assert!(j.violations[0].contains("registry failure outside a fault"));
        assert!(j.violations[1].contains("stale verdict outside a fault"));
        assert_eq!(j.fresh_after_recovery, vec![1]);
    }

    #[test]
    fn wrong_verdicts_hangs_and_request_errors_are_violations() {
        let shots = vec![
            shot(2, 1_000, 10, verdict(true, false, false)),
            shot(0, 2_000, 5_000, verdict(true, false, false)),
            shot(0, 3_000, 10, Answer::Request("connection reset".into())),
        ];
        let j = judge(&shots, &GROUPS, &Timeline::default(), &bounds());
        assert_eq!(j.violation_count, 3, "{:?}", j.violations);
        let base = &j.phases[0].1;
        assert_eq!(
            (base.wrong, base.hangs, base.request_errors, base.ok),
            (1, 1, 1, 1)
        );
    }

    #[test]
    fn reload_accepts_either_verdict_until_observed() {
        let timeline = Timeline {
            reloads: vec![Reload {
                at: S(80),
                trust: Trust::FirstOnly,
            }],
            ..Timeline::default()
        };
        let shots = vec![
            shot(1, 79_000, 10, verdict(true, false, false)),
            shot(1, 80_100, 10, verdict(true, false, false)),
            shot(1, 80_500, 10, verdict(false, false, false)),
            shot(0, 81_000, 10, verdict(true, false, false)),
            shot(1, 81_000, 10, verdict(false, false, false)),
        ];
        let j = judge(&shots, &GROUPS, &timeline, &bounds());
        assert!(j.passed(), "{:?}", j.violations);
        assert_eq!(
            j.reload_observed_after,
            vec![Some(Duration::from_millis(510))]
        );
        let late = vec![
            shot(1, 80_500, 10, verdict(false, false, false)),
            shot(1, 82_000, 10, verdict(true, false, false)),
        ];
        let j = judge(&late, &GROUPS, &timeline, &bounds());
        assert_eq!(j.violation_count, 1, "{:?}", j.violations);
        let never = judge(&shots[..2], &GROUPS, &timeline, &bounds());
        assert!(never.violations[0].contains("never observed"));
    }
}
