//! The v2 answer for one key, from the same engine, caches and verdicts as v1's: a v1 and a
//! v2 request for one image within the verdict TTL cost one verification.

use crate::engine::Engine;

use super::from_v1::{from_v1, key_error, V2Outcome};

impl Engine {
    /// Verifies `image` for a request from `namespace` and answers as Ratify v2 does.
    ///
    /// The verdict is the one v1 gets ([`Engine::verify_parts`], same cache key). v2 names
    /// the subject by its digested reference: a digest key gives it at once; a tag key is
    /// pinned through the tag cache the verification just filled, so no registry request is
    /// added.
    pub async fn verify_v2(&self, namespace: Option<&str>, image: &str) -> V2Outcome {
        if let Err(why) = check_v2_reference(image) {
            return V2Outcome::Error(format!("failed to parse reference: {why}"));
        }
        let result = match self.verify_parts(namespace, image, "").await {
            Ok(r) => r,
            Err(e) => return V2Outcome::Error(key_error(&e)),
        };
        let subject = match digested(image) {
            Some(s) => s,
            None => match self.mutate_parts(namespace, image).await {
                Ok(s) => s,
                Err(e) => return V2Outcome::Error(key_error(&e)),
            },
        };
        from_v1(&subject, result.is_success, &result.verifier_reports)
    }
}

/// `registry/repository@digest` for a key that carries a digest.
fn digested(image: &str) -> Option<String> {
    let r = imagegate_oci::Reference::parse(image).ok()?;
    let digest = r.digest.as_ref()?;
    Some(format!("{}/{}@{digest}", r.registry, r.repository))
}

/// v2 parses keys with oras, without Docker's normalisation: a key must name its registry
/// (`nginx:1.25` is refused, as v2 refuses it).
pub fn check_v2_reference(image: &str) -> Result<(), &'static str> {
    match image.split_once('/') {
        Some((registry, rest)) if !registry.is_empty() && !rest.is_empty() => Ok(()),
        _ => Err("invalid reference: missing registry or repository"),
    }
}
