//! Ratify's `k8Secrets` auth provider: a Store's `authProvider: {name: k8Secrets, secrets:
//! [{secretName, namespace}]}` names `kubernetes.io/dockerconfigjson` Secrets. Their `auths`
//! are merged into a private docker config file (mode 0600 in a 0700 directory) and the
//! Store is handed to the engine as `{name: dockerConfig, configPath: <file>}`, so the
//! engine's registry code is unchanged. Secrets are watched like the Ratify kinds: a changed
//! secret rewrites the file and rebuilds the configuration. Their contents are never logged.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use imagegate_engine::config::CrdObject;
use kube::api::DynamicObject;
use serde_json::{json, Map, Value};

use crate::snapshot::ObjectKey;

/// The Secret type holding a docker config.
const DOCKER_CONFIG_JSON: &str = "kubernetes.io/dockerconfigjson";

/// Rewrites `store`'s `k8Secrets` auth provider (if any) to a docker config file in `dir`.
/// `default_ns` is used for entries without a namespace. Errors say which secret and why,
/// never what it holds.
pub fn resolve(
    store: &mut CrdObject,
    secrets: &BTreeMap<ObjectKey, DynamicObject>,
    default_ns: &str,
    dir: &Path,
) -> Result<(), String> {
    let Some(Value::Object(params)) = store.spec.get("parameters") else {
        return Ok(());
    };
    let Some(Value::Object(auth)) = params.get("authProvider") else {
        return Ok(());
    };
    if auth.get("name").and_then(Value::as_str) != Some("k8Secrets") {
        return Ok(());
    }
    let entries = match auth.get("secrets") {
        Some(Value::Array(a)) => a.clone(),
        None => Vec::new(),
        Some(_) => return Err("authProvider.secrets must be a list".into()),
    };
    if entries.is_empty() {
        return Err(
            "authProvider k8Secrets without secrets: imagegate does not read the service \
             account's imagePullSecrets; name the secrets"
                .into(),
        );
    }
    let mut auths = Map::new();
    for entry in &entries {
        let name = entry["secretName"]
            .as_str()
            .filter(|n| !n.is_empty())
            .ok_or("authProvider.secrets[].secretName is required")?;
        let ns = entry["namespace"].as_str().unwrap_or(default_ns);
        let secret = secrets
            .get(&(ns.to_owned(), name.to_owned()))
            .ok_or_else(|| format!("secret {ns}/{name} not found"))?;
        for (registry, cred) in
            docker_auths(secret).map_err(|e| format!("secret {ns}/{name}: {e}"))?
        {
            auths.insert(registry, cred);
        }
    }
    let path = write_file(dir, store, &json!({"auths": auths}))
        .map_err(|e| format!("cannot write the registry credentials file: {e}"))?;
    let Some(Value::Object(params)) = store.spec.get_mut("parameters") else {
        return Ok(());
    };
    params.insert(
        "authProvider".into(),
        json!({"name": "dockerConfig", "configPath": path.display().to_string()}),
    );
    Ok(())
}

/// The `auths` of a dockerconfigjson Secret.
fn docker_auths(secret: &DynamicObject) -> Result<Map<String, Value>, String> {
    let kind = secret.data["type"].as_str().unwrap_or("");
    if kind != DOCKER_CONFIG_JSON {
        return Err(format!("type {kind:?} is not {DOCKER_CONFIG_JSON}"));
    }
    let encoded = secret.data["data"][".dockerconfigjson"]
        .as_str()
        .ok_or("no .dockerconfigjson key")?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| ".dockerconfigjson is not base64".to_owned())?;
    let config: Value =
        serde_json::from_slice(&bytes).map_err(|_| ".dockerconfigjson is not JSON".to_owned())?;
    match config.get("auths") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(".dockerconfigjson has no auths".into()),
    }
}

/// Writes the merged config for `store` (one file per store), only when its bytes change.
fn write_file(dir: &Path, store: &CrdObject, config: &Value) -> std::io::Result<PathBuf> {
    let file = format!(
        "{}-{}-{}.json",
        store.kind,
        store.namespace.as_deref().unwrap_or("_"),
        store.name
    );
    let path = dir.join(file.replace('/', "_"));
    let bytes = serde_json::to_vec(config).map_err(std::io::Error::other)?;
    if std::fs::read(&path).ok().as_deref() == Some(bytes.as_slice()) {
        return Ok(path);
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(path)
}
