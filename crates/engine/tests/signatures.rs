//! The signatures of one subject are fetched and verified with bounded concurrency, and no
//! more of them once the config policy's decision cannot change (issue 16 item 1, engine
//! side). Counted at the registry seam against Debian's docker-registry with a subject that
//! has many real signatures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use common::registry;
use common::Calls;
use imagegate_engine::Engine;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::sign::SignOptions;
use imagegate_oci::{SignatureShape, JWS_ENVELOPE};
use imagegate_testkit::sign::{sign_subject, SignImageOptions, SIGNING_TIME};
use imagegate_testkit::Pki;

/// Signatures listed for each subject.
const SIGNATURES: usize = 12;
/// `imagegate.concurrency.maxSignaturesInFlight` in these tests.
const IN_FLIGHT: usize = 3;

/// A subject in `repo` with [`SIGNATURES`] valid signatures by `pki` (distinct envelopes:
/// distinct signing times), after `bad_first` corrupt envelopes. Returns the pinned key.
async fn subject_with_signatures(repo: &str, pki: &Pki, bad_first: usize) -> String {
    let pusher = registry().pusher(repo);
    let subject = pusher.image("v1").await;
    let reference = pusher.reference("v1").with_digest(&subject.digest);
    for i in 0..bad_first {
        let garbage = format!("not an envelope {i}");
        pusher
            .client()
            .push_signature(
                &reference,
                &subject,
                JWS_ENVELOPE,
                Bytes::from(garbage),
                std::collections::BTreeMap::new(),
                SignatureShape::ArtifactType,
            )
            .await
            .unwrap();
    }
    for i in 0..SIGNATURES {
        let mut opts = SignImageOptions::new(EnvelopeFormat::Jws);
        let minutes = i64::try_from(i).unwrap() + 1;
        opts.sign = SignOptions::x509(SIGNING_TIME - time::Duration::minutes(minutes));
        sign_subject(&pusher, reference.clone(), &subject, pki, &opts).await;
    }
    format!("{}/{repo}@{}", registry().host(), subject.digest)
}

/// An engine trusting `pki` under the config policy `policies`, verifying `in_flight`
/// signatures of a subject at a time, its registry calls counted in `seen`.
fn engine(
    dir: &std::path::Path,
    pki: &Pki,
    policies: serde_json::Value,
    in_flight: usize,
    seen: &Arc<Calls>,
) -> Engine {
    let root = dir.join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let mut config = common::config_json(
        serde_json::json!({"version": "1.0", "trustPolicies": [{
            "name": "all", "registryScopes": ["*"],
            "signatureVerification": {"level": "strict"},
            "trustStores": ["ca:certs"], "trustedIdentities": ["*"]}]}),
        &[root],
        policies,
    );
    config["imagegate"] = serde_json::json!({
        "concurrency": {"maxSignaturesInFlight": in_flight}
    });
    common::counted_engine(dir, &config, seen.clone())
}

#[tokio::test]
async fn any_stops_at_the_first_success() {
    let pki = Pki::generate();
    let key = subject_with_signatures("sigs/any", &pki, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Calls::default());
    let policy = serde_json::json!({"default": "any"});
    let engine = engine(dir.path(), &pki, policy, IN_FLIGHT, &seen);
    let r = engine.verify_key(&key, "t").await.unwrap();
    assert!(r.is_success, "{r:#?}");
    // At most the first wave started; the first success settled the rest.
    let (manifests, blobs) = (
        seen.manifests.load(Ordering::SeqCst),
        seen.blobs.load(Ordering::SeqCst),
    );
    assert!(
        manifests <= IN_FLIGHT,
        "{manifests} signature manifests fetched"
    );
    assert!(blobs <= IN_FLIGHT, "{blobs} envelopes fetched");
    assert!((1..=IN_FLIGHT).contains(&r.verifier_reports.len()));
    assert!(r.verifier_reports.iter().any(|x| x.is_success));
}

#[tokio::test]
async fn all_verifies_every_signature_a_few_at_a_time() {
    let pki = Pki::generate();
    let key = subject_with_signatures("sigs/all", &pki, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Calls::default());
    let policy = serde_json::json!({"default": "all"});
    let engine = engine(dir.path(), &pki, policy, IN_FLIGHT, &seen);
    let r = engine.verify_key(&key, "t").await.unwrap();
    assert!(r.is_success, "{r:#?}");
    assert_eq!(r.verifier_reports.len(), SIGNATURES);
    assert!(r.verifier_reports.iter().all(|x| x.is_success));
    assert_eq!(seen.manifests.load(Ordering::SeqCst), SIGNATURES);
    assert_eq!(seen.blobs.load(Ordering::SeqCst), SIGNATURES);
    // Never more than IN_FLIGHT signatures' fetches at once (one fetch per signature at a
    // time: its manifest, then its envelope).
    let max = seen.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=IN_FLIGHT).contains(&max), "{max} fetches at once");
}

#[tokio::test]
async fn all_stops_at_the_first_failure() {
    let pki = Pki::generate();
    let key = subject_with_signatures("sigs/bad", &pki, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let seen = Arc::new(Calls::default());
    // One at a time, so the order is the listing's: the corrupt envelope is listed first,
    // and once it failed no further signature is fetched.
    let policy = serde_json::json!({"default": "all"});
    let engine = engine(dir.path(), &pki, policy, 1, &seen);
    let r = engine.verify_key(&key, "t").await.unwrap();
    assert!(!r.is_success, "{r:#?}");
    assert_eq!(seen.manifests.load(Ordering::SeqCst), 1);
    assert_eq!(seen.blobs.load(Ordering::SeqCst), 1);
    assert_eq!(r.verifier_reports.len(), 1, "{r:#?}");
    assert!(!r.verifier_reports[0].is_success);
}
