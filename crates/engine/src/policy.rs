//! The policy decision: Ratify's config policy, as a pure function over report summaries.
//!
//! `artifactVerificationPolicies` maps an artifact type to `any` or `all`; `default` applies
//! to types not listed and defaults to `all`. The decision (Ratify `OverallVerifyResult`):
//!
//! * no reports → fail (the executor turns this into a `NO_VERIFIER_REPORT` report);
//! * every explicitly listed type (except `default`) needs at least one report, and every type
//!   that appears needs to be satisfied;
//! * a report under `all` that failed fails the whole decision; under `any`, one success
//!   satisfies its type.

use std::collections::BTreeMap;

/// How many reports of one artifact type must succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one.
    Any,
    /// Every one (and at least one).
    All,
}

impl Quantifier {
    /// Parses Ratify's `any` / `all` (case-sensitive, as Ratify compares them).
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "any" => Some(Self::Any),
            "all" => Some(Self::All),
            _ => None,
        }
    }
}

/// The key Ratify uses for the fallback quantifier.
pub const DEFAULT_KEY: &str = "default";

/// Ratify's config policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigPolicy {
    /// Quantifier per listed artifact type (without `default`).
    pub per_type: BTreeMap<String, Quantifier>,
    /// Quantifier for artifact types not listed (`default`, itself defaulting to `all`).
    pub default: Quantifier,
}

impl Default for ConfigPolicy {
    /// `{"default": "all"}`, the Helm chart's policy.
    fn default() -> Self {
        Self {
            per_type: BTreeMap::new(),
            default: Quantifier::All,
        }
    }
}

/// What the decision needs to know about one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSummary<'a> {
    /// The referrer's artifact type.
    pub artifact_type: &'a str,
    /// Whether the verifier accepted it.
    pub is_success: bool,
}

impl ConfigPolicy {
    /// The overall decision over all reports of one subject.
    pub fn decide(&self, reports: &[ReportSummary<'_>]) -> bool {
        if reports.is_empty() {
            return false;
        }
        let mut satisfied: BTreeMap<&str, bool> =
            self.per_type.keys().map(|t| (t.as_str(), false)).collect();
        for report in reports {
            let quantifier = match self.per_type.get(report.artifact_type) {
                Some(q) => *q,
                None => {
                    satisfied.entry(report.artifact_type).or_insert(false);
                    self.default
                }
            };
            match quantifier {
                Quantifier::Any => {
                    if report.is_success {
                        satisfied.insert(report.artifact_type, true);
                    }
                }
                Quantifier::All => {
                    if !report.is_success {
                        return false;
                    }
                    satisfied.insert(report.artifact_type, true);
                }
            }
        }
        satisfied.values().all(|ok| *ok)
    }

    /// The quantifier of `artifact_type`.
    fn quantifier(&self, artifact_type: &str) -> Quantifier {
        self.per_type
            .get(artifact_type)
            .copied()
            .unwrap_or(self.default)
    }

    /// The decision over `finished` reports when the reports still to come (of the artifact
    /// types in `pending`) cannot change it, else `None`; the verification of the pending
    /// ones may then stop. With at least one finished report:
    ///
    /// * a failure under `all` fails the decision whatever comes next;
    /// * when [`ConfigPolicy::decide`] passes on `finished` and every pending report is of an
    ///   `any` type that already has a success, no later report can fail it (a later report
    ///   can only add a success to a satisfied `any` type).
    ///
    /// Always `Some(decide(finished))` when nothing is pending.
    pub fn settled<'a>(
        &self,
        finished: &[ReportSummary<'_>],
        mut pending: impl Iterator<Item = &'a str>,
    ) -> Option<bool> {
        if finished.is_empty() {
            return None;
        }
        let failed_all = finished
            .iter()
            .any(|r| !r.is_success && self.quantifier(r.artifact_type) == Quantifier::All);
        if failed_all {
            return Some(false);
        }
        if !self.decide(finished) {
            // Missing reports of a type may still come; a complete set decides now.
            let mut pending = pending.peekable();
            return pending.peek().is_none().then_some(false);
        }
        let harmless = pending.all(|t| {
            self.quantifier(t) == Quantifier::Any
                && finished
                    .iter()
                    .any(|r| r.is_success && r.artifact_type == t)
        });
        harmless.then_some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "application/vnd.cncf.notary.signature";
    const SBOM: &str = "application/spdx+json";

    fn r(artifact_type: &str, is_success: bool) -> ReportSummary<'_> {
        ReportSummary {
            artifact_type,
            is_success,
        }
    }

    /// `settled` never disagrees with `decide` over the complete set, whatever the order the
    /// reports finish in and whatever the pending ones turn out to be.
    #[test]
    fn settled_agrees_with_the_full_decision() {
        use Quantifier::{All, Any};
        let types = [SIG, SBOM];
        let policies = [
            policy(&[], All),
            policy(&[], Any),
            policy(&[(SIG, Any)], All),
            policy(&[(SIG, All), (SBOM, Any)], Any),
            policy(&[(SBOM, Any)], Any),
        ];
        // Every sequence of up to four reports over two types and two outcomes.
        for len in 1..=4u32 {
            for bits in 0..(4u32.pow(len)) {
                let reports: Vec<ReportSummary<'_>> = (0..len)
                    .map(|i| {
                        let v = (bits >> (2 * i)) & 3;
                        r(types[(v & 1) as usize], v & 2 != 0)
                    })
                    .collect();
                for p in &policies {
                    let full = p.decide(&reports);
                    for done in 0..=reports.len() {
                        let pending = reports[done..].iter().map(|r| r.artifact_type);
                        if let Some(early) = p.settled(&reports[..done], pending) {
                            assert_eq!(early, full, "{p:?} {reports:?} after {done}");
                        }
                    }
                    let none = std::iter::empty();
                    assert_eq!(p.settled(&reports, none), Some(full), "{p:?} {reports:?}");
                }
            }
        }
    }

    #[test]
    fn settled_stops_early_where_it_can() {
        use Quantifier::{All, Any};
        let any = policy(&[], Any);
        // One success under `any` settles the remaining signatures of its type.
        assert_eq!(
            any.settled(&[r(SIG, true)], [SIG, SIG].into_iter()),
            Some(true)
        );
        // A failure under `any` does not.
        assert_eq!(any.settled(&[r(SIG, false)], [SIG].into_iter()), None);
        // Under `all`, a failure settles; a success does not while more may fail.
        let all = policy(&[], All);
        assert_eq!(
            all.settled(&[r(SIG, false)], [SIG].into_iter()),
            Some(false)
        );
        assert_eq!(all.settled(&[r(SIG, true)], [SIG].into_iter()), None);
        // Nothing finished yet: nothing is settled.
        assert_eq!(all.settled(&[], [SIG].into_iter()), None);
    }

    fn policy(types: &[(&str, Quantifier)], default: Quantifier) -> ConfigPolicy {
        ConfigPolicy {
            per_type: types.iter().map(|(t, q)| ((*t).to_owned(), *q)).collect(),
            default,
        }
    }

    /// Exhaustive truth table over zero to three reports of one type, for each quantifier,
    /// whether the type is listed or falls to `default`.
    #[test]
    fn truth_table_single_type() {
        use Quantifier::{All, Any};
        for q in [Any, All] {
            for listed in [true, false] {
                let p = if listed {
                    policy(&[(SIG, q)], if q == Any { All } else { Any })
                } else {
                    policy(&[], q)
                };
                for n in 0..=3usize {
                    for bits in 0..(1u32 << n) {
                        let reports: Vec<_> =
                            (0..n).map(|i| r(SIG, bits & (1 << i) != 0)).collect();
                        let successes = (0..n).filter(|i| bits & (1 << i) != 0).count();
                        let expected = match q {
                            Any => successes >= 1,
                            All => n >= 1 && successes == n,
                        };
                        assert_eq!(
                            p.decide(&reports),
                            expected,
                            "{q:?} listed={listed} n={n} bits={bits:b}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn empty_reports_always_fail() {
        for q in [Quantifier::Any, Quantifier::All] {
            assert!(!policy(&[], q).decide(&[]));
            assert!(!policy(&[(SIG, q)], q).decide(&[]));
        }
    }

    #[test]
    fn listed_type_without_report_fails() {
        let p = policy(
            &[(SIG, Quantifier::Any), (SBOM, Quantifier::Any)],
            Quantifier::All,
        );
        assert!(!p.decide(&[r(SIG, true)]));
        assert!(p.decide(&[r(SIG, true), r(SBOM, true)]));
    }

    #[test]
    fn default_applies_to_unlisted_types() {
        let p = policy(&[(SIG, Quantifier::Any)], Quantifier::All);
        assert!(p.decide(&[r(SIG, false), r(SIG, true)]));
        assert!(!p.decide(&[r(SIG, true), r(SBOM, false)]));
        assert!(p.decide(&[r(SIG, true), r(SBOM, true)]));
        let lenient = policy(&[(SIG, Quantifier::All)], Quantifier::Any);
        assert!(lenient.decide(&[r(SIG, true), r(SBOM, false), r(SBOM, true)]));
        assert!(!lenient.decide(&[r(SIG, true), r(SBOM, false)]));
        assert!(!lenient.decide(&[r(SIG, false), r(SBOM, true)]));
    }

    #[test]
    fn parses_quantifiers() {
        assert_eq!(Quantifier::from_name("any"), Some(Quantifier::Any));
        assert_eq!(Quantifier::from_name("all"), Some(Quantifier::All));
        assert_eq!(Quantifier::from_name("All"), None);
        assert_eq!(ConfigPolicy::default().default, Quantifier::All);
    }
}
