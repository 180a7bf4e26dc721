//! One consistent snapshot → the engine configuration and every object's status, through
//! [`EngineConfig::from_objects`] (the code path the CRD directory uses).
//!
//! As Ratify's controllers do, an object that does not load keeps its last good version in
//! force (a bad edit does not remove a working verifier) and gets a failure status; an object
//! that never loaded is left out. A deleted object is gone from the next configuration.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use imagegate_engine::config::CrdObject;
use imagegate_engine::{ConfigError, EngineConfig};
use serde_json::{json, Value};

use crate::key_management::{kmp_key, KeyManagementHook};
use crate::kinds::RATIFY_GROUP;
use crate::secrets;
use crate::snapshot::{crd_object, ObjectKey, Snapshot};
use crate::status::{error_code, Desired};

/// An object of the snapshot: kind index and key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjRef {
    /// Index of its kind in the snapshot.
    pub kind: usize,
    /// Namespace (or "") and name.
    pub key: ObjectKey,
}

/// What one reconciliation produced.
#[derive(Debug)]
pub struct Outcome {
    /// The configuration to put in force, or why there is none.
    pub config: Result<EngineConfig, ConfigError>,
    /// The status every watched Ratify object should show.
    pub statuses: BTreeMap<ObjRef, Desired>,
}

/// Keeps the last good version of every object between snapshots.
pub struct Reconciler {
    config_path: Option<PathBuf>,
    default_namespace: String,
    credentials_dir: PathBuf,
    last_good: HashMap<ObjRef, CrdObject>,
    key_management: Option<Arc<dyn KeyManagementHook>>,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("config_path", &self.config_path)
            .field("default_namespace", &self.default_namespace)
            .field("key_management", &self.key_management.is_some())
            .finish_non_exhaustive()
    }
}

/// How many times rejected objects are replaced by their last good version and rebuilt.
const ROUNDS: usize = 3;

impl Reconciler {
    /// `config_path`: optional `config.json` (executor, settings); `default_namespace`: for
    /// pull secrets named without one; `credentials_dir`: private directory for docker
    /// config files made from pull secrets.
    pub fn new(
        config_path: Option<PathBuf>,
        default_namespace: String,
        credentials_dir: &Path,
    ) -> Self {
        Self {
            config_path,
            default_namespace,
            credentials_dir: credentials_dir.to_path_buf(),
            last_good: HashMap::new(),
            key_management: None,
        }
    }

    /// Takes the `properties` of fetched key management providers (e.g. `azurekeyvault`)
    /// from `hook`.
    pub fn with_key_management(mut self, hook: Option<Arc<dyn KeyManagementHook>>) -> Self {
        self.key_management = hook;
        self
    }

    /// Builds the configuration from `snap` (which must be synced).
    pub fn reconcile(&mut self, snap: &Snapshot) -> Outcome {
        let empty = BTreeMap::new();
        let secrets = snap.index_of("Secret").map_or(&empty, |i| snap.objects(i));
        let mut statuses = BTreeMap::new();
        // (object, its engine form, whether it is the version in the API server)
        let mut objs: Vec<(ObjRef, CrdObject, bool)> = Vec::new();
        for (i, kind) in snap.kinds().iter().enumerate() {
            if kind.group != RATIFY_GROUP && !kind.is_v2() {
                continue;
            }
            for (key, o) in snap.objects(i) {
                let r = ObjRef {
                    kind: i,
                    key: key.clone(),
                };
                let mut c = crd_object(kind, o);
                if kind.kind.ends_with("Store") {
                    if let Err(e) = secrets::resolve(
                        &mut c,
                        secrets,
                        &self.default_namespace,
                        &self.credentials_dir,
                    ) {
                        statuses.insert(r.clone(), Desired::failed_text(error_code(kind.kind), &e));
                        if let Some(good) = self.last_good.get(&r) {
                            objs.push((r, good.clone(), false));
                        }
                        continue;
                    }
                }
                objs.push((r, c, true));
            }
        }
        let mut round = 0;
        let config = loop {
            let list: Vec<CrdObject> = objs.iter().map(|(_, c, _)| c.clone()).collect();
            let build = EngineConfig::from_objects(&list, self.config_path.as_deref());
            round += 1;
            if build.rejected.is_empty() || round > ROUNDS {
                let rejected: HashMap<usize, ConfigError> = build.rejected.into_iter().collect();
                for (idx, (r, c, current)) in objs.iter().enumerate() {
                    if let Some(e) = rejected.get(&idx) {
                        if *current {
                            let code = error_code(&c.kind);
                            statuses.insert(r.clone(), self.failed(c, code, e));
                        }
                        continue;
                    }
                    if *current {
                        self.last_good.insert(r.clone(), c.clone());
                        statuses
                            .entry(r.clone())
                            .or_insert_with(|| Desired::ok(self.kmp_properties(c)));
                    }
                }
                break build.config;
            }
            let rejected: HashMap<usize, ConfigError> = build.rejected.into_iter().collect();
            let mut next = Vec::with_capacity(objs.len());
            for (idx, (r, c, current)) in objs.into_iter().enumerate() {
                match rejected.get(&idx) {
                    None => next.push((r, c, current)),
                    Some(e) if current => {
                        let d = self.failed(&c, error_code(&c.kind), e);
                        statuses.insert(r.clone(), d);
                        if let Some(good) = self.last_good.get(&r).filter(|g| **g != c) {
                            next.push((r, good.clone(), false));
                        }
                    }
                    // A last good version that no longer loads (e.g. its provider went away).
                    Some(_) => {}
                }
            }
            objs = next;
        };
        // Deleted objects lose their last good version.
        self.last_good
            .retain(|r, _| snap.objects(r.kind).contains_key(&r.key));
        Outcome { config, statuses }
    }
}

impl Reconciler {
    /// The failure status of `c`: for a key management provider whose fetch failed with no
    /// good material, the fetch's error (what the provider's status file says in file mode)
    /// rather than the load's "nothing fetched yet".
    fn failed(&self, c: &CrdObject, code: &str, e: &ConfigError) -> Desired {
        if c.kind.ends_with("KeyManagementProvider") {
            if let Some(hook) = &self.key_management {
                let key = kmp_key(c.namespace.as_deref(), &c.name);
                if let Some(reason) = hook.failure(&key) {
                    return Desired::failed_text(code, &reason);
                }
            }
        }
        Desired::failed(code, e)
    }

    /// `properties` of a key management provider: from the hook for fetched ones, else
    /// from the inline PEM.
    fn kmp_properties(&self, c: &CrdObject) -> Option<Value> {
        if !c.kind.ends_with("KeyManagementProvider") {
            return None;
        }
        if let Some(hook) = &self.key_management {
            let key = kmp_key(c.namespace.as_deref(), &c.name);
            if let Some(p) = hook.properties(&key) {
                return Some(p);
            }
        }
        inline_properties(c)
    }
}

/// `properties` of an inline key management provider: one entry per PEM certificate.
fn inline_properties(c: &CrdObject) -> Option<Value> {
    let pem = c.spec.get("parameters")?.get("value")?.as_str()?;
    let mut certs = Vec::new();
    for (n, block) in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()).enumerate() {
        let Ok(block) = block else { break };
        let Ok(cert) = block.parse_x509() else {
            continue;
        };
        let not_after = cert
            .validity()
            .not_after
            .to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        certs.push(json!({
            "Name": c.name,
            "Version": n.to_string(),
            "Enabled": "true",
            "Subject": cert.subject().to_string(),
            "NotAfter": not_after,
        }));
    }
    Some(json!({"Certificates": certs, "Keys": []}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::RATIFY_V1;
    use kube::api::DynamicObject;
    use kube::runtime::watcher::Event;

    fn obj(kind: &str, name: &str, spec: Value) -> (usize, DynamicObject) {
        let i = RATIFY_V1.iter().position(|k| k.kind == kind).unwrap_or(0);
        let mut o =
            DynamicObject::new(name, &RATIFY_V1[i].api_resource()).data(json!({ "spec": spec }));
        o.metadata.resource_version = Some("1".into());
        (i, o)
    }

    /// A fetched provider's material file is part of the configuration's fingerprint, so a
    /// refresh that changes it makes `apply_config` reload (not answer `Unchanged`).
    #[test]
    fn key_vault_material_contents_change_the_fingerprint() {
        let material = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        imagegate_engine::config::azure::set_key_vault_material_dir(Some(
            material.path().to_path_buf(),
        ));
        let policy = json!({"version": "1.0", "trustPolicies": [{"name": "all",
            "registryScopes": ["*"], "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:certs"], "trustedIdentities": ["*"]}]});
        let objects = [
            obj("Store", "store", json!({"name": "oras"})),
            obj(
                "Policy",
                "ratify-policy",
                json!({"type": "config-policy",
                "parameters": {"artifactVerificationPolicies": {"default": "all"}}}),
            ),
            obj(
                "KeyManagementProvider",
                "akv",
                json!({"type": "azurekeyvault",
                "parameters": {"vaultURI": "https://v.vault.azure.net/",
                    "tenantID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                    "clientID": "1b2c3d4e-0000-4000-8000-00000000c11e",
                    "certificates": [{"name": "signer"}]}}),
            ),
            obj(
                "Verifier",
                "verifier",
                json!({"name": "notation",
                "artifactTypes": "application/vnd.cncf.notary.signature",
                "parameters": {"verificationCertStores": {"ca": {"certs": ["akv"]}},
                               "trustPolicyDoc": policy}}),
            ),
        ];
        let mut snap = Snapshot::new(RATIFY_V1.to_vec());
        for i in 0..RATIFY_V1.len() {
            snap.apply(i, Event::Init);
            for (k, o) in &objects {
                if *k == i {
                    snap.apply(i, Event::InitApply(o.clone()));
                }
            }
            snap.apply(i, Event::InitDone);
        }
        let creds = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut r = Reconciler::new(None, "default".into(), creds.path());
        let fingerprint = |r: &mut Reconciler| match r.reconcile(&snap).config {
            Ok(c) => c.fingerprint,
            Err(e) => panic!("{e}"),
        };
        // The file name the serving process writes for the provider `akv`.
        let file = material.path().join("akv.pem");
        let (one, two) = (
            imagegate_testkit::Pki::generate(),
            imagegate_testkit::Pki::generate(),
        );
        std::fs::write(&file, one.root_pem()).unwrap_or_else(|e| panic!("{e}"));
        let first = fingerprint(&mut r);
        assert_eq!(
            fingerprint(&mut r),
            first,
            "same material, same fingerprint"
        );
        std::fs::write(&file, two.root_pem()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(fingerprint(&mut r), first, "new material, new fingerprint");
        imagegate_engine::config::azure::set_key_vault_material_dir(None);
    }
}
