//! ACR access with workload and managed identity against the emulated token service in
//! front of a real docker-registry: exchange once, reuse, survive expiry and revocation,
//! refuse foreign hosts, fail clearly on the wrong tenant.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::World;
use imagegate_azure::{AcrCredentials, AcrIdentity};
use imagegate_oci::{ClientConfig, CredentialProvider, Reference, RegistryClient};
use imagegate_testkit::azure::{Acr, Imds};

struct Setup {
    w: World,
}

fn setup() -> Setup {
    Setup { w: World::new() }
}

impl Setup {
    fn acr(&self) -> &Acr {
        self.w.pod.acr()
    }

    /// Pushes a small image `repo:v1` straight into the registry behind the front.
    async fn push(&self, repo: &str) -> String {
        self.acr().pusher(repo).image("v1").await.digest
    }

    fn workload(&self, endpoints: Option<&[String]>) -> AcrCredentials {
        AcrCredentials::from_identity(
            AcrIdentity::Workload,
            &self.w.env,
            &self.w.http,
            None,
            endpoints,
            self.w.clock(),
        )
        .unwrap()
    }

    fn client(&self, creds: Arc<dyn CredentialProvider>) -> RegistryClient {
        RegistryClient::new(ClientConfig {
            credentials: creds,
            plain_http_loopback: false,
            extra_root_pems: vec![self.w.pod.ca.ca_pem.clone().into_bytes()],
            ..ClientConfig::default()
        })
        .unwrap()
    }

    fn reference(&self, repo: &str) -> Reference {
        Reference::parse(&format!("{}/{repo}:v1", self.acr().host())).unwrap()
    }

    fn allowed(&self) -> Vec<String> {
        vec![self.acr().host()]
    }
}

#[tokio::test]
async fn one_exchange_then_cached_tokens_for_every_operation() {
    let s = setup();
    let digest = s.push("app").await;
    let creds = s.workload(Some(&s.allowed()));
    creds.check_identity().await.unwrap();
    let client = s.client(Arc::new(creds.clone()));
    for _ in 0..5 {
        assert_eq!(
            client.resolve(&s.reference("app")).await.unwrap().digest,
            digest
        );
    }
    assert_eq!(creds.exchanges(), 1);
    assert_eq!(creds.aad_fetches(), 1);
    assert_eq!(
        s.acr().token_requests(),
        1,
        "the registry token is cached by the client"
    );
    // Concurrent cold start on a fresh client: still one exchange per registry.
    let creds = s.workload(Some(&s.allowed()));
    let client = Arc::new(s.client(Arc::new(creds.clone())));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (c, r) = (client.clone(), s.reference("app"));
        tasks.push(tokio::spawn(async move { c.resolve(&r).await.unwrap() }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(creds.exchanges(), 1);
}

#[tokio::test]
async fn a_revoked_refresh_token_is_exchanged_again_without_a_failure() {
    let s = setup();
    s.push("app").await;
    let other = s.push("other").await;
    let creds = s.workload(Some(&s.allowed()));
    let client = s.client(Arc::new(creds.clone()));
    client.resolve(&s.reference("app")).await.unwrap();
    s.acr().revoke_refresh_tokens();
    // A new repository scope needs a new access token: the token service refuses the
    // revoked refresh token, the provider exchanges once more, the request succeeds.
    assert_eq!(
        client.resolve(&s.reference("other")).await.unwrap().digest,
        other
    );
    assert_eq!(creds.exchanges(), 2);
    assert_eq!(s.acr().refused(), 1);
}

#[tokio::test]
async fn an_expiring_refresh_token_is_renewed_before_use() {
    let s = setup();
    s.push("app").await;
    s.push("other").await;
    s.acr().set_refresh_lifetime(2);
    let creds = s.workload(Some(&s.allowed()));
    let client = s.client(Arc::new(creds.clone()));
    client.resolve(&s.reference("app")).await.unwrap();
    // Let the refresh token reach its expiry (the scenario itself, not synchronisation).
    tokio::time::sleep(Duration::from_millis(2200)).await;
    client.resolve(&s.reference("other")).await.unwrap();
    assert!(creds.exchanges() >= 2, "renewed");
    assert_eq!(
        s.acr().refused(),
        0,
        "never presented an expired refresh token"
    );
}

#[tokio::test]
async fn hosts_outside_the_endpoints_get_no_azure_token() {
    let s = setup();
    s.push("app").await;
    // Default endpoints (*.azurecr.io, …) do not cover the emulator's address.
    let creds = s.workload(None);
    let client = s.client(Arc::new(creds.clone()));
    let e = client.resolve(&s.reference("app")).await.unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("unauthorized")
            || e.to_string().contains("401")
            || e.to_string().contains("credentials"),
        "{e}"
    );
    assert_eq!(creds.exchanges(), 0);
    assert_eq!(
        creds.aad_fetches(),
        0,
        "no AAD token is ever requested for a foreign host"
    );
    let err = creds.refresh_token(&s.acr().host()).await.unwrap_err();
    assert!(err.to_string().starts_with("HOST_NAME_INVALID"), "{err}");
}

#[tokio::test]
async fn the_wrong_tenant_fails_clearly_at_creation_check() {
    let s = setup();
    let mut env = s.w.env.clone();
    env.tenant_id = Some("11111111-1111-1111-1111-111111111111".into());
    let creds = AcrCredentials::from_identity(
        AcrIdentity::Workload,
        &env,
        &s.w.http,
        None,
        Some(&s.allowed()),
        s.w.clock(),
    )
    .unwrap();
    let e = creds.check_identity().await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("AADSTS90002") && text.contains("11111111-1111-1111-1111-111111111111"),
        "{text}"
    );
    let mut env = s.w.env.clone();
    env.tenant_id = None;
    let Err(e) = AcrCredentials::from_identity(
        AcrIdentity::Workload,
        &env,
        &s.w.http,
        None,
        None,
        s.w.clock(),
    ) else {
        panic!("created without a tenant")
    };
    assert!(e
        .to_string()
        .contains("azure tenant id environment variable is empty"));
}

#[tokio::test]
async fn managed_identity_reaches_acr_through_imds() {
    let s = setup();
    let digest = s.push("app").await;
    let imds = Imds::start(&s.w.pod.aad, vec!["kubelet-identity".into()]);
    let mut env = s.w.env.clone();
    env.client_id = None;
    env.federated_token_file = None;
    env.imds_endpoint = Some(imds.url());
    let creds = AcrCredentials::from_identity(
        AcrIdentity::Managed,
        &env,
        &s.w.http,
        Some("kubelet-identity"),
        Some(&s.allowed()),
        s.w.clock(),
    )
    .unwrap();
    let client = s.client(Arc::new(creds.clone()));
    assert_eq!(
        client.resolve(&s.reference("app")).await.unwrap().digest,
        digest
    );
    assert_eq!(creds.exchanges(), 1);
}

/// The registry requests of a verification's fetches are the same with ACR auth as without
/// once tokens are cached: one request per operation, no extra challenge or token round trip.
#[tokio::test]
async fn cached_tokens_add_no_registry_requests() {
    let s = setup();
    let mut digests = Vec::new();
    for i in 0..4 {
        digests.push(s.push(&format!("repo-{i}")).await);
    }
    let creds = s.workload(Some(&s.allowed()));
    let client = s.client(Arc::new(creds.clone()));
    // Cold: the first operation pays the challenge; each new repository one token request.
    for i in 0..4 {
        client
            .resolve(&s.reference(&format!("repo-{i}")))
            .await
            .unwrap();
    }
    let (registry, tokens) = (s.acr().registry_requests(), s.acr().token_requests());
    assert_eq!(tokens, 4, "one access token per repository scope");
    assert_eq!(
        registry,
        4 + 1,
        "one request per resolve plus the host's first challenge"
    );
    // Warm: each further operation is exactly one registry request, nothing else.
    for round in 0..3 {
        for (i, digest) in digests.iter().enumerate() {
            let r = Reference::parse(&format!("{}/repo-{i}@{digest}", s.acr().host())).unwrap();
            client.resolve(&r).await.unwrap();
        }
        assert_eq!(s.acr().registry_requests(), registry + 4 * (round + 1));
    }
    assert_eq!(s.acr().token_requests(), tokens);
    assert_eq!(creds.exchanges(), 1);
    println!(
        "cold: {registry} registry requests for the first resolve in 4 repositories (one \
         401 challenge in all), warm: 1 per resolve; token requests {tokens}; exchanges 1"
    );
}
