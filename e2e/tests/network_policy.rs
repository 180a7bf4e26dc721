//! Every NetworkPolicy rule of every overlay in `deploy/overlays/` (rendered with `kubectl
//! kustomize`), against the promises of docs/security.md: port 6001 is reachable only from
//! Gatekeeper's pods in `gatekeeper-system` (on AKS: any pod of `gatekeeper-system`, see
//! deploy/README.md), port 8888 only from the monitoring namespaces, nothing else. In a
//! NetworkPolicy an empty `from`/`to` list, a missing `from`/`ports` or an empty peer means
//! "everyone" or "every port", so none is allowed anywhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_e2e::kustomize::{self, find, of_kind};
use imagegate_e2e::paths;
use serde_json::{json, Value};

/// Gatekeeper's namespace, where imagegate and Gatekeeper's pods run.
const GATEKEEPER_NAMESPACE: &str = "gatekeeper-system";
/// The namespaces that may scrape metrics.
const MONITORING_NAMESPACES: [&str; 2] = ["monitoring", "kube-system"];

/// The pods of `gatekeeper-system` that may call port 6001 in `overlay`. On AKS the Azure
/// Policy add-on runs Gatekeeper, and its pods are not documented to carry the Helm chart's
/// `gatekeeper.sh/system: "yes"` label; a selector matching none of them would cut
/// Gatekeeper off from the provider, so the overlay admits every pod of the namespace.
fn gatekeeper_pods(overlay: &str) -> Value {
    match overlay {
        "aks" => json!({}),
        _ => json!({"matchLabels": {"gatekeeper.sh/system": "yes"}}),
    }
}

/// Every directory in deploy/overlays (a new overlay is covered without editing this test).
fn overlays() -> Vec<String> {
    let dir = paths::deploy_dir().join("overlays");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("kustomization.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for known in paths::OVERLAYS {
        assert!(names.iter().any(|n| n == known), "overlay {known} missing");
    }
    names
}

fn render(overlay: &str) -> Vec<Value> {
    kustomize::render(&paths::deploy_dir().join("overlays").join(overlay))
        .unwrap_or_else(|e| panic!("{overlay}: {e}"))
}

/// The imagegate pods' labels.
fn pod_labels(objects: &[Value]) -> serde_json::Map<String, Value> {
    find(objects, "Deployment", "imagegate").unwrap()["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap()
        .clone()
}

/// Whether `selector` (a LabelSelector with matchLabels only) selects pods with `labels`.
fn selects(selector: &Value, labels: &serde_json::Map<String, Value>) -> bool {
    assert!(
        selector.get("matchExpressions").is_none(),
        "podSelector with matchExpressions: extend this test"
    );
    selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The namespaces a peer's namespaceSelector pins by name; panics on any other selector.
fn pinned_namespaces(what: &str, peer: &Value) -> Vec<String> {
    let selector = peer
        .get("namespaceSelector")
        .unwrap_or_else(|| panic!("{what}: a peer without namespaceSelector: {peer}"));
    let by_label = selector["matchLabels"]["kubernetes.io/metadata.name"].as_str();
    let expressions = selector["matchExpressions"].as_array();
    match (by_label, expressions) {
        (Some(name), None) => {
            assert_eq!(
                selector["matchLabels"].as_object().unwrap().len(),
                1,
                "{what}"
            );
            vec![name.to_owned()]
        }
        (None, Some(exprs)) => {
            assert!(selector.get("matchLabels").is_none(), "{what}: {selector}");
            assert_eq!(exprs.len(), 1, "{what}: {selector}");
            let e = &exprs[0];
            assert_eq!(
                e["key"], "kubernetes.io/metadata.name",
                "{what}: {selector}"
            );
            assert_eq!(e["operator"], "In", "{what}: {selector}");
            let values: Vec<String> = e["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            assert!(!values.is_empty(), "{what}: {selector}");
            values
        }
        _ => panic!("{what}: namespaceSelector does not pin namespaces by name: {selector}"),
    }
}

/// No list of peers or ports is empty or missing, no peer is empty, no peer is an ipBlock
/// without a namespace (every policy of the overlay, ingress and egress).
fn no_rule_admits_everyone(overlay: &str, np: &Value) {
    let name = np["metadata"]["name"].as_str().unwrap();
    for (direction, peers_key) in [("ingress", "from"), ("egress", "to")] {
        let Some(rules) = np["spec"].get(direction) else {
            continue;
        };
        let rules = rules.as_array().unwrap();
        for (i, rule) in rules.iter().enumerate() {
            let what = format!("{overlay}: NetworkPolicy {name} {direction}[{i}]");
            let peers = rule
                .get(peers_key)
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{what}: no `{peers_key}` (everyone): {rule}"));
            assert!(!peers.is_empty(), "{what}: empty `{peers_key}` (everyone)");
            for peer in peers {
                let peer = peer.as_object().unwrap();
                assert!(!peer.is_empty(), "{what}: empty peer (everyone)");
                for selector in ["namespaceSelector", "podSelector"] {
                    if let Some(s) = peer.get(selector) {
                        assert!(s.is_object(), "{what}: {selector} {s}");
                    }
                }
            }
            let ports = rule
                .get("ports")
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{what}: no `ports` (every port): {rule}"));
            assert!(!ports.is_empty(), "{what}: empty `ports` (every port)");
        }
    }
}

#[test]
fn no_network_policy_rule_admits_everyone() {
    for overlay in overlays() {
        let objects = render(&overlay);
        let policies = of_kind(&objects, "NetworkPolicy");
        assert!(!policies.is_empty(), "{overlay}: no NetworkPolicy");
        for np in policies {
            no_rule_admits_everyone(&overlay, np);
        }
    }
}

#[test]
fn provider_port_only_from_gatekeeper_and_metrics_only_from_monitoring() {
    for overlay in overlays() {
        let objects = render(&overlay);
        let labels = pod_labels(&objects);
        let namespace = find(&objects, "Deployment", "imagegate").unwrap()["metadata"]["namespace"]
            .as_str()
            .unwrap()
            .to_owned();
        // Every ingress rule of every policy that selects the imagegate pods: together they
        // are what the pods admit.
        let mut rules = Vec::new();
        let mut isolated = false;
        for np in of_kind(&objects, "NetworkPolicy") {
            if np["metadata"]["namespace"] != namespace.as_str()
                || !selects(&np["spec"]["podSelector"], &labels)
            {
                continue;
            }
            let types = np["spec"]["policyTypes"].as_array().unwrap();
            if types.iter().any(|t| t == "Ingress") {
                isolated = true;
                rules.extend(
                    np["spec"]["ingress"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default(),
                );
            }
        }
        assert!(
            isolated,
            "{overlay}: no NetworkPolicy isolates the imagegate pods"
        );
        let mut provider_rules = 0;
        let mut metrics_rules = 0;
        for rule in &rules {
            let ports: Vec<(u64, &str)> = rule["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p["port"].as_u64().expect("numeric port"),
                        p["protocol"].as_str().unwrap_or("TCP"),
                    )
                })
                .collect();
            let peers = rule["from"].as_array().unwrap();
            assert!(!peers.is_empty(), "{overlay}: empty `from` admits everyone");
            match ports.as_slice() {
                [(6001, "TCP")] => {
                    provider_rules += 1;
                    for peer in peers {
                        let what = format!("{overlay}: port 6001 peer {peer}");
                        assert_eq!(
                            pinned_namespaces(&what, peer),
                            [GATEKEEPER_NAMESPACE],
                            "{what}: only Gatekeeper's namespace"
                        );
                        assert_eq!(
                            peer.get("podSelector").cloned().unwrap_or(json!(null)),
                            gatekeeper_pods(&overlay),
                            "{what}: only Gatekeeper's pods"
                        );
                    }
                }
                [(8888, "TCP")] => {
                    metrics_rules += 1;
                    for peer in peers {
                        let what = format!("{overlay}: port 8888 peer {peer}");
                        let mut names = pinned_namespaces(&what, peer);
                        names.sort();
                        let mut want = MONITORING_NAMESPACES.map(str::to_owned).to_vec();
                        want.sort();
                        assert_eq!(names, want, "{what}: only the monitoring namespaces");
                        assert!(peer.get("podSelector").is_none(), "{what}");
                    }
                }
                other => panic!("{overlay}: a rule opens {other:?}; only 6001 and 8888 may be"),
            }
        }
        assert_eq!(provider_rules, 1, "{overlay}: one rule for 6001");
        assert_eq!(metrics_rules, 1, "{overlay}: one rule for 8888");
    }
}

#[test]
fn the_ports_in_the_policy_are_the_ports_the_pod_serves() {
    for overlay in overlays() {
        let objects = render(&overlay);
        let container = &find(&objects, "Deployment", "imagegate").unwrap()["spec"]["template"]
            ["spec"]["containers"][0];
        let served: Vec<u64> = container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["containerPort"].as_u64().unwrap())
            .collect();
        for port in [6001, 8888] {
            assert!(
                served.contains(&port),
                "{overlay}: the pod does not serve {port}"
            );
        }
        let args: Vec<&str> = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        // serve's defaults are 0.0.0.0:6001 and 0.0.0.0:8888; an override must keep them.
        for (flag, port) in [("--http", 6001), ("--metrics", 8888)] {
            if let Some(i) = args.iter().position(|a| *a == flag) {
                assert!(
                    args[i + 1].ends_with(&format!(":{port}")),
                    "{overlay}: {flag}"
                );
            }
        }
    }
}
