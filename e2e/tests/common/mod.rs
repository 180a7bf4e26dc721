//! Evaluates ConstraintTemplates with regorus the way Gatekeeper evaluates them with OPA:
//! template module + libs, `input = {review, parameters}`, `external_data` served by the
//! crate's [`Gatekeeper`] emulation, `violation[r]` queried.

use std::sync::{Arc, Mutex};

use imagegate_e2e::{ConstraintTemplate, Gatekeeper, RegoVersion, Review};
use regorus::{Engine, Value};

/// A loaded template whose `external_data` goes to a shared [`Gatekeeper`].
pub(crate) struct TemplateEngine {
    engine: Engine,
    query: String,
}

impl TemplateEngine {
    pub(crate) fn new(template: &ConstraintTemplate, gatekeeper: Arc<Mutex<Gatekeeper>>) -> Self {
        let mut engine = Engine::new();
        engine.set_rego_v0(template.version == RegoVersion::V0);
        for (i, lib) in template.libs.iter().enumerate() {
            engine
                .add_policy(format!("lib{i}.rego"), lib.clone())
                .unwrap_or_else(|e| panic!("{} lib {i}: {e}", template.name));
        }
        engine
            .add_policy(format!("{}.rego", template.name), template.rego.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", template.name));
        engine
            .add_extension(
                "external_data".to_owned(),
                1,
                Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
                    let arg: serde_json::Value = serde_json::from_str(&args[0].to_json_str()?)?;
                    let mut gk = gatekeeper.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
                    let response = gk.external_data(&arg)?;
                    Value::from_json_str(&response.to_json().to_string())
                }),
            )
            .unwrap();
        Self {
            engine,
            query: template.violation_query(),
        }
    }

    /// The `msg` of every violation, sorted.
    pub(crate) fn violations(
        &mut self,
        review: &Review,
        parameters: &serde_json::Value,
    ) -> Vec<String> {
        let input = review.input(parameters).to_string();
        self.engine.set_input(Value::from_json_str(&input).unwrap());
        let results = self.engine.eval_query(self.query.clone(), false).unwrap();
        let mut out = Vec::new();
        for r in &results.result {
            let json: serde_json::Value =
                serde_json::from_str(&r.expressions[0].value.to_json_str().unwrap()).unwrap();
            for v in json.as_array().cloned().unwrap_or_default() {
                out.push(v["msg"].as_str().expect("violation without msg").to_owned());
            }
        }
        out.sort();
        out
    }
}
