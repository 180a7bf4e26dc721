//! `imagegate convert`: a Ratify v1 `config.json` → the equivalent v2 `Executor` YAML, which
//! the engine loads from the CRD directory ([`crate::config`]'s Executor support).
//!
//! What maps: the one `oras` store (`useHttp` → `plainHttp`, `authProvider` dockerConfig →
//! `credential: {provider: dockerConfig}`, an imagegate extension), the one notation verifier
//! (its single strict trust policy statement → `scopes`, `trustedIdentities`, and the
//! `verificationCerts` → `certificates[].files` of the statement's trust store type), and the
//! config policy → a threshold policy needing one successful notation result. The
//! Executor's own `scopes` come from `--scope`, else from the trust policy's registry scopes.
//!
//! What cannot be expressed in v2 is refused naming the field (several statements, a level
//! other than `strict`, overrides, KeyManagementProvider-backed stores, several verifiers or
//! stores, rego); what v2 drops on purpose is listed as a note (a comment in the YAML and on
//! stderr): a store's `ttl`, `cosignEnabled`, and the `all` quantifier (v1 then needs every
//! notation signature to verify; v2's threshold needs one).

use std::path::Path;

use serde_json::{json, Map, Value};

/// The notary signature artifact type.
const NOTARY: &str = "application/vnd.cncf.notary.signature";

/// Why a v1 configuration cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The document is not JSON.
    #[error("the v1 configuration is not valid JSON: {0}")]
    Syntax(String),
    /// A field has no v2 equivalent, or is missing.
    #[error("{field}: {reason}")]
    Unsupported {
        /// The v1 field path.
        field: String,
        /// Why, and what to do.
        reason: String,
    },
    /// The Executor's scopes cannot be derived.
    #[error("the Executor needs scopes: the trust policy's registryScopes are \"*\", which v2 does not accept as an Executor scope; give --scope (e.g. --scope myacr.azurecr.io or --scope '*.azurecr.io')")]
    NoScopes,
    /// YAML output failed.
    #[error("cannot write YAML: {0}")]
    Yaml(String),
}

/// The conversion's result.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    /// The Executor document, notes first as comments.
    pub yaml: String,
    /// What the conversion dropped or changed, one line each.
    pub notes: Vec<String>,
}

/// Options of [`convert`].
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// `metadata.name` (default `imagegate`).
    pub name: Option<String>,
    /// The Executor's `scopes`; empty: the trust policy's registry scopes.
    pub scopes: Vec<String>,
}

fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> ConvertError {
    ConvertError::Unsupported {
        field: field.into(),
        reason: reason.into(),
    }
}

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ConvertError> {
    v.as_object()
        .ok_or_else(|| unsupported(path, "must be an object"))
}

/// The one entry of `section.plugins` (`store` / `verifier`).
fn single_plugin<'a>(
    root: &'a Map<String, Value>,
    section: &str,
) -> Result<&'a Map<String, Value>, ConvertError> {
    let path = format!("{section}.plugins");
    let plugins = root
        .get(section)
        .and_then(|s| s.get("plugins"))
        .and_then(Value::as_array)
        .ok_or_else(|| unsupported(&path, "is required"))?;
    match plugins.as_slice() {
        [one] => obj(one, &format!("{path}[0]")),
        [] => Err(unsupported(&path, "is empty")),
        _ => Err(unsupported(
            format!("{path}[1]"),
            "an Executor has one entry here; convert into one Executor per entry by hand",
        )),
    }
}

fn str_list(v: Option<&Value>, path: &str) -> Result<Vec<String>, ConvertError> {
    let Some(v) = v else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| unsupported(path, "must be an array of strings"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| unsupported(format!("{path}[{i}]"), "must be a string"))
        })
        .collect()
}

/// Converts the `config.json` document `bytes`; relative paths resolve against `base_dir`
/// and are written absolute.
pub fn convert(
    bytes: &[u8],
    base_dir: &Path,
    options: &ConvertOptions,
) -> Result<Converted, ConvertError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| ConvertError::Syntax(e.to_string()))?;
    let root = obj(&doc, "(top level)")?;
    let mut notes = Vec::new();

    let store = single_plugin(root, "store")?;
    let store_path = "store.plugins[0]";
    if store.get("name").and_then(Value::as_str) != Some("oras") {
        return Err(unsupported(
            format!("{store_path}.name"),
            "only the oras store converts",
        ));
    }
    if store.get("ttl").is_some() {
        notes.push(format!(
            "{store_path}.ttl is not carried over: v2 has no referrer cache TTL (imagegate keeps \
             its default, 10 s)"
        ));
    }
    if store.get("cosignEnabled").and_then(Value::as_bool) == Some(true) {
        notes.push(format!(
            "{store_path}.cosignEnabled is not carried over: cosign is not implemented"
        ));
    }
    let mut credential = json!({"provider": "dockerConfig"});
    if let Some(auth) = store.get("authProvider") {
        let apath = format!("{store_path}.authProvider");
        let auth = obj(auth, &apath)?;
        if auth.get("name").and_then(Value::as_str) != Some("dockerConfig") {
            return Err(unsupported(
                format!("{apath}.name"),
                "only dockerConfig converts",
            ));
        }
        if let Some(p) = auth.get("configPath").and_then(Value::as_str) {
            credential["configPath"] = json!(absolute(base_dir, p));
        }
    }
    let plain_http = store
        .get("useHttp")
        .and_then(Value::as_bool)
        .unwrap_or(false);

    let verifier = single_plugin(root, "verifier")?;
    let vpath = "verifier.plugins[0]";
    let name = verifier
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(format!("{vpath}.name"), "is required"))?;
    let kind = verifier.get("type").and_then(Value::as_str).unwrap_or(name);
    if kind != "notation" {
        return Err(unsupported(
            format!("{vpath}.type"),
            format!("verifier type {kind:?} does not convert; only notation"),
        ));
    }
    if let Some(at) = verifier.get("artifactTypes").and_then(Value::as_str) {
        if !at.split(',').any(|t| t.trim() == NOTARY) {
            return Err(unsupported(
                format!("{vpath}.artifactTypes"),
                "v2's notation verifier handles notary signatures only",
            ));
        }
    }
    if verifier.get("verificationCertStores").is_some() {
        return Err(unsupported(
            format!("{vpath}.verificationCertStores"),
            "KeyManagementProvider-backed trust stores do not convert yet; give the \
             certificates as files (verificationCerts) or write certificates[].inline by hand",
        ));
    }
    let certs: Vec<String> = str_list(
        verifier.get("verificationCerts"),
        &format!("{vpath}.verificationCerts"),
    )?
    .iter()
    .map(|p| absolute(base_dir, p))
    .collect();
    let tpath = format!("{vpath}.trustPolicyDoc.trustPolicies");
    let statements = verifier
        .get("trustPolicyDoc")
        .and_then(|d| d.get("trustPolicies"))
        .and_then(Value::as_array)
        .ok_or_else(|| unsupported(&tpath, "is required"))?;
    let [statement] = statements.as_slice() else {
        return Err(unsupported(
            &tpath,
            format!(
                "v2 generates one trust policy statement per verifier; this has {}",
                statements.len()
            ),
        ));
    };
    let spath = format!("{tpath}[0]");
    let statement = obj(statement, &spath)?;
    let verification = statement
        .get("signatureVerification")
        .map(|v| obj(v, &format!("{spath}.signatureVerification")))
        .transpose()?;
    let level = verification
        .and_then(|v| v.get("level"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if level != "strict" {
        return Err(unsupported(
            format!("{spath}.signatureVerification.level"),
            format!("v2 verifies at level strict only; this statement says {level:?}"),
        ));
    }
    if verification.is_some_and(|v| v.contains_key("override")) {
        return Err(unsupported(
            format!("{spath}.signatureVerification.override"),
            "v2 generates no overrides",
        ));
    }
    let registry_scopes = str_list(
        statement.get("registryScopes"),
        &format!("{spath}.registryScopes"),
    )?;
    let identities = str_list(
        statement.get("trustedIdentities"),
        &format!("{spath}.trustedIdentities"),
    )?;
    let stores = str_list(
        statement.get("trustStores"),
        &format!("{spath}.trustStores"),
    )?;
    let mut types = Vec::new();
    for (i, s) in stores.iter().enumerate() {
        let t = s.split_once(':').map_or(s.as_str(), |(t, _)| t);
        if types.contains(&t) {
            return Err(unsupported(
                format!("{spath}.trustStores[{i}]"),
                format!("v2 has one trust store per type; {t:?} is listed twice"),
            ));
        }
        types.push(t);
    }
    let [store_type] = types.as_slice() else {
        return Err(unsupported(
            format!("{spath}.trustStores"),
            "verificationCerts fill every trust store in v1; v2 reads files for one store \
             type here: list exactly one trust store",
        ));
    };
    if certs.is_empty() {
        return Err(unsupported(
            format!("{vpath}.verificationCerts"),
            "is required",
        ));
    }

    let policy = root
        .get("policy")
        .and_then(|p| p.get("plugin"))
        .map(|p| obj(p, "policy.plugin"))
        .transpose()?
        .ok_or_else(|| unsupported("policy.plugin", "is required"))?;
    let pname = policy
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if pname.to_lowercase().replace('-', "") != "configpolicy" {
        return Err(unsupported(
            "policy.plugin.name",
            format!("policy {pname:?} does not convert; only configPolicy"),
        ));
    }
    let quantifiers = policy.get("artifactVerificationPolicies");
    let quantifier = quantifiers
        .and_then(|q| q.get(NOTARY).or_else(|| q.get("default")))
        .and_then(Value::as_str)
        .unwrap_or("all");
    if quantifier != "any" {
        notes.push(format!(
            "policy.plugin.artifactVerificationPolicies: v1 requires every notation signature \
             to verify ({quantifier:?}); v2's threshold policy passes with one verified \
             signature. Verdicts differ only for images with both a good and a bad signature."
        ));
    }
    if root.get("executor").is_some() || root.get("imagegate").is_some() {
        notes.push(
            "executor and imagegate sections are not Executor fields: keep them in config.json"
                .to_owned(),
        );
    }

    let scopes = if options.scopes.is_empty() {
        if registry_scopes.is_empty() || registry_scopes.iter().any(|s| s == "*") {
            return Err(ConvertError::NoScopes);
        }
        registry_scopes.clone()
    } else {
        options.scopes.clone()
    };
    let mut parameters = json!({
        "certificates": [{"type": store_type, "files": certs}],
    });
    if !registry_scopes.is_empty() {
        parameters["scopes"] = json!(registry_scopes);
    }
    if !identities.is_empty() {
        parameters["trustedIdentities"] = json!(identities);
    }
    let executor = json!({
        "apiVersion": "config.ratify.sh/v2alpha1",
        "kind": "Executor",
        "metadata": {"name": options.name.as_deref().unwrap_or("imagegate")},
        "spec": {
            "scopes": scopes,
            "verifiers": [{"name": name, "type": "notation", "parameters": parameters}],
            "stores": [{"type": "registry-store",
                        "parameters": {"plainHttp": plain_http, "credential": credential}}],
            "policyEnforcer": {"type": "threshold-policy",
                               "parameters": {"policy": {"threshold": 1,
                                                         "rules": [{"verifierName": name}]}}},
        },
    });
    let body = serde_yaml::to_string(&executor).map_err(|e| ConvertError::Yaml(e.to_string()))?;
    let mut yaml =
        String::from("# Converted by `imagegate convert` from a Ratify v1 config.json.\n");
    for n in &notes {
        yaml.push_str("# note: ");
        yaml.push_str(&n.replace('\n', " "));
        yaml.push('\n');
    }
    yaml.push_str(&body);
    Ok(Converted { yaml, notes })
}

fn absolute(base: &Path, p: &str) -> String {
    let path = Path::new(p);
    if path.is_absolute() {
        p.to_owned()
    } else {
        base.join(path).display().to_string()
    }
}
