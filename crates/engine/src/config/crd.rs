//! Ratify CRD YAML (group `config.ratify.deislabs.io`, `v1beta1`) from a directory.
//!
//! Kinds: `Verifier`, `Store`, `Policy`, `KeyManagementProvider` and their `Namespaced*`
//! variants. Each object is turned into the same plugin map Ratify's controllers build
//! (`pkg/controllers/utils`) and parsed by [`super::plugins`], so CRDs and `config.json`
//! behave identically. Rules kept from Ratify: a Policy must be named `ratify-policy`; a
//! namespaced verifier may use its own namespace's KeyManagementProviders (`ns/name`) and
//! cluster-wide ones (`name`), nothing else; namespaced kinds override cluster ones per kind.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::error::ConfigError;
use super::plugins::{self, PluginCtx};
use super::trust::Kmps;
use super::value::{get, opt_str};
use super::watched::{WatchRecorder, WatchedFiles};
use super::Components;

/// The API group Ratify v1 uses.
pub(crate) const GROUP: &str = "config.ratify.deislabs.io";
/// Most files read from the CRD directory.
const MAX_FILES: usize = 1000;
/// The only accepted Policy name.
const POLICY_NAME: &str = "ratify-policy";

/// Cluster and namespaced components defined by the CRDs.
pub(crate) struct CrdSet {
    pub(crate) cluster: Components,
    pub(crate) namespaced: BTreeMap<String, Components>,
    /// Files read outside the CRDs (certificates, docker configs).
    pub(crate) watched: WatchedFiles,
}

/// One parsed object, before it is turned into a component.
type Object = super::objects::CrdObject;

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<Metadata>,
    spec: Option<Value>,
}

#[derive(Deserialize)]
struct Metadata {
    name: Option<String>,
    namespace: Option<String>,
}

/// Loads every `*.yaml`, `*.yml` and `*.json` file of `dir` (not recursive, name order).
pub(crate) fn load_dir(dir: &Path, base: &Path) -> Result<CrdSet, ConfigError> {
    let mut objects = Vec::new();
    for f in list_files(dir)? {
        let bytes = super::read_bounded(&f)?;
        parse_file(&f, &bytes, &mut objects)?;
    }
    build(objects, base)
}

/// The `azurekeyvault` KeyManagementProviders of `dir`: `(name or ns/name, spec)`.
pub(crate) fn key_vault_providers(
    dir: &Path,
) -> Result<Vec<(String, imagegate_azure::KeyVaultSpec)>, ConfigError> {
    let mut objects = Vec::new();
    for f in list_files(dir)? {
        let bytes = super::read_bounded(&f)?;
        parse_file(&f, &bytes, &mut objects)?;
    }
    let mut out = Vec::new();
    for o in &objects {
        let (kind, namespaced) = base_kind(&o.kind);
        if kind == "KeyManagementProvider"
            && opt_str(&o.spec, "type", &o.origin)? == Some("azurekeyvault")
        {
            let key = scope_key(o, namespaced)?;
            out.push((key, super::azure::key_vault_spec(&o.spec, &o.origin)?));
        }
    }
    Ok(out)
}

/// The CRD files of `dir`, in name order.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, ConfigError> {
    let read_err = |e: std::io::Error| ConfigError::Read {
        path: dir.display().to_string(),
        reason: e.to_string(),
    };
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    if files.len() > MAX_FILES {
        return Err(ConfigError::Read {
            path: dir.display().to_string(),
            reason: format!("more than {MAX_FILES} files"),
        });
    }
    Ok(files)
}

fn parse_file(file: &Path, bytes: &[u8], out: &mut Vec<Object>) -> Result<(), ConfigError> {
    let text = std::str::from_utf8(bytes).map_err(|e| ConfigError::Syntax {
        path: file.display().to_string(),
        format: "YAML",
        reason: e.to_string(),
    })?;
    for (n, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|e| ConfigError::Syntax {
            path: file.display().to_string(),
            format: "YAML",
            reason: e.to_string(),
        })?;
        if value.is_null() {
            continue;
        }
        let at = format!("{} (document {})", file.display(), n + 1);
        let header: Header = serde_json::from_value(value)
            .map_err(|e| ConfigError::invalid(&at, format!("not a Kubernetes object: {e}")))?;
        let api = header.api_version.unwrap_or_default();
        let Some((group, version)) = api.split_once('/') else {
            return Err(ConfigError::invalid(
                format!("{at}.apiVersion"),
                format!("{api:?} is not {GROUP}/v1beta1"),
            ));
        };
        if group == super::executor_v2::GROUP && version != super::executor_v2::VERSION {
            return Err(ConfigError::invalid(
                format!("{at}.apiVersion"),
                format!("version {version:?} is not supported; use {group}/v2alpha1"),
            ));
        }
        if group != GROUP && group != super::executor_v2::GROUP {
            continue; // other objects (Secrets, Providers...) may share the directory
        }
        if group == GROUP && version != "v1beta1" {
            return Err(ConfigError::invalid(
                format!("{at}.apiVersion"),
                format!("version {version:?} is not supported; use {GROUP}/v1beta1"),
            ));
        }
        let kind = header.kind.unwrap_or_default();
        let meta = header.metadata.ok_or_else(|| {
            ConfigError::invalid(
                format!("{at}.metadata"),
                "is required (name, and namespace for Namespaced kinds)",
            )
        })?;
        let name = meta
            .name
            .filter(|n| !n.is_empty())
            .ok_or_else(|| ConfigError::invalid(format!("{at}.metadata.name"), "is required"))?;
        let origin = match &meta.namespace {
            Some(ns) => format!("{} {kind} {ns}/{name}", file.display()),
            None => format!("{} {kind} {name:?}", file.display()),
        };
        let spec = match header.spec {
            Some(Value::Object(m)) => m,
            None | Some(Value::Null) => Map::new(),
            Some(_) => {
                return Err(ConfigError::invalid(
                    format!("{origin} spec"),
                    "must be an object",
                ))
            }
        };
        out.push(Object {
            kind,
            name,
            namespace: meta.namespace,
            spec,
            origin,
        });
    }
    Ok(())
}

/// Splits `Namespaced<Kind>` → (`Kind`, true).
fn base_kind(kind: &str) -> (&str, bool) {
    match kind.strip_prefix("Namespaced") {
        Some(k) => (k, true),
        None => (kind, false),
    }
}

fn build(objects: Vec<Object>, base: &Path) -> Result<CrdSet, ConfigError> {
    let (set, errors) = build_each(&objects, base);
    match errors.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(set),
    }
}

/// Builds every object that loads; the others are left out and returned with their index
/// (key management providers' errors first, then the rest in order).
pub(crate) fn build_each(objects: &[Object], base: &Path) -> (CrdSet, Vec<(usize, ConfigError)>) {
    let mut errors = Vec::new();
    let mut kmps = Kmps::default();
    let watch = WatchRecorder::default();
    for (i, o) in objects.iter().enumerate() {
        let (kind, namespaced) = base_kind(&o.kind);
        if kind != "KeyManagementProvider" {
            continue;
        }
        let loaded = scope_key(o, namespaced).and_then(|key| {
            let pem = if opt_str(&o.spec, "type", &o.origin)? == Some("azurekeyvault") {
                super::azure::key_vault_certificates(&o.spec, &o.origin, &key, &watch)?
            } else {
                inline_certificates(o)?
            };
            Ok((key, pem))
        });
        match loaded {
            Ok((key, certs)) => {
                kmps.certs.insert(key, certs);
            }
            Err(e) => errors.push((i, e)),
        }
    }
    let mut owners = super::executor_scope::Owners::default();
    let mut set = CrdSet {
        cluster: Components::default(),
        namespaced: BTreeMap::new(),
        watched: WatchedFiles::default(),
    };
    for (i, o) in objects.iter().enumerate() {
        if errors.iter().any(|(j, _)| *j == i) {
            continue;
        }
        if let Err(e) = build_one(o, &mut set, base, &kmps, &watch, &mut owners) {
            errors.push((i, e));
        }
    }
    set.watched = watch.finish();
    (set, errors)
}

fn build_one(
    o: &Object,
    set: &mut CrdSet,
    base: &Path,
    kmps: &Kmps,
    watch: &WatchRecorder,
    owners: &mut super::executor_scope::Owners,
) -> Result<(), ConfigError> {
    let (kind, namespaced) = base_kind(&o.kind);
    scope_key(o, namespaced)?;
    let ns = if namespaced {
        o.namespace.clone()
    } else {
        None
    };
    let ctx = PluginCtx {
        base,
        kmps,
        namespace: ns.as_deref(),
        watch,
    };
    let target = match &ns {
        Some(n) => set.namespaced.entry(n.clone()).or_default(),
        None => &mut set.cluster,
    };
    let params = format!("{} spec.parameters", o.origin);
    owners.claim(ns.as_deref(), kind, &o.origin)?;
    match kind {
        "KeyManagementProvider" => {}
        "Executor" => *target = super::executor_v2::compile(&o.spec, &o.origin, &ctx)?,
        "Verifier" => {
            let mut map = parameters(o)?;
            let spec_type = opt_str(&o.spec, "type", &o.origin)?
                .or(opt_str(&o.spec, "name", &o.origin)?)
                .unwrap_or_default();
            map.insert("name".into(), Value::String(o.name.clone()));
            map.insert("type".into(), Value::String(spec_type.to_owned()));
            if let Some(at) = get(&o.spec, "artifactTypes") {
                map.insert("artifactTypes".into(), at.clone());
            }
            target
                .verifiers
                .push(plugins::verifier(&Value::Object(map), &params, &ctx)?);
        }
        "Store" => {
            let mut map = parameters(o)?;
            let name = opt_str(&o.spec, "name", &o.origin)?.unwrap_or_default();
            map.insert("name".into(), Value::String(name.to_owned()));
            target
                .stores
                .push(plugins::store(&Value::Object(map), &params, &ctx)?);
        }
        "Policy" => {
            if o.name != POLICY_NAME {
                return Err(ConfigError::invalid(
                    format!("{} metadata.name", o.origin),
                    format!("a Policy must be named {POLICY_NAME:?}"),
                ));
            }
            if target.policy.is_some() {
                return Err(ConfigError::invalid(
                    &o.origin,
                    "a second Policy for the same scope",
                ));
            }
            let mut map = parameters(o)?;
            let kind = opt_str(&o.spec, "type", &o.origin)?.unwrap_or_default();
            map.insert("name".into(), Value::String(kind.to_owned()));
            target.policy = Some(plugins::policy(
                &Value::Object(map),
                &format!("{} spec", o.origin),
            )?);
        }
        other => {
            return Err(ConfigError::invalid(
                format!("{} kind", o.origin),
                format!(
                    "{other:?} is not supported; use Verifier, Store, Policy or \
                     KeyManagementProvider (or their Namespaced kinds), or v2's Executor or \
                     NamespacedExecutor"
                ),
            ))
        }
    }
    Ok(())
}

/// The registry key of an object (`name` or `ns/name`), checking that namespaced kinds have a
/// namespace and cluster kinds do not.
fn scope_key(o: &Object, namespaced: bool) -> Result<String, ConfigError> {
    match (&o.namespace, namespaced) {
        (Some(ns), true) => Ok(format!("{ns}/{}", o.name)),
        (None, false) => Ok(o.name.clone()),
        (None, true) => Err(ConfigError::invalid(
            format!("{} metadata.namespace", o.origin),
            "is required for Namespaced kinds",
        )),
        (Some(_), false) => Err(ConfigError::invalid(
            format!("{} metadata.namespace", o.origin),
            format!(
                "{} is cluster-scoped; remove the namespace or use Namespaced{}",
                o.kind, o.kind
            ),
        )),
    }
}

fn parameters(o: &Object) -> Result<Map<String, Value>, ConfigError> {
    match get(&o.spec, "parameters") {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m.clone()),
        Some(_) => Err(ConfigError::invalid(
            format!("{} spec.parameters", o.origin),
            "must be an object",
        )),
    }
}

/// The PEM certificates of an `inline` KeyManagementProvider.
fn inline_certificates(o: &Object) -> Result<Vec<u8>, ConfigError> {
    let kind = opt_str(&o.spec, "type", &o.origin)?.unwrap_or_default();
    if kind != "inline" {
        return Err(ConfigError::invalid(
            format!("{} spec.type", o.origin),
            format!("KeyManagementProvider type {kind:?} is not supported yet; use \"inline\" or \"azurekeyvault\""),
        ));
    }
    let params = parameters(o)?;
    let at = format!("{} spec.parameters", o.origin);
    let content = opt_str(&params, "contentType", &at)?.unwrap_or_default();
    if content != "certificate" {
        return Err(ConfigError::invalid(
            format!("{at}.contentType"),
            format!("{content:?} is not supported; inline providers must hold certificates"),
        ));
    }
    let value = opt_str(&params, "value", &at)?.unwrap_or_default();
    if value.trim().is_empty() {
        return Err(ConfigError::invalid(
            format!("{at}.value"),
            "is required: PEM certificates",
        ));
    }
    Ok(value.as_bytes().to_vec())
}
