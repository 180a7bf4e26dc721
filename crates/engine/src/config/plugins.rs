//! Ratify plugin entries (free-form maps) → typed stores, policies and verifiers.
//!
//! The same functions read `config.json` entries and the maps built from CRDs, so both inputs
//! behave the same; only the field path prefix differs.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::error::ConfigError;
use super::trust::{self, Kmps};
use super::value::{field, get, object, opt_bool, opt_str, opt_u64, req_str};
use super::verifiers::{ArtifactTypes, VerifierSpec};
use super::watched::WatchRecorder;
use super::{AuthConfig, PolicySpec, StoreConfig};
use crate::policy::{ConfigPolicy, Quantifier, DEFAULT_KEY};

/// The one verifier type imagegate runs.
const NOTATION_TYPE: &str = "notation";

/// The notary signature artifact type, the default `artifactTypes` of a notation verifier.
pub(crate) const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// What plugin parsing needs besides the entry.
pub(crate) struct PluginCtx<'a> {
    /// Directory relative paths resolve against.
    pub(crate) base: &'a Path,
    /// Key management providers (CRD input).
    pub(crate) kmps: &'a Kmps,
    /// The namespace of a namespaced CRD.
    pub(crate) namespace: Option<&'a str>,
    /// Records the files read outside the config document (certificates, docker configs).
    pub(crate) watch: &'a WatchRecorder,
}

/// A `store.plugins[]` entry.
pub(crate) fn store(
    v: &Value,
    path: &str,
    ctx: &PluginCtx<'_>,
) -> Result<StoreConfig, ConfigError> {
    let m = object(v, path)?;
    let name = req_str(m, "name", path)?;
    if name != "oras" {
        return Err(ConfigError::invalid(
            field(path, "name"),
            format!("store plugin {name:?} is not supported; use the built-in \"oras\" store"),
        ));
    }
    let ttl = opt_u64(m, "ttl", path)?.unwrap_or(10);
    let auth = match get(m, "authProvider") {
        None => default_docker_config(),
        Some(a) => auth_provider(a, &field(path, "authProvider"), ctx)?,
    };
    let use_http = opt_bool(m, "useHttp", path)?.unwrap_or(false);
    let cosign_enabled = opt_bool(m, "cosignEnabled", path)?.unwrap_or(false);
    warn_accepted_but_different(path, use_http, cosign_enabled);
    Ok(StoreConfig {
        name: name.to_owned(),
        use_http,
        cosign_enabled,
        referrers_ttl: Duration::from_secs(ttl),
        auth,
        field: path.to_owned(),
    })
}

/// Logs, once per load, the store settings a Ratify configuration commonly carries that
/// imagegate accepts but does not act on as Ratify would.
fn warn_accepted_but_different(path: &str, use_http: bool, cosign_enabled: bool) {
    if cosign_enabled {
        tracing::warn!(
            field = %field(path, "cosignEnabled"),
            "cosignEnabled is accepted but cosign signatures are not verified: only the \
             notation verifier runs"
        );
    }
    if use_http {
        tracing::warn!(
            field = %field(path, "useHttp"),
            "useHttp applies to loopback registries only (always plain HTTP); list other \
             plain-HTTP registries in imagegate.registry.plainHttpHosts"
        );
    }
}

fn auth_provider(v: &Value, path: &str, ctx: &PluginCtx<'_>) -> Result<AuthConfig, ConfigError> {
    let m = object(v, path)?;
    let name = req_str(m, "name", path)?;
    let azure = match name {
        "azureWorkloadIdentity" => Some(super::azure::AzureIdentityKind::Workload),
        "azureManagedIdentity" => Some(super::azure::AzureIdentityKind::Managed),
        _ => None,
    };
    if let Some(kind) = azure {
        let fallback = default_docker_config();
        if let AuthConfig::DockerConfig { config_path } = &fallback {
            ctx.watch.docker_config(config_path);
        }
        return super::azure::acr_auth(m, kind, path, fallback);
    }
    if name != "dockerConfig" {
        return Err(ConfigError::invalid(
            field(path, "name"),
            format!(
                "auth provider {name:?} is not supported yet; use \"dockerConfig\" (a docker \
                 config.json, e.g. a mounted kubernetes.io/dockerconfigjson secret), \
                 \"azureWorkloadIdentity\" or \"azureManagedIdentity\""
            ),
        ));
    }
    let auth = match opt_str(m, "configPath", path)? {
        Some(p) => AuthConfig::DockerConfig {
            config_path: super::resolve_path(ctx.base, p),
        },
        None => default_docker_config(),
    };
    if let AuthConfig::DockerConfig { config_path } = &auth {
        ctx.watch.docker_config(config_path);
    }
    Ok(auth)
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, if the file exists (Ratify's
/// default); anonymous otherwise.
fn default_docker_config() -> AuthConfig {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
    match dir.map(|d| d.join("config.json")) {
        Some(p) if p.is_file() => AuthConfig::DockerConfig { config_path: p },
        _ => AuthConfig::Anonymous,
    }
}

/// The `policy.plugin` entry.
pub(crate) fn policy(v: &Value, path: &str) -> Result<PolicySpec, ConfigError> {
    let m = object(v, path)?;
    let name = req_str(m, "name", path)?;
    let normalized: String = name.to_lowercase().replace('-', "");
    match normalized.as_str() {
        "configpolicy" => config_policy(m, path).map(PolicySpec::Config),
        "regopolicy" => Err(ConfigError::invalid(
            field(path, "name"),
            "the rego policy provider is not supported yet; use \"configPolicy\" with \
             artifactVerificationPolicies",
        )),
        _ => Err(ConfigError::invalid(
            field(path, "name"),
            format!("policy provider {name:?} is not known; use \"configPolicy\""),
        )),
    }
}

fn config_policy(
    m: &serde_json::Map<String, Value>,
    path: &str,
) -> Result<ConfigPolicy, ConfigError> {
    let mut policy = ConfigPolicy::default();
    let p = field(path, "artifactVerificationPolicies");
    let Some(v) = get(m, "artifactVerificationPolicies") else {
        return Ok(policy);
    };
    for (artifact_type, q) in object(v, &p)? {
        let at = field(&p, artifact_type);
        let q = q.as_str().and_then(Quantifier::from_name).ok_or_else(|| {
            ConfigError::invalid(&at, format!("must be \"any\" or \"all\", found {q}"))
        })?;
        if artifact_type == DEFAULT_KEY {
            policy.default = q;
        } else {
            policy.per_type.insert(artifact_type.clone(), q);
        }
    }
    Ok(policy)
}

/// A `verifier.plugins[]` entry.
pub(crate) fn verifier(
    v: &Value,
    path: &str,
    ctx: &PluginCtx<'_>,
) -> Result<VerifierSpec, ConfigError> {
    let m = object(v, path)?;
    let name = req_str(m, "name", path)?;
    let kind = opt_str(m, "type", path)?
        .filter(|t| !t.is_empty())
        .unwrap_or(name);
    if kind != NOTATION_TYPE {
        let hint = if kind == "cosign" {
            "cosign verification is not supported yet"
        } else {
            "only the built-in \"notation\" verifier is supported"
        };
        return Err(ConfigError::invalid(
            field(
                path,
                if get(m, "type").is_some() {
                    "type"
                } else {
                    "name"
                },
            ),
            format!("verifier type {kind:?}: {hint}"),
        ));
    }
    let artifact_types =
        ArtifactTypes::parse(opt_str(m, "artifactTypes", path)?.unwrap_or(NOTARY_SIGNATURE));
    if artifact_types == ArtifactTypes::List(Vec::new()) {
        return Err(ConfigError::invalid(
            field(path, "artifactTypes"),
            "lists no artifact type; use \"application/vnd.cncf.notary.signature\"",
        ));
    }
    let (policy, store) = trust::load(m, path, ctx)?;
    Ok(VerifierSpec {
        name: name.to_owned(),
        kind: kind.to_owned(),
        artifact_types,
        policy: std::sync::Arc::new(policy),
        store: std::sync::Arc::new(store),
    })
}
