//! Discovery documents and `Table` lists, for `kubectl`.

use serde_json::{json, Value};

use super::state::{Resource, State};

/// The discovery document at `path`, if it is one.
pub(crate) fn document(state: &State, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts.as_slice() {
        ["version"] => Some(
            json!({"major": "1", "minor": "32", "gitVersion": "v1.32.0-imagegate-testkit",
                                   "platform": "linux/amd64"}),
        ),
        ["api"] => Some(json!({"kind": "APIVersions", "versions": ["v1"],
                               "serverAddressByClientCIDRs": []})),
        ["apis"] => {
            let mut groups: Vec<Value> = Vec::new();
            for r in state.resources.iter().filter(|r| !r.group.is_empty()) {
                if groups.iter().any(|g| g["name"] == r.group.as_str()) {
                    continue;
                }
                let gv = json!({"groupVersion": r.api_version(), "version": r.version});
                groups.push(json!({"name": r.group, "versions": [gv], "preferredVersion": gv}));
            }
            Some(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        }
        ["api", v] => Some(resource_list(state, "", v)),
        ["apis", g, v] => Some(resource_list(state, g, v)),
        _ => None,
    }
}

fn resource_list(state: &State, group: &str, version: &str) -> Value {
    let mut resources = Vec::new();
    for r in state
        .resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        resources.push(
            json!({"name": r.plural, "singularName": r.kind.to_lowercase(),
            "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}),
        );
        if r.status_subresource {
            resources.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources})
}

/// A `meta.k8s.io/v1` Table of `items` with NAME and the resource's printer columns.
pub(crate) fn table(r: &Resource, items: &[Value], list_rv: &str) -> Value {
    let mut columns = vec![json!({"name": "Name", "type": "string", "format": "name"})];
    for (name, _) in &r.printer_columns {
        columns.push(json!({"name": name, "type": "string", "format": ""}));
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut cells = vec![o["metadata"]["name"].clone()];
            for (_, path) in &r.printer_columns {
                let mut v = o;
                for seg in path.trim_start_matches('.').split('.') {
                    v = &v[seg];
                }
                cells.push(if v.is_null() { json!("") } else { v.clone() });
            }
            json!({"cells": cells, "object": {"kind": "PartialObjectMetadata",
                   "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
           "metadata": {"resourceVersion": list_rv}, "columnDefinitions": columns, "rows": rows})
}
