//! The v2 answer for one key, from the same engine, caches and verdicts as v1's: a v1 and a
//! v2 request for one image within the verdict TTL cost one verification.

use imagegate_ratify::v2::{from_v1, V2Outcome};
use imagegate_ratify::{CauseKind, Failure, RatifyCode, SplitKey};

use crate::cache::Decision;
use crate::engine::Engine;

impl Engine {
    /// Verifies a split key and answers as Ratify v2 does.
    ///
    /// The verdict is the one v1 gets ([`Engine::decide`], same cache key). v2 names the
    /// subject by its digested reference: a digest key gives it at once; a tag key is pinned
    /// through the tag cache the verification just filled, so no registry request is added.
    pub async fn verify_v2(&self, key: SplitKey<'_>) -> V2Outcome {
        if let Err(why) = check_v2_reference(key.image) {
            return V2Outcome::Error(Failure::new(
                RatifyCode::ReferenceInvalid,
                CauseKind::ReferenceInvalid,
                why,
            ));
        }
        let decision = match self.decide(key).await {
            Ok(d) => d,
            Err(e) => return V2Outcome::Error(e),
        };
        let subject = match digested(key.image) {
            Some(s) => s,
            None => match self.mutate(key).await {
                Ok(s) => s,
                Err(e) => return V2Outcome::Error(e),
            },
        };
        v2_of(&subject, &decision)
    }

    /// The v2 answer for a digest key whose verdict is cached, without waiting for anything,
    /// as the rendered `value` (or the key's error); `None` when [`Engine::verify_v2`] must
    /// run (not cached, or a tag key). Rendered once per verdict for the digest key that
    /// asked, then copied, so the warm v2 path costs what v1's does (no reference parsing,
    /// no JSON building per request).
    pub fn verify_v2_rendered_now(&self, key: SplitKey<'_>) -> Option<Result<String, Failure>> {
        check_v2_reference(key.image).ok()?;
        let decision = match self.decide_now(key)? {
            Ok(decision) => decision,
            Err(e) => return Some(Err(e)),
        };
        if let Some(cached) = decision.verdict.v2.get() {
            let (image, rendered) = &**cached;
            if image == key.image {
                return Some(rendered.clone());
            }
        }
        let subject = digested(key.image)?;
        let rendered = match v2_of(&subject, &decision) {
            V2Outcome::Value(v) => Ok(v.render()),
            V2Outcome::Error(e) => Err(e),
        };
        // Only digest keys get here (a tag key has no `digested` form), so only they are kept.
        let _ = decision
            .verdict
            .v2
            .set(Box::new((key.image.to_owned(), rendered.clone())));
        Some(rendered)
    }
}

fn v2_of(subject: &str, decision: &Decision) -> V2Outcome {
    from_v1(subject, decision.is_success(), decision.reports())
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
