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
