//! Which subjects have a `ratify_verifier_duration` series, bounded.
//!
//! Ratify labels that histogram with the subject reference, so it gains a series (≈ 1.3 KB of
//! buckets) for every image ever verified and never drops one. Here the subjects with a series
//! are capped: when a new subject would exceed the cap, the subject used least recently loses
//! its series (every label combination of it). Recent images stay visible to dashboards;
//! memory stays bounded however many images a cluster runs.

use std::collections::HashMap;

/// The label values of one series other than the subject:
/// `[verifier, success, error, workload_namespace]`.
pub(crate) type OtherLabels = [String; 4];

/// Subjects with a series, when each was last used, and their label combinations.
#[derive(Debug)]
pub(crate) struct SubjectSeries {
    max_subjects: usize,
    tick: u64,
    subjects: HashMap<String, Entry>,
}

#[derive(Debug)]
struct Entry {
    last_used: u64,
    series: Vec<OtherLabels>,
}

/// What recording one series did to the set.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// A subject that lost its series to make room, with its label combinations; the caller
    /// removes them from the histogram.
    pub(crate) evicted: Option<(String, Vec<OtherLabels>)>,
}

impl SubjectSeries {
    /// An empty set that keeps series for at most `max_subjects` subjects (at least one).
    pub(crate) fn new(max_subjects: usize) -> Self {
        Self {
            max_subjects: max_subjects.max(1),
            tick: 0,
            subjects: HashMap::new(),
        }
    }

    /// How many subjects have a series now.
    pub(crate) fn len(&self) -> usize {
        self.subjects.len()
    }

    /// Notes that `subject` is recorded with `labels`, making room if the subject is new and
    /// the set is full.
    pub(crate) fn admit(&mut self, subject: &str, labels: &OtherLabels) -> Admitted {
        self.tick += 1;
        if let Some(entry) = self.subjects.get_mut(subject) {
            entry.last_used = self.tick;
            if !entry.series.contains(labels) {
                entry.series.push(labels.clone());
            }
            return Admitted::default();
        }
        let evicted = if self.subjects.len() >= self.max_subjects {
            self.evict_least_recent()
        } else {
            None
        };
        self.subjects.insert(
            subject.to_owned(),
            Entry {
                last_used: self.tick,
                series: vec![labels.clone()],
            },
        );
        Admitted { evicted }
    }

    /// Removes the subject used least recently. A linear scan: this runs only when a subject
    /// is verified for the first time while the set is full, next to a verification that
    /// took milliseconds.
    fn evict_least_recent(&mut self) -> Option<(String, Vec<OtherLabels>)> {
        let oldest = self
            .subjects
            .iter()
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(subject, _)| subject.clone())?;
        let entry = self.subjects.remove(&oldest)?;
        Some((oldest, entry.series))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(verifier: &str, success: bool) -> OtherLabels {
        [
            verifier.to_owned(),
            success.to_string(),
            String::new(),
            String::new(),
        ]
    }

    #[test]
    fn the_least_recently_used_subject_makes_room() {
        let mut set = SubjectSeries::new(2);
        assert_eq!(set.admit("a", &labels("n", true)), Admitted::default());
        assert_eq!(set.admit("b", &labels("n", true)), Admitted::default());
        // "a" used again: "b" is now the least recent.
        assert_eq!(set.admit("a", &labels("n", false)), Admitted::default());
        let admitted = set.admit("c", &labels("n", true));
        assert_eq!(
            admitted.evicted,
            Some(("b".to_owned(), vec![labels("n", true)]))
        );
        assert_eq!(set.len(), 2);
        // "a" keeps both of its label combinations, once each.
        set.admit("a", &labels("n", true));
        let admitted = set.admit("d", &labels("n", true));
        assert_eq!(admitted.evicted.map(|(s, _)| s), Some("c".to_owned()));
        let admitted = set.admit("e", &labels("n", true));
        assert_eq!(
            admitted.evicted,
            Some(("a".to_owned(), vec![labels("n", true), labels("n", false)]))
        );
    }

    #[test]
    fn a_cap_of_zero_still_keeps_the_latest_subject() {
        let mut set = SubjectSeries::new(0);
        set.admit("a", &labels("n", true));
        let admitted = set.admit("b", &labels("n", true));
        assert_eq!(admitted.evicted.map(|(s, _)| s), Some("a".to_owned()));
        assert_eq!(set.len(), 1);
    }
}
