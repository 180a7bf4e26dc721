//! Template evaluation for the table-driven template tests: a thin wrapper over the
//! crate's [`CompiledTemplate`] returning the sorted messages, and the image names both
//! tables (Ratify v1 and v2 results) are keyed by.

use std::path::{Path, PathBuf};

use imagegate_e2e::{CompiledTemplate, ConstraintTemplate, Review, SharedGatekeeper};
use serde_json::Value;

/// An image with a trusted signature.
pub(crate) const SIGNED: &str = "reg.example/app:signed";
/// An image without signatures.
pub(crate) const UNSIGNED: &str = "reg.example/app:unsigned";
/// An image signed by an untrusted signer.
pub(crate) const UNTRUSTED: &str = "reg.example/app:untrusted";
/// An image whose key the provider answers with an error.
pub(crate) const BROKEN: &str = "reg.example/app:error";
/// An image the provider has no answer for.
pub(crate) const MISSING: &str = "reg.example/app:missing";
/// An image whose result nests further reports.
pub(crate) const NESTED: &str = "reg.example/app:nested";

/// A loaded template whose `external_data` goes to a shared Gatekeeper.
pub(crate) struct TemplateEngine {
    compiled: CompiledTemplate,
}

impl TemplateEngine {
    pub(crate) fn new(template: &ConstraintTemplate, gatekeeper: SharedGatekeeper) -> Self {
        let compiled = CompiledTemplate::new(template, gatekeeper)
            .unwrap_or_else(|e| panic!("{}: {e}", template.name));
        Self { compiled }
    }

    /// The `msg` of every violation, sorted.
    pub(crate) fn violations(&mut self, review: &Review, parameters: &Value) -> Vec<String> {
        self.compiled
            .violations(review, parameters)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|v| v.msg)
            .collect()
    }
}

/// The example constraint at `path`, checked against `templates`: one of them has its kind
/// and declares every parameter it sets.
pub(crate) fn checked_constraint(
    path: &Path,
    templates: &[(PathBuf, ConstraintTemplate)],
) -> Value {
    let c: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let kind = c["kind"].as_str().unwrap();
    let (_, t) = templates
        .iter()
        .find(|(_, t)| t.kind == kind)
        .unwrap_or_else(|| panic!("{}: no template for {kind}", path.display()));
    for p in c["spec"]["parameters"].as_object().unwrap().keys() {
        assert!(
            t.parameter_names().contains(p),
            "{}: unknown parameter {p}",
            path.display()
        );
    }
    c
}
