//! The Ratify v2 ConstraintTemplates (`policies/v2/templates`) evaluated with regorus against
//! a table of v2 results (`succeeded`, `artifactReports`) and Gatekeeper's `external_data`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::{
    checked_constraint, TemplateEngine, BROKEN, MISSING, NESTED, SIGNED, UNSIGNED, UNTRUSTED,
};
use imagegate_e2e::external_data::{TableEntry, TableProvider};
use imagegate_e2e::review::PodSpec;
use imagegate_e2e::{paths, ConstraintTemplate, Gatekeeper, ManualClock, Review, Workload};
use serde_json::{json, Value};

const UNMET: &str = "reg.example/app:unmet";
const SUBJECT: &str = "reg.example/app@sha256:1111";

fn v2_dir() -> std::path::PathBuf {
    paths::repo_root().join("policies").join("v2")
}

fn signed() -> Value {
    json!({"succeeded": true, "artifactReports": [{"subject": SUBJECT, "artifact": "sha256:aaaa",
        "results": [{"verifierName": "notation-1",
                     "description": "Notation signature verification succeeded",
                     "detail": "{\"Issuer\":\"CN=ca\",\"SN\":\"CN=s\"}"}]}]})
}

fn table() -> TableProvider {
    let mut t = TableProvider::new();
    t.insert(SIGNED, TableEntry::Value(signed()));
    t.insert(
        UNSIGNED,
        TableEntry::Value(json!({"succeeded": false, "artifactReports": null})),
    );
    t.insert(
        UNTRUSTED,
        TableEntry::Value(
            json!({"succeeded": false, "artifactReports": [{"subject": SUBJECT,
            "artifact": "sha256:bbbb", "results": [{"verifierName": "notation-1",
            "errorReason": "signature is not produced by a trusted signer"}]}]}),
        ),
    );
    t.insert(
        BROKEN,
        TableEntry::Error(
            "failed to generate and aggregate verifier reports: connection refused".into(),
        ),
    );
    t.insert(
        NESTED,
        TableEntry::Value(json!({"succeeded": false, "artifactReports": [{"subject": SUBJECT,
            "artifact": "sha256:sbom", "artifactReports": [{"subject": "reg.example/app@sha256:sbom",
            "artifact": "sha256:cccc", "results": [{"verifierName": "notation-1",
            "errorReason": "signature is expired"}]}]}]})),
    );
    // Every result passed, yet the policy is not met (e.g. threshold 2 of 2 verifiers).
    let mut unmet = signed();
    unmet["succeeded"] = json!(false);
    t.insert(UNMET, TableEntry::Value(unmet));
    for image in [SIGNED, UNSIGNED] {
        let value = if image == SIGNED {
            signed()
        } else {
            json!({"succeeded": false, "artifactReports": null})
        };
        t.insert(&format!("[team-a]{image}"), TableEntry::Value(value));
    }
    t
}

struct Fixture {
    gatekeeper: Arc<Mutex<Gatekeeper>>,
    engine: TemplateEngine,
}

impl Fixture {
    fn new(template: &str) -> Self {
        let path = v2_dir().join("templates").join(format!("{template}.yaml"));
        let t = ConstraintTemplate::load(&path).unwrap();
        let mut gk = Gatekeeper::new(Arc::new(ManualClock::at(1_800_000_000)));
        gk.register("imagegate-v2", Box::new(table()));
        let gatekeeper = Arc::new(Mutex::new(gk));
        let engine = TemplateEngine::new(&t, gatekeeper.clone());
        Self { gatekeeper, engine }
    }

    fn pod_in(&mut self, namespace: &str, images: &[&str]) -> Vec<String> {
        let review = Review::of(
            Workload::Pod,
            "demo",
            namespace,
            &PodSpec::with_containers(images),
        );
        self.engine.violations(&review, &json!({}))
    }

    fn keys(&self) -> Vec<String> {
        let gk = self.gatekeeper.lock().unwrap();
        gk.calls().iter().flat_map(|c| c.keys.clone()).collect()
    }
}

#[test]
fn succeeded_images_are_admitted_and_every_failure_is_explained() {
    let mut f = Fixture::new("imagegateverificationv2");
    assert_eq!(f.pod_in("default", &[SIGNED]), Vec::<String>::new());
    let cases = [
        (
            UNSIGNED,
            "image reg.example/app:unsigned failed verification: no signature was found (no artifact reports)",
        ),
        (
            UNTRUSTED,
            "image reg.example/app:untrusted failed verification (notation-1): signature is not produced by a trusted signer",
        ),
        (
            BROKEN,
            "image reg.example/app:error could not be verified by provider imagegate-v2: failed to generate and aggregate verifier reports: connection refused",
        ),
        (
            NESTED,
            "image reg.example/app:nested failed verification (notation-1): signature is expired",
        ),
        (
            UNMET,
            "image reg.example/app:unmet failed verification: succeeded is false and no verifier result says why (the policy needs more verified signatures)",
        ),
        (
            MISSING,
            "image reg.example/app:missing was not answered by provider imagegate-v2 (key reg.example/app:missing); every requested image must have a result",
        ),
    ];
    for (image, expected) in cases {
        assert_eq!(
            f.pod_in("default", &[SIGNED, image]),
            vec![expected.to_owned()],
            "{image}"
        );
    }
    assert!(f.keys().iter().all(|k| !k.starts_with('[')));
}

#[test]
fn multitenancy_template_sends_namespaced_keys() {
    let mut f = Fixture::new("imagegatemultitenancyverificationv2");
    let v = f.pod_in("team-a", &[SIGNED, UNSIGNED]);
    assert_eq!(
        v,
        vec!["image reg.example/app:unsigned failed verification: no signature was found (no artifact reports)".to_owned()]
    );
    let mut keys = f.keys();
    keys.sort();
    assert_eq!(
        keys,
        vec![format!("[team-a]{SIGNED}"), format!("[team-a]{UNSIGNED}")]
    );
}

#[test]
fn v2_templates_share_one_library_and_have_example_constraints() {
    let templates = ConstraintTemplate::load_dir(&v2_dir().join("templates")).unwrap();
    assert_eq!(templates.len(), 2);
    let lib = &templates[0].1.libs;
    for (path, t) in &templates {
        assert_eq!(&t.libs, lib, "{}", path.display());
        assert!(t.rego.contains("external_data(req)"));
        assert!(lib[0].contains("value.succeeded == true"));
        assert!(
            !lib[0].contains("isSuccess"),
            "{}: reads a v1 field",
            path.display()
        );
    }
    for entry in std::fs::read_dir(v2_dir().join("constraints")).unwrap() {
        checked_constraint(&entry.unwrap().path(), &templates);
    }
}
