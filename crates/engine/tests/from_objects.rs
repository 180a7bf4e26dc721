//! `EngineConfig::from_objects`: the set-of-objects → configuration path shared by the CRD
//! directory and the Kubernetes API. A bad object is left out and reported by index; the
//! rest still makes a configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_engine::config::CrdObject;
use imagegate_engine::EngineConfig;
use imagegate_testkit::Pki;
use serde_json::{json, Value};

fn obj(kind: &str, name: &str, namespace: Option<&str>, spec: Value) -> CrdObject {
    let Value::Object(spec) = spec else { panic!() };
    CrdObject {
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.map(Into::into),
        spec,
        origin: format!("{kind} {name:?}"),
    }
}

fn verifier_spec(kmp: &str) -> Value {
    json!({"name": "notation", "artifactTypes": "application/vnd.cncf.notary.signature",
           "parameters": {"verificationCertStores": {"ca": {"e2e": [kmp]}},
               "trustPolicyDoc": {"version": "1.0", "trustPolicies": [{"name": "all",
                   "registryScopes": ["*"], "signatureVerification": {"level": "strict"},
                   "trustStores": ["ca:e2e"], "trustedIdentities": ["*"]}]}}})
}

fn good_set(pem: &str) -> Vec<CrdObject> {
    vec![
        obj(
            "Store",
            "s",
            None,
            json!({"name": "oras", "parameters": {"useHttp": true}}),
        ),
        obj(
            "Policy",
            "ratify-policy",
            None,
            json!({"type": "config-policy",
            "parameters": {"artifactVerificationPolicies": {"default": "all"}}}),
        ),
        obj(
            "KeyManagementProvider",
            "k",
            None,
            json!({"type": "inline",
            "parameters": {"contentType": "certificate", "value": pem}}),
        ),
        obj("Verifier", "v", None, verifier_spec("k")),
    ]
}

#[test]
fn good_objects_make_a_configuration() {
    let pki = Pki::generate();
    let build = EngineConfig::from_objects(&good_set(&pki.root_pem()), None);
    assert!(build.rejected.is_empty(), "{:?}", build.rejected);
    let config = build.config.unwrap();
    assert_eq!(config.cluster.verifiers.len(), 1);
    assert_eq!(config.cluster.stores.len(), 1);
}

#[test]
fn a_bad_object_is_left_out_and_named_while_the_rest_loads() {
    let pki = Pki::generate();
    let mut objects = good_set(&pki.root_pem());
    objects.push(obj("Verifier", "bad", None, verifier_spec("missing")));
    objects.push(obj(
        "Policy",
        "other-name",
        None,
        json!({"type": "config-policy"}),
    ));
    objects.push(obj("Frobnicator", "f", None, json!({})));
    let build = EngineConfig::from_objects(&objects, None);
    let rejected: Vec<usize> = build.rejected.iter().map(|(i, _)| *i).collect();
    assert_eq!(rejected, [4, 5, 6], "{:?}", build.rejected);
    assert!(build.rejected[0].1.to_string().contains("Verifier \"bad\""));
    assert!(build.rejected[1].1.to_string().contains("ratify-policy"));
    assert!(build.rejected[2]
        .1
        .to_string()
        .contains("\"Frobnicator\" is not supported"));
    assert_eq!(build.config.unwrap().cluster.verifiers.len(), 1);
}

#[test]
fn without_a_verifier_there_is_no_configuration_and_the_fingerprint_follows_the_objects() {
    let pki = Pki::generate();
    let mut objects = good_set(&pki.root_pem());
    let a = EngineConfig::from_objects(&objects, None)
        .config
        .unwrap()
        .fingerprint;
    objects[0].spec.insert("version".into(), json!("1.0.0"));
    let b = EngineConfig::from_objects(&objects, None)
        .config
        .unwrap()
        .fingerprint;
    assert_ne!(a, b);
    objects.pop();
    let err = EngineConfig::from_objects(&objects, None)
        .config
        .unwrap_err();
    assert!(err.to_string().contains("at least one verifier"), "{err}");
}
