//! Fuzz OCI manifest / index parsing (`imagegate_oci::parse_manifest`) under every response
//! `Content-Type` we accept (and none): it must never panic, a parsed document must serialise
//! to JSON that parses back to the same value, and the signature-manifest and digest helpers
//! must cope with whatever it contains.
#![no_main]

use imagegate_oci::{parse_manifest, Descriptor, Digest, ParsedManifest, MANIFEST_MEDIA_TYPES};
use libfuzzer_sys::fuzz_target;

/// Exercises the digest parser on a descriptor; an accepted digest prints back unchanged.
fn check_descriptor(descriptor: &Descriptor) {
    if let Ok(digest) = Digest::parse(&descriptor.digest) {
        assert_eq!(digest.to_string(), descriptor.digest);
    }
}

fuzz_target!(|data: &[u8]| {
    let headers = std::iter::once(None).chain(MANIFEST_MEDIA_TYPES.iter().copied().map(Some));
    for header in headers {
        let Ok((media_type, parsed)) = parse_manifest(data, header) else {
            continue;
        };
        let json = match &parsed {
            ParsedManifest::Image(manifest) => {
                if let Ok(envelope) = manifest.signature_envelope() {
                    assert!(manifest.signature_shape().is_some());
                    check_descriptor(envelope);
                }
                manifest.layers.iter().for_each(check_descriptor);
                check_descriptor(&manifest.config);
                serde_json::to_vec(manifest)
            }
            ParsedManifest::Index(index) => {
                assert!(index.platform_manifests().count() <= index.manifests.len());
                index.manifests.iter().for_each(check_descriptor);
                serde_json::to_vec(index)
            }
        };
        let Ok(json) = json else {
            panic!("a parsed manifest did not serialise: {json:?}");
        };
        let again = parse_manifest(&json, Some(&media_type));
        assert_eq!(
            again.as_ref().ok(),
            Some(&(media_type.clone(), parsed)),
            "round trip through {}",
            String::from_utf8_lossy(&json)
        );
    }
});
