//! Auth behaviour that needs a controllable server: shared token exchanges
//! under concurrency, the OAuth2 refresh-token grant for identity tokens,
//! credential rotation, refusing plain-HTTP token realms, and pre-emptive Basic
//! auth once a registry asked for it.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use imagegate_oci::{
    ClientConfig, Credential, CredentialProvider, OciError, Reference, RegistryClient,
    StaticCredentials, OCI_MANIFEST,
};
use imagegate_testkit::{sha256, MockServer, Reply, Request};

const MANIFEST: &[u8] = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","digest":"sha256:00","size":2},"layers":[]}"#;

fn reference(server: &MockServer) -> Reference {
    Reference::parse(&format!("{}/mock/repo:v1", server.host())).unwrap()
}

fn challenge(r: &Request) -> Reply {
    let realm = format!("http://{}/token", r.header("host").unwrap_or_default());
    Reply::status(401).with_header(
        "WWW-Authenticate",
        &format!(r#"Bearer realm="{realm}",service="mock""#),
    )
}

fn client(creds: impl CredentialProvider + 'static) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        credentials: Arc::new(creds),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn concurrent_requests_share_one_token_exchange() {
    let exchanges = Arc::new(AtomicUsize::new(0));
    let e = exchanges.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path() == "/token" {
            e.fetch_add(1, Ordering::SeqCst);
            return Reply::json(
                200,
                "application/json",
                r#"{"token":"shared","expires_in":300}"#,
            );
        }
        match r.header("authorization") {
            Some("Bearer shared") => Reply::json(200, OCI_MANIFEST, MANIFEST.to_vec()),
            _ => challenge(r),
        }
    });
    let c = client(imagegate_oci::Anonymous);
    let r = reference(&server);
    let digest = sha256(MANIFEST);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (c, r, d) = (c.clone(), r.clone(), digest.clone());
            tokio::spawn(async move { c.fetch_manifest(&r, &d).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn identity_token_uses_the_refresh_token_grant() {
    let forms = Arc::new(Mutex::new(Vec::new()));
    let f = forms.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path() == "/token" {
            f.lock().unwrap().push((
                r.method.clone(),
                String::from_utf8_lossy(&r.body).to_string(),
            ));
            return Reply::json(
                200,
                "application/json",
                r#"{"access_token":"from-refresh"}"#,
            );
        }
        match r.header("authorization") {
            Some("Bearer from-refresh") => Reply::json(200, OCI_MANIFEST, MANIFEST.to_vec()),
            _ => challenge(r),
        }
    });
    let creds = StaticCredentials::default()
        .with(&server.host(), Credential::IdentityToken("rt-123".into()));
    client(creds)
        .fetch_manifest(&reference(&server), &sha256(MANIFEST))
        .await
        .unwrap();
    let forms = forms.lock().unwrap();
    assert_eq!(forms.len(), 1);
    let (method, body) = &forms[0];
    assert_eq!(method, "POST");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| pairs.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
    assert_eq!(get("grant_type"), Some("refresh_token"));
    assert_eq!(get("refresh_token"), Some("rt-123"));
    assert_eq!(get("service"), Some("mock"));
    assert_eq!(get("scope"), Some("repository:mock/repo:pull"));
}

/// Rotating credentials (a re-mounted secret) takes effect without a restart:
/// tokens are cached per credential, and the provider is asked every time.
#[tokio::test]
async fn rotated_credentials_get_a_new_token() {
    struct Rotating(Arc<Mutex<String>>);
    impl CredentialProvider for Rotating {
        fn credentials(&self, _registry: &str) -> Option<Credential> {
            Some(Credential::Basic {
                username: "u".into(),
                password: self.0.lock().unwrap().clone(),
            })
        }
    }
    let current = Arc::new(Mutex::new("pw1".to_owned()));
    let exchanges = Arc::new(AtomicUsize::new(0));
    let (cur, e) = (current.clone(), exchanges.clone());
    let server = MockServer::start(move |r: &Request| {
        let pw = cur.lock().unwrap().clone();
        if r.path() == "/token" {
            e.fetch_add(1, Ordering::SeqCst);
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("u:{pw}"))
            );
            if r.header("authorization") != Some(expected.as_str()) {
                return Reply::status(401);
            }
            return Reply::json(
                200,
                "application/json",
                format!(r#"{{"token":"tok-{pw}","expires_in":300}}"#),
            );
        }
        if r.header("authorization") == Some(format!("Bearer tok-{pw}").as_str()) {
            Reply::json(200, OCI_MANIFEST, MANIFEST.to_vec())
        } else {
            challenge(r)
        }
    });
    let c = client(Rotating(current.clone()));
    let r = reference(&server);
    c.fetch_manifest(&r, &sha256(MANIFEST)).await.unwrap();
    c.fetch_manifest(&r, &sha256(MANIFEST)).await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 1);
    *current.lock().unwrap() = "pw2".into();
    c.fetch_manifest(&r, &sha256(MANIFEST)).await.unwrap();
    assert_eq!(exchanges.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn plain_http_token_realm_on_another_host_is_refused() {
    let server = MockServer::start(|_r: &Request| {
        Reply::status(401).with_header(
            "WWW-Authenticate",
            r#"Bearer realm="http://auth.example.invalid/token",service="x""#,
        )
    });
    let creds = StaticCredentials::default().with(
        &server.host(),
        Credential::Basic {
            username: "u".into(),
            password: "secret-pw".into(),
        },
    );
    let err = client(creds)
        .resolve(&reference(&server))
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::TokenExchange { .. }), "{err}");
    assert!(err.to_string().contains("refusing"), "{err}");
    assert!(!err.to_string().contains("secret-pw"));
}

#[tokio::test]
async fn basic_auth_is_sent_pre_emptively_after_the_first_challenge() {
    let unauthorized = Arc::new(AtomicUsize::new(0));
    let u = unauthorized.clone();
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("u:p")
    );
    let server = MockServer::start(move |r: &Request| {
        if r.header("authorization") == Some(expected.as_str()) {
            return Reply::json(200, OCI_MANIFEST, MANIFEST.to_vec());
        }
        u.fetch_add(1, Ordering::SeqCst);
        Reply::status(401).with_header("WWW-Authenticate", r#"Basic realm="mock""#)
    });
    let creds = StaticCredentials::default().with(
        &server.host(),
        Credential::Basic {
            username: "u".into(),
            password: "p".into(),
        },
    );
    let c = client(creds);
    for _ in 0..3 {
        c.fetch_manifest(&reference(&server), &sha256(MANIFEST))
            .await
            .unwrap();
    }
    assert_eq!(unauthorized.load(Ordering::SeqCst), 1);
}

/// Issue 16 item 6: one repository whose token realm fails must not break anonymous
/// repositories on the same host, before or after it was asked.
#[tokio::test]
async fn a_failing_realm_for_one_repository_spares_the_others() {
    let token_calls = Arc::new(AtomicUsize::new(0));
    let t = token_calls.clone();
    let server = MockServer::start(move |r: &Request| {
        if r.path() == "/token" {
            t.fetch_add(1, Ordering::SeqCst);
            return Reply::status(500);
        }
        if r.path().starts_with("/v2/private/") {
            return challenge(r);
        }
        Reply::json(200, OCI_MANIFEST, MANIFEST.to_vec())
    });
    let c = RegistryClient::new(ClientConfig {
        retry: imagegate_oci::RetryPolicy {
            max_attempts: 1,
            ..Default::default()
        },
        ..Default::default()
    })
    .unwrap();
    let private = Reference::parse(&format!("{}/private/app:v1", server.host())).unwrap();
    let public = Reference::parse(&format!("{}/public/app:v1", server.host())).unwrap();
    for _ in 0..2 {
        let err = c.resolve(&private).await.unwrap_err();
        assert!(
            matches!(
                err,
                OciError::TokenExchange { .. } | OciError::RetriesExhausted { .. }
            ),
            "{err}"
        );
        let ok = c.resolve(&public).await;
        assert!(ok.is_ok(), "{ok:?}");
    }
    assert!(token_calls.load(Ordering::SeqCst) >= 2);
}
