//! A registry is untrusted input. Each test points the client at an in-test
//! HTTP server that misbehaves in one way and checks that the operation ends
//! within its deadline with a typed error (and without reading unbounded data).

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods)] // Measures real elapsed time: an edge, not product code.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imagegate_oci::{
    ClientConfig, Credential, OciError, Reference, RegistryClient, RetryPolicy, StaticCredentials,
    NOTARY_SIGNATURE, OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{desc, sha256, MockServer, Reply, Request};

/// Runs `f`, failing the test if it does not finish within `secs`.
async fn within<T>(secs: u64, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("operation did not end within its deadline")
}

fn client(config: ClientConfig) -> RegistryClient {
    RegistryClient::new(config).unwrap()
}

fn reference(server: &MockServer) -> Reference {
    Reference::parse(&format!("{}/hostile/repo:v1", server.host())).unwrap()
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

const MIB: u64 = 1024 * 1024;

#[tokio::test]
async fn blob_larger_than_cap_with_declared_length() {
    let hits = counter();
    let h = hits.clone();
    let server = MockServer::start(move |_r: &Request| {
        h.fetch_add(1, Ordering::SeqCst);
        // Declares 64 MiB; a well-behaved client must not start reading it.
        Reply::Full {
            status: 200,
            headers: vec![("Content-Length".into(), (64 * MIB).to_string())],
            body: vec![],
        }
    });
    let c = client(ClientConfig {
        max_blob_bytes: MIB,
        ..Default::default()
    });
    let r = reference(&server);
    let d = desc("application/jose+json", &sha256(b"x"), 1000);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(
        matches!(err, OciError::TooLarge { limit, actual: Some(a), .. } if limit == MIB && a == 64 * MIB),
        "{err}"
    );
    // A descriptor that already exceeds the cap is refused without a request.
    let before = hits.load(Ordering::SeqCst);
    let big = desc("application/jose+json", &sha256(b"x"), 2 * MIB as usize);
    let err = within(5, c.fetch_blob(&r, &big)).await.unwrap_err();
    assert!(
        matches!(err, OciError::TooLarge { actual: Some(a), .. } if a == 2 * MIB),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), before);
    // Same for manifests: the declared length is checked before reading.
    let err = within(5, c.fetch_manifest(&r, &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OciError::TooLarge { limit, .. } if limit == 4 * MIB),
        "{err}"
    );
}

#[tokio::test]
async fn blob_larger_than_cap_without_declared_length() {
    let server = MockServer::start(|_r: &Request| Reply::Chunked {
        status: 200,
        headers: vec![("Content-Type".into(), OCI_MANIFEST.into())],
        chunk: vec![b'{'; 64 * 1024],
        repeat: 1024, // 64 MiB, never declared
    });
    let c = client(ClientConfig::default());
    let r = reference(&server);
    // The descriptor says 1000 bytes: reading stops right after them.
    let d = desc("application/jose+json", &sha256(b"x"), 1000);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(
        matches!(
            err,
            OciError::SizeMismatch {
                expected: 1000,
                truncated: true,
                ..
            }
        ),
        "{err}"
    );
    // A manifest has no descriptor size: the 4 MiB cap stops it.
    let err = within(10, c.fetch_manifest(&r, &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OciError::TooLarge { limit, actual: None, .. } if limit == 4 * MIB),
        "{err}"
    );
}

#[tokio::test]
async fn wrong_digest_is_refused() {
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:00","size":2},"layers":[]}"#;
    let server = MockServer::start(move |r: &Request| {
        if r.path().contains("/blobs/") {
            Reply::json(200, "application/octet-stream", b"hello".to_vec())
        } else {
            Reply::json(200, OCI_MANIFEST, manifest.to_vec())
        }
    });
    let c = client(ClientConfig::default());
    let r = reference(&server);
    let d = desc("application/jose+json", &sha256(b"other"), 5);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(
        matches!(&err, OciError::DigestMismatch { expected, actual, .. } if *expected == sha256(b"other") && *actual == sha256(b"hello")),
        "{err}"
    );
    let err = within(5, c.fetch_manifest(&r, &sha256(b"something else")))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
    // Resolving by digest: a registry that reports another digest is refused.
    let pinned = r.with_digest(&sha256(b"pinned"));
    let err = within(5, c.resolve(&pinned)).await.unwrap_err();
    assert!(matches!(err, OciError::DigestMismatch { .. }), "{err}");
}

#[tokio::test]
async fn manifest_that_is_not_json() {
    let body = b"<html><body>Welcome to nginx!</body></html>".to_vec();
    let digest = sha256(&body);
    let b = body.clone();
    let server = MockServer::start(move |_r: &Request| Reply::json(200, "text/html", b.clone()));
    let c = client(ClientConfig::default());
    let r = reference(&server);
    let err = within(5, c.fetch_manifest(&r, &digest)).await.unwrap_err();
    assert!(matches!(err, OciError::InvalidManifest { .. }), "{err}");
    assert!(err.to_string().contains("not a valid manifest"), "{err}");
    // A tag that resolves to non-JSON (no digest header, so GET + parse).
    let err = within(5, c.resolve(&r)).await.unwrap_err();
    assert!(matches!(err, OciError::InvalidManifest { .. }), "{err}");
}

fn huge_index(n: usize) -> Vec<u8> {
    let entry = format!(
        r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":728,"artifactType":"{NOTARY_SIGNATURE}"}}"#,
        sha256(b"sig")
    );
    let mut s = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":["#);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&entry);
    }
    s.push_str("]}");
    s.into_bytes()
}

#[tokio::test]
async fn referrers_index_with_100_000_entries() {
    let index = Arc::new(huge_index(100_000));
    assert!(index.len() as u64 > 4 * MIB);
    let api = {
        let index = index.clone();
        MockServer::start(move |_r: &Request| Reply::json(200, OCI_INDEX, index.as_ref().clone()))
    };
    let tag_schema = {
        let index = index.clone();
        MockServer::start(move |r: &Request| {
            if r.path().contains("/referrers/") {
                Reply::status(404)
            } else {
                Reply::json(200, OCI_INDEX, index.as_ref().clone())
            }
        })
    };
    for server in [&api, &tag_schema] {
        let subject = reference(server).with_digest(&sha256(b"subject"));
        // Default caps: the 4 MiB page limit stops it first.
        let err = within(
            10,
            client(ClientConfig::default()).referrers(&subject, Some(NOTARY_SIGNATURE)),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, OciError::TooLarge { .. }), "{err}");
        // With a large page limit, the entry bound stops it.
        let roomy = client(ClientConfig {
            max_manifest_bytes: 64 * MIB,
            max_in_flight_bytes: 64 * MIB,
            max_in_flight_bytes_per_host: 64 * MIB,
            ..Default::default()
        });
        let err = within(10, roomy.referrers(&subject, Some(NOTARY_SIGNATURE)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                OciError::TooManyReferrers {
                    limit: 10_000,
                    what: "entries",
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[tokio::test]
async fn endless_referrers_pagination() {
    let page = huge_index(1);
    let server = MockServer::start(move |r: &Request| {
        let n: u64 = r
            .query()
            .split('&')
            .find_map(|kv| kv.strip_prefix("n="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let next = format!("<{}?n={}>; rel=\"next\"", r.path(), n + 1);
        Reply::json(200, OCI_INDEX, page.clone()).with_header("Link", &next)
    });
    let subject = reference(&server).with_digest(&sha256(b"subject"));
    let c = client(ClientConfig {
        max_referrer_pages: 20,
        ..Default::default()
    });
    let err = within(10, c.referrers(&subject, None)).await.unwrap_err();
    assert!(
        matches!(
            err,
            OciError::TooManyReferrers {
                limit: 20,
                what: "pages",
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn redirect_loop_and_downgrade() {
    let server = MockServer::start(|r: &Request| {
        let to = match r.path() {
            p if p.ends_with("/loop") => "/v2/hostile/repo/blobs/loop".to_owned(),
            p if p.contains("/blobs/") => "/a".to_owned(),
            "/a" => "/b".to_owned(),
            "/b" => "/a".to_owned(),
            _ => "http://registry.example.invalid/elsewhere".to_owned(),
        };
        Reply::status(307).with_header("Location", &to)
    });
    let c = client(ClientConfig::default());
    let r = reference(&server);
    let d = desc("application/jose+json", &sha256(b"x"), 10);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(matches!(err, OciError::Redirect { .. }), "{err}");
    assert!(err.to_string().contains("redirect"), "{err}");
    // Redirect to a plain-HTTP host that is neither loopback nor listed insecure.
    let err = within(5, c.fetch_manifest(&r, &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Redirect { .. }), "{err}");
    assert!(err.to_string().contains("http://"), "{err}");
}

#[tokio::test]
async fn redirect_to_another_host_drops_credentials() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let blob_host = MockServer::start(move |r: &Request| {
        s.lock()
            .unwrap()
            .push(r.header("authorization").map(str::to_owned));
        Reply::json(200, "application/octet-stream", b"hello".to_vec())
    });
    let target = format!("{}/storage/blob", blob_host.url());
    let auth_seen = Arc::new(std::sync::Mutex::new(None));
    let a = auth_seen.clone();
    let registry = MockServer::start(move |r: &Request| {
        *a.lock().unwrap() = r.header("authorization").map(str::to_owned);
        Reply::status(307).with_header("Location", &target)
    });
    let creds =
        StaticCredentials::default().with(&registry.host(), Credential::Bearer("s3cret".into()));
    let c = client(ClientConfig {
        credentials: Arc::new(creds),
        ..Default::default()
    });
    let d = desc("application/octet-stream", &sha256(b"hello"), 5);
    let bytes = within(5, c.fetch_blob(&reference(&registry), &d))
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"hello");
    assert_eq!(auth_seen.lock().unwrap().as_deref(), Some("Bearer s3cret"));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![None],
        "credentials leaked across the redirect"
    );
}

#[tokio::test]
async fn server_stalls_mid_body() {
    let server = MockServer::start(|_r: &Request| Reply::Stall {
        status: 200,
        headers: vec![("Content-Type".into(), OCI_MANIFEST.into())],
        declared: 1000,
        sent: b"{\"schemaVersion\":2".to_vec(),
    });
    let c = client(ClientConfig {
        request_timeout: Duration::from_secs(1),
        ..Default::default()
    });
    let r = reference(&server);
    let started = Instant::now();
    let err = within(5, c.fetch_manifest(&r, &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Timeout { .. }), "{err}");
    let d = desc("application/jose+json", &sha256(b"x"), 1000);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(matches!(err, OciError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4));
    // The whole-operation budget bounds it too, even with a long request timeout.
    let budget = client(ClientConfig {
        request_timeout: Duration::from_secs(60),
        retry: RetryPolicy {
            max_total_time: Duration::from_secs(1),
            ..Default::default()
        },
        ..Default::default()
    });
    let err = within(5, budget.fetch_manifest(&r, &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OciError::Timeout { after, .. } if after == Duration::from_secs(1)),
        "{err}"
    );
}

#[tokio::test]
async fn too_many_requests_with_retry_after_then_success() {
    let hits = counter();
    let h = hits.clone();
    let server = MockServer::start(move |_r: &Request| {
        if h.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::status(429).with_header("Retry-After", "1")
        } else {
            Reply::json(200, "application/octet-stream", b"hello".to_vec())
        }
    });
    let c = client(ClientConfig::default());
    let d = desc("application/octet-stream", &sha256(b"hello"), 5);
    let started = Instant::now();
    let bytes = within(5, c.fetch_blob(&reference(&server), &d))
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"hello");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let hits = counter();
    let h = hits.clone();
    let server = MockServer::start(move |r: &Request| {
        h.fetch_add(1, Ordering::SeqCst);
        if r.path().ends_with("/long") {
            Reply::status(429).with_header("Retry-After", "3600")
        } else {
            Reply::status(503)
        }
    });
    let c = client(ClientConfig {
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    });
    let r = reference(&server);
    let d = desc("application/octet-stream", &sha256(b"x"), 1);
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(
        matches!(
            err,
            OciError::RetriesExhausted {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    // A Retry-After longer than the policy allows ends retries at once.
    let long = Reference::parse(&format!("{}/hostile/repo:long", server.host())).unwrap();
    let started = Instant::now();
    let err = within(5, c.resolve(&long)).await.unwrap_err();
    assert!(
        matches!(
            err,
            OciError::RetriesExhausted {
                status: 429,
                attempts: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// The registry stops accepting a cached token before its announced expiry (as
/// after a key rotation or server-side expiry): the client refreshes it once.
#[tokio::test]
async fn unauthorized_after_token_expired_refreshes_once() {
    let tokens_issued = counter();
    let t1_uses = counter();
    let (ti, tu) = (tokens_issued.clone(), t1_uses.clone());
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:00","size":2},"layers":[]}"#.to_vec();
    let digest = sha256(&manifest);
    let server = MockServer::start(move |r: &Request| {
        if r.path() == "/token" {
            let n = ti.fetch_add(1, Ordering::SeqCst) + 1;
            return Reply::json(
                200,
                "application/json",
                format!(r#"{{"token":"t{n}","expires_in":3600}}"#),
            );
        }
        let ok = match r.header("authorization") {
            Some("Bearer t1") => tu.fetch_add(1, Ordering::SeqCst) == 0,
            Some("Bearer t2") => true,
            _ => false,
        };
        if ok {
            return Reply::json(200, OCI_MANIFEST, manifest.clone());
        }
        let realm = format!("http://{}/token", r.header("host").unwrap_or_default());
        Reply::status(401).with_header(
            "WWW-Authenticate",
            &format!(r#"Bearer realm="{realm}",service="mock""#),
        )
    });
    let c = client(ClientConfig::default());
    let r = reference(&server);
    within(5, c.fetch_manifest(&r, &digest)).await.unwrap();
    assert_eq!(tokens_issued.load(Ordering::SeqCst), 1);
    within(5, c.fetch_manifest(&r, &digest)).await.unwrap();
    assert_eq!(
        tokens_issued.load(Ordering::SeqCst),
        2,
        "expired token was not refreshed"
    );
    // t2 is still cached and accepted: no further token request.
    within(5, c.fetch_manifest(&r, &digest)).await.unwrap();
    assert_eq!(tokens_issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn token_always_refused_ends_after_one_refresh() {
    let hits = counter();
    let h = hits.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path() == "/token" {
            return Reply::json(200, "application/json", r#"{"token":"useless"}"#);
        }
        h.fetch_add(1, Ordering::SeqCst);
        let realm = format!("http://{}/token", r.header("host").unwrap_or_default());
        Reply::status(401).with_header("WWW-Authenticate", &format!(r#"Bearer realm="{realm}""#))
    });
    let c = client(ClientConfig::default());
    let err = within(5, c.fetch_manifest(&reference(&server), &sha256(b"x")))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(
        !err.to_string().contains("useless"),
        "token leaked into the error: {err}"
    );
}

/// Not hostile, but only a controllable server shows it: a registry whose HEAD
/// answer lacks `Docker-Content-Digest` is resolved by GET + sha256 of the body,
/// and both requests ask for every manifest and index media type.
#[tokio::test]
async fn resolve_falls_back_to_get_when_head_has_no_digest() {
    let manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#.to_vec();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (s, m) = (seen.clone(), manifest.clone());
    let server = MockServer::start(move |r: &Request| {
        s.lock().unwrap().push((
            r.method.clone(),
            r.header("accept").unwrap_or_default().to_owned(),
        ));
        Reply::json(200, OCI_INDEX, m.clone())
    });
    let resolved = within(
        5,
        client(ClientConfig::default()).resolve(&reference(&server)),
    )
    .await
    .unwrap();
    assert_eq!(resolved.digest, sha256(&manifest));
    assert_eq!(resolved.media_type, OCI_INDEX);
    assert_eq!(resolved.size, manifest.len() as u64);
    let seen = seen.lock().unwrap();
    let methods: Vec<_> = seen.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(methods, ["HEAD", "GET"]);
    for (_, accept) in seen.iter() {
        for mt in imagegate_oci::MANIFEST_MEDIA_TYPES {
            assert!(accept.contains(mt), "{accept}");
        }
    }
}

/// Issue 16: content held in memory is bounded across every fetch of every clone. Fetched
/// bytes keep their reservation until dropped; a fetch that finds the budget spent waits up
/// to its deadline and fails with a typed error; the registry's host cannot take more than
/// its share, so another host still gets bytes.
#[tokio::test]
async fn byte_budget_bounds_content_in_memory() {
    let blob = vec![b'x'; MIB as usize];
    let digest = sha256(&blob);
    let body = blob.clone();
    let server = MockServer::start(move |_r: &Request| {
        Reply::json(200, "application/jose+json", body.clone())
    });
    let other = {
        let body = blob.clone();
        MockServer::start(move |_r: &Request| {
            Reply::json(200, "application/jose+json", body.clone())
        })
    };
    let c = client(ClientConfig {
        max_in_flight_bytes: 3 * MIB,
        max_in_flight_bytes_per_host: 2 * MIB,
        retry: RetryPolicy {
            max_total_time: Duration::from_millis(800),
            ..RetryPolicy::default()
        },
        ..Default::default()
    });
    let d = desc("application/jose+json", &digest, blob.len());
    let r = reference(&server);
    let first = within(5, c.fetch_blob(&r, &d)).await.unwrap();
    let second = within(5, c.clone().fetch_blob(&r, &d)).await.unwrap();
    let err = within(5, c.fetch_blob(&r, &d)).await.unwrap_err();
    assert!(
        matches!(err, OciError::BudgetExhausted { waited: true, wanted, .. } if wanted == MIB),
        "{err}"
    );
    // Another registry still has its share.
    let third = within(5, c.fetch_blob(&reference(&other), &d))
        .await
        .unwrap();
    assert_eq!(third.len(), blob.len());
    // Dropping fetched bytes gives their reservation back.
    drop(first);
    let again = within(5, c.fetch_blob(&r, &d)).await.unwrap();
    assert_eq!(again, second);
    // A blob larger than one host's share can never fit: refused without waiting.
    let big = desc("application/jose+json", &digest, 3 * MIB as usize);
    let roomy = client(ClientConfig {
        max_blob_bytes: 4 * MIB,
        max_in_flight_bytes_per_host: 2 * MIB,
        ..Default::default()
    });
    let err = within(5, roomy.fetch_blob(&r, &big)).await.unwrap_err();
    assert!(
        matches!(err, OciError::BudgetExhausted { waited: false, .. }),
        "{err}"
    );
}
