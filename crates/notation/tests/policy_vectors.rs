//! Trust policy: the shipped vector documents, the action table, and statement lookup.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_notation::dn::DistinguishedName;
use imagegate_notation::policy::{
    Action, CheckKind, LevelName, PolicyError, StoreType, TrustPolicyDocument, TrustStoreRef,
    TrustedIdentity, VerifyTimestamp,
};

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/notation");

fn load(name: &str) -> TrustPolicyDocument {
    let bytes = std::fs::read(format!("{VECTORS}/{name}")).unwrap();
    TrustPolicyDocument::from_json(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn store(store_type: StoreType, name: &str) -> TrustStoreRef {
    TrustStoreRef {
        store_type,
        name: name.to_owned(),
    }
}

fn actions(doc: &TrustPolicyDocument) -> [Action; 5] {
    CheckKind::ALL.map(|k| doc.statements()[0].action(k))
}

const E: Action = Action::Enforce;
const L: Action = Action::Log;
const S: Action = Action::Skip;

#[test]
fn every_vector_policy_parses_with_the_expected_content() {
    // (file, level name, actions in spec order, stores, verifyTimestamp)
    let cases = [
        (
            "trustpolicy-strict.json",
            "strict",
            [E, E, E, E, E],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-permissive.json",
            "permissive",
            [E, E, L, L, L],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-audit.json",
            "audit",
            [E, L, L, L, L],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-skip.json",
            "skip",
            [S, S, S, S, S],
            vec![],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-override-strict.json",
            "custom",
            [E, L, L, L, L],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-timestamp-always.json",
            "strict",
            [E, E, E, E, E],
            vec![store(StoreType::Ca, "e2e"), store(StoreType::Tsa, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-timestamp-after-cert-expiry.json",
            "strict",
            [E, E, E, E, E],
            vec![store(StoreType::Ca, "e2e"), store(StoreType::Tsa, "e2e")],
            VerifyTimestamp::AfterCertExpiry,
        ),
        (
            "trustpolicy-trusted-identity-match.json",
            "strict",
            [E, E, E, E, E],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
        (
            "trustpolicy-trusted-identity-mismatch.json",
            "strict",
            [E, E, E, E, E],
            vec![store(StoreType::Ca, "e2e")],
            VerifyTimestamp::Always,
        ),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(VECTORS).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.starts_with("trustpolicy-") {
            assert!(
                cases.iter().any(|c| c.0 == name),
                "{name} has no expectation"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, cases.len());
    for (file, level, want_actions, stores, verify_timestamp) in cases {
        let doc = load(file);
        assert_eq!(doc.version(), "1.0");
        assert_eq!(doc.statements().len(), 1);
        let st = &doc.statements()[0];
        assert_eq!(st.name(), "e2e", "{file}");
        assert_eq!(st.registry_scopes(), ["*"], "{file}");
        assert_eq!(st.level().name(), level, "{file}");
        assert_eq!(actions(&doc), want_actions, "{file}");
        assert_eq!(st.trust_stores(), stores.as_slice(), "{file}");
        assert_eq!(st.verify_timestamp(), verify_timestamp, "{file}");
        assert_eq!(st.is_skip(), level == "skip", "{file}");
    }
}

#[test]
fn identities_of_the_vector_policies() {
    let e2e = DistinguishedName::parse("CN=e2e,O=Notary,L=Seattle,ST=WA,C=US").unwrap();
    let strict = load("trustpolicy-strict.json");
    assert_eq!(
        strict.statements()[0].trusted_identities(),
        [TrustedIdentity::Any]
    );
    assert!(strict.statements()[0].identity_matches(&e2e));

    let matching = load("trustpolicy-trusted-identity-match.json");
    let st = &matching.statements()[0];
    assert!(matches!(
        st.trusted_identities(),
        [TrustedIdentity::X509Subject(_)]
    ));
    assert_eq!(
        st.raw_trusted_identities(),
        ["x509.subject: CN=e2e,O=Notary,L=Seattle,ST=WA,C=US"]
    );
    assert!(st.identity_matches(&e2e));

    let mismatch = load("trustpolicy-trusted-identity-mismatch.json");
    let st = &mismatch.statements()[0];
    assert!(!st.identity_matches(&e2e));
    assert_eq!(
        st.x509_identities_go_repr(),
        r#"[map["C":"USB" "CN":"e2e" "L":"Seattle" "O":"Notary" "ST":"WA"]]"#
    );
}

#[test]
fn action_table_and_overrides() {
    let doc = |level: &str, overrides: &str| {
        let json = format!(
            r#"{{"version":"1.0","trustPolicies":[{{"name":"p","registryScopes":["*"],
            "signatureVerification":{{"level":"{level}"{overrides}}},
            "trustStores":["ca:s"],"trustedIdentities":["*"]}}]}}"#
        );
        TrustPolicyDocument::from_json(json.as_bytes())
            .unwrap_or_else(|e| panic!("{level} {overrides}: {e}"))
    };
    assert_eq!(actions(&doc("strict", "")), [E, E, E, E, E]);
    assert_eq!(actions(&doc("permissive", "")), [E, E, L, L, L]);
    assert_eq!(actions(&doc("audit", "")), [E, L, L, L, L]);
    assert_eq!(
        actions(&doc("strict", r#","override":{"revocation":"skip"}"#)),
        [E, E, E, E, S]
    );
    assert_eq!(
        actions(&doc(
            "audit",
            r#","override":{"authenticity":"enforce","expiry":"enforce"}"#
        )),
        [E, E, L, E, L]
    );
    assert_eq!(
        actions(&doc(
            "permissive",
            r#","override":{"authenticTimestamp":"enforce"}"#
        )),
        [E, E, E, L, L]
    );
    let custom = doc("strict", r#","override":{"expiry":"log"}"#);
    let level = custom.statements()[0].level();
    assert_eq!(level.base(), LevelName::Strict);
    assert!(level.is_custom());
    assert_eq!(level.overrides(), [(CheckKind::Expiry, Action::Log)]);
    assert_eq!(level.to_string(), "custom");
}

#[test]
fn display_names_match_the_specification() {
    assert_eq!(
        CheckKind::ALL.map(|k| k.to_string()),
        [
            "integrity",
            "authenticity",
            "authenticTimestamp",
            "expiry",
            "revocation"
        ]
    );
    assert_eq!([E, L, S].map(|a| a.to_string()), ["enforce", "log", "skip"]);
    assert_eq!(
        serde_json::to_string(&Action::Enforce).unwrap(),
        "\"enforce\""
    );
    assert_eq!(
        serde_json::to_string(&CheckKind::AuthenticTimestamp).unwrap(),
        "\"authenticTimestamp\""
    );
    assert_eq!(
        [StoreType::Ca, StoreType::SigningAuthority, StoreType::Tsa].map(|t| t.to_string()),
        ["ca", "signingAuthority", "tsa"]
    );
    assert_eq!(store(StoreType::Tsa, "x").to_string(), "tsa:x");
}

const LOOKUP_POLICY: &str = r#"{
  "version": "1.0",
  "trustPolicies": [
    {"name": "net-monitor", "registryScopes": ["registry.acme-rockets.io/software/net-monitor", "localhost:5000/a/b"],
     "signatureVerification": {"level": "strict"}, "trustStores": ["ca:acme"], "trustedIdentities": ["*"]},
    {"name": "global", "registryScopes": ["*"],
     "signatureVerification": {"level": "audit"}, "trustStores": ["ca:other"], "trustedIdentities": ["*"]}
  ]
}"#;

#[test]
fn statement_lookup_prefers_exact_scope_then_wildcard() {
    let doc = TrustPolicyDocument::from_json(LOOKUP_POLICY.as_bytes()).unwrap();
    let digest = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
    let name = |r: &str| doc.statement_for(r).map(|s| s.name().to_owned());
    assert_eq!(
        name(&format!(
            "registry.acme-rockets.io/software/net-monitor@{digest}"
        ))
        .unwrap(),
        "net-monitor"
    );
    assert_eq!(
        name(&format!("localhost:5000/a/b@{digest}")).unwrap(),
        "net-monitor"
    );
    // A prefix or a sub-repository is not the same scope.
    assert_eq!(
        name(&format!("registry.acme-rockets.io/software@{digest}")).unwrap(),
        "global"
    );
    assert_eq!(
        name(&format!(
            "registry.acme-rockets.io/software/net-monitor/x@{digest}"
        ))
        .unwrap(),
        "global"
    );
    assert!(matches!(
        doc.statement_for("registry.acme-rockets.io/software/net-monitor:v1"),
        Err(PolicyError::InvalidReference { .. })
    ));
    assert!(matches!(
        doc.statement_for(&format!(
            "https://registry.acme-rockets.io/software@{digest}"
        )),
        Err(PolicyError::InvalidReference { .. })
    ));
}

#[test]
fn no_applicable_statement_without_wildcard() {
    let json = LOOKUP_POLICY.replace(
        r#""registryScopes": ["*"]"#,
        r#""registryScopes": ["other.io/x"]"#,
    );
    let doc = TrustPolicyDocument::from_json(json.as_bytes()).unwrap();
    let reference = "docker.io/library/alpine@sha256:00";
    let err = doc.statement_for(reference).unwrap_err();
    assert_eq!(
        err,
        PolicyError::NoApplicableTrustPolicy {
            reference: reference.to_owned()
        }
    );
    assert!(err.to_string().starts_with(
        "artifact \"docker.io/library/alpine@sha256:00\" has no applicable oci trust policy statement"
    ));
}

#[test]
fn statement_accessors_for_the_verifier() {
    let doc = load("trustpolicy-timestamp-always.json");
    let st = &doc.statements()[0];
    let tsa: Vec<&TrustStoreRef> = st.trust_stores_of(StoreType::Tsa).collect();
    assert_eq!(tsa, [&store(StoreType::Tsa, "e2e")]);
    assert_eq!(st.trust_stores_of(StoreType::SigningAuthority).count(), 0);
}
