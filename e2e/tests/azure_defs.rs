//! Azure Policy definitions: shape, parameters wired to the template, and the embedded
//! template byte-identical to policies/templates (regenerate with policies/azure/generate.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_e2e::{azure, paths, ConstraintTemplate};
use serde_json::Value;

const DEFAULT_EXCLUDED: [&str; 4] = [
    "kube-system",
    "gatekeeper-system",
    "azure-arc",
    "azure-extensions-usage-system",
];

fn definitions() -> Vec<(std::path::PathBuf, Value)> {
    azure::load_dir(&paths::azure_dir())
        .unwrap()
        .into_iter()
        .filter(|(_, d)| !azure::is_initiative(d))
        .collect()
}

#[test]
fn every_template_has_one_definition_embedding_it_byte_for_byte() {
    let templates = ConstraintTemplate::load_dir(&paths::templates_dir()).unwrap();
    let defs = definitions();
    assert_eq!(defs.len(), templates.len(), "one definition per template");
    for (tpath, template) in &templates {
        let matching: Vec<_> = defs
            .iter()
            .filter(|(_, d)| {
                let bytes = azure::embedded_template(d).unwrap();
                ConstraintTemplate::from_yaml(std::str::from_utf8(&bytes).unwrap())
                    .unwrap()
                    .name
                    == template.name
            })
            .collect();
        assert_eq!(
            matching.len(),
            1,
            "{}: definitions embedding it",
            tpath.display()
        );
        let (dpath, def) = matching[0];
        let embedded = azure::embedded_template(def).unwrap();
        let file = std::fs::read(tpath).unwrap();
        assert!(
            embedded == file,
            "{} embeds a different {}; run policies/azure/generate.sh",
            dpath.display(),
            tpath.display()
        );
        let named = def["properties"]["metadata"]["imagegate"]["template"]
            .as_str()
            .unwrap();
        assert_eq!(
            paths::repo_root().join(named),
            *tpath,
            "{}",
            dpath.display()
        );
    }
}

#[test]
fn definitions_have_the_kubernetes_data_shape() {
    for (path, def) in definitions() {
        let p = path.display();
        let props = &def["properties"];
        assert_eq!(props["mode"], "Microsoft.Kubernetes.Data", "{p}");
        assert_eq!(props["policyType"], "Custom", "{p}");
        assert!(
            props["displayName"].as_str().is_some_and(|s| !s.is_empty()),
            "{p}"
        );
        assert!(def["name"].as_str().is_some_and(|s| !s.is_empty()), "{p}");
        let params = &props["parameters"];
        let effect = &params["effect"];
        assert_eq!(
            effect["allowedValues"],
            serde_json::json!(["audit", "deny", "disabled"]),
            "{p}"
        );
        assert_eq!(effect["defaultValue"], "audit", "{p}");
        assert_eq!(
            params["excludedNamespaces"]["defaultValue"],
            serde_json::json!(DEFAULT_EXCLUDED),
            "{p}"
        );
        assert_eq!(
            params["namespaces"]["defaultValue"],
            serde_json::json!([]),
            "{p}"
        );
        assert_eq!(params["labelSelector"]["type"], "Object", "{p}");
        assert_eq!(
            props["policyRule"]["if"]["in"][0], "Microsoft.ContainerService/managedClusters",
            "{p}"
        );
        assert_eq!(
            props["policyRule"]["then"]["effect"], "[parameters('effect')]",
            "{p}"
        );

        let details = azure::details(&def);
        for (field, param) in [
            ("excludedNamespaces", "excludedNamespaces"),
            ("namespaces", "namespaces"),
            ("labelSelector", "labelSelector"),
        ] {
            assert_eq!(
                details[field],
                format!("[parameters('{param}')]"),
                "{p}: details.{field}"
            );
        }
        let kinds: Vec<&str> = details["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!kinds.contains(&"*"), "{p}: Azure does not allow * kinds");
        for k in [
            "Pod",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "CronJob",
        ] {
            assert!(kinds.contains(&k), "{p}: kinds lacks {k}");
        }

        // Every value goes to a template parameter, from a declared definition parameter.
        let bytes = azure::embedded_template(&def).unwrap();
        let template = ConstraintTemplate::from_yaml(std::str::from_utf8(&bytes).unwrap()).unwrap();
        let names = template.parameter_names();
        for (key, value) in details["values"].as_object().unwrap() {
            assert!(
                names.contains(key),
                "{p}: values.{key} is not a template parameter"
            );
            let expr = value.as_str().unwrap();
            let param = expr
                .strip_prefix("[parameters('")
                .and_then(|s| s.strip_suffix("')]"))
                .unwrap_or_else(|| panic!("{p}: values.{key} = {expr}"));
            assert!(
                params.get(param).is_some(),
                "{p}: values.{key} uses undeclared {param}"
            );
        }
        // Every ARM parameter reference resolves.
        let text = serde_json::to_string(&def).unwrap();
        for part in text.split("[parameters('").skip(1) {
            let name = part.split('\'').next().unwrap();
            assert!(
                params.get(name).is_some(),
                "{p}: parameters('{name}') undeclared"
            );
        }
    }
}

#[test]
fn initiative_references_existing_definitions_and_parameters() {
    let all = azure::load_dir(&paths::azure_dir()).unwrap();
    let (path, set) = all
        .iter()
        .find(|(_, d)| azure::is_initiative(d))
        .expect("policies/azure has an initiative");
    let p = path.display();
    let names: Vec<String> = definitions()
        .iter()
        .map(|(_, d)| d["name"].as_str().unwrap().to_owned())
        .collect();
    let set_params = &set["properties"]["parameters"];
    let defs = definitions();
    let mut custom = 0;
    for member in set["properties"]["policyDefinitions"].as_array().unwrap() {
        let id = member["policyDefinitionId"].as_str().unwrap();
        assert!(member["policyDefinitionReferenceId"].is_string(), "{p}");
        if let Some(name) = id.strip_prefix(
            "__DEFINITION_SCOPE__/providers/Microsoft.Authorization/policyDefinitions/",
        ) {
            assert!(
                names.iter().any(|n| n == name),
                "{p}: {name} is not a definition here"
            );
            custom += 1;
            let def = &defs.iter().find(|(_, d)| d["name"] == name).unwrap().1;
            for (param, v) in member["parameters"].as_object().unwrap() {
                assert!(
                    def["properties"]["parameters"].get(param).is_some(),
                    "{p}: {name} has no {param}"
                );
                let expr = v["value"].as_str().unwrap();
                let used = expr
                    .trim_start_matches("[parameters('")
                    .trim_end_matches("')]");
                assert!(set_params.get(used).is_some(), "{p}: {expr} undeclared");
            }
        } else {
            assert!(
                id.starts_with("/providers/Microsoft.Authorization/policyDefinitions/"),
                "{p}: {id}"
            );
        }
    }
    assert!(
        custom >= 1,
        "{p}: the initiative must include imagegate's definitions"
    );
}
