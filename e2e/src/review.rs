//! `input.review` objects as Gatekeeper builds them: from an AdmissionRequest (webhook) or
//! from a stored object (audit: only kind, name, namespace and object).

use serde_json::{json, Value};

/// Kinds whose pods our templates verify, with where their pod spec lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `v1 Pod` (`spec`).
    Pod,
    /// `apps/v1 Deployment` (`spec.template.spec`).
    Deployment,
    /// `apps/v1 StatefulSet`.
    StatefulSet,
    /// `apps/v1 DaemonSet`.
    DaemonSet,
    /// `apps/v1 ReplicaSet`.
    ReplicaSet,
    /// `batch/v1 Job`.
    Job,
    /// `batch/v1 CronJob` (`spec.jobTemplate.spec.template.spec`).
    CronJob,
}

impl Workload {
    /// Every kind.
    pub const ALL: [Workload; 7] = [
        Workload::Pod,
        Workload::Deployment,
        Workload::StatefulSet,
        Workload::DaemonSet,
        Workload::ReplicaSet,
        Workload::Job,
        Workload::CronJob,
    ];

    /// `(group, version, kind)`.
    pub fn gvk(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Workload::Pod => ("", "v1", "Pod"),
            Workload::Deployment => ("apps", "v1", "Deployment"),
            Workload::StatefulSet => ("apps", "v1", "StatefulSet"),
            Workload::DaemonSet => ("apps", "v1", "DaemonSet"),
            Workload::ReplicaSet => ("apps", "v1", "ReplicaSet"),
            Workload::Job => ("batch", "v1", "Job"),
            Workload::CronJob => ("batch", "v1", "CronJob"),
        }
    }

    fn api_version(self) -> String {
        match self.gvk() {
            ("", v, _) => v.to_owned(),
            (g, v, _) => format!("{g}/{v}"),
        }
    }

    /// The object `name`/`namespace` of this kind around `pod`.
    pub fn object(self, name: &str, namespace: &str, pod: &PodSpec) -> Value {
        let spec = pod.to_json();
        let template = json!({"metadata": {"labels": {"app": name}}, "spec": spec});
        let body = match self {
            Workload::Pod => spec,
            Workload::CronJob => json!({
                "schedule": "*/5 * * * *",
                "jobTemplate": {"spec": {"template": template}}
            }),
            Workload::Job => json!({"template": template}),
            _ => json!({
                "selector": {"matchLabels": {"app": name}},
                "template": template
            }),
        };
        json!({
            "apiVersion": self.api_version(),
            "kind": self.gvk().2,
            "metadata": {"name": name, "namespace": namespace},
            "spec": body,
        })
    }
}

/// The containers of a pod spec, by image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSpec {
    /// `containers[].image`.
    pub containers: Vec<String>,
    /// `initContainers[].image`.
    pub init_containers: Vec<String>,
    /// `ephemeralContainers[].image`.
    pub ephemeral_containers: Vec<String>,
}

impl PodSpec {
    /// A spec with one container per image.
    pub fn with_containers(images: &[&str]) -> Self {
        Self {
            containers: images.iter().map(|s| (*s).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Adds an init container.
    pub fn init(mut self, image: &str) -> Self {
        self.init_containers.push(image.to_owned());
        self
    }

    /// Adds an ephemeral container.
    pub fn ephemeral(mut self, image: &str) -> Self {
        self.ephemeral_containers.push(image.to_owned());
        self
    }

    /// Every image, in field order.
    pub fn images(&self) -> Vec<&str> {
        self.containers
            .iter()
            .chain(&self.init_containers)
            .chain(&self.ephemeral_containers)
            .map(String::as_str)
            .collect()
    }

    /// The JSON pod spec.
    pub fn to_json(&self) -> Value {
        fn list(prefix: &str, images: &[String]) -> Value {
            Value::Array(
                images
                    .iter()
                    .enumerate()
                    .map(|(i, image)| json!({"name": format!("{prefix}{i}"), "image": image}))
                    .collect(),
            )
        }
        let mut spec = json!({"containers": list("c", &self.containers)});
        if !self.init_containers.is_empty() {
            spec["initContainers"] = list("init", &self.init_containers);
        }
        if !self.ephemeral_containers.is_empty() {
            spec["ephemeralContainers"] = list("debug", &self.ephemeral_containers);
        }
        spec
    }
}

/// One `input.review`.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The review object.
    pub value: Value,
}

impl Review {
    /// An admission review for `CREATE` of `object` (kind, namespace and name taken from it).
    pub fn admission(object: Value) -> Self {
        let (group, version, kind) = gvk_of(&object);
        let name = object["metadata"]["name"].clone();
        let namespace = object["metadata"]["namespace"].clone();
        Self {
            value: json!({
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": format!("{}s", kind.to_lowercase())},
                "name": name,
                "namespace": namespace,
                "operation": "CREATE",
                "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
                "object": object,
                "oldObject": null,
                "dryRun": false,
            }),
        }
    }

    /// An audit review of a stored `object`: Gatekeeper sends only kind, name, namespace and
    /// the object (no operation, userInfo or uid).
    pub fn audit(object: Value) -> Self {
        let (group, version, kind) = gvk_of(&object);
        Self {
            value: json!({
                "kind": {"group": group, "version": version, "kind": kind},
                "name": object["metadata"]["name"].clone(),
                "namespace": object["metadata"]["namespace"].clone(),
                "object": object,
            }),
        }
    }

    /// The admission review of `kind` named `name` in `namespace` running `pod`.
    pub fn of(kind: Workload, name: &str, namespace: &str, pod: &PodSpec) -> Self {
        Self::admission(kind.object(name, namespace, pod))
    }

    /// The template's `input`: `{"review": …, "parameters": …}`.
    pub fn input(&self, parameters: &Value) -> Value {
        json!({"review": self.value, "parameters": parameters})
    }
}

fn gvk_of(object: &Value) -> (String, String, String) {
    let api_version = object["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str().unwrap_or_default();
    (group.to_owned(), version.to_owned(), kind.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cronjob_pod_spec_is_nested_and_gvk_is_batch() {
        let pod = PodSpec::with_containers(&["a:1"])
            .init("b:1")
            .ephemeral("c:1");
        let r = Review::of(Workload::CronJob, "cj", "ns", &pod);
        assert_eq!(r.value["kind"]["group"], "batch");
        assert_eq!(r.value["namespace"], "ns");
        let spec = &r.value["object"]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["image"], "b:1");
        assert_eq!(spec["ephemeralContainers"][0]["image"], "c:1");
        assert_eq!(pod.images(), vec!["a:1", "b:1", "c:1"]);
    }

    #[test]
    fn audit_review_has_no_operation() {
        let r = Review::audit(Workload::Pod.object("p", "ns", &PodSpec::with_containers(&["a"])));
        assert!(r.value.get("operation").is_none());
        assert_eq!(r.value["kind"]["kind"], "Pod");
        assert_eq!(r.input(&json!({}))["review"]["name"], "p");
    }
}
