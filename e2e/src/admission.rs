//! Gatekeeper's validating webhook, emulated: every constraint whose `match` selects the
//! object runs its template; `deny` violations reject the request, `warn` ones become
//! warnings, `dryrun` ones are only seen by audit. A Rego evaluation error is HTTP 500,
//! which the API server treats as a rejection.

use std::collections::BTreeMap;

use crate::constraint::{Constraint, EnforcementAction};
use crate::rego::{CompiledTemplate, RegoError, SharedGatekeeper};
use crate::review::Review;
use crate::template::ConstraintTemplate;

/// The webhook name in Gatekeeper's denial messages.
pub const WEBHOOK: &str = "validation.gatekeeper.sh";

/// Why a policy set could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The template does not compile.
    #[error(transparent)]
    Rego(#[from] RegoError),
    /// A constraint names a kind no template defines (Gatekeeper has no CRD for it).
    #[error(
        "constraint {name}: no ConstraintTemplate defines kind {kind}; add the template first"
    )]
    UnknownKind {
        /// The constraint's name.
        name: String,
        /// Its kind.
        kind: String,
    },
}

/// One violation of one constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintResult {
    /// The constraint's kind.
    pub kind: String,
    /// The constraint's name.
    pub constraint: String,
    /// Its enforcement action.
    pub action: EnforcementAction,
    /// The violation message.
    pub msg: String,
}

/// What the webhook answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionResponse {
    /// Whether the object is admitted.
    pub allowed: bool,
    /// HTTP-style code: 200, 403 on denial, 500 on evaluation error.
    pub code: u16,
    /// The status message `kubectl` prints (empty when allowed).
    pub message: String,
    /// Warnings (`warn` constraints), as `[name] msg`.
    pub warnings: Vec<String>,
    /// Every violation found, whatever its action.
    pub results: Vec<ConstraintResult>,
}

impl AdmissionResponse {
    /// The `deny` violations.
    pub fn denials(&self) -> impl Iterator<Item = &ConstraintResult> {
        self.results
            .iter()
            .filter(|r| r.action == EnforcementAction::Deny)
    }
}

/// Templates and constraints installed in the emulated cluster, sharing one Gatekeeper
/// (provider registry and response cache).
#[derive(Debug)]
pub struct PolicySet {
    gatekeeper: SharedGatekeeper,
    templates: BTreeMap<String, CompiledTemplate>,
    constraints: Vec<Constraint>,
}

impl PolicySet {
    /// An empty set using `gatekeeper` for `external_data`.
    pub fn new(gatekeeper: SharedGatekeeper) -> Self {
        Self {
            gatekeeper,
            templates: BTreeMap::new(),
            constraints: Vec::new(),
        }
    }

    /// The shared Gatekeeper.
    pub fn gatekeeper(&self) -> &SharedGatekeeper {
        &self.gatekeeper
    }

    /// Installs (or replaces) a template.
    pub fn add_template(&mut self, template: &ConstraintTemplate) -> Result<(), PolicyError> {
        let compiled = CompiledTemplate::new(template, self.gatekeeper.clone())?;
        self.templates.insert(template.kind.clone(), compiled);
        Ok(())
    }

    /// Installs a constraint; its template must be installed.
    pub fn add_constraint(&mut self, constraint: Constraint) -> Result<(), PolicyError> {
        if !self.templates.contains_key(&constraint.kind) {
            return Err(PolicyError::UnknownKind {
                name: constraint.name,
                kind: constraint.kind,
            });
        }
        self.constraints
            .retain(|c| !(c.kind == constraint.kind && c.name == constraint.name));
        self.constraints.push(constraint);
        Ok(())
    }

    /// The installed constraints, in installation order.
    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    /// Violations of `constraint` for `review` (empty when its match does not select it).
    pub fn evaluate(
        &mut self,
        constraint: &Constraint,
        review: &Review,
    ) -> Result<Vec<ConstraintResult>, RegoError> {
        if !constraint.matches(review) {
            return Ok(Vec::new());
        }
        let Some(template) = self.templates.get_mut(&constraint.kind) else {
            return Ok(Vec::new());
        };
        Ok(template
            .violations(review, &constraint.parameters)?
            .into_iter()
            .map(|v| ConstraintResult {
                kind: constraint.kind.clone(),
                constraint: constraint.name.clone(),
                action: constraint.enforcement_action,
                msg: v.msg,
            })
            .collect())
    }

    /// The webhook's answer for `review`.
    pub fn admit(&mut self, review: &Review) -> AdmissionResponse {
        let constraints = self.constraints.clone();
        let mut results = Vec::new();
        for constraint in &constraints {
            match self.evaluate(constraint, review) {
                Ok(found) => results.extend(found),
                Err(e) => {
                    return AdmissionResponse {
                        allowed: false,
                        code: 500,
                        message: format!(
                            "Internal error occurred: failed calling webhook \"{WEBHOOK}\": {e}"
                        ),
                        warnings: Vec::new(),
                        results,
                    }
                }
            }
        }
        let line = |r: &ConstraintResult| format!("[{}] {}", r.constraint, r.msg);
        let denials: Vec<String> = results
            .iter()
            .filter(|r| r.action == EnforcementAction::Deny)
            .map(line)
            .collect();
        let warnings = results
            .iter()
            .filter(|r| r.action == EnforcementAction::Warn)
            .map(line)
            .collect();
        let allowed = denials.is_empty();
        AdmissionResponse {
            allowed,
            code: if allowed { 200 } else { 403 },
            message: if allowed {
                String::new()
            } else {
                format!(
                    "admission webhook \"{WEBHOOK}\" denied the request: {}",
                    denials.join("\n")
                )
            },
            warnings,
            results,
        }
    }
}
