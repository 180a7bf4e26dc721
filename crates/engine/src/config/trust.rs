//! Notation trust material from a verifier entry: `trustPolicyDoc`, `verificationCerts` and
//! `verificationCertStores` (typed `{"ca": {"store": ["kmp"]}}` or legacy `{"store": ["kmp"]}`).
//!
//! Each `<type>:<name>` store named by the trust policy gets its certificates from the
//! KeyManagementProviders mapped to it in `verificationCertStores`, else from every file of
//! `verificationCerts` (Ratify's rule). A store that ends up empty is a configuration error
//! naming the policy field, so a broken trust setup is caught at load, not at admission time.

use std::collections::BTreeMap;
use std::path::Path;

use imagegate_notation::policy::{StoreType, TrustPolicyDocument};
use imagegate_notation::store::TrustStore;
use serde_json::{Map, Value};

use super::error::ConfigError;
use super::plugins::PluginCtx;
use super::value::{field, get, index, object, opt_str_list, str_items};

/// Most certificate files read from `verificationCerts` per verifier.
const MAX_CERT_FILES: usize = 1000;
/// Deepest directory level walked under a `verificationCerts` directory.
const MAX_DEPTH: usize = 4;

/// Inline KeyManagementProvider certificates by reference (`name` cluster-wide, `ns/name`
/// namespaced): PEM bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kmps {
    pub(crate) certs: BTreeMap<String, Vec<u8>>,
}

/// One `verificationCerts` file: index of the entry that named it, file name, bytes.
struct CertFile {
    entry: usize,
    name: String,
    bytes: Vec<u8>,
}

/// `(type, store name)` → KeyManagementProvider references.
type CertStores = BTreeMap<(StoreType, String), Vec<String>>;

/// Parses `trustPolicyDoc` and builds the trust stores it refers to.
pub(crate) fn load(
    m: &Map<String, Value>,
    path: &str,
    ctx: &PluginCtx<'_>,
) -> Result<(TrustPolicyDocument, TrustStore), ConfigError> {
    let doc_path = field(path, "trustPolicyDoc");
    let Some(doc) = get(m, "trustPolicyDoc") else {
        return Err(ConfigError::invalid(
            doc_path,
            "is required: a Notary Project trust policy document ({\"version\": \"1.0\", \
             \"trustPolicies\": [...]})",
        ));
    };
    object(doc, &doc_path)?;
    let bytes =
        serde_json::to_vec(doc).map_err(|e| ConfigError::invalid(&doc_path, e.to_string()))?;
    let policy = TrustPolicyDocument::from_json(&bytes).map_err(|e| {
        let msg = e.to_string();
        ConfigError::invalid(format!("{doc_path}{}", locate(doc, &msg)), msg)
    })?;
    let cert_stores = match get(m, "verificationCertStores") {
        None => CertStores::new(),
        Some(v) => cert_stores(v, &field(path, "verificationCertStores"))?,
    };
    let cert_paths = opt_str_list(m, "verificationCerts", path)?;
    let files = if cert_stores.is_empty() || needs_files(&policy, &cert_stores) {
        read_cert_files(&cert_paths, &field(path, "verificationCerts"), ctx)?
    } else {
        Vec::new()
    };

    let mut store = TrustStore::new();
    let mut done = Vec::new();
    for (i, statement) in policy.statements().iter().enumerate() {
        for (j, r) in statement.trust_stores().iter().enumerate() {
            let key = (r.store_type, r.name.clone());
            if done.contains(&key) {
                continue;
            }
            let here = format!("{doc_path}.trustPolicies[{i}].trustStores[{j}]");
            let added = match cert_stores.get(&key) {
                Some(kmps) => add_kmps(&mut store, r.store_type, &r.name, kmps, path, ctx)?,
                None => {
                    let mut n = 0;
                    for f in &files {
                        n += store
                            .add_file(r.store_type, &r.name, &f.name, &f.bytes)
                            .map_err(|e| {
                                ConfigError::invalid(
                                    index(&field(path, "verificationCerts"), f.entry),
                                    format!("trust store \"{r}\": {e}"),
                                )
                            })?;
                    }
                    n
                }
            };
            if added == 0 {
                return Err(ConfigError::invalid(
                    here,
                    format!(
                        "trust store \"{r}\" has no certificates: list PEM files or directories \
                         in verificationCerts, or map the store to a KeyManagementProvider in \
                         verificationCertStores"
                    ),
                ));
            }
            done.push(key);
        }
    }
    Ok((policy, store))
}

/// Whether some policy store is not mapped in `verificationCertStores`.
fn needs_files(policy: &TrustPolicyDocument, stores: &CertStores) -> bool {
    policy.statements().iter().any(|s| {
        s.trust_stores()
            .iter()
            .any(|r| !stores.contains_key(&(r.store_type, r.name.clone())))
    })
}

fn add_kmps(
    store: &mut TrustStore,
    store_type: StoreType,
    name: &str,
    kmps: &[String],
    path: &str,
    ctx: &PluginCtx<'_>,
) -> Result<usize, ConfigError> {
    let here = format!(
        "{}.{store_type}.{name}",
        field(path, "verificationCertStores")
    );
    let mut n = 0;
    for (k, kmp) in kmps.iter().enumerate() {
        let at = index(&here, k);
        if let Some((ns, _)) = kmp.split_once('/') {
            if ctx.namespace != Some(ns) {
                return Err(ConfigError::invalid(
                    at,
                    format!(
                        "OPERATION_FORBIDDEN: KeyManagementProvider {kmp:?} belongs to namespace \
                         {ns:?} and cannot be used from {}; reference a cluster-wide provider by \
                         bare name",
                        ctx.namespace
                            .map_or("a cluster-scoped verifier".to_owned(), |n| format!(
                                "namespace {n:?}"
                            ))
                    ),
                ));
            }
        }
        let pem = ctx.kmps.certs.get(kmp).ok_or_else(|| {
            ConfigError::invalid(
                &at,
                format!("KeyManagementProvider {kmp:?} not found; define it (type inline) in the CRD directory"),
            )
        })?;
        n += store
            .add_file(
                store_type,
                name,
                &format!("KeyManagementProvider {kmp}"),
                pem,
            )
            .map_err(|e| ConfigError::invalid(&at, e.to_string()))?;
    }
    Ok(n)
}

/// Parses `verificationCertStores` in either form; mixing them is an error (Ratify).
fn cert_stores(v: &Value, path: &str) -> Result<CertStores, ConfigError> {
    let m = object(v, path)?;
    let mut out = CertStores::new();
    let (mut typed, mut legacy) = (false, false);
    for (key, value) in m {
        let here = field(path, key);
        match value {
            Value::Object(named) => {
                typed = true;
                let store_type = StoreType::from_name(key).ok_or_else(|| {
                    ConfigError::invalid(
                        &here,
                        "unknown trust store type; use \"ca\", \"tsa\" or \"signingAuthority\"",
                    )
                })?;
                for (name, refs) in named {
                    let refs = str_list(refs, &field(&here, name))?;
                    out.insert((store_type, name.clone()), refs);
                }
            }
            Value::Array(_) => {
                legacy = true;
                out.insert((StoreType::Ca, key.clone()), str_list(value, &here)?);
            }
            _ => {
                return Err(ConfigError::invalid(
                    here,
                    "must map a trust store type to stores, or a store name to a list of \
                     KeyManagementProvider names",
                ))
            }
        }
    }
    if typed && legacy {
        return Err(ConfigError::invalid(
            path,
            imagegate_ratify::RatifyCode::ConfigInvalid.render(
                "mixes the typed form ({\"ca\": {\"store\": [...]}}) and the legacy \
                 form ({\"store\": [...]}); use one",
            ),
        ));
    }
    Ok(out)
}

fn str_list(v: &Value, path: &str) -> Result<Vec<String>, ConfigError> {
    str_items(v, path, "a list of KeyManagementProvider names")
}

/// Reads every file named by `verificationCerts` (files, or directories walked a few levels
/// deep, in name order).
fn read_cert_files(
    paths: &[String],
    path: &str,
    ctx: &PluginCtx<'_>,
) -> Result<Vec<CertFile>, ConfigError> {
    let mut out: Vec<CertFile> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        let at = index(path, i);
        let full = super::resolve_path(ctx.base, p);
        let first = out.len();
        let mut files = Vec::new();
        collect(&full, 0, &mut files).map_err(|e| ConfigError::invalid(&at, e))?;
        for f in files {
            if out.len() >= MAX_CERT_FILES {
                return Err(ConfigError::invalid(
                    &at,
                    format!("more than {MAX_CERT_FILES} certificate files; point at a smaller directory"),
                ));
            }
            let bytes =
                super::read_bounded(&f).map_err(|e| ConfigError::invalid(&at, e.to_string()))?;
            out.push(CertFile {
                entry: i,
                name: f.display().to_string(),
                bytes,
            });
        }
        let read = out[first..].iter();
        ctx.watch
            .certs(&full, read.map(|f| (f.name.as_str(), f.bytes.as_slice())));
    }
    Ok(out)
}

/// Lists and reads one `verificationCerts` entry as loading does (file names as loading
/// names them, in the same order), for the watcher ([`super::watched`]).
pub(crate) fn read_entry(full: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    collect(full, 0, &mut files)?;
    files
        .into_iter()
        .take(MAX_CERT_FILES + 1)
        .map(|f| {
            let bytes = super::read_bounded(&f).map_err(|e| e.to_string())?;
            Ok((f.display().to_string(), bytes))
        })
        .collect()
}

fn collect(p: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    if meta.is_file() {
        out.push(p.to_path_buf());
        return Ok(());
    }
    if !meta.is_dir() || depth > MAX_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(p)
        .map_err(|e| format!("cannot list {}: {e}", p.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for e in entries {
        if out.len() > MAX_CERT_FILES {
            break;
        }
        collect(&e, depth + 1, out)?;
    }
    Ok(())
}

/// Best-effort field path inside the trust policy document for an error message: the statement
/// the message names, then the store, identity or scope value it quotes.
fn locate(doc: &Value, msg: &str) -> String {
    let Some(statements) = doc.get("trustPolicies").and_then(Value::as_array) else {
        return String::new();
    };
    let quoted = |s: &str| msg.contains(&format!("{s:?}"));
    let find_in = |st: &Value, key: &str| -> Option<usize> {
        st.get(key)?
            .as_array()?
            .iter()
            .position(|v| v.as_str().is_some_and(quoted))
    };
    for (i, st) in statements.iter().enumerate() {
        let named = st.get("name").and_then(Value::as_str).is_some_and(quoted);
        for key in ["trustStores", "trustedIdentities", "registryScopes"] {
            if let Some(j) = find_in(st, key) {
                if named || key == "registryScopes" {
                    return format!(".trustPolicies[{i}].{key}[{j}]");
                }
            }
        }
        if named {
            return format!(".trustPolicies[{i}]");
        }
    }
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_statement_and_value() {
        let doc = serde_json::json!({"version":"1.0","trustPolicies":[
            {"name":"a","registryScopes":["*"],"trustStores":["ca:x"],"trustedIdentities":["*"]},
            {"name":"b","registryScopes":["r.io/x"],"trustStores":["ca:ok","nosep"],"trustedIdentities":["*"]}]});
        assert_eq!(
            locate(
                &doc,
                "statement \"b\" is missing separator in trust store value \"nosep\""
            ),
            ".trustPolicies[1].trustStores[1]"
        );
        assert_eq!(locate(&doc, "statement \"a\" is bad"), ".trustPolicies[0]");
        assert_eq!(
            locate(&doc, "registry scope \"r.io/x\" is present"),
            ".trustPolicies[1].registryScopes[0]"
        );
        assert_eq!(locate(&doc, "nothing"), "");
    }

    #[test]
    fn cert_store_forms() {
        let typed = cert_stores(
            &serde_json::json!({"ca":{"certs":["kmp1"]},"tsa":{"t":["k2"]}}),
            "p",
        )
        .unwrap();
        assert_eq!(
            typed[&(StoreType::Ca, "certs".into())],
            vec!["kmp1".to_owned()]
        );
        assert_eq!(typed[&(StoreType::Tsa, "t".into())], vec!["k2".to_owned()]);
        let legacy = cert_stores(&serde_json::json!({"certs":["kmp1","ns/k"]}), "p").unwrap();
        assert_eq!(legacy[&(StoreType::Ca, "certs".into())].len(), 2);
        let mixed = cert_stores(&serde_json::json!({"ca":{"a":["k"]},"b":["k"]}), "p").unwrap_err();
        assert!(
            mixed.to_string().contains("mixes the typed form"),
            "{mixed}"
        );
        let bad = cert_stores(&serde_json::json!({"nope":{"a":["k"]}}), "p").unwrap_err();
        assert!(
            bad.to_string()
                .starts_with("p.nope: unknown trust store type"),
            "{bad}"
        );
    }
}
