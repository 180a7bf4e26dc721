//! One engine answering v1 and v2: the same images give the same decisions through both, and
//! a v1 and a v2 request for one cold image cost one set of registry requests (counted).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point

mod common;

use std::sync::Arc;

use common::fixture::{self, E2E_SIGNATURE, E2E_SUBJECT};
use common::{config_json, counted_engine, judged_images, registry, vector_json, Calls};
use imagegate_engine::v2::V2Outcome;
use imagegate_engine::Engine;
use imagegate_ratify::SplitKey;
use imagegate_testkit::vectors_dir;

fn engine(dir: &std::path::Path, cert: &str, calls: Arc<Calls>) -> Engine {
    let v = config_json(
        vector_json("trustpolicy-strict.json"),
        &[vectors_dir().join(cert)],
        serde_json::json!({"application/vnd.cncf.notary.signature": "any"}),
    );
    let mut v = v;
    // Content caches off: a second verification would fetch the signature again, so the
    // registry counts below tell one verification from two.
    v["imagegate"] = serde_json::json!({"cache": {"manifestCacheBytes": 0, "blobCacheBytes": 0}});
    counted_engine(dir, &v, calls)
}

fn succeeded(o: &V2Outcome) -> Option<bool> {
    match o {
        V2Outcome::Value(v) => Some(v.succeeded),
        V2Outcome::Error(_) => None,
    }
}

#[tokio::test]
async fn v1_then_v2_for_a_cold_image_costs_one_verification() {
    for repo in ["v2serve/once-digest", "v2serve/once-tag"] {
        fixture::push_e2e(&registry().pusher(repo)).await;
    }
    let host = registry().host();
    let calls = Arc::new(Calls::default());
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "cert-e2e.crt", calls.clone());
    for (first_v1, image) in [
        (true, format!("{host}/v2serve/once-digest@{E2E_SUBJECT}")),
        (false, format!("{host}/v2serve/once-tag:v1")),
    ] {
        let before = calls.snapshot();
        let (verdict_hits, verdict_misses) = e.stats().verdicts;
        let (v1, v2) = if first_v1 {
            let v1 = e.verify_key(&image, "t").await.unwrap();
            (
                v1,
                e.verify_v2(SplitKey {
                    namespace: None,
                    image: &image,
                })
                .await,
            )
        } else {
            let v2 = e
                .verify_v2(SplitKey {
                    namespace: None,
                    image: &image,
                })
                .await;
            (e.verify_key(&image, "t").await.unwrap(), v2)
        };
        assert!(v1.is_success);
        assert_eq!(succeeded(&v2), Some(true), "{v2:?}");
        let after = calls.snapshot();
        let cost: Vec<usize> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        // Resolve (tags only), referrers, signature manifest, envelope: once, whatever the
        // order of the protocols.
        let expected = if first_v1 {
            vec![0, 1, 1, 1]
        } else {
            vec![1, 1, 1, 1]
        };
        assert_eq!(cost, expected, "{image}");
        // One verdict computed, then served from the cache to the other protocol.
        assert_eq!(e.stats().verdicts.1, verdict_misses + 1, "{image}");
        assert_eq!(e.stats().verdicts.0, verdict_hits + 1, "{image}");
        // And v2 names the subject by digest, the referrer by its digest.
        let V2Outcome::Value(v) = v2 else {
            unreachable!()
        };
        let report = &v.artifact_reports.unwrap()[0];
        let repo = if first_v1 { "once-digest" } else { "once-tag" };
        assert_eq!(
            report.subject,
            format!("{host}/v2serve/{repo}@{E2E_SUBJECT}")
        );
        assert_eq!(report.artifact, E2E_SIGNATURE);
    }
}

#[tokio::test]
async fn v1_and_v2_decide_the_same() {
    let host = registry().host();
    let [signed, signed_tag, mixed, unsigned] = judged_images("v2serve/").await;
    let images = [
        signed,
        signed_tag,
        mixed,
        unsigned,
        format!("{host}/v2serve/missing:nope"),
    ];
    for cert in ["cert-e2e.crt", "cert-expired_e2e.crt"] {
        let dir = tempfile::tempdir().unwrap();
        let e = engine(dir.path(), cert, Arc::new(Calls::default()));
        for image in &images {
            for ns in [None, Some("team-a")] {
                let key = match ns {
                    Some(n) => format!("[{n}]{image}"),
                    None => image.clone(),
                };
                let v1 = e.verify_key(&key, "t").await;
                let v2 = e
                    .verify_v2(SplitKey {
                        namespace: ns,
                        image,
                    })
                    .await;
                match v1 {
                    Ok(r) => assert_eq!(Some(r.is_success), succeeded(&v2), "{cert} {key}"),
                    Err(err) => {
                        let V2Outcome::Error(failure) = &v2 else {
                            panic!("{cert} {key}: v1 error {err} but v2 {v2:?}")
                        };
                        // The same failure, in v2's words.
                        assert_eq!(failure, &err);
                        let text = imagegate_engine::v2::key_error(failure);
                        assert!(
                            text.starts_with("failed to generate and aggregate"),
                            "{text}"
                        );
                    }
                }
            }
        }
        // The unsigned image: v2's null reports.
        let V2Outcome::Value(v) = e
            .verify_v2(SplitKey {
                namespace: None,
                image: &images[3],
            })
            .await
        else {
            panic!()
        };
        assert_eq!(v.render(), r#"{"succeeded":false,"artifactReports":null}"#);
    }
    // v2 does not normalise Docker Hub names.
    let e = engine(
        tempfile::tempdir().unwrap().path(),
        "cert-e2e.crt",
        Arc::new(Calls::default()),
    );
    let V2Outcome::Error(failure) = e
        .verify_v2(SplitKey {
            namespace: None,
            image: "nginx:1.25",
        })
        .await
    else {
        panic!("a value")
    };
    assert_eq!(
        imagegate_engine::v2::key_error(&failure),
        "failed to parse reference: invalid reference: missing registry or repository"
    );
}
