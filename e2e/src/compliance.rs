//! The compliance view Azure Policy builds from constraint audit statuses: one row per
//! stored object, non-compliant when some constraint's `status.violations` lists it. (Like
//! Azure, only the violations Gatekeeper kept — at most the violations limit per
//! constraint — are seen.)

use std::fmt::Write as _;

use serde_json::Value;

use crate::audit::ConstraintStatus;

/// One object's compliance state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceRow {
    /// `kind`.
    pub kind: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// `constraint name: message` for every violation listing the object.
    pub violations: Vec<String>,
}

impl ComplianceRow {
    /// Whether no violation lists the object.
    pub fn compliant(&self) -> bool {
        self.violations.is_empty()
    }
}

/// One row per object, in `objects` order.
pub fn compliance(objects: &[Value], statuses: &[ConstraintStatus]) -> Vec<ComplianceRow> {
    objects
        .iter()
        .map(|o| {
            let field = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            let (kind, namespace, name) = (
                field(&o["kind"]),
                field(&o["metadata"]["namespace"]),
                field(&o["metadata"]["name"]),
            );
            let violations = statuses
                .iter()
                .flat_map(|s| {
                    s.violations
                        .iter()
                        .filter(|v| v.kind == kind && v.namespace == namespace && v.name == name)
                        .map(move |v| format!("{}: {}", s.constraint_name, v.message))
                })
                .collect();
            ComplianceRow {
                kind,
                namespace,
                name,
                violations,
            }
        })
        .collect()
}

/// A fixed-width table: resource, state, and the first violation (cut to `width` chars).
pub fn render_table(rows: &[ComplianceRow], width: usize) -> String {
    let resource = |r: &ComplianceRow| format!("{}/{}/{}", r.kind, r.namespace, r.name);
    let w = rows
        .iter()
        .map(|r| resource(r).len())
        .max()
        .unwrap_or(0)
        .max("RESOURCE".len());
    let mut out = format!("{:<w$}  {:<13}  REASON\n", "RESOURCE", "COMPLIANCE");
    for r in rows {
        let (state, reason) = match r.violations.first() {
            None => ("Compliant", String::new()),
            Some(v) => ("Non-compliant", shorten(v, width)),
        };
        let line = format!("{:<w$}  {state:<13}  {reason}", resource(r));
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `text` cut to at most `width` characters, with "…" when cut.
pub fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditViolation;
    use serde_json::json;

    #[test]
    fn rows_follow_violations() {
        let objects = vec![
            json!({"kind": "Pod", "metadata": {"name": "a", "namespace": "ns"}}),
            json!({"kind": "Pod", "metadata": {"name": "b", "namespace": "ns"}}),
        ];
        let status = ConstraintStatus {
            constraint_kind: "K".into(),
            constraint_name: "c".into(),
            audit_timestamp: "t".into(),
            total_violations: 1,
            violations: vec![AuditViolation {
                enforcement_action: "deny".into(),
                kind: "Pod".into(),
                name: "b".into(),
                namespace: "ns".into(),
                message: "unsigned".into(),
            }],
        };
        let rows = compliance(&objects, &[status]);
        assert!(rows[0].compliant());
        assert_eq!(rows[1].violations, vec!["c: unsigned".to_owned()]);
        let table = render_table(&rows, 20);
        assert!(table.contains("Pod/ns/a  Compliant\n"), "{table}");
        assert!(table.contains("Non-compliant  c: unsigned"), "{table}");
        assert_eq!(shorten("abcdef", 4), "abc…");
    }
}
