//! Objects as `kubectl` creates them, for admission through the box.

use serde_json::{json, Value};

/// The Pod `kubectl run <name> --image=<image> [-n <namespace>]` sends (kubectl 1.30,
/// `--dry-run=server -o json` shape, before defaulting).
pub fn run_pod(name: &str, image: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"run": name},
            "creationTimestamp": null
        },
        "spec": {
            "containers": [{"name": name, "image": image, "resources": {}}],
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always"
        },
        "status": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_has_kubectl_run_shape() {
        let p = run_pod("demo", "r/a:1", "default");
        assert_eq!(p["metadata"]["labels"]["run"], "demo");
        assert_eq!(p["spec"]["containers"][0]["name"], "demo");
        assert_eq!(p["spec"]["containers"][0]["image"], "r/a:1");
    }
}
