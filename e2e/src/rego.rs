//! ConstraintTemplates compiled with `regorus`, evaluated the way Gatekeeper evaluates them
//! with OPA: template module plus libs, `input = {review, parameters}`, `external_data`
//! served by a shared [`Gatekeeper`], `violation[r]` queried.

use std::sync::{Arc, Mutex};

use regorus::{Engine, Value};

use crate::external_data::Gatekeeper;
use crate::review::Review;
use crate::template::{ConstraintTemplate, RegoVersion};

/// The Gatekeeper emulation shared by every compiled template (one process, one cache).
pub type SharedGatekeeper = Arc<Mutex<Gatekeeper>>;

/// Why a template could not be compiled or evaluated. Gatekeeper rejects a template that
/// does not compile, and answers an admission whose evaluation fails with HTTP 500 (denied).
#[derive(Debug, thiserror::Error)]
pub enum RegoError {
    /// A module of the template did not compile.
    #[error("template {template}: module {module} does not compile: {detail}; fix the Rego in policies/templates")]
    Compile {
        /// `metadata.name` of the template.
        template: String,
        /// The module (`lib0.rego`, `<name>.rego`).
        module: String,
        /// The compiler's message.
        detail: String,
    },
    /// Evaluating `violation` failed (a Rego runtime error, or `external_data` refused its
    /// argument).
    #[error("template {template}: evaluating {query} failed: {detail}")]
    Eval {
        /// `metadata.name` of the template.
        template: String,
        /// The query evaluated.
        query: String,
        /// The engine's message.
        detail: String,
    },
    /// A violation is not an object with a string `msg`.
    #[error("template {template}: violation {value} has no string msg; Gatekeeper requires violation[{{\"msg\": string}}]")]
    BadViolation {
        /// `metadata.name` of the template.
        template: String,
        /// The offending value, as JSON.
        value: String,
    },
}

/// One `violation[r]` result.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// `r.msg`.
    pub msg: String,
    /// `r.details` (null when absent).
    pub details: serde_json::Value,
}

/// A template loaded into its own regorus engine.
pub struct CompiledTemplate {
    name: String,
    kind: String,
    engine: Engine,
    query: String,
}

impl std::fmt::Debug for CompiledTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledTemplate")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("query", &self.query)
            .finish_non_exhaustive()
    }
}

impl CompiledTemplate {
    /// Compiles `template`; its `external_data` calls go to `gatekeeper`.
    pub fn new(
        template: &ConstraintTemplate,
        gatekeeper: SharedGatekeeper,
    ) -> Result<Self, RegoError> {
        let mut engine = Engine::new();
        engine.set_rego_v0(template.version == RegoVersion::V0);
        let compile = |module: String, detail: String| RegoError::Compile {
            template: template.name.clone(),
            module,
            detail,
        };
        for (i, lib) in template.libs.iter().enumerate() {
            let module = format!("lib{i}.rego");
            engine
                .add_policy(module.clone(), lib.clone())
                .map_err(|e| compile(module, e.to_string()))?;
        }
        let module = format!("{}.rego", template.name);
        engine
            .add_policy(module.clone(), template.rego.clone())
            .map_err(|e| compile(module.clone(), e.to_string()))?;
        engine
            .add_extension(
                "external_data".to_owned(),
                1,
                Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
                    let arg = args
                        .first()
                        .ok_or_else(|| anyhow::anyhow!("external_data takes one argument"))?;
                    let arg: serde_json::Value = serde_json::from_str(&arg.to_json_str()?)?;
                    let response = {
                        let mut gk = gatekeeper.lock().map_err(|_| {
                            anyhow::anyhow!("the Gatekeeper emulation panicked earlier")
                        })?;
                        gk.external_data(&arg)?
                    };
                    Value::from_json_str(&response.to_json().to_string())
                }),
            )
            .map_err(|e| compile(module, e.to_string()))?;
        Ok(Self {
            name: template.name.clone(),
            kind: template.kind.clone(),
            engine,
            query: template.violation_query(),
        })
    }

    /// `metadata.name` of the template.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The constraint kind the template defines.
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// Every violation for `review` under a constraint with `parameters`, sorted by message.
    pub fn violations(
        &mut self,
        review: &Review,
        parameters: &serde_json::Value,
    ) -> Result<Vec<Violation>, RegoError> {
        let eval = |detail: String| RegoError::Eval {
            template: self.name.clone(),
            query: self.query.clone(),
            detail,
        };
        let input = Value::from_json_str(&review.input(parameters).to_string())
            .map_err(|e| eval(e.to_string()))?;
        self.engine.set_input(input);
        let results = self
            .engine
            .eval_query(self.query.clone(), false)
            .map_err(|e| eval(e.to_string()))?;
        let mut out = Vec::new();
        for result in &results.result {
            for expr in &result.expressions {
                let json: serde_json::Value = serde_json::from_str(
                    &expr.value.to_json_str().map_err(|e| eval(e.to_string()))?,
                )
                .map_err(|e| eval(e.to_string()))?;
                let items = match json {
                    serde_json::Value::Array(items) => items,
                    serde_json::Value::Null => Vec::new(),
                    other => vec![other],
                };
                for v in items {
                    let Some(msg) = v.get("msg").and_then(serde_json::Value::as_str) else {
                        return Err(RegoError::BadViolation {
                            template: self.name.clone(),
                            value: v.to_string(),
                        });
                    };
                    out.push(Violation {
                        msg: msg.to_owned(),
                        details: v.get("details").cloned().unwrap_or(serde_json::Value::Null),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.msg.cmp(&b.msg));
        Ok(out)
    }
}
