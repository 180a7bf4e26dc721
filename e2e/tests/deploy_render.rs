//! Renders every deploy/ overlay with `kubectl kustomize` and checks that the objects agree:
//! Deployment ports and paths, Service, Providers, probes, security context, mounts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_e2e::kustomize::{self, find, of_kind};
use imagegate_e2e::paths;
use serde_json::Value;

const ARGS: [&str; 8] = [
    "serve",
    "--config",
    "/etc/imagegate/config.json",
    "--cert-dir",
    "/etc/imagegate/tls",
    "--client-ca",
    "/etc/imagegate/client-ca/ca.crt",
    "--kubernetes",
];

struct Rendered {
    overlay: String,
    objects: Vec<Value>,
}

fn rendered() -> Vec<Rendered> {
    paths::OVERLAYS
        .iter()
        .map(|o| Rendered {
            overlay: (*o).to_owned(),
            objects: kustomize::render(&paths::deploy_dir().join("overlays").join(o))
                .unwrap_or_else(|e| panic!("{o}: {e}")),
        })
        .collect()
}

fn deployment(r: &Rendered) -> &Value {
    find(&r.objects, "Deployment", "imagegate")
        .unwrap_or_else(|| panic!("{}: no Deployment", r.overlay))
}

fn container(r: &Rendered) -> &Value {
    &deployment(r)["spec"]["template"]["spec"]["containers"][0]
}

fn container_port(r: &Rendered, name: &str) -> u64 {
    container(r)["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("{}: no container port {name}", r.overlay))
}

/// The container port a Service/probe port reference (name or number) resolves to.
fn resolve_port(r: &Rendered, port: &Value) -> u64 {
    match port {
        Value::String(name) => container_port(r, name),
        other => other.as_u64().unwrap(),
    }
}

fn namespace(r: &Rendered) -> &str {
    deployment(r)["metadata"]["namespace"].as_str().unwrap()
}

fn pod_labels(r: &Rendered) -> &serde_json::Map<String, Value> {
    deployment(r)["spec"]["template"]["metadata"]["labels"]
        .as_object()
        .unwrap()
}

fn selects_pods(r: &Rendered, selector: &Value) -> bool {
    let labels = pod_labels(r);
    let wanted = selector.as_object().unwrap();
    !wanted.is_empty() && wanted.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn mount_path<'a>(r: &'a Rendered, volume: &str) -> &'a str {
    container(r)["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == volume)
        .and_then(|m| m["mountPath"].as_str())
        .unwrap_or_else(|| panic!("{}: volume {volume} not mounted", r.overlay))
}

fn volume<'a>(r: &'a Rendered, name: &str) -> &'a Value {
    deployment(r)["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("{}: no volume {name}", r.overlay))
}

fn arg_after<'a>(r: &'a Rendered, flag: &str) -> &'a str {
    let args = container(r)["args"].as_array().unwrap();
    let i = args.iter().position(|a| a == flag).unwrap();
    args[i + 1].as_str().unwrap()
}

#[test]
fn every_object_parses_and_is_named() {
    for r in rendered() {
        assert!(
            r.objects.len() >= 9,
            "{}: {} objects",
            r.overlay,
            r.objects.len()
        );
        for o in &r.objects {
            assert!(
                o["apiVersion"].is_string() && o["kind"].is_string(),
                "{}: {o}",
                r.overlay
            );
            assert!(
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty()),
                "{}: {o}",
                r.overlay
            );
        }
        let ns = namespace(&r);
        for o in &r.objects {
            match o["kind"].as_str().unwrap() {
                "Provider" | "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding" => {
                    assert!(
                        o["metadata"].get("namespace").is_none(),
                        "{}: {} is cluster-scoped",
                        r.overlay,
                        o["kind"]
                    )
                }
                _ => assert_eq!(
                    o["metadata"]["namespace"], ns,
                    "{}: {} {}",
                    r.overlay, o["kind"], o["metadata"]["name"]
                ),
            }
        }
    }
}

#[test]
fn deployment_is_ha_hardened_and_runs_serve() {
    for r in rendered() {
        let o = &r.overlay;
        let d = deployment(&r);
        assert_eq!(d["spec"]["replicas"], 2, "{o}");
        assert!(
            selects_pods(&r, &d["spec"]["selector"]["matchLabels"]),
            "{o}"
        );
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{o}");
        assert!(
            pod["securityContext"]["runAsUser"]
                .as_u64()
                .is_some_and(|u| u > 0),
            "{o}"
        );
        let c = container(&r);
        assert_eq!(c["args"], serde_json::json!(ARGS), "{o}");
        let sc = &c["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{o}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{o}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{o}"
        );
        for kind in ["requests", "limits"] {
            for res in ["cpu", "memory"] {
                assert!(
                    c["resources"][kind][res].is_string(),
                    "{o}: resources.{kind}.{res}"
                );
            }
        }
        let anti = &pod["affinity"]["podAntiAffinity"]
            ["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"];
        assert_eq!(anti["topologyKey"], "kubernetes.io/hostname", "{o}");
        assert!(
            selects_pods(&r, &anti["labelSelector"]["matchLabels"]),
            "{o}"
        );
        assert!(
            find(
                &r.objects,
                "ServiceAccount",
                pod["serviceAccountName"].as_str().unwrap()
            )
            .is_some(),
            "{o}"
        );
    }
}

#[test]
fn probes_and_metrics_use_the_health_and_metrics_ports() {
    for r in rendered() {
        let o = &r.overlay;
        let c = container(&r);
        assert_eq!(container_port(&r, "health"), 9099, "{o}");
        assert_eq!(container_port(&r, "metrics"), 8888, "{o}");
        assert_eq!(container_port(&r, "https"), 6001, "{o}");
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &c[probe]["httpGet"];
            assert_eq!(get["path"], path, "{o}: {probe}");
            assert_eq!(resolve_port(&r, &get["port"]), 9099, "{o}: {probe}");
            assert!(
                get.get("scheme").is_none() || get["scheme"] == "HTTP",
                "{o}: health is plain HTTP"
            );
        }
        let ann = &deployment(&r)["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(ann["prometheus.io/scrape"], "true", "{o}");
        assert_eq!(ann["prometheus.io/port"], "8888", "{o}");
        assert_eq!(ann["prometheus.io/path"], "/metrics", "{o}");
    }
}

#[test]
fn mounts_match_the_serve_arguments_and_config() {
    for r in rendered() {
        let o = &r.overlay;
        let ns = namespace(&r);
        // --config: the ConfigMap key mounted at that path.
        let config_vol = volume(&r, "config");
        assert_eq!(mount_path(&r, "config"), arg_after(&r, "--config"), "{o}");
        let cm = find(
            &r.objects,
            "ConfigMap",
            config_vol["configMap"]["name"].as_str().unwrap(),
        )
        .unwrap_or_else(|| panic!("{o}: config ConfigMap missing"));
        let config: Value =
            serde_json::from_str(cm["data"]["config.json"].as_str().unwrap()).unwrap();
        assert_eq!(config["store"]["plugins"][0]["name"], "oras", "{o}");
        assert_eq!(config["policy"]["plugin"]["name"], "configPolicy", "{o}");
        let verifier = &config["verifier"]["plugins"][0];
        assert_eq!(
            verifier["name"], "notation",
            "{o}: Azure's template reads reports named notation"
        );
        let certs = verifier["verificationCerts"][0].as_str().unwrap();
        assert_eq!(certs, mount_path(&r, "notation-certs"), "{o}");
        let timeout_ms = config["executor"]["verificationRequestTimeout"]
            .as_u64()
            .unwrap();
        let provider = find(&r.objects, "Provider", "imagegate").unwrap();
        assert!(
            timeout_ms < provider["spec"]["timeout"].as_u64().unwrap() * 1000,
            "{o}: executor must finish before the Provider timeout"
        );
        // --cert-dir: the TLS secret.
        assert_eq!(mount_path(&r, "tls"), arg_after(&r, "--cert-dir"), "{o}");
        let tls = find(
            &r.objects,
            "Secret",
            volume(&r, "tls")["secret"]["secretName"].as_str().unwrap(),
        )
        .unwrap_or_else(|| panic!("{o}: TLS Secret missing"));
        assert_eq!(tls["type"], "kubernetes.io/tls", "{o}");
        assert_eq!(tls["metadata"]["namespace"], ns, "{o}");
        // --client-ca: Gatekeeper's CA, and only the CA certificate.
        let ca = &volume(&r, "client-ca")["secret"];
        assert_eq!(ca["secretName"], "gatekeeper-webhook-server-cert", "{o}");
        assert_eq!(
            ca["items"],
            serde_json::json!([{"key": "ca.crt", "path": "ca.crt"}]),
            "{o}"
        );
        assert_eq!(
            format!("{}/ca.crt", mount_path(&r, "client-ca")),
            arg_after(&r, "--client-ca"),
            "{o}"
        );
        assert_eq!(
            ns, "gatekeeper-system",
            "{o}: the Gatekeeper secret is only mountable in its namespace"
        );
    }
}

#[test]
fn service_and_providers_point_at_the_https_port() {
    for r in rendered() {
        let o = &r.overlay;
        let services = of_kind(&r.objects, "Service");
        assert_eq!(services.len(), 1, "{o}");
        let svc = services[0];
        assert!(
            selects_pods(&r, &svc["spec"]["selector"]),
            "{o}: Service selects the pods"
        );
        let https = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "https")
            .unwrap();
        assert_eq!(resolve_port(&r, &https["targetPort"]), 6001, "{o}");
        let metrics = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "metrics")
            .unwrap();
        assert_eq!(resolve_port(&r, &metrics["targetPort"]), 8888, "{o}");
        let host = format!(
            "{}.{}",
            svc["metadata"]["name"].as_str().unwrap(),
            namespace(&r)
        );
        let port = https["port"].as_u64().unwrap();

        let providers = of_kind(&r.objects, "Provider");
        assert!(providers.len() >= 2, "{o}");
        let mut paths_seen = Vec::new();
        for p in providers {
            let name = p["metadata"]["name"].as_str().unwrap();
            assert_eq!(
                p["apiVersion"], "externaldata.gatekeeper.sh/v1beta1",
                "{o}: {name}"
            );
            let url = p["spec"]["url"].as_str().unwrap();
            let rest = url
                .strip_prefix("https://")
                .unwrap_or_else(|| panic!("{o}: {name}: Gatekeeper requires https"));
            let (authority, path) = rest.split_once('/').unwrap();
            assert_eq!(
                authority,
                format!("{host}:{port}"),
                "{o}: {name} must call the Service"
            );
            assert!(
                path == "ratify/gatekeeper/v1/verify" || path == "ratify/gatekeeper/v1/mutate",
                "{o}: {name}: {path}"
            );
            assert!(
                p["spec"]["timeout"].as_u64().is_some_and(|t| t >= 1),
                "{o}: {name}: timeout 0 fails every call"
            );
            assert!(
                p["spec"]["caBundle"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty()),
                "{o}: {name}"
            );
            paths_seen.push((name.to_owned(), path.to_owned()));
        }
        assert!(
            paths_seen.contains(&("imagegate".into(), "ratify/gatekeeper/v1/verify".into())),
            "{o}"
        );
        assert!(
            paths_seen.contains(&(
                "imagegate-mutation".into(),
                "ratify/gatekeeper/v1/mutate".into()
            )),
            "{o}"
        );
    }
}

#[test]
fn disruption_budget_and_network_policy_cover_the_pods() {
    for r in rendered() {
        let o = &r.overlay;
        let pdb = find(&r.objects, "PodDisruptionBudget", "imagegate").unwrap();
        assert!(
            selects_pods(&r, &pdb["spec"]["selector"]["matchLabels"]),
            "{o}"
        );
        assert!(
            pdb["spec"]["minAvailable"].as_u64().unwrap() < 2,
            "{o}: must allow one eviction"
        );

        let np = find(&r.objects, "NetworkPolicy", "imagegate").unwrap();
        assert!(
            selects_pods(&r, &np["spec"]["podSelector"]["matchLabels"]),
            "{o}"
        );
        assert_eq!(
            np["spec"]["policyTypes"],
            serde_json::json!(["Ingress"]),
            "{o}"
        );
        let rules = np["spec"]["ingress"].as_array().unwrap();
        let mut https_rules = 0;
        for rule in rules {
            let ports: Vec<u64> = rule["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| resolve_port(&r, &p["port"]))
                .collect();
            if ports.contains(&6001) {
                https_rules += 1;
                assert_eq!(ports, vec![6001], "{o}");
                let peers = rule["from"].as_array().unwrap();
                assert!(!peers.is_empty(), "{o}: an empty `from` admits everyone");
                for from in peers {
                    assert_eq!(
                        from["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
                        "gatekeeper-system",
                        "{o}: only Gatekeeper may call the provider"
                    );
                }
            } else {
                assert_eq!(ports, vec![8888], "{o}: other rules only open metrics");
            }
        }
        assert_eq!(https_rules, 1, "{o}");
    }
}
