//! Trust policy validation: one invalid document per rule, with notation-go's message.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_notation::policy::{InvalidPolicy, PolicyError, TrustPolicyDocument};

/// A one-statement document with the given statement body.
fn statement(body: &str) -> String {
    format!(r#"{{"version":"1.0","trustPolicies":[{{{body}}}]}}"#)
}

const OK_BODY: &str = r#""name":"p","registryScopes":["r.io/a"],"signatureVerification":{"level":"strict"},"trustStores":["ca:s"],"trustedIdentities":["*"]"#;

fn error(json: &str) -> String {
    match TrustPolicyDocument::from_json(json.as_bytes()) {
        Ok(_) => panic!("accepted: {json}"),
        Err(e) => e.to_string(),
    }
}

fn body_error(replace: &str, with: &str) -> String {
    assert!(OK_BODY.contains(replace), "{replace}");
    error(&statement(&OK_BODY.replace(replace, with)))
}

#[test]
fn the_base_document_is_valid() {
    TrustPolicyDocument::from_json(statement(OK_BODY).as_bytes()).unwrap();
}

#[test]
fn document_level_rules() {
    assert!(error("not json").starts_with("malformed trust policy document: "));
    assert!(error(r#"{"version":1}"#).starts_with("malformed trust policy document: "));
    assert_eq!(
        error(r#"{"trustPolicies":[]}"#),
        "oci trust policy document has empty version, version must be specified"
    );
    assert_eq!(
        error(r#"{"version":"2.0","trustPolicies":[]}"#),
        "oci trust policy document uses unsupported version \"2.0\", the supported version is \"1.0\""
    );
    assert_eq!(
        error(r#"{"version":"1.0"}"#),
        "oci trust policy document can not have zero trust policy statements"
    );
    assert_eq!(
        error(&format!(r#"{{"version":"1.0","trustPolicies":[{{{OK_BODY}}},{{{}}}]}}"#, OK_BODY.replace("r.io/a", "r.io/b"))),
        "multiple oci trust policy statements use the same name \"p\", statement names must be unique"
    );
    let big = vec![b' '; imagegate_notation::policy::MAX_DOCUMENT_SIZE + 1];
    assert!(matches!(
        TrustPolicyDocument::from_json(&big),
        Err(PolicyError::Invalid(InvalidPolicy::TooLarge { .. }))
    ));
}

#[test]
fn statement_name_and_level_rules() {
    assert_eq!(
        body_error(r#""name":"p","#, ""),
        "oci trust policy: a trust policy statement is missing a name, every statement requires a name"
    );
    assert_eq!(
        body_error(r#""level":"strict""#, r#""level":"paranoid""#),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: invalid signature verification level \"paranoid\", supported values are \"strict\", \"permissive\", \"audit\" and \"skip\""
    );
    assert_eq!(
        body_error(r#""signatureVerification":{"level":"strict"},"#, ""),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: signature verification level is empty or missing in the trust policy statement"
    );
    assert_eq!(
        body_error(r#""level":"strict""#, r#""level":"strict","override":{"integrity":"log"}"#),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: \"integrity\" verification can not be overridden in custom signature verification"
    );
    assert_eq!(
        body_error(r#""level":"strict""#, r#""level":"strict","override":{"expiry":"skip"}"#),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: \"expiry\" verification can not be skipped in custom signature verification"
    );
    assert!(body_error(r#""level":"strict""#, r#""level":"strict","override":{"freshness":"log"}"#)
        .ends_with("verification type \"freshness\" in custom signature verification is not supported, supported values are [\"integrity\" \"authenticity\" \"authenticTimestamp\" \"expiry\" \"revocation\"]"));
    assert!(body_error(r#""level":"strict""#, r#""level":"strict","override":{"expiry":"warn"}"#)
        .ends_with("verification action \"warn\" in custom signature verification is not supported, supported values are [\"enforce\" \"log\" \"skip\"]"));
    assert_eq!(
        error(&statement(r#""name":"p","registryScopes":["*"],"signatureVerification":{"level":"skip","override":{"revocation":"log"}}"#)),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: signature verification level \"skip\" can't be used to customize signature verification"
    );
    assert_eq!(
        body_error(r#""level":"strict""#, r#""level":"strict","verifyTimestamp":"never""#),
        "oci trust policy: trust policy statement \"p\" has invalid signatureVerification: verifyTimestamp \"never\" is not supported, supported values are \"always\" and \"afterCertExpiry\""
    );
}

#[test]
fn stores_and_identities_presence() {
    assert_eq!(
        body_error(r#""trustStores":["ca:s"],"#, ""),
        "oci trust policy: trust policy statement \"p\" is either missing trust stores or trusted identities, both must be specified"
    );
    assert_eq!(
        body_error(r#","trustedIdentities":["*"]"#, r#","trustedIdentities":[]"#),
        "oci trust policy: trust policy statement \"p\" is either missing trust stores or trusted identities, both must be specified"
    );
    assert_eq!(
        body_error(r#""level":"strict""#, r#""level":"skip""#),
        "oci trust policy: trust policy statement \"p\" is set to skip signature verification but configured with trust stores and/or trusted identities, remove them if signature verification needs to be skipped"
    );
}

#[test]
fn trust_store_values() {
    // The "tsa" variant of notation-go's timestamp tests.
    assert_eq!(
        body_error(r#"["ca:s"]"#, r#"["ca:s","tsa"]"#),
        "oci trust policy: trust policy statement \"p\" is missing separator in trust store value \"tsa\". The required format is <TrustStoreType>:<TrustStoreName>"
    );
    assert_eq!(
        body_error(r#"["ca:s"]"#, r#"["x509:s"]"#),
        "oci trust policy: trust policy statement \"p\" uses an unsupported trust store type \"x509\" in trust store value \"x509:s\", supported types are \"ca\", \"signingAuthority\" and \"tsa\""
    );
    assert_eq!(
        body_error(r#"["ca:s"]"#, r#"["ca:my/store"]"#),
        "oci trust policy: trust policy statement \"p\" uses an unsupported trust store name \"my/store\" in trust store value \"ca:my/store\". Named store name needs to follow [a-zA-Z0-9_.-]+ format"
    );
    assert!(body_error(r#"["ca:s"]"#, r#"["ca:"]"#).contains("unsupported trust store name \"\""));
}

#[test]
fn trusted_identity_values() {
    let ids = |v: &str| body_error(r#"["*"]"#, v);
    assert_eq!(
        ids(r#"["*","x509.subject:C=US,ST=WA,O=x"]"#),
        "oci trust policy: trust policy statement \"p\" uses a wildcard trusted identity '*', a wildcard identity cannot be used in conjunction with other values"
    );
    assert_eq!(
        ids(r#"[""]"#),
        "oci trust policy: trust policy statement \"p\" has an empty trusted identity"
    );
    // The "x509.subject" variant of notation-go's verifier tests.
    assert_eq!(
        ids(r#"["x509.subject"]"#),
        "oci trust policy: trust policy statement \"p\" has trusted identity \"x509.subject\" missing separator"
    );
    assert_eq!(
        ids(r#"["x509.subject:"]"#),
        "oci trust policy: trust policy statement \"p\" has trusted identity \"x509.subject:\" without an identity value"
    );
    assert_eq!(
        ids(r#"["x509.subject:CN=e2e,O=Notary,C=US"]"#),
        "oci trust policy: trust policy statement \"p\" has trusted identity \"x509.subject:CN=e2e,O=Notary,C=US\" with invalid identity value: distinguished name (DN) \"CN=e2e,O=Notary,C=US\" has no mandatory RDN attribute for \"ST\", it must contain 'C', 'ST', and 'O' RDN attributes at a minimum"
    );
    assert_eq!(
        ids(r#"["x509.subject:C=US,ST=WA,O=x","x509.subject:C=US,ST=WA,O=x,CN=y"]"#),
        "oci trust policy: trust policy statement \"p\" has overlapping x509 trustedIdentities, \"x509.subject:C=US,ST=WA,O=x\" overlaps with \"x509.subject:C=US,ST=WA,O=x,CN=y\""
    );
    // Distinct identities and plugin-style identities are accepted.
    let ok = statement(&OK_BODY.replace(
        r#"["*"]"#,
        r#"["x509.subject:C=US,ST=WA,O=x","x509.subject:C=US,ST=WA,O=y","plugin.example:anything"]"#,
    ));
    TrustPolicyDocument::from_json(ok.as_bytes()).unwrap();
}

#[test]
fn registry_scope_rules() {
    let scopes = |v: &str| body_error(r#"["r.io/a"]"#, v);
    assert_eq!(
        scopes("[]"),
        "oci trust policy statement \"p\" has zero registry scopes, it must specify registry scopes with at least one value"
    );
    assert_eq!(
        scopes(r#"["*","r.io/a"]"#),
        "oci trust policy statement \"p\" uses wildcard registry scope '*', a wildcard scope cannot be used in conjunction with other scope values"
    );
    assert_eq!(
        scopes(r#"["r.io/*"]"#),
        "registry scope \"r.io/*\" with wild card(s) is not valid, make sure it is a fully qualified repository without wild card(s), for example domain.com/my/repository"
    );
    for bad in [
        "registry",
        "r.io/A",
        "r.io/a:v1",
        "https://r.io/a",
        "r.io/a@sha256:00",
        "r.io/a//b",
    ] {
        assert_eq!(
            scopes(&format!(r#"["{bad}"]"#)),
            format!("registry scope \"{bad}\" is not valid, make sure it is a fully qualified repository without the scheme, protocol or tag. For example domain.com/my/repository or a local scope like local/myOCILayout")
        );
    }
    let two = format!(
        r#"{{"version":"1.0","trustPolicies":[{{{OK_BODY}}},{{{}}}]}}"#,
        OK_BODY.replace(r#""name":"p""#, r#""name":"q""#)
    );
    assert_eq!(
        error(&two),
        "registry scope \"r.io/a\" is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement"
    );
    let two_globals = two.replace("r.io/a", "*");
    assert_eq!(
        error(&two_globals),
        "registry scope \"*\" is present in multiple oci trust policy statements, one registry scope value can only be associated with one statement"
    );
}

#[test]
fn limits_are_enforced() {
    let many: Vec<String> = (0..=imagegate_notation::policy::MAX_LIST_ENTRIES)
        .map(|i| format!(r#""x509.subject:C=US,ST=WA,O=o{i}""#))
        .collect();
    let err = body_error(r#"["*"]"#, &format!("[{}]", many.join(",")));
    assert!(err.contains("more than the 1000 accepted"), "{err}");
}
