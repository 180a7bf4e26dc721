//! Benchmark results as Markdown tables (pasted into BENCHMARKS.md).

use std::fmt::Write as _;

/// One measured quantity against its floor and goal.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured.
    pub metric: String,
    /// The floor's value, measured in the same run (or the theoretical minimum).
    pub floor: String,
    /// imagegate's value.
    pub result: String,
    /// Result relative to the floor.
    pub ratio: String,
    /// The goal from the issue, if any.
    pub goal: String,
    /// Whether the goal is met (`None`: no goal, informational).
    pub met: Option<bool>,
}

impl Row {
    /// A row; `met` is `None` for informational rows.
    pub fn new(
        metric: impl Into<String>,
        floor: impl Into<String>,
        result: impl Into<String>,
        ratio: impl Into<String>,
        goal: impl Into<String>,
        met: Option<bool>,
    ) -> Self {
        Self {
            metric: metric.into(),
            floor: floor.into(),
            result: result.into(),
            ratio: ratio.into(),
            goal: goal.into(),
            met,
        }
    }
}

/// One benchmark: a title, what was done, a table and notes.
#[derive(Clone, Debug, Default)]
pub struct Section {
    /// Heading.
    pub title: String,
    /// How it was measured (one paragraph).
    pub method: String,
    /// The table.
    pub rows: Vec<Row>,
    /// Raw per-round numbers and remarks.
    pub notes: Vec<String>,
}

impl Section {
    /// Whether every row with a goal met it.
    pub fn all_met(&self) -> bool {
        self.rows.iter().all(|r| r.met != Some(false))
    }

    /// The section as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n{}\n\n", self.title, self.method);
        out.push_str("| What | Floor | Result | Ratio | Goal | Met? |\n");
        out.push_str("|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let met = match r.met {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {met} |",
                r.metric, r.floor, r.result, r.ratio, r.goal
            );
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                let _ = writeln!(out, "- {n}");
            }
        }
        out.push('\n');
        out
    }
}

/// `x` with `digits` decimals.
pub fn fmt(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

/// Microseconds as milliseconds with three decimals.
pub fn ms(us: u32) -> String {
    format!("{:.3} ms", f64::from(us) / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_table_and_tracks_goals() {
        let mut s = Section {
            title: "Warm".into(),
            method: "how".into(),
            ..Section::default()
        };
        s.rows
            .push(Row::new("rps", "100", "95", "0.95×", "≥ 0.9×", Some(true)));
        s.rows.push(Row::new("info", "-", "1", "-", "-", None));
        assert!(s.all_met());
        let md = s.markdown();
        assert!(
            md.contains("| rps | 100 | 95 | 0.95× | ≥ 0.9× | yes |"),
            "{md}"
        );
        assert!(md.contains("| info | - | 1 | - | - | — |"), "{md}");
        s.rows
            .push(Row::new("p99", "1", "2", "2×", "≤ 1", Some(false)));
        assert!(!s.all_met());
        assert!(s.markdown().contains("**no**"));
    }

    #[test]
    fn formats_numbers() {
        assert_eq!(fmt(1.23456, 2), "1.23");
        assert_eq!(ms(1500), "1.500 ms");
    }
}
