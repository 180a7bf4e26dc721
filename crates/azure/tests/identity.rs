//! Workload and managed identity against the emulated Entra ID and IMDS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

mod common;

use std::sync::Arc;

use common::{World, CLIENT, ISSUER, SUBJECT, TENANT};
use imagegate_azure::{
    AzureEnv, AzureError, ManagedIdentity, RetryPolicy, TokenCache, TokenCredential,
    WorkloadIdentity,
};
use imagegate_testkit::azure::{AadFailure, Imds, VAULT_RESOURCE};

const VAULT_SCOPE: &str = "https://vault.azure.net/.default";

fn workload(w: &World) -> WorkloadIdentity {
    WorkloadIdentity::new(w.http.client().unwrap(), &w.env, None, None).unwrap()
}

fn identity_failure(e: &AzureError) -> &imagegate_azure::error::IdentityFailure {
    match e {
        AzureError::Identity(f) => f,
        other => panic!("expected an identity failure, got {other}"),
    }
}

#[tokio::test]
async fn workload_identity_gets_a_vault_token_the_vault_accepts() {
    let w = World::new();
    let t = workload(&w).request_token(VAULT_SCOPE).await.unwrap();
    let issued = w.pod.aad.book.check(t.secret(), VAULT_RESOURCE).unwrap();
    assert_eq!(issued.tenant, TENANT);
    assert_eq!(issued.client_id, CLIENT);
    let req = &w.pod.aad.requests()[0];
    let field = |k: &str| {
        req.form
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(field("grant_type").as_deref(), Some("client_credentials"));
    assert_eq!(field("scope").as_deref(), Some(VAULT_SCOPE));
    assert_eq!(req.tenant, TENANT);
    assert!(
        !format!("{t:?}").contains(t.secret()),
        "Debug hides the token"
    );
}

#[tokio::test]
async fn the_token_file_is_read_again_on_every_request() {
    let w = World::new();
    let id = workload(&w);
    id.request_token(VAULT_SCOPE).await.unwrap();
    w.pod.rotate_token(ISSUER, SUBJECT, 3600);
    id.request_token(VAULT_SCOPE).await.unwrap();
    let assertions: Vec<String> = w
        .pod
        .aad
        .requests()
        .iter()
        .map(|r| {
            r.form
                .iter()
                .find(|(k, _)| k == "client_assertion")
                .unwrap()
                .1
                .clone()
        })
        .collect();
    assert_eq!(assertions.len(), 2);
    assert_ne!(assertions[0], assertions[1], "the rotated file was sent");
    assert_eq!(
        assertions[1],
        std::fs::read_to_string(w.pod.token_file()).unwrap()
    );
}

#[tokio::test]
async fn errors_name_identity_endpoint_and_aadsts_code_but_never_the_assertion() {
    let w = World::new();
    // A service account the app does not federate with.
    w.pod
        .rotate_token(ISSUER, "system:serviceaccount:default:intruder", 3600);
    let assertion = std::fs::read_to_string(w.pod.token_file()).unwrap();
    let e = workload(&w).request_token(VAULT_SCOPE).await.unwrap_err();
    let f = identity_failure(&e);
    assert_eq!(f.aad_codes, vec![70021]);
    let text = e.to_string();
    assert!(text.contains(CLIENT) && text.contains(TENANT), "{text}");
    assert!(text.contains(&w.pod.aad.authority_host()), "{text}");
    assert!(text.contains("AADSTS70021"), "{text}");
    assert!(!text.contains(&assertion), "the assertion leaked: {text}");
    assert!(!e.is_transient());

    // An expired projected token (the kubelet stopped rotating it).
    w.pod.rotate_token(ISSUER, SUBJECT, -60);
    let e = workload(&w).request_token(VAULT_SCOPE).await.unwrap_err();
    assert_eq!(identity_failure(&e).aad_codes, vec![700024]);

    // The wrong tenant.
    w.pod.rotate_token(ISSUER, SUBJECT, 3600);
    let id = WorkloadIdentity::new(w.http.client().unwrap(), &w.env, Some("other-tenant"), None)
        .unwrap();
    let e = id.request_token(VAULT_SCOPE).await.unwrap_err();
    assert_eq!(identity_failure(&e).aad_codes, vec![90002]);
    assert!(e.to_string().contains("other-tenant"), "{e}");

    // An unknown application.
    let id = WorkloadIdentity::new(w.http.client().unwrap(), &w.env, None, Some("nobody")).unwrap();
    let e = id.request_token(VAULT_SCOPE).await.unwrap_err();
    assert_eq!(identity_failure(&e).aad_codes, vec![700016]);

    // A resource the tenant does not know (wrong audience).
    let e = workload(&w)
        .request_token("https://storage.example/.default")
        .await
        .unwrap_err();
    assert_eq!(identity_failure(&e).aad_codes, vec![500011]);
}

#[tokio::test]
async fn missing_injection_is_a_configuration_error() {
    let w = World::new();
    let mut env = w.env.clone();
    env.federated_token_file = None;
    let Err(e) = WorkloadIdentity::new(w.http.client().unwrap(), &env, None, None) else {
        panic!("accepted an environment without a token file")
    };
    assert!(e.to_string().contains("azure.workload.identity/use"), "{e}");
    env = w.env.clone();
    env.tenant_id = None;
    let Err(e) = WorkloadIdentity::new(w.http.client().unwrap(), &env, None, None) else {
        panic!("accepted an environment without a tenant")
    };
    assert!(e
        .to_string()
        .contains("azure tenant id environment variable is empty"));
}

#[tokio::test]
async fn cache_shares_one_request_retries_transient_failures_and_not_refusals() {
    let w = World::new();
    let cache = TokenCache::new(Arc::new(workload(&w)), RetryPolicy::default());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = cache.clone();
        tasks.push(tokio::spawn(
            async move { c.token(VAULT_SCOPE).await.unwrap() },
        ));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(w.pod.aad.requests().len(), 1, "single flight");

    // 503 then success: retried.
    w.pod.aad.fail_next(AadFailure {
        status: 503,
        error: "temporarily_unavailable".into(),
        code: 90033,
        message: "A transient error has occurred. Please try again.".into(),
    });
    cache.invalidate(VAULT_SCOPE);
    cache.token(VAULT_SCOPE).await.unwrap();
    assert_eq!(w.pod.aad.requests().len(), 3);

    // 400 refusal: not retried.
    w.pod.aad.fail_next(AadFailure {
        status: 400,
        error: "invalid_client".into(),
        code: 70025,
        message: "The client has no configured federated identity credentials.".into(),
    });
    cache.invalidate(VAULT_SCOPE);
    let e = cache.token(VAULT_SCOPE).await.unwrap_err();
    assert!(e.to_string().contains("AADSTS70025"), "{e}");
    assert_eq!(w.pod.aad.requests().len(), 4);
}

#[tokio::test]
async fn managed_identity_through_imds() {
    let w = World::new();
    let imds = Imds::start(&w.pod.aad, vec!["mi-default".into(), "mi-second".into()]);
    let mut env = w.env.clone();
    env.client_id = None;
    env.imds_endpoint = Some(imds.url());
    // The client ID Entra ID issued a managed-identity token to, `mi-second` configured.
    let world = &w;
    let issued_to = |env: AzureEnv| async move {
        let mi = ManagedIdentity::new(world.http.client().unwrap(), &env, Some("mi-second"));
        let t = mi.request_token(VAULT_SCOPE).await.unwrap();
        let issued = world
            .pod
            .aad
            .book
            .check(t.secret(), VAULT_RESOURCE)
            .unwrap();
        issued.client_id
    };
    assert_eq!(issued_to(env.clone()).await, "mi-second");
    // AZURE_CLIENT_ID wins over the configured one, as in Ratify.
    env.client_id = Some("mi-default".into());
    assert_eq!(issued_to(env.clone()).await, "mi-default");
    env.client_id = Some("unknown".into());
    let e = ManagedIdentity::new(w.http.client().unwrap(), &env, None)
        .request_token(VAULT_SCOPE)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Identity not found"), "{e}");
}
