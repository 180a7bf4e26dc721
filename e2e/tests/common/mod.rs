//! Template evaluation for the table-driven template tests: a thin wrapper over the
//! crate's [`CompiledTemplate`] returning the sorted messages.

use imagegate_e2e::{CompiledTemplate, ConstraintTemplate, Review, SharedGatekeeper};

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
    pub(crate) fn violations(
        &mut self,
        review: &Review,
        parameters: &serde_json::Value,
    ) -> Vec<String> {
        self.compiled
            .violations(review, parameters)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|v| v.msg)
            .collect()
    }
}
