//! Authentication against the real registry: htpasswd Basic auth, and Docker
//! token auth with an in-test issuer whose certificate the registry trusts.
//! Credentials also come from a Docker `config.json` and a Kubernetes
//! `dockerconfigjson` secret file.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use imagegate_oci::{
    ClientConfig, Credential, CredentialProvider, DockerConfig, OciError, Reference,
    RegistryClient, StaticCredentials, NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};
use imagegate_testkit::{desc, image_manifest, sha256, Pusher, Registry, TokenIssuer};
use serde_json::json;

const USER: &str = "imagegate";
const PASSWORD: &str = "correct horse battery staple";

fn basic_registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| Registry::start_htpasswd(USER, PASSWORD))
}

/// A token-auth registry and its issuer.
fn token_setup() -> (&'static TokenIssuer, &'static Registry) {
    static T: OnceLock<Registry> = OnceLock::new();
    let registry = T.get_or_init(|| Registry::start_token(USER, PASSWORD));
    (registry.token_issuer().unwrap(), registry)
}

fn client_with(creds: impl CredentialProvider + 'static) -> RegistryClient {
    RegistryClient::new(ClientConfig {
        credentials: Arc::new(creds),
        ..Default::default()
    })
    .unwrap()
}

/// Pushes a subject with one legacy-shape signature (listed via the tag schema)
/// and returns (subject reference with digest, signature digest).
async fn push_signed(p: &Pusher, host: &str) -> (Reference, String) {
    let empty = p.blob(OCI_EMPTY, b"{}").await;
    let layer = p
        .blob("application/vnd.oci.image.layer.v1.tar", p.repo.as_bytes())
        .await;
    let subject_bytes = image_manifest(
        &desc("application/vnd.oci.image.config.v1+json", &empty.digest, 2),
        &[layer],
        json!({}),
    );
    let subject = p.manifest("v1", OCI_MANIFEST, &subject_bytes).await;
    let env = p
        .blob("application/jose+json", b"{\"payload\":\"x\"}")
        .await;
    let sig_bytes = image_manifest(
        &desc(NOTARY_SIGNATURE, &empty.digest, 2),
        &[env],
        json!({"subject": subject}),
    );
    let sig = p
        .manifest(&sha256(&sig_bytes), OCI_MANIFEST, &sig_bytes)
        .await;
    let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": sig.digest, "size": sig.size, "artifactType": NOTARY_SIGNATURE}]}))
    .unwrap();
    p.manifest(&subject.digest.replace(':', "-"), OCI_INDEX, &index)
        .await;
    let r = Reference::parse(&format!("{host}/{}:v1", p.repo)).unwrap();
    (r.with_digest(&subject.digest), sig.digest)
}

/// resolve → referrers → signature manifest → envelope, as the engine will do.
async fn full_flow(
    c: &RegistryClient,
    subject: &Reference,
    sig_digest: &str,
) -> Result<(), OciError> {
    let tagged = Reference {
        digest: None,
        ..subject.clone()
    };
    let resolved = c.resolve(&tagged).await?;
    assert_eq!(Some(resolved.digest.as_str()), subject.digest.as_deref());
    let sigs = c.referrers(subject, Some(NOTARY_SIGNATURE)).await?;
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0].digest, sig_digest);
    let m = c.fetch_manifest(subject, sig_digest).await?;
    let imagegate_oci::ParsedManifest::Image(image) = m.parsed else {
        panic!("not an image")
    };
    let env = c
        .fetch_blob(subject, image.signature_envelope().unwrap())
        .await?;
    assert_eq!(env.as_ref(), b"{\"payload\":\"x\"}");
    Ok(())
}

#[tokio::test]
async fn basic_auth_with_static_credentials() {
    let reg = basic_registry();
    let p = reg.pusher("basic/app");
    let (subject, sig) = push_signed(&p, &reg.host()).await;

    let good = StaticCredentials::default().with(
        &reg.host(),
        Credential::Basic {
            username: USER.into(),
            password: PASSWORD.into(),
        },
    );
    full_flow(&client_with(good), &subject, &sig).await.unwrap();

    let wrong = StaticCredentials::default().with(
        &reg.host(),
        Credential::Basic {
            username: USER.into(),
            password: "nope".into(),
        },
    );
    let err = client_with(wrong).resolve(&subject).await.unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
    assert!(!err.to_string().contains("nope"));

    let err = client_with(imagegate_oci::Anonymous)
        .referrers(&subject, None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("no credentials"), "{err}");
}

#[tokio::test]
async fn docker_config_and_k8s_secret_files() {
    let reg = basic_registry();
    let p = reg.pusher("basic/from-config");
    let (subject, sig) = push_signed(&p, &reg.host()).await;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"));
    let config = json!({"auths": {format!("http://{}", reg.host()): {"auth": auth}}, "credHelpers": {"gcr.io": "gcloud"}});
    let dir = tempfile::tempdir().unwrap();

    let config_path = dir.path().join("config.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let from_file = DockerConfig::from_file(&config_path).unwrap();
    assert_eq!(from_file.unsupported_helper("gcr.io"), Some("gcloud"));
    full_flow(&client_with(from_file), &subject, &sig)
        .await
        .unwrap();

    // A mounted secret (`.dockerconfigjson` key) is the same format; the Secret
    // object itself carries it base64-encoded.
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": base64::engine::general_purpose::STANDARD.encode(config.to_string())}});
    let secret_path = dir.path().join("secret.json");
    std::fs::write(&secret_path, secret.to_string()).unwrap();
    let from_secret =
        DockerConfig::from_k8s_secret_json(&std::fs::read(&secret_path).unwrap()).unwrap();
    full_flow(&client_with(from_secret), &subject, &sig)
        .await
        .unwrap();
}

#[tokio::test]
async fn bearer_token_flow_against_the_real_registry() {
    let (issuer, reg) = token_setup();
    let p = Pusher::new(
        &reg.host(),
        "token/app",
        Some(Credential::Bearer(issuer.push_token("token/app"))),
    );
    let (subject, sig) = push_signed(&p, &reg.host()).await;

    let creds = StaticCredentials::default().with(
        &reg.host(),
        Credential::Basic {
            username: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let c = client_with(creds);
    let before = issuer.requests.load(Ordering::SeqCst);
    full_flow(&c, &subject, &sig).await.unwrap();
    // One token for the repository scope, reused by all five requests.
    assert_eq!(
        issuer.requests.load(Ordering::SeqCst) - before,
        1,
        "{}",
        reg.log()
    );
    full_flow(&c, &subject, &sig).await.unwrap();
    assert_eq!(issuer.requests.load(Ordering::SeqCst) - before, 1);
}

#[tokio::test]
async fn bearer_token_failures() {
    let (issuer, reg) = token_setup();
    let p = Pusher::new(
        &reg.host(),
        "token/denied",
        Some(Credential::Bearer(issuer.push_token("token/denied"))),
    );
    let (subject, _) = push_signed(&p, &reg.host()).await;

    // Wrong password: the token service answers 401.
    let wrong = StaticCredentials::default().with(
        &reg.host(),
        Credential::Basic {
            username: USER.into(),
            password: "wrong".into(),
        },
    );
    let err = client_with(wrong).resolve(&subject).await.unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("token service"), "{err}");

    // Anonymous: a token without pull access, which the registry refuses.
    let err = client_with(imagegate_oci::Anonymous)
        .referrers(&subject, None)
        .await
        .unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");

    // A forged token (not signed by the trusted issuer) is refused by the registry.
    let forged =
        StaticCredentials::default().with(&reg.host(), Credential::Bearer("e30.e30.AAAA".into()));
    let err = client_with(forged).resolve(&subject).await.unwrap_err();
    assert!(matches!(err, OciError::Unauthorized { .. }), "{err}");
}
