//! Gatekeeper's audit, emulated: every stored object is reviewed against every matching
//! constraint (audit-shaped reviews: no operation or user), and each constraint gets the
//! `status` Azure Policy reads for compliance: `totalViolations` and at most
//! [`CONSTRAINT_VIOLATIONS_LIMIT`] `violations`.

use serde::Serialize;
use serde_json::Value;

use crate::admission::PolicySet;
use crate::rego::RegoError;
use crate::review::Review;

/// Gatekeeper's default `--constraint-violations-limit`.
pub const CONSTRAINT_VIOLATIONS_LIMIT: usize = 20;

/// One entry of a constraint's `status.violations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditViolation {
    /// The constraint's enforcement action (`deny`, `dryrun`, `warn`).
    pub enforcement_action: String,
    /// The object's kind.
    pub kind: String,
    /// The object's name.
    pub name: String,
    /// The object's namespace.
    pub namespace: String,
    /// The violation message.
    pub message: String,
}

/// A constraint's audit status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintStatus {
    /// Constraint kind (not part of Gatekeeper's status; identifies the constraint here).
    #[serde(skip)]
    pub constraint_kind: String,
    /// Constraint name (not part of Gatekeeper's status; identifies the constraint here).
    #[serde(skip)]
    pub constraint_name: String,
    /// When the audit ran (given by the caller; nothing here reads a clock).
    pub audit_timestamp: String,
    /// Every violation found, including those beyond the limit.
    pub total_violations: usize,
    /// The first [`CONSTRAINT_VIOLATIONS_LIMIT`] violations.
    pub violations: Vec<AuditViolation>,
}

impl ConstraintStatus {
    /// The `status` object as it appears on the constraint.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Audits `objects` (stored Kubernetes objects) against every constraint of `policies`.
/// An evaluation error aborts the pass (Gatekeeper logs it and reports nothing for the
/// constraint; here it is surfaced so tests see it).
pub fn audit(
    policies: &mut PolicySet,
    objects: &[Value],
    timestamp: &str,
) -> Result<Vec<ConstraintStatus>, RegoError> {
    let constraints = policies.constraints().to_vec();
    let mut out = Vec::new();
    for constraint in &constraints {
        let mut status = ConstraintStatus {
            constraint_kind: constraint.kind.clone(),
            constraint_name: constraint.name.clone(),
            audit_timestamp: timestamp.to_owned(),
            total_violations: 0,
            violations: Vec::new(),
        };
        for object in objects {
            let review = Review::audit(object.clone());
            for result in policies.evaluate(constraint, &review)? {
                status.total_violations += 1;
                if status.violations.len() < CONSTRAINT_VIOLATIONS_LIMIT {
                    status.violations.push(AuditViolation {
                        enforcement_action: result.action.as_str().to_owned(),
                        kind: object["kind"].as_str().unwrap_or_default().to_owned(),
                        name: object["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        namespace: object["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        message: result.msg,
                    });
                }
            }
        }
        out.push(status);
    }
    Ok(out)
}
