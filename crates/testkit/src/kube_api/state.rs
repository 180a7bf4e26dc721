//! The emulator's storage: objects per resource, one global resourceVersion counter (as etcd's
//! revision), a compactable history of watch events, and the write semantics of the
//! Kubernetes API server (conflicts, generation, the status subresource).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// A resource type the emulator serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// API group (`""` for the core group).
    pub group: String,
    /// Version, e.g. `v1beta1`.
    pub version: String,
    /// Plural name used in paths.
    pub plural: String,
    /// Kind.
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether `.status` is a subresource (writes to the main resource ignore it).
    pub status_subresource: bool,
    /// `kubectl get` columns after NAME: (header, JSON path such as `.status.issuccess`).
    pub printer_columns: Vec<(String, String)>,
}

impl Resource {
    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// An API error, rendered as a `Status` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP code.
    pub code: u16,
    /// `reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// `message`.
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
        }
    }

    /// The `Status` object.
    pub fn status(&self) -> Value {
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": self.message, "reason": self.reason, "code": self.code})
    }
}

/// One recorded change.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub(crate) rv: u64,
    pub(crate) resource: usize,
    pub(crate) kind: &'static str,
    pub(crate) object: Value,
}

/// Key of an object inside one resource: (namespace or "", name).
type Key = (String, String);

/// Everything the server stores.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) resources: Vec<Resource>,
    objects: Vec<BTreeMap<Key, Value>>,
    pub(crate) rv: u64,
    /// Events with `rv > compacted` are kept in `history`.
    pub(crate) compacted: u64,
    pub(crate) history: Vec<Change>,
    uid: u64,
}

/// How a write treats `.status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Main,
    Status,
}

impl State {
    pub(crate) fn new(resources: Vec<Resource>) -> Self {
        let objects = resources.iter().map(|_| BTreeMap::new()).collect();
        Self {
            resources,
            objects,
            rv: 1,
            ..Self::default()
        }
    }

    /// Forgets every object; old resourceVersions become too old.
    pub(crate) fn wipe(&mut self) {
        for m in &mut self.objects {
            m.clear();
        }
        self.compact();
    }

    /// Advances the revision (as writes to other resources would) and drops the history:
    /// watches from any earlier version get 410.
    pub(crate) fn compact(&mut self) {
        self.rv += 1;
        self.compacted = self.rv;
        self.history.clear();
    }

    pub(crate) fn find(&self, group: &str, version: &str, plural: &str) -> Option<usize> {
        self.resources
            .iter()
            .position(|r| r.group == group && r.version == version && r.plural == plural)
    }

    /// Objects of a resource (optionally one namespace), sorted by namespace and name.
    pub(crate) fn list(&self, res: usize, ns: Option<&str>) -> Vec<Value> {
        self.objects[res]
            .iter()
            .filter(|((n, _), _)| ns.is_none_or(|want| n == want))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub(crate) fn get(&self, res: usize, ns: Option<&str>, name: &str) -> Result<Value, ApiError> {
        self.objects[res]
            .get(&(ns.unwrap_or("").to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| self.not_found(res, name))
    }

    fn not_found(&self, res: usize, name: &str) -> ApiError {
        let r = &self.resources[res];
        let what = if r.group.is_empty() {
            r.plural.clone()
        } else {
            format!("{}.{}", r.plural, r.group)
        };
        ApiError::new(404, "NotFound", format!("{what} \"{name}\" not found"))
    }

    fn record(&mut self, res: usize, kind: &'static str, object: Value) {
        self.history.push(Change {
            rv: self.rv,
            resource: res,
            kind,
            object,
        });
    }

    fn bump(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    /// POST: create a new object.
    pub(crate) fn create(
        &mut self,
        res: usize,
        ns: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let r = self.resources[res].clone();
        let Some(map) = obj.as_object_mut() else {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the body is not an object",
            ));
        };
        map.insert("apiVersion".into(), Value::String(r.api_version()));
        map.insert("kind".into(), Value::String(r.kind.clone()));
        if r.status_subresource {
            map.remove("status");
        }
        let meta = meta_mut(map);
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::new(422, "Invalid", "metadata.name: Required value"))?;
        let key = (ns.unwrap_or("").to_owned(), name.clone());
        if self.objects[res].contains_key(&key) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", r.plural),
            ));
        }
        self.uid += 1;
        if let Some(ns) = ns {
            meta.insert("namespace".into(), Value::String(ns.to_owned()));
        } else {
            meta.remove("namespace");
        }
        meta.insert(
            "uid".into(),
            json!(format!("00000000-0000-4000-8000-{:012}", self.uid)),
        );
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!("2026-01-01T00:00:00Z"));
        let rv = self.bump();
        meta.insert("resourceVersion".into(), Value::String(rv));
        self.objects[res].insert(key, obj.clone());
        self.record(res, "ADDED", obj.clone());
        Ok(obj)
    }

    /// Stores `next` as the new state of an existing object, keeping what the API server keeps
    /// (identity, status or spec depending on `part`), bumping generation on spec changes.
    /// A write that changes nothing keeps the resourceVersion and emits no event.
    pub(crate) fn write(
        &mut self,
        res: usize,
        ns: Option<&str>,
        name: &str,
        next: Value,
        part: Part,
        precondition: Option<&str>,
    ) -> Result<Value, ApiError> {
        let r = self.resources[res].clone();
        let key = (ns.unwrap_or("").to_owned(), name.to_owned());
        let old = self.objects[res]
            .get(&key)
            .cloned()
            .ok_or_else(|| self.not_found(res, name))?;
        let current_rv = old["metadata"]["resourceVersion"].as_str().unwrap_or("");
        if let Some(want) = precondition {
            if want != current_rv {
                return Err(ApiError::new(
                    409,
                    "Conflict",
                    format!(
                        "Operation cannot be fulfilled on {}.{} \"{name}\": the object has been \
                         modified; please apply your changes to the latest version and try again",
                        r.plural, r.group
                    ),
                ));
            }
        }
        let Value::Object(next) = next else {
            return Err(ApiError::new(
                400,
                "BadRequest",
                "the body is not an object",
            ));
        };
        let Value::Object(mut merged) = old.clone() else {
            return Err(ApiError::new(
                500,
                "InternalError",
                "stored object is not a map",
            ));
        };
        match part {
            Part::Status => match next.get("status") {
                Some(s) => {
                    merged.insert("status".into(), s.clone());
                }
                None => {
                    merged.remove("status");
                }
            },
            Part::Main => {
                let keep_status = merged.get("status").cloned();
                let keep_meta = merged.get("metadata").cloned();
                merged = next;
                merged.insert("apiVersion".into(), Value::String(r.api_version()));
                merged.insert("kind".into(), Value::String(r.kind.clone()));
                if r.status_subresource {
                    match keep_status {
                        Some(s) => merged.insert("status".into(), s),
                        None => merged.remove("status"),
                    };
                }
                let mut meta = keep_meta.unwrap_or_else(|| json!({}));
                for field in ["labels", "annotations"] {
                    if let Some(v) = merged.get("metadata").and_then(|m| m.get(field)) {
                        meta[field] = v.clone();
                    }
                }
                merged.insert("metadata".into(), meta);
                if merged.get("spec") != old.get("spec") {
                    let g = old["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
                    meta_mut(&mut merged).insert("generation".into(), json!(g));
                }
            }
        }
        let merged = Value::Object(merged);
        if merged == old {
            return Ok(old);
        }
        let mut merged = merged;
        let rv = self.bump();
        merged["metadata"]["resourceVersion"] = Value::String(rv);
        self.objects[res].insert(key, merged.clone());
        self.record(res, "MODIFIED", merged.clone());
        Ok(merged)
    }

    /// DELETE: removes the object; the DELETED event carries its last state at a new version.
    pub(crate) fn delete(
        &mut self,
        res: usize,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let key = (ns.unwrap_or("").to_owned(), name.to_owned());
        let mut old = self.objects[res]
            .remove(&key)
            .ok_or_else(|| self.not_found(res, name))?;
        let rv = self.bump();
        old["metadata"]["resourceVersion"] = Value::String(rv);
        self.record(res, "DELETED", old.clone());
        Ok(old)
    }
}

fn meta_mut(map: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    match meta {
        Value::Object(m) => m,
        _ => unreachable!("set to an object above"),
    }
}

/// Whether `obj` matches a field selector (`k=v` / `k!=v`, comma-separated; keys `type`,
/// `metadata.name`, `metadata.namespace`; other keys are refused by the caller).
pub(crate) fn fields_match(obj: &Value, selector: &str) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (key, want, equal) = match term.split_once("!=") {
            Some((k, v)) => (k, v, false),
            None => match term.split_once('=') {
                Some((k, v)) => (k, v.trim_start_matches('='), true),
                None => return false,
            },
        };
        let got = match key {
            "type" => obj["type"].as_str(),
            "metadata.name" => obj["metadata"]["name"].as_str(),
            "metadata.namespace" => obj["metadata"]["namespace"].as_str(),
            _ => None,
        }
        .unwrap_or("");
        (got == want) == equal
    })
}

/// Whether every key of a field selector is one the emulator knows.
pub(crate) fn fields_supported(selector: &str) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let key = term.split(['!', '=']).next().unwrap_or("");
        matches!(key, "type" | "metadata.name" | "metadata.namespace")
    })
}

/// RFC 7386 JSON merge patch.
pub(crate) fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}
