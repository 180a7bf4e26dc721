//! The seam for key management providers whose material is fetched by the serving process
//! (e.g. `azurekeyvault`): the source hands every snapshot's KeyManagementProvider objects to
//! a [`KeyManagementHook`] before building the configuration, asks it for the `properties`
//! of their status, and reconciles the last snapshot again when the hook says the material
//! changed. This crate knows nothing about Azure; the binary implements the hook.

use futures_util::future::BoxFuture;
use serde_json::{Map, Value};

use crate::kinds::Kind;
use crate::snapshot::Snapshot;

/// One KeyManagementProvider / NamespacedKeyManagementProvider object of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct KmpObject {
    /// The key the engine names it by: `name` (cluster) or `namespace/name`.
    pub key: String,
    /// Its `spec`, as in the API server.
    pub spec: Map<String, Value>,
}

/// Runs what fetches key management material outside the configuration load.
pub trait KeyManagementHook: Send + Sync {
    /// Brings what runs in line with `objects` (every KMP object of the current snapshot):
    /// starts work for new objects, restarts it for changed specs, stops it for deleted
    /// ones. Resolves once new and restarted providers made their first fetch (bounded by
    /// the implementation), so the configuration built next sees their material.
    fn sync<'a>(&'a self, objects: &'a [KmpObject]) -> BoxFuture<'a, ()>;

    /// Resolves when material changed since it last resolved (a refresh that brought new
    /// certificates); the source then reconciles the last snapshot again.
    fn changed(&self) -> BoxFuture<'_, ()>;

    /// The status `properties` of the provider `key`, when this hook fetches it.
    fn properties(&self, key: &str) -> Option<Value>;

    /// Why the provider `key` has no material, when this hook fetches it and its fetches
    /// failed so far (without the error code; shown as its status `error`). None while good
    /// material is in force, even if the last refresh failed.
    fn failure(&self, key: &str) -> Option<String>;
}

/// The key the engine uses for a KMP object of `kind` (`name` or `namespace/name`).
pub fn kmp_key(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{ns}/{name}"),
        _ => name.to_owned(),
    }
}

/// Every KeyManagementProvider object of `snap` (both kinds).
pub fn kmp_objects(snap: &Snapshot) -> Vec<KmpObject> {
    let mut out = Vec::new();
    for (i, kind) in snap.kinds().iter().enumerate() {
        if !is_kmp(kind) {
            continue;
        }
        for ((ns, name), o) in snap.objects(i) {
            let spec = match o.data.get("spec") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            let ns = kind.namespaced.then_some(ns.as_str());
            out.push(KmpObject {
                key: kmp_key(ns, name),
                spec,
            });
        }
    }
    out
}

fn is_kmp(kind: &Kind) -> bool {
    kind.group == crate::kinds::RATIFY_GROUP && kind.kind.ends_with("KeyManagementProvider")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::RATIFY_V1;
    use kube::api::DynamicObject;
    use kube::runtime::watcher::Event;

    fn obj(kind: &Kind, ns: Option<&str>, name: &str, spec: Value) -> DynamicObject {
        let mut o = DynamicObject::new(name, &kind.api_resource()).data(serde_json::json!({
            "spec": spec
        }));
        o.metadata.namespace = ns.map(str::to_owned);
        o.metadata.resource_version = Some("1".into());
        o
    }

    #[test]
    fn kmp_objects_are_keyed_like_the_engine_and_other_kinds_are_left_out() {
        let kinds = RATIFY_V1.to_vec();
        let mut snap = Snapshot::new(kinds.clone());
        for (i, kind) in kinds.iter().enumerate() {
            snap.apply(i, Event::Init);
            let ns = kind.namespaced.then_some("team-a");
            let o = obj(
                kind,
                ns,
                "akv",
                serde_json::json!({"type": "azurekeyvault"}),
            );
            snap.apply(i, Event::InitApply(o));
            snap.apply(i, Event::InitDone);
        }
        let mut keys: Vec<String> = kmp_objects(&snap).into_iter().map(|k| k.key).collect();
        keys.sort();
        assert_eq!(keys, ["akv", "team-a/akv"]);
        assert!(kmp_objects(&snap)
            .iter()
            .all(|k| k.spec["type"] == "azurekeyvault"));
    }
}
