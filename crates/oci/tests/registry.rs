//! Tests against a real registry: Debian's `docker-registry` (distribution 2.8.2),
//! one instance for this test binary, anonymous access. Distribution 2.8 has no
//! referrers API, so discovery here always goes through the referrers tag schema.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use imagegate_oci::{
    ClientConfig, OciError, ParsedManifest, Reference, RegistryClient, SignatureShape,
    NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{desc, image_manifest, sha256, vector, Pusher, Registry};
use serde_json::json;

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::start)
}

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig::default()).unwrap()
}

fn reference(repo: &str, rest: &str) -> Reference {
    Reference::parse(&format!("{}/{repo}{rest}", registry().host())).unwrap()
}

const E2E_SUBJECT: &str = "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
const E2E_SIGNATURE: &str =
    "sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f";
const E2E_ENVELOPE: &str =
    "sha256:c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50";

/// Pushes the notation e2e fixture byte for byte: the subject manifest (and the
/// blobs it references, which distribution requires), the signature manifest,
/// its JWS envelope and the referrers tag index.
async fn push_e2e(repo: &str) -> Pusher {
    let p = registry().pusher(repo);
    // The subject's config is `{}`; its single layer is the 17-byte file e2e.txt
    // from notation's e2e OCI layout (test/e2e/testdata/registry/oci_layout).
    p.blob(OCI_EMPTY, b"{}").await;
    let layer = p
        .blob(
            "application/vnd.oci.image.layer.v1.tar",
            b"awesome notation\n",
        )
        .await;
    assert_eq!(
        layer.digest,
        "sha256:6de5fe1f75e4b1094c98086f403d5fd8117776ebe5aad1609281403d13dea070"
    );
    let subject = vector("oci-subject-manifest-b8479de3.json");
    assert_eq!(
        p.manifest(E2E_SUBJECT, OCI_MANIFEST, &subject).await.digest,
        E2E_SUBJECT
    );
    p.manifest("e2e", OCI_MANIFEST, &subject).await;
    let envelope = vector("jws-e2e-valid.json");
    assert_eq!(
        p.blob("application/jose+json", &envelope).await.digest,
        E2E_ENVELOPE
    );
    let sig = vector("oci-sigmanifest-e2e-valid.json");
    assert_eq!(
        p.manifest(E2E_SIGNATURE, OCI_MANIFEST, &sig).await.digest,
        E2E_SIGNATURE
    );
    let index = vector("oci-referrers-tag-index-e2e-valid.json");
    let tag = E2E_SUBJECT.replace(':', "-");
    p.manifest(&tag, OCI_INDEX, &index).await;
    p
}

#[tokio::test]
async fn e2e_fixture_is_discovered_exactly() {
    push_e2e("notation/e2e").await;
    let c = client();
    let tagged = reference("notation/e2e", ":e2e");
    let resolved = c.resolve(&tagged).await.unwrap();
    assert_eq!(resolved.digest, E2E_SUBJECT);
    assert_eq!(resolved.media_type, OCI_MANIFEST);
    assert_eq!(resolved.size, 517);

    let subject = tagged.with_digest(&resolved.digest);
    let found = c.referrers(&subject, Some(NOTARY_SIGNATURE)).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].digest, E2E_SIGNATURE);
    assert_eq!(found[0].size, 728);
    assert_eq!(found[0].media_type, OCI_MANIFEST);

    let manifest = c.fetch_manifest(&subject, &found[0].digest).await.unwrap();
    assert_eq!(
        manifest.bytes.as_ref(),
        vector("oci-sigmanifest-e2e-valid.json").as_slice()
    );
    let ParsedManifest::Image(image) = &manifest.parsed else {
        panic!("not an image manifest")
    };
    assert_eq!(image.signature_shape(), Some(SignatureShape::LegacyConfig));
    assert_eq!(image.subject.as_ref().unwrap().digest, E2E_SUBJECT);
    assert_eq!(image.subject.as_ref().unwrap().size, 517);
    let envelope_desc = image.signature_envelope().unwrap();
    assert_eq!(envelope_desc.digest, E2E_ENVELOPE);
    assert_eq!(envelope_desc.size, 2070);

    let envelope = c.fetch_blob(&subject, envelope_desc).await.unwrap();
    assert_eq!(envelope.as_ref(), vector("jws-e2e-valid.json").as_slice());

    // Resolving by digest checks the registry's answer against it.
    let by_digest = c
        .resolve(&reference("notation/e2e", &format!("@{E2E_SUBJECT}")))
        .await
        .unwrap();
    assert_eq!(by_digest, resolved);
    // The subject manifest itself comes back byte for byte.
    let subject_manifest = c.fetch_manifest(&subject, E2E_SUBJECT).await.unwrap();
    assert_eq!(
        subject_manifest.bytes.as_ref(),
        vector("oci-subject-manifest-b8479de3.json").as_slice()
    );
}

/// A subject with two Notary signatures (one of each shape) and an SBOM, all
/// listed in the tag-schema index; the filter keeps exactly the signatures.
#[tokio::test]
async fn several_signatures_both_shapes_and_filtering() {
    let repo = "multi/sigs";
    let p = registry().pusher(repo);
    let empty = p.blob(OCI_EMPTY, b"{}").await;
    let layer = p
        .blob("application/vnd.oci.image.layer.v1.tar", b"multi")
        .await;
    let subject_bytes = image_manifest(
        &desc("application/vnd.oci.image.config.v1+json", &empty.digest, 2),
        &[layer],
        json!({}),
    );
    let subject = p.manifest("v1", OCI_MANIFEST, &subject_bytes).await;

    let env_legacy = p.blob("application/jose+json", b"{\"legacy\":true}").await;
    let env_new = p.blob("application/cose", b"\xd2\x84cose-new").await;
    let sbom = p.blob("application/spdx+json", b"{\"spdx\":1}").await;
    let legacy_bytes = image_manifest(
        &desc(NOTARY_SIGNATURE, &empty.digest, 2),
        std::slice::from_ref(&env_legacy),
        json!({"subject": subject}),
    );
    let new_bytes = image_manifest(
        &desc(OCI_EMPTY, &empty.digest, 2),
        std::slice::from_ref(&env_new),
        json!({"subject": subject, "artifactType": NOTARY_SIGNATURE}),
    );
    let sbom_bytes = image_manifest(
        &desc(OCI_EMPTY, &empty.digest, 2),
        &[sbom],
        json!({"subject": subject, "artifactType": "application/spdx+json"}),
    );
    let legacy = p
        .manifest(&sha256(&legacy_bytes), OCI_MANIFEST, &legacy_bytes)
        .await;
    let new = p
        .manifest(&sha256(&new_bytes), OCI_MANIFEST, &new_bytes)
        .await;
    let sb = p
        .manifest(&sha256(&sbom_bytes), OCI_MANIFEST, &sbom_bytes)
        .await;
    let entry = |d: &imagegate_oci::Descriptor, at: &str| json!({"mediaType": d.media_type, "digest": d.digest, "size": d.size, "artifactType": at});
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [entry(&legacy, NOTARY_SIGNATURE), entry(&sb, "application/spdx+json"), entry(&new, NOTARY_SIGNATURE)],
    }))
    .unwrap();
    p.manifest(&subject.digest.replace(':', "-"), OCI_INDEX, &index)
        .await;

    let c = client();
    let s = reference(repo, ":v1").with_digest(&subject.digest);
    let sigs = c.referrers(&s, Some(NOTARY_SIGNATURE)).await.unwrap();
    let digests: Vec<_> = sigs.iter().map(|d| d.digest.as_str()).collect();
    assert_eq!(digests, [legacy.digest.as_str(), new.digest.as_str()]);
    assert_eq!(c.referrers(&s, None).await.unwrap().len(), 3);

    let shapes: Vec<_> = [&legacy, &new]
        .iter()
        .map(|d| {
            let c = c.clone();
            let s = s.clone();
            let digest = d.digest.clone();
            tokio::spawn(async move { c.fetch_manifest(&s, &digest).await })
        })
        .collect();
    let mut got = Vec::new();
    for h in shapes {
        let m = h.await.unwrap().unwrap();
        let ParsedManifest::Image(image) = m.parsed else {
            panic!("not an image")
        };
        let env = image.signature_envelope().unwrap().clone();
        let bytes = c.fetch_blob(&s, &env).await.unwrap();
        got.push((
            image.signature_shape().unwrap(),
            env.media_type,
            bytes.len(),
        ));
    }
    assert_eq!(
        got,
        [
            (
                SignatureShape::LegacyConfig,
                "application/jose+json".to_owned(),
                15
            ),
            (
                SignatureShape::ArtifactType,
                "application/cose".to_owned(),
                10
            )
        ]
    );
    // The SBOM is a referrer but not a signature.
    let m = c.fetch_manifest(&s, &sb.digest).await.unwrap();
    let ParsedManifest::Image(image) = m.parsed else {
        panic!("not an image")
    };
    assert_eq!(image.signature_shape(), None);
    assert!(image.signature_envelope().is_err());
}

#[tokio::test]
async fn multi_arch_index_exposes_platform_manifests() {
    let repo = "multi/arch";
    let p = registry().pusher(repo);
    let cfg = p
        .blob(
            "application/vnd.oci.image.config.v1+json",
            b"{\"architecture\":\"any\"}",
        )
        .await;
    let mut entries = Vec::new();
    for arch in ["amd64", "arm64"] {
        let layer = p
            .blob("application/vnd.oci.image.layer.v1.tar", arch.as_bytes())
            .await;
        let bytes = image_manifest(&cfg, &[layer], json!({}));
        let d = p.manifest(&sha256(&bytes), OCI_MANIFEST, &bytes).await;
        entries.push(
            json!({"mediaType": d.media_type, "digest": d.digest, "size": d.size,
                            "platform": {"architecture": arch, "os": "linux"}}),
        );
    }
    let index = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    )
    .unwrap();
    let idx = p.manifest("latest", OCI_INDEX, &index).await;

    let c = client();
    let r = reference(repo, "");
    assert_eq!(r.tag.as_deref(), Some("latest"));
    let resolved = c.resolve(&r).await.unwrap();
    assert_eq!(
        (resolved.digest.as_str(), resolved.media_type.as_str()),
        (idx.digest.as_str(), OCI_INDEX)
    );
    let m = c.fetch_manifest(&r, &resolved.digest).await.unwrap();
    let ParsedManifest::Index(index) = &m.parsed else {
        panic!("not an index")
    };
    let platforms: Vec<_> = index
        .platform_manifests()
        .map(|(p, d)| (p.architecture.clone(), d.clone()))
        .collect();
    assert_eq!(platforms.len(), 2);
    assert_eq!(platforms[0].0, "amd64");
    assert_eq!(platforms[1].0, "arm64");
    for (_, d) in &platforms {
        let pm = c.fetch_manifest(&r, &d.digest).await.unwrap();
        assert!(matches!(pm.parsed, ParsedManifest::Image(_)));
        assert_eq!(pm.descriptor().size, d.size);
    }
}

#[tokio::test]
async fn missing_subject_manifest_and_blob() {
    push_e2e("notation/missing").await;
    let c = client();
    let err = c
        .resolve(&reference("notation/missing", ":nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("resolve"), "{err}");
    let err = c
        .resolve(&reference("no/such-repo", ":v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");

    // An unsigned (or unknown) subject: no tag-schema index means no referrers.
    let unknown = format!("sha256:{}", "0".repeat(64));
    let none = c
        .referrers(
            &reference("notation/missing", &format!("@{unknown}")),
            Some(NOTARY_SIGNATURE),
        )
        .await
        .unwrap();
    assert!(none.is_empty());

    let err = c
        .fetch_manifest(&reference("notation/missing", ""), &unknown)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
    let missing_blob = desc("application/jose+json", &unknown, 10);
    let err = c
        .fetch_blob(&reference("notation/missing", ""), &missing_blob)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("BLOB_UNKNOWN"), "{err}");

    // Referrers need a digest.
    let err = c
        .referrers(&reference("notation/missing", ":e2e"), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::DigestRequired { .. }), "{err}");
}

#[tokio::test]
async fn caps_and_digest_checks_against_the_registry() {
    push_e2e("notation/caps").await;
    let subject = reference("notation/caps", &format!("@{E2E_SUBJECT}"));
    let small = RegistryClient::new(ClientConfig {
        max_manifest_bytes: 500,
        max_blob_bytes: 2000,
        ..Default::default()
    })
    .unwrap();
    // 517-byte subject manifest vs a 500-byte cap: refused from Content-Length.
    let err = small
        .fetch_manifest(&subject, E2E_SUBJECT)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OciError::TooLarge {
                limit: 500,
                actual: Some(517),
                ..
            }
        ),
        "{err}"
    );
    let err = small.resolve(&subject).await.unwrap_err();
    assert!(matches!(err, OciError::TooLarge { .. }), "{err}");
    // 2070-byte envelope vs a 2000-byte cap: refused before any request.
    let env = desc("application/jose+json", E2E_ENVELOPE, 2070);
    let err = small.fetch_blob(&subject, &env).await.unwrap_err();
    assert!(
        matches!(
            err,
            OciError::TooLarge {
                limit: 2000,
                actual: Some(2070),
                ..
            }
        ),
        "{err}"
    );

    // A descriptor that lies about the size is caught.
    let c = client();
    let lying = desc("application/jose+json", E2E_ENVELOPE, 100);
    let err = c.fetch_blob(&subject, &lying).await.unwrap_err();
    assert!(
        matches!(err, OciError::SizeMismatch { expected: 100, .. }),
        "{err}"
    );
    // With both a tag and a digest, the digest wins (as in Docker): the tag `e2e`
    // points at the subject, but the signature manifest is what resolves.
    let both = reference("notation/caps", &format!(":e2e@{E2E_SIGNATURE}"));
    assert_eq!(c.resolve(&both).await.unwrap().digest, E2E_SIGNATURE);
}

/// Issue 11 item 6 and issue 10 (request counting): 40 cold digest keys of one repository in
/// one burst cost three requests each (referrers tag schema, signature manifest, envelope)
/// plus one referrers-API probe for the whole burst, counted by the request observer
/// (registry host and status of every HTTP request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_burst_costs_three_requests_per_key() {
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use imagegate_oci::RequestOutcome;

    let repo = "burst/app";
    let pusher = registry().pusher(repo);
    let mut subjects = Vec::new();
    for i in 0..40 {
        let subject = pusher.image(&format!("v{i}")).await;
        let at = pusher.reference(&subject.digest);
        pusher
            .client()
            .push_signature(
                &at,
                &subject,
                "application/jose+json",
                bytes::Bytes::from(format!("{{\"envelope\":{i}}}")),
                BTreeMap::new(),
                SignatureShape::ArtifactType,
            )
            .await
            .unwrap();
        subjects.push(at);
    }

    let seen: Arc<Mutex<Vec<(String, RequestOutcome)>>> = Arc::default();
    let log = seen.clone();
    let c = RegistryClient::new(ClientConfig {
        request_observer: Some(Arc::new(move |host: &str, outcome| {
            log.lock().unwrap().push((host.to_owned(), outcome));
        })),
        ..ClientConfig::default()
    })
    .unwrap();
    let mut burst = tokio::task::JoinSet::new();
    for subject in subjects {
        let c = c.clone();
        burst.spawn(async move {
            let sigs = c.referrers(&subject, Some(NOTARY_SIGNATURE)).await.unwrap();
            assert_eq!(sigs.len(), 1);
            let m = c.fetch_manifest(&subject, &sigs[0].digest).await.unwrap();
            let ParsedManifest::Image(image) = &m.parsed else {
                panic!("not an image manifest");
            };
            c.fetch_blob(&subject, image.signature_envelope().unwrap())
                .await
                .unwrap();
        });
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap();
    }
    let seen = seen.lock().unwrap().clone();
    let host = registry().host();
    assert!(seen.iter().all(|(h, _)| *h == host), "{seen:?}");
    let count = |o| seen.iter().filter(|(_, x)| *x == o).count();
    // One probe of the referrers API (distribution 2.8 answers 404), then 3 per key.
    assert_eq!(count(RequestOutcome::Status(404)), 1, "{seen:?}");
    assert_eq!(count(RequestOutcome::Status(200)), 120, "{seen:?}");
    assert_eq!(seen.len(), 121);
}

/// A request that gets no HTTP answer is reported as a transport failure, once per attempt.
#[tokio::test]
async fn observer_reports_transport_failures() {
    use std::sync::{Arc, Mutex};

    use imagegate_oci::{RequestOutcome, RetryPolicy};

    let port = imagegate_testkit::free_port();
    let seen: Arc<Mutex<Vec<(String, RequestOutcome)>>> = Arc::default();
    let log = seen.clone();
    let c = RegistryClient::new(ClientConfig {
        request_observer: Some(Arc::new(move |host: &str, outcome| {
            log.lock().unwrap().push((host.to_owned(), outcome));
        })),
        retry: RetryPolicy {
            max_attempts: 2,
            initial_backoff: std::time::Duration::from_millis(10),
            ..RetryPolicy::default()
        },
        ..ClientConfig::default()
    })
    .unwrap();
    let r = Reference::parse(&format!("127.0.0.1:{port}/gone/app:v1")).unwrap();
    assert!(c.resolve(&r).await.is_err());
    let seen = seen.lock().unwrap().clone();
    let expected = (
        format!("127.0.0.1:{port}"),
        RequestOutcome::TransportFailure,
    );
    assert_eq!(seen, vec![expected.clone(), expected]);
    assert_eq!(RequestOutcome::TransportFailure.status_label(), "0");
    assert_eq!(RequestOutcome::Status(404).status_label(), "404");
}
