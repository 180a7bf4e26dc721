//! Fuzz the trust-policy and distinguished-name parsers: they must never panic, and a parsed
//! DN must render (Go form) to text that parses back to the same DN.
#![no_main]

use imagegate_notation::dn::DistinguishedName;
use imagegate_notation::policy::{CheckKind, TrustPolicyDocument};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = TrustPolicyDocument::from_json(data) {
        for statement in doc.statements() {
            for check in CheckKind::ALL {
                let _ = statement.action(check);
            }
            let _ = statement.x509_identities_go_repr();
        }
        let _ = doc.statement_for("registry.example/repo@sha256:00");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(dn) = DistinguishedName::parse(text) {
            let again = DistinguishedName::parse(&dn.to_string());
            assert_eq!(again.as_ref(), Ok(&dn), "DN did not round-trip: {text:?}");
            assert!(dn.is_subset_of(&dn));
        }
    }
});
