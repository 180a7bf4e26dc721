//! Ratify v2's `Executor` and `NamespacedExecutor` (`config.ratify.sh/v2alpha1`) → the
//! engine's [`Components`].
//!
//! An Executor is turned into the same plugin maps a v1 configuration gives (one `oras` store,
//! one notation verifier with a generated trust policy, a config policy), so both protocols
//! and both configuration generations run one pipeline. What maps:
//!
//! | v2 | engine |
//! |---|---|
//! | `scopes` | the images the Executor serves ([`scope_matches`], v2's rules) |
//! | `verifiers[]` notation: `scopes`, `trustedIdentities`, `certificates[]` (`inline.certs`, `files`) | notation verifier; trust policy `default`, level `strict`, stores `<type>:ratify` |
//! | `stores[]` `registry-store`: `plainHttp`, `credential` | `oras` store (`useHttp`, auth) |
//! | `policyEnforcer` `threshold-policy` naming the verifier | config policy: one successful notation result passes |
//! | `concurrency` | accepted (imagegate verifies a key's referrers concurrently anyway) |
//!
//! Everything else v2 defines but imagegate does not implement yet (cosign, Key Vault key
//! providers, inline keys, `static`/`azure` credentials, `filesystem-oci-store`, nested
//! threshold rules, several verifiers or stores in one Executor, …) is refused with an error
//! naming the field: nothing is silently ignored. Unknown fields are refused too.
//!
//! imagegate extension: `credential: {provider: dockerConfig, configPath: …}` (a docker
//! config file, as v1's `authProvider`), what `imagegate convert` writes for v1 stores.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::error::ConfigError;
use super::executor_scope::check_scope;
use super::plugins::{self, PluginCtx, NOTARY_SIGNATURE};
use super::trust::Kmps;
use super::value::{field, get, index, object, opt_bool, opt_str, req_str, str_items};
use super::{AuthConfig, Components};

/// Ratify v2's API group.
pub(crate) const GROUP: &str = "config.ratify.sh";
/// The only version of [`GROUP`].
pub(crate) const VERSION: &str = "v2alpha1";
/// The trust store name v2 generates (`ca:ratify`, `tsa:ratify`, …).
const STORE_NAME: &str = "ratify";

/// Builds the components of one Executor from its `spec`; `origin` prefixes error paths.
pub(crate) fn compile(
    spec: &Map<String, Value>,
    origin: &str,
    ctx: &PluginCtx<'_>,
) -> Result<Components, ConfigError> {
    let at = |key: &str| format!("{origin} spec.{key}");
    only(
        spec,
        &format!("{origin} spec"),
        &[
            "scopes",
            "concurrency",
            "verifiers",
            "stores",
            "policyEnforcer",
        ],
    )?;
    let scopes = scopes(spec, &at("scopes"))?;
    if let Some(c) = get(spec, "concurrency") {
        if !c.is_i64() && !c.is_u64() {
            return Err(ConfigError::invalid(
                at("concurrency"),
                "must be an integer",
            ));
        }
    }
    let verifiers = list(spec, "verifiers", &at("verifiers"))?;
    if verifiers.len() > 1 {
        return Err(ConfigError::invalid(
            index(&at("verifiers"), 1),
            "imagegate runs one verifier per Executor for now (v2 runs every verifier on every \
             referrer; imagegate's pipeline runs one): use one notation verifier",
        ));
    }
    let verifier_path = index(&at("verifiers"), 0);
    let (verifier_name, verifier_map, kmps) =
        verifier(object(&verifiers[0], &verifier_path)?, &verifier_path)?;
    let stores = list(spec, "stores", &at("stores"))?;
    if stores.len() > 1 {
        return Err(ConfigError::invalid(
            index(&at("stores"), 1),
            "an Executor has one store (v2's CRD schema has no per-store scopes)",
        ));
    }
    let store_path = index(&at("stores"), 0);
    let (store_map, auth) = store(object(&stores[0], &store_path)?, &store_path)?;
    let policy = match get(spec, "policyEnforcer") {
        None => {
            return Err(ConfigError::invalid(
                at("policyEnforcer"),
                "is required by imagegate: without one Ratify v2 denies every image; add \
                 {type: threshold-policy, parameters: {policy: {threshold: 1, rules: \
                 [{verifierName: <your verifier>}]}}}",
            ))
        }
        Some(p) => threshold_policy(p, &at("policyEnforcer"), &verifier_name)?,
    };
    let inner = PluginCtx {
        base: ctx.base,
        kmps: &kmps,
        namespace: None,
        watch: ctx.watch,
    };
    let mut store = plugins::store(&store_map, &store_path, &inner)?;
    if let Some(auth) = auth {
        store.auth = auth;
    }
    Ok(Components {
        stores: vec![store],
        policy: Some(plugins::policy(&policy, &at("policyEnforcer"))?),
        verifiers: vec![plugins::verifier(&verifier_map, &verifier_path, &inner)?],
        scopes,
    })
}

/// Refuses fields of `m` not in `known`.
fn only(m: &Map<String, Value>, path: &str, known: &[&str]) -> Result<(), ConfigError> {
    for key in m.keys() {
        if !known.contains(&key.as_str()) {
            return Err(ConfigError::invalid(
                field(path, key),
                format!(
                    "is not a field imagegate knows here (known: {})",
                    known.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// A required non-empty array.
fn list<'a>(m: &'a Map<String, Value>, key: &str, path: &str) -> Result<&'a [Value], ConfigError> {
    match get(m, key) {
        Some(Value::Array(items)) if !items.is_empty() => Ok(items),
        Some(Value::Array(_)) | None => Err(ConfigError::invalid(
            path,
            "is required: at least one entry",
        )),
        Some(_) => Err(ConfigError::invalid(path, "must be an array")),
    }
}

fn str_list(m: &Map<String, Value>, key: &str, path: &str) -> Result<Vec<String>, ConfigError> {
    get(m, key).map_or(Ok(Vec::new()), |v| {
        str_items(v, path, "an array of strings")
    })
}

/// `spec.scopes`, checked by v2's rules.
fn scopes(spec: &Map<String, Value>, path: &str) -> Result<Vec<String>, ConfigError> {
    let scopes = str_list(spec, "scopes", path)?;
    if scopes.is_empty() {
        return Err(ConfigError::invalid(
            path,
            "is required: at least one scope (\"registry\", \"registry/repository\" or \
             \"*.zone\")",
        ));
    }
    for (i, s) in scopes.iter().enumerate() {
        check_scope(s).map_err(|why| ConfigError::invalid(index(path, i), why))?;
        if scopes[..i].contains(s) {
            return Err(ConfigError::invalid(
                index(path, i),
                format!("scope {s:?} is listed twice"),
            ));
        }
    }
    Ok(scopes)
}

/// A notation verifier entry → its name, the v1 plugin map, and the inline certificates.
fn verifier(m: &Map<String, Value>, path: &str) -> Result<(String, Value, Kmps), ConfigError> {
    only(m, path, &["name", "type", "parameters"])?;
    let name = req_str(m, "name", path)?.to_owned();
    let kind = req_str(m, "type", path)?;
    if kind != "notation" {
        let why = if kind == "cosign" {
            "cosign verification is not implemented by imagegate yet; use notation"
        } else {
            "only the notation verifier is implemented"
        };
        return Err(ConfigError::invalid(
            field(path, "type"),
            format!("verifier type {kind:?}: {why}"),
        ));
    }
    let ppath = field(path, "parameters");
    let empty = Map::new();
    let params = match get(m, "parameters") {
        None => &empty,
        Some(p) => object(p, &ppath)?,
    };
    only(
        params,
        &ppath,
        &["scopes", "trustedIdentities", "certificates"],
    )?;
    let mut registry_scopes = str_list(params, "scopes", &field(&ppath, "scopes"))?;
    if registry_scopes.is_empty() {
        registry_scopes.push("*".into());
    }
    let mut identities = str_list(
        params,
        "trustedIdentities",
        &field(&ppath, "trustedIdentities"),
    )?;
    if identities.is_empty() {
        identities.push("*".into());
    }
    let cpath = field(&ppath, "certificates");
    let certs = list(params, "certificates", &cpath)?;
    let mut kmps = Kmps::default();
    let mut cert_stores = Map::new();
    let mut trust_stores = Vec::new();
    let mut files: Option<(String, Vec<String>)> = None;
    for (i, c) in certs.iter().enumerate() {
        let here = index(&cpath, i);
        let c = object(c, &here)?;
        only(c, &here, &["type", "inline", "files", "azurekeyvault"])?;
        let store_type = opt_str(c, "type", &here)?.unwrap_or("ca");
        if !matches!(store_type, "ca" | "tsa" | "signingAuthority") {
            return Err(ConfigError::invalid(
                field(&here, "type"),
                format!("{store_type:?} is not ca, tsa or signingAuthority"),
            ));
        }
        let store_ref = format!("{store_type}:{STORE_NAME}");
        if trust_stores.contains(&Value::String(store_ref.clone())) {
            return Err(ConfigError::invalid(
                field(&here, "type"),
                format!("certificate type {store_type:?} is listed twice"),
            ));
        }
        if get(c, "azurekeyvault").is_some() {
            return Err(ConfigError::invalid(
                field(&here, "azurekeyvault"),
                "the Azure Key Vault key provider is not implemented by imagegate's v2 \
                 configuration yet; use inline certificates or files",
            ));
        }
        let mut sources = 0;
        if let Some(inline) = get(c, "inline") {
            let ipath = field(&here, "inline");
            let inline = object(inline, &ipath)?;
            only(inline, &ipath, &["certs", "keys"])?;
            if get(inline, "keys").is_some() {
                return Err(ConfigError::invalid(
                    field(&ipath, "keys"),
                    "verification with bare public keys is not implemented; give certificates",
                ));
            }
            let pem = req_str(inline, "certs", &ipath)?;
            let kmp = format!("v2-{name}-{store_type}");
            kmps.certs.insert(kmp.clone(), pem.as_bytes().to_vec());
            cert_stores.insert(store_type.to_owned(), json!({ STORE_NAME: [kmp] }));
            sources += 1;
        }
        let listed = str_list(c, "files", &field(&here, "files"))?;
        if !listed.is_empty() {
            if sources > 0 {
                return Err(ConfigError::invalid(
                    field(&here, "files"),
                    "give either inline certificates or files for one certificate type",
                ));
            }
            if let Some((other, _)) = &files {
                return Err(ConfigError::invalid(
                    field(&here, "files"),
                    format!(
                        "imagegate reads files for one certificate type per verifier for now \
                         ({other} already uses files); give this type inline"
                    ),
                ));
            }
            files = Some((store_type.to_owned(), listed));
            sources += 1;
        }
        if sources == 0 {
            return Err(ConfigError::invalid(
                here,
                "names no certificates: add inline.certs or files",
            ));
        }
        trust_stores.push(Value::String(store_ref));
    }
    let mut map = json!({
        "name": name,
        "type": "notation",
        "artifactTypes": NOTARY_SIGNATURE,
        "trustPolicyDoc": {
            "version": "1.0",
            "trustPolicies": [{
                "name": "default",
                "registryScopes": registry_scopes,
                "signatureVerification": {"level": "strict"},
                "trustStores": trust_stores,
                "trustedIdentities": identities,
            }],
        },
    });
    if let Value::Object(out) = &mut map {
        if !cert_stores.is_empty() {
            out.insert("verificationCertStores".into(), Value::Object(cert_stores));
        }
        if let Some((_, listed)) = files {
            out.insert("verificationCerts".into(), json!(listed));
        }
    }
    Ok((name, map, kmps))
}

/// A `registry-store` entry → a v1 `oras` store map, and the credentials when they are not
/// the map's (`static` without username and password: anonymous).
fn store(m: &Map<String, Value>, path: &str) -> Result<(Value, Option<AuthConfig>), ConfigError> {
    if get(m, "scopes").is_some() {
        return Err(ConfigError::invalid(
            field(path, "scopes"),
            "per-store scopes are not part of the Executor CRD (one store serves the \
             Executor's scopes); remove them",
        ));
    }
    only(m, path, &["type", "parameters"])?;
    let kind = req_str(m, "type", path)?;
    if kind != "registry-store" {
        return Err(ConfigError::invalid(
            field(path, "type"),
            format!("store type {kind:?} is not implemented; use \"registry-store\""),
        ));
    }
    let ppath = field(path, "parameters");
    let params = object(
        get(m, "parameters")
            .ok_or_else(|| ConfigError::invalid(&ppath, "is required (credential)"))?,
        &ppath,
    )?;
    for key in params.keys() {
        if !matches!(key.as_str(), "credential" | "plainHttp") {
            return Err(ConfigError::invalid(
                field(&ppath, key),
                format!(
                    "registry-store parameter {key:?} is not implemented by imagegate yet \
                     (implemented: credential, plainHttp)"
                ),
            ));
        }
    }
    let use_http = opt_bool(params, "plainHttp", &ppath)?.unwrap_or(false);
    let cpath = field(&ppath, "credential");
    let credential = object(
        get(params, "credential").ok_or_else(|| ConfigError::invalid(&cpath, "is required"))?,
        &cpath,
    )?;
    let provider = req_str(credential, "provider", &cpath)?;
    let auth = match provider {
        "static" => {
            only(credential, &cpath, &["provider", "username", "password"])?;
            let user = opt_str(credential, "username", &cpath)?.unwrap_or_default();
            let password = opt_str(credential, "password", &cpath)?.unwrap_or_default();
            if !user.is_empty() || !password.is_empty() {
                return Err(ConfigError::invalid(
                    field(&cpath, "username"),
                    "static credentials with a username or password are not implemented by \
                     imagegate yet; mount them as a docker config.json and use {provider: \
                     dockerConfig, configPath: …} (an imagegate extension)",
                ));
            }
            return Ok((
                json!({"name": "oras", "useHttp": use_http}),
                Some(AuthConfig::Anonymous),
            ));
        }
        "dockerConfig" => {
            only(credential, &cpath, &["provider", "configPath"])?;
            let mut a = json!({"name": "dockerConfig"});
            if let (Value::Object(a), Some(p)) =
                (&mut a, opt_str(credential, "configPath", &cpath)?)
            {
                a.insert("configPath".into(), Value::String(p.to_owned()));
            }
            a
        }
        other => {
            return Err(ConfigError::invalid(
                field(&cpath, "provider"),
                format!(
                    "credential provider {other:?} is not implemented by imagegate's v2 \
                     configuration yet; use {{provider: dockerConfig, configPath: <docker \
                     config.json>}} (an imagegate extension)"
                ),
            ))
        }
    };
    Ok((
        json!({"name": "oras", "useHttp": use_http, "authProvider": auth}),
        None,
    ))
}

/// `threshold-policy` → the config policy that passes on one successful result of the
/// Executor's verifier.
fn threshold_policy(v: &Value, path: &str, verifier: &str) -> Result<Value, ConfigError> {
    let m = object(v, path)?;
    only(m, path, &["type", "parameters"])?;
    let kind = req_str(m, "type", path)?;
    if kind != "threshold-policy" {
        return Err(ConfigError::invalid(
            field(path, "type"),
            format!("policy enforcer {kind:?} is not implemented; use \"threshold-policy\""),
        ));
    }
    let ppath = field(path, "parameters");
    let params = object(
        get(m, "parameters").ok_or_else(|| ConfigError::invalid(&ppath, "is required"))?,
        &ppath,
    )?;
    only(params, &ppath, &["policy"])?;
    let pol_path = field(&ppath, "policy");
    let policy = object(
        get(params, "policy").ok_or_else(|| ConfigError::invalid(&pol_path, "is required"))?,
        &pol_path,
    )?;
    only(policy, &pol_path, &["threshold", "rules"])?;
    if get(policy, "verifierName").is_some() {
        return Err(ConfigError::invalid(
            field(&pol_path, "verifierName"),
            "the root rule must not name a verifier",
        ));
    }
    let rpath = field(&pol_path, "rules");
    let rules = list(policy, "rules", &rpath)?;
    let threshold = match get(policy, "threshold") {
        None => 0,
        Some(t) => t.as_u64().ok_or_else(|| {
            ConfigError::invalid(
                field(&pol_path, "threshold"),
                "must be a non-negative integer",
            )
        })?,
    };
    if threshold > rules.len() as u64 {
        return Err(ConfigError::invalid(
            field(&pol_path, "threshold"),
            format!("{threshold} is more than the {} rules", rules.len()),
        ));
    }
    let mut named = BTreeMap::new();
    for (i, r) in rules.iter().enumerate() {
        let here = index(&rpath, i);
        let r = object(r, &here)?;
        if get(r, "rules").is_some() {
            return Err(ConfigError::invalid(
                field(&here, "rules"),
                "nested rules (verification of referrers' referrers) are not implemented yet",
            ));
        }
        only(r, &here, &["verifierName"])?;
        let name = req_str(r, "verifierName", &here)?;
        if name != verifier {
            return Err(ConfigError::invalid(
                field(&here, "verifierName"),
                format!("names no verifier of this Executor (it has {verifier:?})"),
            ));
        }
        named.insert(name.to_owned(), i);
    }
    if named.len() != rules.len() {
        return Err(ConfigError::invalid(rpath, "names a verifier twice"));
    }
    Ok(json!({
        "name": "configPolicy",
        "artifactVerificationPolicies": {NOTARY_SIGNATURE: "any"},
    }))
}
