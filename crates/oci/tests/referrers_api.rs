//! The OCI 1.1 referrers API path. Distribution 2.8 has no referrers API, so
//! these tests use a minimal in-test server that speaks
//! `GET /v2/<name>/referrers/<digest>`: a registry that ignores the
//! `artifactType` filter, one that applies it, a paginated answer, the 404 →
//! tag-schema fallback, and the error cases that must not become "no referrers".

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use imagegate_oci::{
    ClientConfig, OciError, Reference, RegistryClient, NOTARY_SIGNATURE, OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{sha256, MockServer, Reply, Request};

const SPDX: &str = "application/spdx+json";

fn entry(name: &str, artifact_type: &str) -> serde_json::Value {
    serde_json::json!({"mediaType": OCI_MANIFEST, "digest": sha256(name.as_bytes()), "size": 700, "artifactType": artifact_type})
}

fn index(entries: &[serde_json::Value]) -> Vec<u8> {
    serde_json::to_vec(
        &serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}),
    )
    .unwrap()
}

fn subject(server: &MockServer) -> Reference {
    Reference::parse(&format!(
        "{}/api/repo@{}",
        server.host(),
        sha256(b"subject")
    ))
    .unwrap()
}

fn client() -> RegistryClient {
    RegistryClient::new(ClientConfig::default()).unwrap()
}

fn digests(v: &[imagegate_oci::Descriptor]) -> Vec<String> {
    v.iter().map(|d| d.digest.clone()).collect()
}

#[tokio::test]
async fn ignored_filter_is_applied_client_side() {
    let queries = Arc::new(std::sync::Mutex::new(Vec::new()));
    let q = queries.clone();
    let server = MockServer::start(move |r: &Request| {
        q.lock().unwrap().push(r.target.clone());
        // Ignores artifactType and does not send OCI-Filters-Applied.
        Reply::json(
            200,
            OCI_INDEX,
            index(&[
                entry("sig1", NOTARY_SIGNATURE),
                entry("sbom", SPDX),
                entry("sig2", NOTARY_SIGNATURE),
            ]),
        )
    });
    let found = client()
        .referrers(&subject(&server), Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(digests(&found), [sha256(b"sig1"), sha256(b"sig2")]);
    let target = queries.lock().unwrap()[0].clone();
    assert_eq!(
        target,
        format!(
            "/v2/api/repo/referrers/{}?artifactType=application%2Fvnd.cncf.notary.signature",
            sha256(b"subject")
        )
    );
}

#[tokio::test]
async fn applied_filter_is_trusted() {
    let server = MockServer::start(|_r: &Request| {
        // Claims to have filtered; the answer is taken as is.
        Reply::json(
            200,
            OCI_INDEX,
            index(&[entry("sig1", NOTARY_SIGNATURE), entry("odd", SPDX)]),
        )
        .with_header("OCI-Filters-Applied", "artifactType")
    });
    let found = client()
        .referrers(&subject(&server), Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(found.len(), 2);
}

#[tokio::test]
async fn paginated_answer_is_followed() {
    let server = MockServer::start(|r: &Request| {
        let page = r
            .query()
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .unwrap_or("1")
            .to_owned();
        let (entries, next) = match page.as_str() {
            "1" => (
                vec![entry("a", NOTARY_SIGNATURE), entry("x", SPDX)],
                Some("2"),
            ),
            "2" => (vec![entry("b", NOTARY_SIGNATURE)], Some("3")),
            _ => (vec![entry("c", NOTARY_SIGNATURE)], None),
        };
        let reply = Reply::json(200, OCI_INDEX, index(&entries));
        match next {
            Some(n) => reply.with_header(
                "Link",
                &format!("<{}?artifactType=x&page={n}>; rel=\"next\"", r.path()),
            ),
            None => reply,
        }
    });
    let found = client()
        .referrers(&subject(&server), Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(digests(&found), [sha256(b"a"), sha256(b"b"), sha256(b"c")]);
    let all = client().referrers(&subject(&server), None).await.unwrap();
    assert_eq!(all.len(), 4);
}

#[tokio::test]
async fn api_404_falls_back_to_tag_schema_and_is_remembered() {
    let api_calls = Arc::new(AtomicUsize::new(0));
    let a = api_calls.clone();
    let tag = sha256(b"subject").replace(':', "-");
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/referrers/") {
            a.fetch_add(1, Ordering::SeqCst);
            return Reply::status(404);
        }
        if r.path().ends_with(&format!("/manifests/{tag}")) {
            return Reply::json(
                200,
                OCI_INDEX,
                index(&[entry("sig", NOTARY_SIGNATURE), entry("sbom", SPDX)]),
            );
        }
        Reply::status(404)
    });
    let c = client();
    let found = c
        .referrers(&subject(&server), Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(digests(&found), [sha256(b"sig")]);
    let again = c
        .referrers(&subject(&server), Some(NOTARY_SIGNATURE))
        .await
        .unwrap();
    assert_eq!(again, found);
    assert_eq!(
        api_calls.load(Ordering::SeqCst),
        1,
        "the missing API should be remembered"
    );
}

#[tokio::test]
async fn errors_are_not_turned_into_no_referrers() {
    // 404 NAME_UNKNOWN: the repository does not exist.
    let missing_repo = MockServer::start(|_r: &Request| {
        Reply::json(
            404,
            "application/json",
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}"#,
        )
    });
    let err = client()
        .referrers(&subject(&missing_repo), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::NotFound { .. }), "{err}");

    // 403 during the tag-schema fallback (oci-client would report "no referrers").
    let forbidden = MockServer::start(|r: &Request| {
        if r.path().contains("/referrers/") {
            Reply::status(404)
        } else {
            Reply::json(
                403,
                "application/json",
                r#"{"errors":[{"code":"DENIED","message":"denied"}]}"#,
            )
        }
    });
    let err = client()
        .referrers(&subject(&forbidden), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Forbidden { .. }), "{err}");

    // A 500 that never recovers.
    let broken = MockServer::start(|_r: &Request| Reply::status(500));
    let c = RegistryClient::new(ClientConfig {
        retry: imagegate_oci::RetryPolicy {
            max_attempts: 2,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let err = c.referrers(&subject(&broken), None).await.unwrap_err();
    assert!(
        matches!(err, OciError::RetriesExhausted { status: 500, .. }),
        "{err}"
    );

    // A page that is not an index.
    let garbage = MockServer::start(|_r: &Request| Reply::json(200, OCI_INDEX, "[1,2,3]"));
    let err = client()
        .referrers(&subject(&garbage), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::InvalidManifest { .. }), "{err}");

    // A Link to another host is not followed (it would carry our token).
    let offsite = MockServer::start(|_r: &Request| {
        Reply::json(200, OCI_INDEX, index(&[]))
            .with_header("Link", "<http://other.example/next>; rel=\"next\"")
    });
    let err = client()
        .referrers(&subject(&offsite), None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::InvalidManifest { .. }), "{err}");
}

fn subject_in(server: &MockServer, repo: &str, name: &[u8]) -> Reference {
    Reference::parse(&format!("{}/{repo}@{}", server.host(), sha256(name))).unwrap()
}

/// A registry with the referrers API that answers 404 `MANIFEST_UNKNOWN` for a subject it
/// does not know (the ORAS artifacts behaviour, older Quay). That 404 is about the subject,
/// not the API: the listing falls back to the tag schema once, and the next subject's
/// signatures still come from the API (issue 16 item 5).
#[tokio::test]
async fn manifest_unknown_404_does_not_switch_the_api_off() {
    let known = sha256(b"known");
    let api_calls = Arc::new(AtomicUsize::new(0));
    let calls = api_calls.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/referrers/") {
            calls.fetch_add(1, Ordering::SeqCst);
            if r.path().ends_with(&known) {
                return Reply::json(200, OCI_INDEX, index(&[entry("sig", NOTARY_SIGNATURE)]));
            }
            return Reply::json(
                404,
                "application/json",
                r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#,
            );
        }
        // No referrers tag either.
        Reply::status(404)
    });
    only_known_has_a_signature(&server, b"unknown").await;
    assert_eq!(api_calls.load(Ordering::SeqCst), 2);
}

/// Through `server`'s referrers API (one client): the subject `other` has no referrers,
/// the subject `known` its signature `sig`.
async fn only_known_has_a_signature(server: &MockServer, other: &[u8]) {
    let c = client();
    let none = c
        .referrers(&subject_in(server, "api/repo", other), None)
        .await
        .unwrap();
    assert!(none.is_empty());
    let found = c
        .referrers(&subject_in(server, "api/repo", b"known"), None)
        .await
        .unwrap();
    assert_eq!(digests(&found), [sha256(b"sig")]);
}

/// A referrers request redirected to a URL that answers 404 decides nothing about the API.
#[tokio::test]
async fn redirect_landing_on_404_does_not_switch_the_api_off() {
    let known = sha256(b"known");
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/referrers/") {
            if r.path().ends_with(&known) {
                return Reply::json(200, OCI_INDEX, index(&[entry("sig", NOTARY_SIGNATURE)]));
            }
            return Reply::status(307).with_header("Location", "/storage/gone");
        }
        Reply::status(404)
    });
    only_known_has_a_signature(&server, b"moved").await;
}

/// A registry without the API (a plain 404, as the spec says only such a registry may
/// answer) is remembered per repository: the same repository skips the API, another
/// repository on the same host probes it again.
#[tokio::test]
async fn no_api_is_remembered_per_repository() {
    let api_calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = api_calls.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/referrers/") {
            calls.lock().unwrap().push(r.path().to_owned());
        }
        Reply::status(404)
    });
    let c = client();
    for name in [b"a1".as_slice(), b"a2", b"a3"] {
        c.referrers(&subject_in(&server, "team/a", name), None)
            .await
            .unwrap();
    }
    c.referrers(&subject_in(&server, "team/b", b"b1"), None)
        .await
        .unwrap();
    let calls = api_calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[0].starts_with("/v2/team/a/") && calls[1].starts_with("/v2/team/b/"));
}

/// Issue 11 item 6: concurrent cold keys of one repository wait for the first probe of the
/// referrers API instead of each probing it.
#[tokio::test]
async fn the_probe_is_single_flight() {
    let api_calls = Arc::new(AtomicUsize::new(0));
    let calls = api_calls.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/referrers/") {
            calls.fetch_add(1, Ordering::SeqCst);
        }
        Reply::status(404)
    });
    let c = client();
    let keys: Vec<Reference> = (0..40)
        .map(|i| subject_in(&server, "burst/app", format!("s{i}").as_bytes()))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for k in keys {
        let c = c.clone();
        set.spawn(async move { c.referrers(&k, None).await });
    }
    while let Some(r) = set.join_next().await {
        assert!(r.unwrap().unwrap().is_empty());
    }
    assert_eq!(api_calls.load(Ordering::SeqCst), 1);
}
