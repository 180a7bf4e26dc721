//! The push API: blobs, manifests, Notary signature manifests and the referrers tag
//! index, against the real registry (distribution 2.8: no referrers API, so the tag
//! schema is maintained) with anonymous, htpasswd and token auth; and against
//! scripted servers for a registry with the referrers API and for upload protocol
//! violations.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use imagegate_oci::{
    ClientConfig, Descriptor, OciError, ParsedManifest, Reference, ReferrerIndexing,
    RegistryClient, SignatureShape, COSE_ENVELOPE, JWS_ENVELOPE, NOTARY_SIGNATURE, OCI_EMPTY,
    OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{sha256, MockServer, Registry, Reply, Request};

const USER: &str = "pusher";
const PASSWORD: &str = "push it real good";

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(Registry::start)
}

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig::default()).unwrap()
}

fn annotations(n: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "io.cncf.notary.x509chain.thumbprint#S256".to_owned(),
            format!("[\"{n}\"]"),
        ),
        (
            "org.opencontainers.image.created".to_owned(),
            "2025-01-01T00:00:00Z".to_owned(),
        ),
    ])
}

/// Pushes a small image with the push API; returns its pinned reference and descriptor.
async fn image(c: &RegistryClient, host: &str, repo: &str, tag: &str) -> (Reference, Descriptor) {
    let r = Reference::parse(&format!("{host}/{repo}:{tag}")).unwrap();
    let config = c
        .push_blob(&r, OCI_EMPTY, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let layer = c
        .push_blob(
            &r,
            "application/vnd.oci.image.layer.v1.tar",
            Bytes::from(format!("{repo}:{tag}")),
        )
        .await
        .unwrap();
    let manifest = imagegate_testkit::image_manifest(
        &imagegate_testkit::desc(
            "application/vnd.oci.image.config.v1+json",
            &config.digest,
            2,
        ),
        &[layer],
        serde_json::json!({}),
    );
    let pushed = c
        .push_manifest(&r, OCI_MANIFEST, Bytes::from(manifest))
        .await
        .unwrap();
    (r.with_digest(&pushed.digest), pushed)
}

#[tokio::test]
async fn blobs_and_manifests_round_trip() {
    let c = client();
    let r = registry().reference("push/basic:v1");
    let blob = c
        .push_blob(&r, "application/octet-stream", Bytes::from_static(b"hello"))
        .await
        .unwrap();
    assert_eq!(blob.digest, sha256(b"hello"));
    assert_eq!(blob.size, 5);
    // A second push finds the blob (HEAD) and succeeds without uploading.
    assert_eq!(
        c.push_blob(&r, "application/octet-stream", Bytes::from_static(b"hello"))
            .await
            .unwrap(),
        blob
    );
    assert_eq!(c.fetch_blob(&r, &blob).await.unwrap().as_ref(), b"hello");

    let (pinned, manifest) = image(&c, &registry().host(), "push/basic", "v1").await;
    let resolved = c.resolve(&r).await.unwrap();
    assert_eq!(resolved.descriptor(), manifest);
    let fetched = c.fetch_manifest(&pinned, &manifest.digest).await.unwrap();
    assert_eq!(fetched.bytes.len() as u64, manifest.size);

    // By digest: the bytes must hash to it, checked before anything is sent.
    let by_digest = pinned.with_digest(&manifest.digest);
    let again = c
        .push_manifest(&by_digest, OCI_MANIFEST, fetched.bytes.clone())
        .await
        .unwrap();
    assert_eq!(again, manifest);
    let wrong = pinned.with_digest(&sha256(b"something else"));
    let err = c
        .push_manifest(&wrong, OCI_MANIFEST, fetched.bytes.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");

    let small = RegistryClient::new(ClientConfig {
        max_manifest_bytes: 16,
        ..Default::default()
    })
    .unwrap();
    let err = small
        .push_manifest(&r, OCI_MANIFEST, fetched.bytes)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn signatures_maintain_the_referrers_tag_index() {
    let c = client();
    let (subject, subject_desc) = image(&c, &registry().host(), "push/signed", "v1").await;
    let digest = subject_desc.digest.clone();
    let tag = digest.replace(':', "-");

    let first = c
        .push_signature(
            &subject,
            &subject_desc,
            JWS_ENVELOPE,
            Bytes::from_static(b"{\"jws\":1}"),
            annotations("aa"),
            SignatureShape::ArtifactType,
        )
        .await
        .unwrap();
    let ReferrerIndexing::TagSchema {
        tag: t,
        added: true,
        index_digest: first_index,
    } = &first.indexing
    else {
        panic!(
            "distribution 2.8 has no referrers API: {:?}",
            first.indexing
        )
    };
    assert_eq!(t, &tag);
    assert_eq!(
        first.manifest.artifact_type.as_deref(),
        Some(NOTARY_SIGNATURE)
    );
    assert_eq!(first.manifest.annotations, Some(annotations("aa")));

    let second = c
        .push_signature(
            &subject,
            &subject_desc,
            COSE_ENVELOPE,
            Bytes::from_static(b"\xd2\x84cose"),
            annotations("bb"),
            SignatureShape::LegacyConfig,
        )
        .await
        .unwrap();
    assert!(matches!(
        second.indexing,
        ReferrerIndexing::TagSchema { added: true, .. }
    ));

    // Both are discovered, in push order, with artifactType and annotations.
    let found = client()
        .referrers(&subject, Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(found, vec![first.manifest.clone(), second.manifest.clone()]);

    // The tag points at an OCI index, replaced on each update.
    let tagged = Reference {
        tag: Some(tag.clone()),
        digest: None,
        ..subject.clone()
    };
    let resolved = c.resolve(&tagged).await.unwrap();
    assert_eq!(resolved.media_type, OCI_INDEX);
    assert_ne!(&resolved.digest, first_index);

    // Each signature manifest has its shape, the subject and the envelope layer.
    for (pushed, shape, media_type, body) in [
        (
            &first,
            SignatureShape::ArtifactType,
            JWS_ENVELOPE,
            &b"{\"jws\":1}"[..],
        ),
        (
            &second,
            SignatureShape::LegacyConfig,
            COSE_ENVELOPE,
            &b"\xd2\x84cose"[..],
        ),
    ] {
        let m = c
            .fetch_manifest(&subject, &pushed.manifest.digest)
            .await
            .unwrap();
        let ParsedManifest::Image(m) = m.parsed else {
            panic!("not an image manifest")
        };
        assert_eq!(m.signature_shape(), Some(shape));
        assert_eq!(m.subject.as_ref(), Some(&subject_desc));
        let env = m.signature_envelope().unwrap();
        assert_eq!(env.media_type, media_type);
        assert_eq!(c.fetch_blob(&subject, env).await.unwrap().as_ref(), body);
    }

    // Attaching an already listed referrer changes nothing.
    let again = c.attach_referrer(&subject, &first.manifest).await.unwrap();
    assert_eq!(
        again,
        ReferrerIndexing::TagSchema {
            tag: tag.clone(),
            index_digest: resolved.digest.clone(),
            added: false
        }
    );
    assert_eq!(c.resolve(&tagged).await.unwrap().digest, resolved.digest);

    // A subject without a digest is refused.
    let by_tag = Reference {
        digest: None,
        ..subject.clone()
    };
    let err = c
        .attach_referrer(&by_tag, &first.manifest)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::DigestRequired { .. }), "{err}");
}

#[tokio::test]
async fn push_with_basic_and_token_auth() {
    let reg = Registry::start_htpasswd(USER, PASSWORD);
    let r = reg.reference("auth/app:v1");
    let err = client()
        .push_blob(&r, OCI_EMPTY, Bytes::from_static(b"{}"))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("push credentials"), "{err}");
    let c = reg.client();
    let (subject, desc) = image(&c, &reg.host(), "auth/app", "v1").await;
    c.push_signature(
        &subject,
        &desc,
        JWS_ENVELOPE,
        Bytes::from_static(b"{}"),
        annotations("cc"),
        SignatureShape::ArtifactType,
    )
    .await
    .unwrap();
    assert_eq!(c.referrers(&subject, None).await.unwrap().len(), 1);

    // Token auth: the client asks the issuer for a pull,push token.
    let reg = Registry::start_token(USER, PASSWORD);
    let issuer = reg.token_issuer().unwrap();
    let c = reg.client();
    let before = issuer.requests.load(Ordering::SeqCst);
    let (subject, desc) = image(&c, &reg.host(), "token/app", "v1").await;
    let pushed = c
        .push_signature(
            &subject,
            &desc,
            COSE_ENVELOPE,
            Bytes::from_static(b"cose"),
            annotations("dd"),
            SignatureShape::ArtifactType,
        )
        .await
        .unwrap();
    // One push-scope token serves every upload to the repository.
    assert_eq!(
        issuer.requests.load(Ordering::SeqCst) - before,
        1,
        "{}",
        reg.log()
    );
    assert_eq!(
        c.referrers(&subject, Some(NOTARY_SIGNATURE)).await.unwrap(),
        vec![pushed.manifest]
    );
}

/// A scripted registry: records requests and answers with `reply`.
fn scripted(
    reply: impl Fn(&Request) -> Reply + Send + Sync + 'static,
) -> (MockServer, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let server = MockServer::start(move |r: &Request| {
        s.lock().unwrap().push(format!("{} {}", r.method, r.path()));
        reply(r)
    });
    (server, seen)
}

fn subject_on(server: &MockServer) -> Reference {
    Reference::parse(&format!(
        "{}/mock/repo@{}",
        server.host(),
        sha256(b"subject")
    ))
    .unwrap()
}

fn referrer() -> Descriptor {
    imagegate_testkit::desc(OCI_MANIFEST, &sha256(b"sig"), 300)
}

#[tokio::test]
async fn a_registry_with_the_referrers_api_indexes_itself() {
    let (server, seen) = scripted(|r: &Request| {
        if r.path().contains("/referrers/") {
            let body =
                serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []});
            Reply::json(200, OCI_INDEX, body.to_string())
        } else {
            Reply::status(500)
        }
    });
    let outcome = client()
        .attach_referrer(&subject_on(&server), &referrer())
        .await
        .unwrap();
    assert_eq!(outcome, ReferrerIndexing::RegistryApi);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("GET /v2/mock/repo/referrers/sha256:"));
}

#[tokio::test]
async fn the_tag_index_is_created_and_must_be_an_index() {
    let puts = Arc::new(Mutex::new(Vec::new()));
    let p = puts.clone();
    let (server, _) = scripted(move |r: &Request| match r.method.as_str() {
        "PUT" => {
            p.lock()
                .unwrap()
                .push((r.path().to_owned(), r.body.clone()));
            Reply::status(201).with_header("Docker-Content-Digest", &sha256(&r.body))
        }
        _ => Reply::json(
            404,
            "application/json",
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#,
        ),
    });
    let subject = subject_on(&server);
    let outcome = client()
        .attach_referrer(&subject, &referrer())
        .await
        .unwrap();
    let puts = puts.lock().unwrap().clone();
    assert_eq!(puts.len(), 1);
    let tag = sha256(b"subject").replace(':', "-");
    assert_eq!(puts[0].0, format!("/v2/mock/repo/manifests/{tag}"));
    let index: serde_json::Value = serde_json::from_slice(&puts[0].1).unwrap();
    assert_eq!(index["mediaType"], OCI_INDEX);
    assert_eq!(index["manifests"][0]["digest"], referrer().digest);
    assert_eq!(
        outcome,
        ReferrerIndexing::TagSchema {
            tag,
            index_digest: sha256(&puts[0].1),
            added: true
        }
    );

    let (garbage, _) = scripted(|r: &Request| {
        if r.path().contains("/referrers/") {
            Reply::status(404)
        } else {
            Reply::json(200, OCI_INDEX, "[1,2,3]")
        }
    });
    let err = client()
        .attach_referrer(&subject_on(&garbage), &referrer())
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::InvalidManifest { .. }), "{err}");
}

#[tokio::test]
async fn existing_blobs_are_not_uploaded() {
    let (server, seen) = scripted(|r: &Request| match r.method.as_str() {
        "HEAD" => Reply::status(200),
        _ => Reply::status(500),
    });
    let r = Reference::parse(&format!("{}/mock/repo:v1", server.host())).unwrap();
    client()
        .push_blob(&r, OCI_EMPTY, Bytes::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn upload_protocol_violations_are_errors() {
    let push = |server: &MockServer| {
        let r = Reference::parse(&format!("{}/mock/repo:v1", server.host())).unwrap();
        async move {
            client()
                .push_blob(&r, OCI_EMPTY, Bytes::from_static(b"{}"))
                .await
                .unwrap_err()
        }
    };
    // An upload location on another origin would receive our credentials.
    let (offsite, seen) = scripted(|r: &Request| match r.method.as_str() {
        "POST" => Reply::status(202).with_header("Location", "http://203.0.113.9/upload/1"),
        _ => Reply::status(404),
    });
    let err = push(&offsite).await;
    assert!(matches!(err, OciError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("another origin"), "{err}");
    assert!(!seen.lock().unwrap().iter().any(|s| s.starts_with("PUT")));

    let (no_location, _) = scripted(|r: &Request| match r.method.as_str() {
        "POST" => Reply::status(202),
        _ => Reply::status(404),
    });
    let err = push(&no_location).await;
    assert!(err.to_string().contains("without a Location"), "{err}");

    // The registry claims to have stored other bytes.
    let (liar, _) = scripted(|r: &Request| match r.method.as_str() {
        "POST" => Reply::status(202).with_header("Location", "/v2/mock/repo/blobs/uploads/u1"),
        "PUT" => Reply::status(201).with_header("Docker-Content-Digest", &sha256(b"other")),
        _ => Reply::status(404),
    });
    let err = push(&liar).await;
    assert!(matches!(err, OciError::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("stored digest"), "{err}");

    // A refused upload is a status error, not a success.
    let (refusing, _) = scripted(|r: &Request| match r.method.as_str() {
        "POST" => Reply::json(
            400,
            "application/json",
            r#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"nope"}]}"#,
        ),
        _ => Reply::status(404),
    });
    let err = push(&refusing).await;
    assert!(matches!(err, OciError::Status { status: 400, .. }), "{err}");
    assert!(err.to_string().contains("BLOB_UPLOAD_INVALID"), "{err}");
}
