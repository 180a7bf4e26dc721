//! Stores naming Kubernetes pull secrets (Ratify's `k8Secrets` auth provider), through the real
//! `imagegate serve --kubernetes` and a registry that requires Basic auth: the secret is read
//! from the API server, watched (a changed secret changes the credentials used), and never
//! logged.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::Engine as _;
use common::*;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::kube_api::ApiServer;
use imagegate_testkit::ratify;
use imagegate_testkit::{sign_image, Pki, Registry};
use serde_json::json;

const PASSWORD: &str = "pull-secret-password-7f3a";

fn docker_config(host: &str, user: &str, password: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = b64.encode(format!("{user}:{password}"));
    b64.encode(json!({"auths": {host: {"auth": auth}}}).to_string())
}

fn secret(host: &str, password: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "regcred", "namespace": "default"},
           "type": "kubernetes.io/dockerconfigjson",
           "data": {".dockerconfigjson": docker_config(host, "puller", password)}})
}

#[tokio::test]
async fn stores_use_watched_pull_secrets_and_never_log_them() {
    let registry = Registry::start_htpasswd("puller", PASSWORD);
    let pki = Pki::generate();
    let image = sign_image(&registry, "private", "v1", EnvelopeFormat::Jws, &pki).await;
    let server = ApiServer::start();
    let c = client(&server);
    create(
        &c,
        ratify::oras_store(
            "store-oras",
            None,
            json!({"useHttp": true,
                   "authProvider": {"name": "k8Secrets",
                                    "secrets": [{"secretName": "regcred", "namespace": "default"}]}}),
        ),
    )
    .await;
    create(&c, policy()).await;
    create(&c, kmp("signer", None, &pki.root_pem())).await;
    create(&c, verifier("verifier-notation", None, "signer")).await;
    let serve = Serve::start(&server, "sa");

    // The secret does not exist yet: the store fails, so there is no configuration.
    let st = wait_status(&server, "stores/store-oras", false, &serve.log).await;
    assert_eq!(
        st["brieferror"], "REFERRER_STORE_FAILURE: secret default/regcred not found",
        "{st}"
    );
    assert!(!serve.ready().await);

    // With the secret the store loads and the private image verifies.
    create(&c, secret(&registry.host(), PASSWORD)).await;
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&image.pinned()).await, Ok(true));
    wait_status(&server, "stores/store-oras", true, &serve.log).await;

    // A rotated (here: wrong) password reaches the store: the image can no longer be read.
    let secrets = api(&c, "Secret", Some("default"));
    let mut s = secrets.get("regcred").await.unwrap();
    s.data["data"][".dockerconfigjson"] = json!(docker_config(&registry.host(), "puller", "wrong"));
    secrets
        .replace("regcred", &Default::default(), &s)
        .await
        .unwrap();
    let key = image.pinned();
    eventually(
        "the wrong password in use",
        || async { serve.verdict(&key).await != Ok(true) },
        &serve.log,
    )
    .await;

    // Only pull secrets are listed and watched.
    let secret_requests: Vec<_> = requests_by(&server, "sa")
        .into_iter()
        .filter(|r| r.resource == "secrets")
        .collect();
    assert!(!secret_requests.is_empty());
    for r in &secret_requests {
        assert_eq!(
            r.query.get("fieldSelector").map(String::as_str),
            Some("type=kubernetes.io/dockerconfigjson"),
            "{r:?}"
        );
    }

    let log = serve.log();
    assert!(!log.contains(PASSWORD), "the password was logged:\n{log}");
    let encoded = docker_config(&registry.host(), "puller", PASSWORD);
    assert!(!log.contains(&encoded));
}
