//! Constraints (`constraints.gatekeeper.sh/v1beta1`): which template kind, which objects
//! (`spec.match`), with which parameters and enforcement action.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::review::Review;
use crate::template::{read_bounded, TemplateError};

/// What Gatekeeper does with a constraint's violations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnforcementAction {
    /// Reject the admission request (the default).
    #[default]
    Deny,
    /// Only record violations in the constraint's audit status (Azure Policy `audit`).
    Dryrun,
    /// Admit with a warning.
    Warn,
}

impl EnforcementAction {
    /// The spelling Gatekeeper writes into `status.violations[].enforcementAction`.
    pub fn as_str(self) -> &'static str {
        match self {
            EnforcementAction::Deny => "deny",
            EnforcementAction::Dryrun => "dryrun",
            EnforcementAction::Warn => "warn",
        }
    }
}

/// One `spec.match.kinds[]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KindMatch {
    /// API groups (`""` is core, `"*"` any).
    #[serde(default)]
    pub api_groups: Vec<String>,
    /// Kinds (`"*"` any).
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// `spec.match`: the subset Gatekeeper applies before running the Rego that our example
/// constraints use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// Kinds the constraint applies to; empty means every kind.
    #[serde(default)]
    pub kinds: Vec<KindMatch>,
    /// Namespaces it applies to (a leading or trailing `*` is a wildcard); empty means all.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Namespaces it never applies to.
    #[serde(default)]
    pub excluded_namespaces: Vec<String>,
}

/// A constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    /// The template kind (e.g. `ImagegateVerification`).
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `spec.enforcementAction`.
    pub enforcement_action: EnforcementAction,
    /// `spec.match`.
    pub matcher: Match,
    /// `spec.parameters` (an empty object when absent).
    pub parameters: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    api_version: String,
    kind: String,
    metadata: RawMeta,
    #[serde(default)]
    spec: RawSpec,
}

#[derive(Deserialize)]
struct RawMeta {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawSpec {
    #[serde(default)]
    enforcement_action: EnforcementAction,
    #[serde(default, rename = "match")]
    matcher: Match,
    #[serde(default)]
    parameters: Option<Value>,
}

/// Why a constraint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConstraintError {
    /// The file could not be read.
    #[error(transparent)]
    Read(#[from] TemplateError),
    /// The YAML is not a constraint.
    #[error("not a Gatekeeper constraint: {0}; compare with policies/constraints/imagegateverification.yaml")]
    Shape(#[from] serde_yaml::Error),
    /// `apiVersion` is not `constraints.gatekeeper.sh/*`.
    #[error("{0} is not a constraints.gatekeeper.sh apiVersion")]
    NotAConstraint(String),
}

impl Constraint {
    /// A `deny` constraint of `kind` named `name` matching every object, with `parameters`.
    pub fn new(kind: &str, name: &str, parameters: Value) -> Self {
        Self {
            kind: kind.to_owned(),
            name: name.to_owned(),
            enforcement_action: EnforcementAction::Deny,
            matcher: Match::default(),
            parameters,
        }
    }

    /// Sets the enforcement action.
    pub fn with_action(mut self, action: EnforcementAction) -> Self {
        self.enforcement_action = action;
        self
    }

    /// Parses a constraint from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, ConstraintError> {
        let raw: Raw = serde_yaml::from_str(text)?;
        if !raw.api_version.starts_with("constraints.gatekeeper.sh/") {
            return Err(ConstraintError::NotAConstraint(raw.api_version));
        }
        Ok(Self {
            kind: raw.kind,
            name: raw.metadata.name,
            enforcement_action: raw.spec.enforcement_action,
            matcher: raw.spec.matcher,
            parameters: raw
                .spec
                .parameters
                .unwrap_or_else(|| Value::Object(Default::default())),
        })
    }

    /// Reads and parses a constraint file.
    pub fn load(path: &Path) -> Result<Self, ConstraintError> {
        Self::from_yaml(&read_bounded(path)?)
    }

    /// Whether Gatekeeper would run this constraint's template on `review`.
    pub fn matches(&self, review: &Review) -> bool {
        let v = &review.value;
        let group = v["kind"]["group"].as_str().unwrap_or_default();
        let kind = v["kind"]["kind"].as_str().unwrap_or_default();
        let namespace = v["namespace"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or_else(|| v["object"]["metadata"]["namespace"].as_str())
            .unwrap_or_default();
        let m = &self.matcher;
        let kind_ok = m.kinds.is_empty()
            || m.kinds.iter().any(|k| {
                k.api_groups.iter().any(|g| g == "*" || g == group)
                    && k.kinds.iter().any(|x| x == "*" || x == kind)
            });
        let ns_ok = m.namespaces.is_empty() || m.namespaces.iter().any(|p| glob(p, namespace));
        let not_excluded = !m.excluded_namespaces.iter().any(|p| glob(p, namespace));
        kind_ok && ns_ok && not_excluded
    }
}

/// Gatekeeper's namespace wildcard: `prefix*`, `*suffix`, or an exact name.
fn glob(pattern: &str, value: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix('*') {
        value.starts_with(prefix)
    } else if let Some(suffix) = pattern.strip_prefix('*') {
        value.ends_with(suffix)
    } else {
        pattern == value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::{PodSpec, Workload};
    use serde_json::json;

    const YAML: &str = r#"
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: ImagegateVerification
metadata: {name: c}
spec:
  enforcementAction: dryrun
  match:
    kinds: [{apiGroups: [""], kinds: ["Pod"]}, {apiGroups: ["apps"], kinds: ["Deployment"]}]
    excludedNamespaces: ["kube-*", "*-system"]
  parameters: {providerName: imagegate}
"#;

    fn review(kind: Workload, ns: &str) -> Review {
        Review::of(kind, "x", ns, &PodSpec::with_containers(&["a"]))
    }

    #[test]
    fn parses_and_matches_kinds_and_namespaces() {
        let c = Constraint::from_yaml(YAML).unwrap();
        assert_eq!(c.enforcement_action, EnforcementAction::Dryrun);
        assert_eq!(c.parameters, json!({"providerName": "imagegate"}));
        assert!(c.matches(&review(Workload::Pod, "default")));
        assert!(c.matches(&review(Workload::Deployment, "default")));
        assert!(!c.matches(&review(Workload::Job, "default")));
        assert!(!c.matches(&review(Workload::Pod, "kube-public")));
        assert!(!c.matches(&review(Workload::Pod, "gatekeeper-system")));
    }

    #[test]
    fn defaults_and_rejections() {
        let c = Constraint::from_yaml(
            "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K\nmetadata: {name: n}\n",
        )
        .unwrap();
        assert_eq!(c.enforcement_action, EnforcementAction::Deny);
        assert!(c.matches(&review(Workload::CronJob, "any")));
        assert!(matches!(
            Constraint::from_yaml("apiVersion: v1\nkind: K\nmetadata: {name: n}\n"),
            Err(ConstraintError::NotAConstraint(_))
        ));
        let mut only = Constraint::new("K", "n", json!({}));
        only.matcher.namespaces = vec!["team-*".into()];
        assert!(only.matches(&review(Workload::Pod, "team-a")));
        assert!(!only.matches(&review(Workload::Pod, "default")));
    }
}
