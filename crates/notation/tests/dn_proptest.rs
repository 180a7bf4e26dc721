//! Property tests: the DN and trust-policy parsers never panic, and parsed DNs round-trip.
// Test helpers (outside #[test] functions) may unwrap and panic on broken fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use imagegate_notation::dn::DistinguishedName;
use imagegate_notation::policy::TrustPolicyDocument;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn dn_parse_never_panics(s in ".{0,200}") {
        let _ = DistinguishedName::parse(&s);
    }

    #[test]
    fn dn_parse_never_panics_on_dn_like_text(s in r"([A-Za-z]{1,3} ?= ?([^,+;\\]|\\.|\\[0-9a-fA-F]{2}){0,8} ?[,;+]?){0,8}") {
        if let Ok(dn) = DistinguishedName::parse(&s) {
            // Go-form rendering of a parsed DN parses back to the same DN.
            prop_assert_eq!(DistinguishedName::parse(&dn.to_string()), Ok(dn));
        }
    }

    #[test]
    fn certificate_name_extraction_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = DistinguishedName::from_cert_subject(&bytes);
        let _ = DistinguishedName::from_cert_issuer(&bytes);
    }

    #[test]
    fn policy_from_json_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = TrustPolicyDocument::from_json(&bytes);
    }

    #[test]
    fn policy_from_json_never_panics_on_near_valid_documents(
        level in "(strict|permissive|audit|skip|x)",
        scope in r"(\*|[a-z.:0-9]{0,12}/[a-zA-Z/._-]{0,12})",
        store in r"(ca|tsa|signingAuthority|x)?:?[a-z/]{0,6}",
        identity in r"(\*|x509\.subject:? ?([A-Z]{1,2}=[a-zA-Z#= ]{0,5},?){0,5}|[a-z]{0,4}:?)",
        over_key in "(integrity|authenticity|authenticTimestamp|expiry|revocation|x)",
        over_val in "(enforce|log|skip|x)",
    ) {
        let json = format!(
            r#"{{"version":"1.0","trustPolicies":[{{"name":"p","registryScopes":["{scope}"],
              "signatureVerification":{{"level":"{level}","override":{{"{over_key}":"{over_val}"}}}},
              "trustStores":["{store}"],"trustedIdentities":["{identity}"]}}]}}"#
        );
        if let Ok(doc) = TrustPolicyDocument::from_json(json.as_bytes()) {
            let statement = &doc.statements()[0];
            prop_assert_eq!(statement.name(), "p");
            let _ = doc.statement_for("r.io/a@sha256:00");
        }
    }
}
