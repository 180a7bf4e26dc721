//! Fuzz image-reference parsing (`imagegate_oci::Reference::parse`): it must never panic, a
//! parsed reference must print to text that parses back to the same reference (normalisation
//! is idempotent), and its digest, when present, must be one `Digest::parse` accepts.
#![no_main]

use imagegate_oci::{Digest, Reference};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(reference) = Reference::parse(text) else {
        return;
    };
    assert!(!reference.registry.is_empty(), "empty registry: {text:?}");
    assert!(
        !reference.repository.is_empty(),
        "empty repository: {text:?}"
    );
    assert!(
        reference.tag.is_some() || reference.digest.is_some(),
        "neither tag nor digest: {text:?}"
    );
    let printed = reference.to_string();
    let again = Reference::parse(&printed);
    assert_eq!(
        again.as_ref().ok(),
        Some(&reference),
        "{text:?} printed as {printed:?}, which parses to {again:?}"
    );
    let _ = reference.api_host();
    if let Some(digest) = &reference.digest {
        let parsed = Digest::parse(digest);
        assert_eq!(
            parsed.as_ref().map(ToString::to_string).ok().as_deref(),
            Some(digest.as_str()),
            "digest {digest:?} of {text:?}"
        );
        assert_eq!(reference.manifest_reference(), digest);
        if let Ok(parsed) = parsed {
            let _ = parsed.referrers_tag();
        }
    }
});
