//! Our ConstraintTemplates evaluated with regorus against Gatekeeper's `external_data`
//! behaviour (cache, status codes, error shapes) and a table of Ratify 0.2.0 results.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{
    checked_constraint, TemplateEngine, BROKEN, MISSING, NESTED, SIGNED, UNSIGNED, UNTRUSTED,
};
use imagegate_e2e::external_data::{TableEntry, TableProvider};
use imagegate_e2e::ratify::{self, Report, VerificationResult};
use imagegate_e2e::review::PodSpec;
use imagegate_e2e::{paths, ConstraintTemplate, Gatekeeper, ManualClock, Review, Workload};
use serde_json::{json, Value};

const CA: &str = "CN=Imagegate Test CA,O=Imagegate,L=Seattle,ST=WA,C=US";
const OTHER_CA: &str = "CN=Other CA,O=Elsewhere,C=US";
const OTHER_ISSUER: &str = "reg.example/app:other-issuer";
const UNEXPLAINED: &str = "reg.example/app:unexplained";

fn table() -> TableProvider {
    let mut t = TableProvider::new();
    t.insert(SIGNED, TableEntry::Value(ratify::signed(SIGNED, CA)));
    t.insert(UNSIGNED, TableEntry::Value(ratify::unsigned(UNSIGNED)));
    // The provider never sets `remediation`, so the fixture has none: the templates must not
    // print an empty remediation line.
    let untrusted = Report::notation_failed(
        UNTRUSTED,
        "Failed to validate the Notation signature",
        "signature is not produced by a trusted signer",
    );
    t.insert(
        UNTRUSTED,
        TableEntry::Value(VerificationResult::from_reports(vec![untrusted]).to_json()),
    );
    t.insert(
        BROKEN,
        TableEntry::Error("REFERENCE_INVALID: failed to parse subject reference".into()),
    );
    t.insert(
        OTHER_ISSUER,
        TableEntry::Value(ratify::signed(OTHER_ISSUER, OTHER_CA)),
    );
    t.insert(
        UNEXPLAINED,
        TableEntry::Value(VerificationResult::from_reports(vec![]).to_json()),
    );
    let nested = Report::notation_ok(NESTED, CA).with_nested(Report::notation_failed(
        "reg.example/app@sha256:sbom",
        "nested artifact failed",
        "sbom signature expired",
    ));
    t.insert(
        NESTED,
        TableEntry::Value(
            VerificationResult::from_reports(vec![nested])
                .with_verdict(false)
                .to_json(),
        ),
    );
    for image in [SIGNED, UNSIGNED] {
        let key = format!("[team-a]{image}");
        let value = if image == SIGNED {
            ratify::signed(image, CA)
        } else {
            ratify::unsigned(image)
        };
        t.insert(&key, TableEntry::Value(value));
    }
    t
}

struct Fixture {
    gatekeeper: Arc<Mutex<Gatekeeper>>,
    clock: ManualClock,
    engine: TemplateEngine,
}

impl Fixture {
    fn new(template: &str) -> Self {
        Self::with_provider(template, "imagegate", table())
    }

    fn with_provider(template: &str, name: &str, provider: TableProvider) -> Self {
        let t = ConstraintTemplate::load(&paths::templates_dir().join(format!("{template}.yaml")))
            .unwrap();
        let clock = ManualClock::at(1_800_000_000);
        let mut gk = Gatekeeper::new(Arc::new(clock.clone()));
        gk.register(name, Box::new(provider));
        let gatekeeper = Arc::new(Mutex::new(gk));
        let engine = TemplateEngine::new(&t, gatekeeper.clone());
        Self {
            gatekeeper,
            clock,
            engine,
        }
    }

    fn check(&mut self, review: &Review, parameters: Value) -> Vec<String> {
        self.engine.violations(review, &parameters)
    }

    fn pod(&mut self, images: &[&str]) -> Vec<String> {
        let review = Review::of(
            Workload::Pod,
            "demo",
            "default",
            &PodSpec::with_containers(images),
        );
        self.check(&review, json!({}))
    }

    /// Keys of every provider request so far.
    fn sent(&self) -> Vec<Vec<String>> {
        let gk = self.gatekeeper.lock().unwrap();
        gk.calls().iter().map(|c| c.keys.clone()).collect()
    }
}

fn one(v: Vec<String>) -> String {
    assert_eq!(v.len(), 1, "expected exactly one violation, got {v:#?}");
    v.into_iter().next().unwrap_or_default()
}

#[test]
fn signed_pod_is_allowed_with_one_call() {
    let mut f = Fixture::new("imagegateverification");
    assert_eq!(f.pod(&[SIGNED]), Vec::<String>::new());
    assert_eq!(f.sent(), vec![vec![SIGNED.to_owned()]]);
}

#[test]
fn every_kind_and_container_field_is_verified() {
    for kind in Workload::ALL {
        let mut f = Fixture::new("imagegateverification");
        let pod = PodSpec::with_containers(&[SIGNED])
            .init(UNSIGNED)
            .ephemeral(UNTRUSTED);
        let v = f.check(&Review::of(kind, "w", "default", &pod), json!({}));
        assert_eq!(v.len(), 2, "{kind:?}: {v:#?}");
        assert!(v.iter().any(|m| m.contains(UNSIGNED)), "{kind:?}: {v:#?}");
        assert!(v.iter().any(|m| m.contains(UNTRUSTED)), "{kind:?}: {v:#?}");
        let mut sent = f.sent().concat();
        sent.sort();
        assert_eq!(
            sent,
            vec![SIGNED, UNSIGNED, UNTRUSTED],
            "{kind:?}: one call, all images"
        );
    }
}

#[test]
fn objects_without_pods_are_not_sent() {
    let mut f = Fixture::new("imagegateverification");
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
        "spec": {"template": {"spec": {"containers": [{"name": "x", "image": UNSIGNED}]}}}});
    assert!(f.check(&Review::admission(svc), json!({})).is_empty());
    assert!(f.sent().is_empty());
}

#[test]
fn unsigned_image_is_denied_with_the_reason() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[UNSIGNED]));
    assert!(
        msg.contains(&format!("image {UNSIGNED} failed verification")),
        "{msg}"
    );
    assert!(msg.contains("reason: No verification results"), "{msg}");
}

#[test]
fn untrusted_signature_names_verifier_and_reason() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[UNTRUSTED]));
    assert!(msg.contains(UNTRUSTED), "{msg}");
    assert!(msg.contains("(verifier-notation)"), "{msg}");
    assert!(
        msg.contains("Failed to validate the Notation signature"),
        "{msg}"
    );
    assert!(
        msg.contains("reason: signature is not produced by a trusted signer"),
        "{msg}"
    );
    assert!(!msg.contains("remediation"), "{msg}");
}

#[test]
fn per_key_error_is_a_violation() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[BROKEN, SIGNED]));
    assert!(
        msg.contains(BROKEN) && msg.contains("REFERENCE_INVALID"),
        "{msg}"
    );
}

#[test]
fn two_failing_keys_give_two_violations() {
    // Guards against formatting every error into one sprintf (regorus drops the rule when
    // sprintf gets extra arguments, OPA does not).
    let mut f = Fixture::new("imagegateverification");
    let v = f.pod(&[BROKEN, UNSIGNED, UNTRUSTED, MISSING]);
    assert_eq!(v.len(), 4, "{v:#?}");
}

#[test]
fn system_error_is_one_violation() {
    let mut t = table();
    t.system_error =
        Some("operation failed with error operation timed out after duration 4.9s".into());
    t.status = 500;
    let mut f = Fixture::with_provider("imagegateverification", "imagegate", t);
    let msg = one(f.pod(&[SIGNED, UNSIGNED]));
    assert!(msg.contains("operation timed out"), "{msg}");
    assert!(msg.contains("provider imagegate failed"), "{msg}");
}

#[test]
fn provider_down_is_a_violation() {
    let mut t = table();
    t.down = Some("failed to send external data request: connection refused".into());
    let mut f = Fixture::with_provider("imagegateverification", "imagegate", t);
    let msg = one(f.pod(&[SIGNED]));
    assert!(msg.contains("connection refused"), "{msg}");
}

#[test]
fn key_missing_from_the_response_is_a_violation() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[SIGNED, MISSING]));
    assert!(
        msg.contains(MISSING) && msg.contains("was not answered"),
        "{msg}"
    );
}

#[test]
fn failure_without_failing_report_is_still_a_violation() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[UNEXPLAINED]));
    assert!(
        msg.contains(UNEXPLAINED) && msg.contains("isSuccess is false"),
        "{msg}"
    );
}

#[test]
fn nested_failure_is_reported_through_walk() {
    let mut f = Fixture::new("imagegateverification");
    let msg = one(f.pod(&[NESTED]));
    assert!(msg.contains("reason: sbom signature expired"), "{msg}");
}

#[test]
fn cached_answers_with_status_zero_give_the_same_verdicts() {
    let mut f = Fixture::new("imagegateverification");
    let first = f.pod(&[SIGNED, UNSIGNED, BROKEN]);
    assert_eq!(first.len(), 2, "{first:#?}");
    f.clock.advance(Duration::from_secs(60));
    let second = f.pod(&[UNSIGNED, BROKEN, SIGNED]);
    assert_eq!(
        f.sent().len(),
        1,
        "second evaluation must be served from the cache"
    );
    assert_eq!(first, second);
    let third = f.pod(&[SIGNED]);
    assert!(third.is_empty(), "{third:#?}");
    // After the TTL the provider is asked again.
    f.clock.advance(Duration::from_secs(200));
    f.pod(&[SIGNED]);
    assert_eq!(f.sent().len(), 2);
}

#[test]
fn excluded_namespaces_and_image_prefixes_are_skipped() {
    let mut f = Fixture::new("imagegateverification");
    let pod = PodSpec::with_containers(&[UNSIGNED]);
    let params = json!({"excludedNamespaces": ["kube-*", "monitoring"]});
    for ns in ["kube-system", "kube-public", "monitoring"] {
        let v = f.check(&Review::of(Workload::Pod, "p", ns, &pod), params.clone());
        assert!(v.is_empty(), "{ns}: {v:#?}");
    }
    assert!(f.sent().is_empty());
    let v = f.check(
        &Review::of(Workload::Pod, "p", "monitoring-2", &pod),
        params,
    );
    assert_eq!(v.len(), 1, "exact entries do not match by prefix: {v:#?}");

    let mut f = Fixture::new("imagegateverification");
    let pod = PodSpec::with_containers(&[SIGNED]).init("mcr.microsoft.com/oss/busybox:1");
    let params = json!({"excludedImagePrefixes": ["mcr.microsoft.com/"]});
    let v = f.check(
        &Review::of(Workload::Deployment, "d", "default", &pod),
        params,
    );
    assert!(v.is_empty(), "{v:#?}");
    assert_eq!(f.sent(), vec![vec![SIGNED.to_owned()]]);
}

#[test]
fn provider_name_is_a_parameter() {
    let mut f = Fixture::with_provider("imagegateverification", "ratify-provider", table());
    let pod = PodSpec::with_containers(&[SIGNED]);
    let review = Review::of(Workload::Pod, "p", "default", &pod);
    assert!(f
        .check(&review, json!({"providerName": "ratify-provider"}))
        .is_empty());
    // The default name is not registered: Gatekeeper answers 400 with a system error.
    let msg = one(f.check(&review, json!({})));
    assert!(msg.contains("provider imagegate failed"), "{msg}");
}

#[test]
fn audit_reviews_are_evaluated_too() {
    let mut f = Fixture::new("imagegateverification");
    let obj = Workload::Pod.object("p", "default", &PodSpec::with_containers(&[UNSIGNED]));
    assert_eq!(f.check(&Review::audit(obj), json!({})).len(), 1);
}

#[test]
fn issuer_template_allows_only_listed_issuers() {
    let mut f = Fixture::new("imagegateissuervalidation");
    let pod = PodSpec::with_containers(&[SIGNED, OTHER_ISSUER]);
    let review = Review::of(Workload::Pod, "p", "default", &pod);
    let msg = one(f.check(&review, json!({"allowedIssuers": [CA]})));
    assert!(msg.contains(OTHER_ISSUER), "{msg}");
    assert!(msg.contains(OTHER_CA), "names the issuer it found: {msg}");
    let v = f.check(&review, json!({"allowedIssuers": [CA, OTHER_CA]}));
    assert!(v.is_empty(), "{v:#?}");
    let v = f.check(&review, json!({}));
    assert_eq!(v.len(), 2, "no allowed issuer configured: {v:#?}");
    // General failures still apply.
    let review = Review::of(
        Workload::Pod,
        "p",
        "default",
        &PodSpec::with_containers(&[UNSIGNED, MISSING]),
    );
    assert_eq!(f.check(&review, json!({"allowedIssuers": [CA]})).len(), 2);
}

#[test]
fn multi_tenancy_template_sends_namespaced_keys() {
    let mut f = Fixture::new("imagegatemultitenancyverification");
    let pod = PodSpec::with_containers(&[SIGNED]).init(UNSIGNED);
    let v = f.check(&Review::of(Workload::Job, "j", "team-a", &pod), json!({}));
    let msg = one(v);
    assert!(
        msg.starts_with(&format!("image {UNSIGNED} failed verification")),
        "{msg}"
    );
    let mut keys = f.sent().concat();
    keys.sort();
    assert_eq!(
        keys,
        vec![format!("[team-a]{SIGNED}"), format!("[team-a]{UNSIGNED}")]
    );
    // In another namespace the keys differ, and the table has no answer: denied as missing.
    let v = f.check(
        &Review::of(
            Workload::Pod,
            "p",
            "team-b",
            &PodSpec::with_containers(&[SIGNED]),
        ),
        json!({}),
    );
    assert!(one(v).contains(&format!("key [team-b]{SIGNED}")));
}

#[test]
fn templates_share_one_library_and_declare_their_parameters() {
    let templates = ConstraintTemplate::load_dir(&paths::templates_dir()).unwrap();
    assert_eq!(templates.len(), 3);
    let lib = &templates[0].1.libs;
    for (path, t) in &templates {
        assert_eq!(
            &t.libs,
            lib,
            "{} must carry the shared library unchanged",
            path.display()
        );
        let params = t.parameter_names();
        for p in [
            "providerName",
            "excludedNamespaces",
            "excludedImagePrefixes",
        ] {
            assert!(params.iter().any(|x| x == p), "{}: {p}", path.display());
        }
        assert!(t.rego.contains("external_data(req)"));
    }
}

#[test]
fn example_constraints_match_their_templates() {
    let templates = ConstraintTemplate::load_dir(&paths::templates_dir()).unwrap();
    let dir = paths::constraints_dir();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let c = checked_constraint(&path, &templates);
        assert_eq!(
            c["apiVersion"],
            "constraints.gatekeeper.sh/v1beta1",
            "{}",
            path.display()
        );
        seen.push(c["kind"].as_str().unwrap().to_owned());
    }
    for (_, t) in &templates {
        assert!(
            seen.contains(&t.kind),
            "no example constraint for {}",
            t.kind
        );
    }
}
