//! What a failed report says, against the real registry and the real notation verifier:
//! cause-first `message`s (the default) and Ratify's (`imagegate.messages: "ratify"`), with
//! the same decisions and `errorReason`s; and a digest that is not in the registry answered
//! "image not found" rather than "unsigned", for one registry request more on that failure
//! path only (counted as HTTP requests through the metrics seam).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::sync::{Arc, Mutex};

use common::{config_json, counting, options, write_config, Calls};
use imagegate_engine::clock::FixedClock;
use imagegate_engine::metrics::{MetricsSink, VerifierRun};
use imagegate_engine::{Engine, EngineOptions};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::revocation::{FixedRevocationChecker, RevocationStatus};
use imagegate_ratify::{CauseKind, VerifyResult, MAX_MESSAGE_CHARS};
use imagegate_testkit::{sign_subject, Pki, PkiOptions, Pusher, Registry, SignImageOptions};

/// Go form of the rogue PKI's leaf subject.
const ROGUE: &str = "CN=rogue signer,O=imagegate,L=Seattle,ST=WA,C=US";
/// A digest no image in the test registry has.
const MISSING: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

/// Records the status of every HTTP request the registry client sends.
#[derive(Default)]
struct HttpLog(Mutex<Vec<u16>>);

impl HttpLog {
    /// The statuses recorded since the last call.
    fn take(&self) -> Vec<u16> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl MetricsSink for HttpLog {
    fn cache_lookup(&self, _cache: &'static str, _hit: bool) {}
    fn verifier_run(&self, _run: VerifierRun<'_>) {}
    fn registry_request(&self, _host: &str, status_code: u16, _namespace: &str) {
        self.0.lock().unwrap().push(status_code);
    }
}

/// Pushes image `tag` to `p` and signs it with `pki`; returns its digest key.
async fn signed(registry: &Registry, p: &Pusher, repo: &str, tag: &str, pki: &Pki) -> String {
    let subject = p.image(tag).await;
    let reference = p.reference(tag).with_digest(&subject.digest);
    let opts = SignImageOptions::new(EnvelopeFormat::Jws);
    sign_subject(p, reference, &subject, pki, &opts).await;
    format!("{}/{repo}@{}", registry.host(), subject.digest)
}

/// Pushes image `tag` without any signature; returns its digest key.
async fn unsigned(registry: &Registry, p: &Pusher, repo: &str, tag: &str) -> String {
    let subject = p.image(tag).await;
    format!("{}/{repo}@{}", registry.host(), subject.digest)
}

/// An engine trusting `pki` (trust store `ca:s`), with `imagegate` settings `settings`.
fn engine(
    dir: &tempfile::TempDir,
    pki: &Pki,
    settings: serde_json::Value,
    opts: EngineOptions,
) -> Engine {
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let policy: serde_json::Value = serde_json::from_str(&pki.trust_policy_json("s")).unwrap();
    let mut config = config_json(policy, &[root], serde_json::json!({"default": "all"}));
    config["imagegate"] = settings;
    Engine::from_config_file(&write_config(dir.path(), &config), opts).unwrap()
}

struct Keys {
    signed: String,
    unsigned: String,
    untrusted: String,
    missing: String,
}

async fn populate(registry: &Registry, pki: &Pki) -> Keys {
    let rogue = Pki::new(&PkiOptions {
        common_name: "rogue signer".to_owned(),
        ..PkiOptions::default()
    });
    let repo = "msg/app";
    let p = registry.pusher(repo);
    Keys {
        signed: signed(registry, &p, repo, "signed", pki).await,
        unsigned: unsigned(registry, &p, repo, "unsigned").await,
        untrusted: signed(registry, &p, repo, "untrusted", &rogue).await,
        missing: format!("{}/{repo}@{MISSING}", registry.host()),
    }
}

async fn verify(engine: &Engine, key: &str) -> VerifyResult {
    engine.verify_key(key, "t").await.unwrap()
}

/// The one report of a failed result.
fn only(result: &VerifyResult) -> &imagegate_ratify::VerifierReport {
    assert!(!result.is_success, "{result:#?}");
    assert_eq!(result.verifier_reports.len(), 1, "{result:#?}");
    &result.verifier_reports[0]
}

#[tokio::test]
async fn cause_first_messages_name_the_cause_and_ratify_wording_stays_available() {
    let registry = Registry::start();
    let pki = Pki::generate();
    let keys = populate(&registry, &pki).await;
    let dir = tempfile::tempdir().unwrap();
    let cause_first = engine(&dir, &pki, serde_json::json!({}), options());
    let dir_r = tempfile::tempdir().unwrap();
    let ratify = engine(
        &dir_r,
        &pki,
        serde_json::json!({"messages": "ratify"}),
        options(),
    );

    assert!(verify(&cause_first, &keys.signed).await.is_success);
    assert!(verify(&ratify, &keys.signed).await.is_success);

    let unsigned_reason = format!(
        "No verification results for the artifact {}. Ensure verifiers are properly \
         configured and that artifact metadata is attached",
        keys.unsigned
    );
    let cases = [
        (
            &keys.unsigned,
            format!(
                "unsigned: no referrers found: no signature for {}",
                keys.unsigned
            ),
            format!("failed to verify artifact: {}", keys.unsigned),
        ),
        (
            &keys.untrusted,
            format!("untrusted signer: {ROGUE} is not in trust store ca:s"),
            String::new(),
        ),
        (
            &keys.missing,
            format!(
                "image not found: {} does not exist in the registry",
                keys.missing
            ),
            format!("failed to verify artifact: {}", keys.missing),
        ),
    ];
    for (key, want_cause_first, want_ratify) in cases {
        let new = verify(&cause_first, key).await;
        let old = verify(&ratify, key).await;
        let (new, old) = (only(&new), only(&old));
        assert_eq!(new.message, want_cause_first, "{key}");
        assert!(new.message.chars().count() <= MAX_MESSAGE_CHARS, "{key}");
        if want_ratify.is_empty() {
            // A notation report: Ratify's message shows the signature's descriptor.
            assert!(
                old.message
                    .starts_with("Failed to validate the Notation signature: {MediaType:"),
                "{old:?}"
            );
            assert_eq!(old.verifier_name, "verifier-notation");
        } else {
            assert_eq!(old.message, want_ratify, "{key}");
        }
        // Only `message` differs between the wordings.
        assert_eq!(new.error_reason, old.error_reason, "{key}");
        assert_eq!(new.verifier_name, old.verifier_name, "{key}");
        assert_eq!(new.reference_digest, old.reference_digest, "{key}");
        assert_eq!(new.cause, old.cause, "{key}");
    }
    let unsigned = verify(&cause_first, &keys.unsigned).await;
    assert_eq!(only(&unsigned).error_reason, unsigned_reason);
    let untrusted = verify(&cause_first, &keys.untrusted).await;
    assert_eq!(
        only(&untrusted).error_reason,
        "the signature's certificate chain does not contain any trusted certificate"
    );
    let missing = verify(&cause_first, &keys.missing).await;
    let reason = &only(&missing).error_reason;
    assert!(
        reason.starts_with(&format!(
            "GET_SUBJECT_DESCRIPTOR_FAILURE: cannot resolve {}: not found",
            keys.missing
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn expired_and_revoked_signers_are_named_first() {
    let registry = Registry::start();
    let pki = Pki::generate();
    let keys = populate(&registry, &pki).await;

    // Verified after the certificates' notAfter (2099-12-31).
    let dir = tempfile::tempdir().unwrap();
    let late = EngineOptions {
        clock: Arc::new(FixedClock(time::macros::datetime!(2100-06-01 00:00 UTC))),
        ..options()
    };
    let expired = engine(&dir, &pki, serde_json::json!({}), late);
    let result = verify(&expired, &keys.signed).await;
    let report = only(&result);
    assert!(report.message.starts_with("expired: "), "{report:?}");
    assert!(report.message.contains("validity period"), "{report:?}");

    let dir = tempfile::tempdir().unwrap();
    let revoking = EngineOptions {
        revocation: Some(Arc::new(FixedRevocationChecker::new(
            RevocationStatus::Revoked,
        ))),
        ..options()
    };
    let revoked = engine(&dir, &pki, serde_json::json!({}), revoking);
    let result = verify(&revoked, &keys.signed).await;
    let report = only(&result);
    assert!(report.message.starts_with("revoked: "), "{report:?}");
    assert!(report.message.contains("is revoked"), "{report:?}");
}

#[tokio::test]
async fn a_missing_digest_costs_one_request_more_than_unsigned_and_success_stays_at_three() {
    let registry = Registry::start();
    let pki = Pki::generate();
    let keys = populate(&registry, &pki).await;
    let second_signed = {
        let p = registry.pusher("msg/app");
        signed(&registry, &p, "msg/app", "second", &pki).await
    };
    let dir = tempfile::tempdir().unwrap();
    let http = Arc::new(HttpLog::default());
    let calls = Arc::new(Calls::default());
    let opts = EngineOptions {
        metrics: Some(http.clone()),
        registry_wrapper: Some(counting(calls.clone())),
        ..options()
    };
    let engine = engine(&dir, &pki, serde_json::json!({}), opts);

    // The first key of the repository learns that the registry has no referrers API.
    assert!(verify(&engine, &keys.signed).await.is_success);
    let first = http.take();
    assert!(first.len() >= 3, "{first:?}");
    let after = |calls: &Calls, before: [usize; 4]| {
        let now = calls.snapshot();
        [0, 1, 2, 3].map(|i| now[i] - before[i])
    };

    // A cold signed digest key: referrers (tag schema), signature manifest, envelope.
    let before = calls.snapshot();
    assert!(verify(&engine, &second_signed).await.is_success);
    assert_eq!(http.take(), vec![200, 200, 200]);
    assert_eq!(after(&calls, before), [0, 1, 1, 1], "no manifest check");

    // Unsigned: the referrers tag is missing, then the manifest is found.
    let before = calls.snapshot();
    let result = verify(&engine, &keys.unsigned).await;
    assert!(only(&result).message.starts_with("unsigned: "));
    assert_eq!(http.take(), vec![404, 200]);
    assert_eq!(after(&calls, before), [1, 1, 0, 0]);

    // Missing: the referrers tag is missing, and so is the manifest.
    let before = calls.snapshot();
    let result = verify(&engine, &keys.missing).await;
    assert!(only(&result).message.starts_with("image not found: "));
    assert_eq!(http.take(), vec![404, 404]);
    assert_eq!(after(&calls, before), [1, 1, 0, 0]);

    // A repository that does not exist is "image not found" too, whichever request says so.
    let nowhere = format!("{}/msg/nowhere@{MISSING}", registry.host());
    let result = verify(&engine, &nowhere).await;
    let report = only(&result);
    assert_eq!(
        report.message,
        format!("image not found: {nowhere} does not exist in the registry")
    );
    assert_eq!(report.cause.map(|c| c.kind), Some(CauseKind::NotFound));
    http.take();

    // A tag key's subject was resolved to begin with: no extra request when it is unsigned.
    let tag_key = {
        let p = registry.pusher("msg/app");
        unsigned(&registry, &p, "msg/app", "unsigned-tag").await;
        format!("{}/msg/app:unsigned-tag", registry.host())
    };
    let before = calls.snapshot();
    let result = verify(&engine, &tag_key).await;
    assert!(only(&result).message.starts_with("unsigned: "));
    assert_eq!(
        after(&calls, before),
        [1, 1, 0, 0],
        "the one resolve is the tag's"
    );
    assert_eq!(http.take(), vec![200, 404], "tag HEAD, referrers tag");
}

#[tokio::test]
async fn refused_credentials_carry_the_phrase_azure_turns_into_a_permission_hint() {
    // The store has no credentials for a registry that requires them.
    let registry = Registry::start_htpasswd("user", "secret");
    let pki = Pki::generate();
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir, &pki, serde_json::json!({}), options());
    let key = format!("{}/msg/private@{MISSING}", registry.host());
    let result = verify(&engine, &key).await;
    let report = only(&result);
    assert_eq!(report.cause.map(|c| c.kind), Some(CauseKind::RegistryAuth));
    assert_eq!(
        report.message,
        format!(
            "registry auth failed: resolving descriptor or listing referrers was refused by \
             {}; check the store's credentials",
            registry.host()
        )
    );
    assert!(
        report.error_reason.starts_with("LIST_REFERRERS_FAILURE: "),
        "{report:?}"
    );
}
