//! Which subjects have a `ratify_verifier_duration` series, bounded.
//!
//! Ratify labels that histogram with the subject reference, so it gains a series (≈ 1.3 KB of
//! buckets) for every image ever verified and never drops one. Here the subjects with a series
//! are capped: when a new subject would exceed the cap, the subject used least recently loses
//! its series (every label combination of it). The total number of series (label
//! combinations over all subjects) has a hard cap too, enforced the same way, so neither many
//! subjects nor many label combinations per subject can grow `/metrics` without bound. Recent
//! images stay visible to dashboards; memory stays bounded however many images a cluster runs.

use std::collections::HashMap;

/// The label values of one series other than the subject:
/// `[verifier, success, error, workload_namespace]`.
pub(crate) type OtherLabels = [String; 4];

/// Subjects with a series, when each was last used, and their label combinations.
#[derive(Debug)]
pub(crate) struct SubjectSeries {
    max_subjects: usize,
    max_series: usize,
    /// Series over all subjects.
    total: usize,
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
    /// Subjects that lost their series to make room, with their label combinations; the
    /// caller removes them from the histogram.
    pub(crate) evicted: Vec<(String, Vec<OtherLabels>)>,
}

impl SubjectSeries {
    /// An empty set that keeps series for at most `max_subjects` subjects and `max_series`
    /// label combinations in all (each at least one).
    pub(crate) fn new(max_subjects: usize, max_series: usize) -> Self {
        Self {
            max_subjects: max_subjects.max(1),
            max_series: max_series.max(1),
            total: 0,
            tick: 0,
            subjects: HashMap::new(),
        }
    }

    /// How many subjects have a series now.
    pub(crate) fn len(&self) -> usize {
        self.subjects.len()
    }

    /// How many series (subject and label combination) there are now.
    pub(crate) fn series(&self) -> usize {
        self.total
    }

    /// Notes that `subject` is recorded with `labels`, making room (least recently used
    /// subjects first) if that adds a subject over the subject cap or a series over the series
    /// cap.
    pub(crate) fn admit(&mut self, subject: &str, labels: &OtherLabels) -> Admitted {
        self.tick += 1;
        let tick = self.tick;
        let mut admitted = Admitted::default();
        // Only a subject already in the set must be kept out of the eviction scan.
        let keep = if let Some(entry) = self.subjects.get_mut(subject) {
            entry.last_used = tick;
            if entry.series.contains(labels) {
                return admitted;
            }
            Some(subject)
        } else {
            while self.subjects.len() >= self.max_subjects {
                admitted.evicted.extend(self.evict_least_recent(None));
            }
            None
        };
        while self.total >= self.max_series {
            match self.evict_least_recent(keep) {
                Some(evicted) => admitted.evicted.push(evicted),
                // Only this subject is left: it gives up its own older series.
                None => {
                    if let Some(entry) = self.subjects.remove(subject) {
                        self.total -= entry.series.len();
                        admitted.evicted.push((subject.to_owned(), entry.series));
                    }
                }
            }
        }
        let entry = self.subjects.entry(subject.to_owned()).or_insert(Entry {
            last_used: tick,
            series: Vec::new(),
        });
        entry.series.push(labels.clone());
        self.total += 1;
        admitted
    }

    /// Removes the subject used least recently (other than `keep`). A linear scan: this runs
    /// only when a series is added while the set is full, next to a verification that took
    /// milliseconds.
    fn evict_least_recent(&mut self, keep: Option<&str>) -> Option<(String, Vec<OtherLabels>)> {
        let oldest = match keep {
            None => self
                .subjects
                .iter()
                .min_by_key(|(_, entry)| entry.last_used),
            Some(keep) => self
                .subjects
                .iter()
                .filter(|(subject, _)| subject.as_str() != keep)
                .min_by_key(|(_, entry)| entry.last_used),
        }
        .map(|(subject, _)| subject.clone())?;
        let entry = self.subjects.remove(&oldest)?;
        self.total -= entry.series.len();
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
        let mut set = SubjectSeries::new(2, 100);
        assert_eq!(set.admit("a", &labels("n", true)), Admitted::default());
        assert_eq!(set.admit("b", &labels("n", true)), Admitted::default());
        // "a" used again: "b" is now the least recent.
        assert_eq!(set.admit("a", &labels("n", false)), Admitted::default());
        let admitted = set.admit("c", &labels("n", true));
        assert_eq!(
            admitted.evicted,
            vec![("b".to_owned(), vec![labels("n", true)])]
        );
        assert_eq!(set.len(), 2);
        // "a" keeps both of its label combinations, once each.
        set.admit("a", &labels("n", true));
        let admitted = set.admit("d", &labels("n", true));
        assert_eq!(names(&admitted), ["c"]);
        let admitted = set.admit("e", &labels("n", true));
        assert_eq!(
            admitted.evicted,
            vec![("a".to_owned(), vec![labels("n", true), labels("n", false)])]
        );
    }

    #[test]
    fn a_cap_of_zero_still_keeps_the_latest_subject() {
        let mut set = SubjectSeries::new(0, 100);
        set.admit("a", &labels("n", true));
        let admitted = set.admit("b", &labels("n", true));
        assert_eq!(names(&admitted), ["a"]);
        assert_eq!(set.len(), 1);
    }

    fn names(admitted: &Admitted) -> Vec<&str> {
        admitted.evicted.iter().map(|(s, _)| s.as_str()).collect()
    }

    #[test]
    fn the_total_number_of_series_is_capped() {
        let mut set = SubjectSeries::new(100, 3);
        set.admit("a", &labels("n", true));
        set.admit("a", &labels("n", false));
        set.admit("b", &labels("n", true));
        assert_eq!(set.series(), 3);
        // A fourth series: the least recent subject ("a", two series) makes room.
        let admitted = set.admit("c", &labels("n", true));
        assert_eq!(names(&admitted), ["a"]);
        assert_eq!((set.len(), set.series()), (2, 2));
        // New label combinations of one subject count too.
        set.admit("c", &labels("m", true));
        let admitted = set.admit("c", &labels("m", false));
        assert_eq!(names(&admitted), ["b"]);
        assert_eq!(set.series(), 3);
        // Alone and full, a subject gives up its own older series.
        let admitted = set.admit("c", &labels("x", false));
        assert_eq!(names(&admitted), ["c"]);
        assert_eq!((set.len(), set.series()), (1, 1));
        for i in 0..1000 {
            set.admit(&format!("s{i}"), &labels("n", i % 2 == 0));
            assert!(set.series() <= 3);
        }
    }
}
