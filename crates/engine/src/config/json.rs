//! Ratify's `config.json`: top-level sections, then each plugin entry via [`super::plugins`].

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::error::ConfigError;
use super::plugins::{self, PluginCtx};
use super::settings::Settings;
use super::trust::Kmps;
use super::value::{field, get, index, object, opt_u64};
use super::watched::{WatchRecorder, WatchedFiles};
use super::{Components, ExecutorConfig};

/// What `config.json` defines.
pub(crate) struct FileConfig {
    pub(crate) components: Components,
    pub(crate) executor: ExecutorConfig,
    pub(crate) settings: Settings,
    /// Files read outside the document (certificates, docker configs).
    pub(crate) watched: WatchedFiles,
}

/// Parses a `config.json` document. `source` names it in syntax errors.
pub(crate) fn parse(bytes: &[u8], source: &str, base: &Path) -> Result<FileConfig, ConfigError> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| ConfigError::Syntax {
        path: source.to_owned(),
        format: "JSON",
        reason: e.to_string(),
    })?;
    let root = object(&doc, "(top level)")?;
    let kmps = Kmps::default();
    let watch = WatchRecorder::default();
    let ctx = PluginCtx {
        base,
        kmps: &kmps,
        namespace: None,
        watch: &watch,
    };
    let mut components = Components::default();

    if let Some(store) = get(root, "store") {
        let store = object(store, "store")?;
        for (i, p) in plugin_list(store, "store")?.iter().enumerate() {
            components
                .stores
                .push(plugins::store(p, &index("store.plugins", i), &ctx)?);
        }
    }
    if let Some(policy) = get(root, "policy") {
        let policy = object(policy, "policy")?;
        if let Some(plugin) = get(policy, "plugin") {
            components.policy = Some(plugins::policy(plugin, "policy.plugin")?);
        }
    }
    if let Some(verifier) = get(root, "verifier") {
        let verifier = object(verifier, "verifier")?;
        for (i, p) in plugin_list(verifier, "verifier")?.iter().enumerate() {
            components
                .verifiers
                .push(plugins::verifier(p, &index("verifier.plugins", i), &ctx)?);
        }
    }
    let executor = match get(root, "executor") {
        None => ExecutorConfig::default(),
        Some(e) => executor(e)?,
    };
    let settings = match get(root, "imagegate") {
        None => Settings::default(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| ConfigError::invalid("imagegate", e.to_string()))?,
    };
    Ok(FileConfig {
        components,
        executor,
        settings,
        watched: watch.finish(),
    })
}

fn plugin_list<'a>(
    section: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a [Value], ConfigError> {
    match get(section, "plugins") {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ConfigError::invalid(
            field(name, "plugins"),
            "must be an array of plugin objects",
        )),
    }
}

fn executor(v: &Value) -> Result<ExecutorConfig, ConfigError> {
    let m = object(v, "executor")?;
    let d = ExecutorConfig::default();
    let ms = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
        match opt_u64(m, key, "executor")? {
            None => Ok(default),
            Some(0) => Err(ConfigError::invalid(
                field("executor", key),
                "must be a positive number of milliseconds",
            )),
            Some(n) => Ok(Duration::from_millis(n)),
        }
    };
    Ok(ExecutorConfig {
        verification_timeout: ms("verificationRequestTimeout", d.verification_timeout)?,
        mutation_timeout: ms("mutationRequestTimeout", d.mutation_timeout)?,
    })
}
