//! Ratify v1 objects (`config.ratify.deislabs.io/v1beta1`) as JSON values: the Store,
//! Policy, KeyManagementProvider and Verifier shapes tests and demos create through the
//! Kubernetes API, or write to a CRD directory ([`crd_file`]). Given a namespace, an object
//! is of the kind's namespaced variant (`NamespacedVerifier`, …).

use serde_json::{json, Value};

/// `apiVersion` of the Ratify v1 kinds.
pub const V1BETA1: &str = "config.ratify.deislabs.io/v1beta1";

/// An object of `kind` (`Namespaced<kind>` in `namespace`) named `name`, with `spec`.
pub fn object(kind: &str, name: &str, namespace: Option<&str>, spec: Value) -> Value {
    let (kind, metadata) = match namespace {
        Some(ns) => (
            format!("Namespaced{kind}"),
            json!({"name": name, "namespace": ns}),
        ),
        None => (kind.to_owned(), json!({"name": name})),
    };
    json!({"apiVersion": V1BETA1, "kind": kind, "metadata": metadata, "spec": spec})
}

/// The `oras` Store `name`, with `parameters` unless they are `null`.
pub fn oras_store(name: &str, namespace: Option<&str>, parameters: Value) -> Value {
    let mut spec = json!({"name": "oras"});
    if !parameters.is_null() {
        spec["parameters"] = parameters;
    }
    object("Store", name, namespace, spec)
}

/// The config Policy `ratify-policy` deciding by `artifactVerificationPolicies`.
pub fn config_policy(artifact_policies: Value) -> Value {
    object(
        "Policy",
        "ratify-policy",
        None,
        json!({"type": "config-policy",
               "parameters": {"artifactVerificationPolicies": artifact_policies}}),
    )
}

/// An `inline` KeyManagementProvider holding the certificate(s) `pem`.
pub fn inline_kmp(name: &str, namespace: Option<&str>, pem: &str) -> Value {
    object(
        "KeyManagementProvider",
        name,
        namespace,
        json!({"type": "inline",
               "parameters": {"contentType": "certificate", "value": pem}}),
    )
}

/// The spec of a notation Verifier (for Notary signatures) trusting the certificates of the
/// KeyManagementProviders `kmp_refs` as the CA store `store`, under `trust_policy`.
pub fn notation_verifier_spec(store: &str, kmp_refs: &[&str], trust_policy: Value) -> Value {
    json!({"name": "notation", "artifactTypes": "application/vnd.cncf.notary.signature",
           "parameters": {"verificationCertStores": {"ca": {store: kmp_refs}},
                          "trustPolicyDoc": trust_policy}})
}

/// A notation Verifier `name` with [`notation_verifier_spec`].
pub fn notation_verifier(
    name: &str,
    namespace: Option<&str>,
    store: &str,
    kmp_refs: &[&str],
    trust_policy: Value,
) -> Value {
    let spec = notation_verifier_spec(store, kmp_refs, trust_policy);
    object("Verifier", name, namespace, spec)
}

/// A strict trust policy trusting the CA store `store` for every registry and identity.
pub fn trust_policy(store: &str) -> Value {
    json!({"version": "1.0", "trustPolicies": [{"name": "default", "registryScopes": ["*"],
        "signatureVerification": {"level": "strict"}, "trustStores": [format!("ca:{store}")],
        "trustedIdentities": ["*"]}]})
}

/// `objects` as the text of one multi-document YAML file for a CRD directory (each
/// document written as JSON, which YAML reads).
pub fn crd_file(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| format!("{o}\n"))
        .collect::<Vec<_>>()
        .join("---\n")
}
