//! The current set of watched objects, per kind, fed by kube-rs watcher events. A kind's
//! objects are replaced as a whole when its (re-)list completes (`InitDone`), so a consumer
//! never sees half a list.

use std::collections::BTreeMap;

use imagegate_engine::config::CrdObject;
use kube::api::DynamicObject;
use kube::runtime::watcher::Event;
use serde_json::{Map, Value};

use crate::kinds::Kind;

/// `(namespace or "", name)`.
pub type ObjectKey = (String, String);

/// Objects of every watched kind.
#[derive(Debug)]
pub struct Snapshot {
    kinds: Vec<Kind>,
    current: Vec<BTreeMap<ObjectKey, DynamicObject>>,
    listing: Vec<Option<BTreeMap<ObjectKey, DynamicObject>>>,
    synced: Vec<bool>,
}

fn key(o: &DynamicObject) -> ObjectKey {
    (
        o.metadata.namespace.clone().unwrap_or_default(),
        o.metadata.name.clone().unwrap_or_default(),
    )
}

impl Snapshot {
    /// An empty snapshot of `kinds`, none synced.
    pub fn new(kinds: Vec<Kind>) -> Self {
        let n = kinds.len();
        Self {
            kinds,
            current: vec![BTreeMap::new(); n],
            listing: vec![None; n],
            synced: vec![false; n],
        }
    }

    /// The kinds, in index order.
    pub fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    /// Applies one watcher event for kind `i`; true when the visible set changed.
    pub fn apply(&mut self, i: usize, event: Event<DynamicObject>) -> bool {
        match event {
            Event::Init => {
                self.listing[i] = Some(BTreeMap::new());
                false
            }
            Event::InitApply(o) => {
                if let Some(l) = self.listing[i].as_mut() {
                    l.insert(key(&o), o);
                }
                false
            }
            Event::InitDone => {
                let listed = self.listing[i].take().unwrap_or_default();
                let changed = !self.synced[i] || !same(&self.current[i], &listed);
                self.current[i] = listed;
                self.synced[i] = true;
                changed
            }
            Event::Apply(o) => {
                let k = key(&o);
                let changed = self.current[i]
                    .get(&k)
                    .is_none_or(|old| old.metadata.resource_version != o.metadata.resource_version);
                self.current[i].insert(k, o);
                changed
            }
            Event::Delete(o) => self.current[i].remove(&key(&o)).is_some(),
        }
    }

    /// Records that kind `i` is not served (its list answered 404: no CRD): listed, empty.
    /// True when that changed what is visible.
    pub fn absent(&mut self, i: usize) -> bool {
        self.listing[i] = None;
        let changed = !self.synced[i] || !self.current[i].is_empty();
        if !self.synced[i] {
            tracing::info!(
                kind = self.kinds[i].kind,
                "no such resource in the API server (CRD not installed); treated as empty"
            );
        }
        self.current[i].clear();
        self.synced[i] = true;
        changed
    }

    /// Whether every kind has been listed completely at least once.
    pub fn synced(&self) -> bool {
        self.synced.iter().all(|s| *s)
    }

    /// The objects of kind `i`.
    pub fn objects(&self, i: usize) -> &BTreeMap<ObjectKey, DynamicObject> {
        &self.current[i]
    }

    /// The index of `kind`.
    pub fn index_of(&self, kind: &str) -> Option<usize> {
        self.kinds.iter().position(|k| k.kind == kind)
    }
}

fn same(a: &BTreeMap<ObjectKey, DynamicObject>, b: &BTreeMap<ObjectKey, DynamicObject>) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|((ka, va), (kb, vb))| {
            ka == kb && va.metadata.resource_version == vb.metadata.resource_version
        })
}

/// The engine's view of a watched object.
pub fn crd_object(kind: &Kind, o: &DynamicObject) -> CrdObject {
    let name = o.metadata.name.clone().unwrap_or_default();
    let namespace = o.metadata.namespace.clone();
    let origin = match &namespace {
        Some(ns) => format!("{} {ns}/{name}", kind.kind),
        None => format!("{} {name:?}", kind.kind),
    };
    let spec = match o.data.get("spec") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    CrdObject {
        kind: kind.kind.to_owned(),
        name,
        namespace,
        spec,
        origin,
    }
}
