//! `imagegate serve` with Azure, end to end against the emulators: a certificate from the
//! emulated Key Vault (workload identity), images in the token-protected registry behind the
//! emulated ACR token service. Rotation in the vault → next refresh → verdicts follow; vault
//! outage → the last good certificates keep verifying; tokens expiring under load → no
//! failed verdict; the wrong tenant → a clear start-up error.
#![allow(clippy::disallowed_methods)] // Test/demo code that waits in real time for child processes and emulators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_oci::{ClientConfig, Credential, Reference, RegistryClient, StaticCredentials};
use imagegate_testkit::azure::{
    federated_token, Aad, Acr, FederatedIdentity, KeyVault, TestCa, VaultFailure,
};
use imagegate_testkit::{free_port, sign_subject, Pki, Pusher, SignImageOptions};
use serde_json::Value;

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "1b2c3d4e-0000-4000-8000-00000000c11e";
const ISSUER: &str = "https://oidc.prod-aks.azure.com/tenant/";
const SUBJECT: &str = "system:serviceaccount:gatekeeper-system:ratify-admin";

struct Azure {
    ca: TestCa,
    aad: Aad,
    kv: KeyVault,
    acr: Acr,
    dir: tempfile::TempDir,
}

impl Azure {
    fn start() -> Self {
        let ca = TestCa::generate();
        let aad = Aad::start(
            &ca,
            TENANT,
            vec![FederatedIdentity {
                client_id: CLIENT.into(),
                issuer: ISSUER.into(),
                subject: SUBJECT.into(),
            }],
        );
        let kv = KeyVault::start(&ca, TENANT, aad.book.clone());
        let acr = Acr::start(&ca, TENANT, aad.book.clone());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("token"),
            federated_token(ISSUER, SUBJECT, 3600),
        )
        .unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();
        Self {
            ca,
            aad,
            kv,
            acr,
            dir,
        }
    }

    /// Pushes `repo:v1` into the registry behind the ACR front and signs it with `pki`;
    /// returns the digest reference through the front.
    async fn signed_image(&self, repo: &str, pki: &Pki) -> String {
        let creds = StaticCredentials::default().with(
            &self.acr.registry.host(),
            Credential::Bearer(self.acr.push_token(repo)),
        );
        let client = RegistryClient::new(ClientConfig {
            credentials: Arc::new(creds),
            ..ClientConfig::default()
        })
        .unwrap();
        let pusher = Pusher::with_client(client, &self.acr.registry.host(), repo);
        let subject = pusher.image("v1").await;
        // Signed through the registry itself; verified through the ACR front.
        let reference = Reference::parse(&format!(
            "{}/{repo}@{}",
            self.acr.registry.host(),
            subject.digest
        ))
        .unwrap();
        sign_subject(
            &pusher,
            reference,
            &subject,
            pki,
            &SignImageOptions::new(EnvelopeFormat::Jws),
        )
        .await;
        format!("{}/{repo}@{}", self.acr.host(), subject.digest)
    }

    fn put_certificate(&self, pki: &Pki) -> String {
        let chain = pki.chain_der();
        self.kv.put_certificate_pem("signer", &chain, pki.key_der())
    }

    /// The CRDs of the AKS overlay: Key Vault KMP, ACR store with workload identity, notation
    /// verifier trusting the KMP, config policy.
    fn write_crds(&self, kmp_tenant: &str) -> PathBuf {
        let crds = self.dir.path().join("crds");
        std::fs::create_dir_all(&crds).unwrap();
        let policy = r#"{"version":"1.0","trustPolicies":[{"name":"default","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:certs"],"trustedIdentities":["*"]}]}"#;
        let yaml = format!(
            r#"apiVersion: config.ratify.deislabs.io/v1beta1
kind: KeyManagementProvider
metadata:
  name: kmprovider-akv
spec:
  type: azurekeyvault
  refreshInterval: 1s
  parameters:
    vaultURI: {vault}
    tenantID: {kmp_tenant}
    clientID: {CLIENT}
    certificates:
      - name: signer
---
apiVersion: config.ratify.deislabs.io/v1beta1
kind: Store
metadata:
  name: store-oras
spec:
  name: oras
  parameters:
    authProvider:
      name: azureWorkloadIdentity
      clientID: {CLIENT}
      endpoints:
        - "{acr}"
---
apiVersion: config.ratify.deislabs.io/v1beta1
kind: Verifier
metadata:
  name: verifier-notation
spec:
  name: notation
  artifactTypes: application/vnd.cncf.notary.signature
  parameters:
    verificationCertStores:
      ca:
        certs:
          - kmprovider-akv
    trustPolicyDoc: {policy}
---
apiVersion: config.ratify.deislabs.io/v1beta1
kind: Policy
metadata:
  name: ratify-policy
spec:
  type: config-policy
  parameters:
    artifactVerificationPolicies:
      application/vnd.cncf.notary.signature: any
"#,
            vault = self.kv.vault_uri(),
            acr = self.acr.host(),
        );
        std::fs::write(crds.join("ratify.yaml"), yaml).unwrap();
        crds
    }

    fn serve(&self, kmp_tenant: &str) -> Server {
        let crds = self.write_crds(kmp_tenant);
        let config = self.dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"executor": {"verificationRequestTimeout": 10000}, "imagegate": {"cache": {"verdictTtlSeconds": 1, "failureTtlSeconds": 1}, "reloadIntervalMs": 200}}"#,
        )
        .unwrap();
        let (port, health, metrics) = (free_port(), free_port(), free_port());
        let log = self.dir.path().join(format!("serve-{port}.log"));
        let (host, addr) = self.kv.resolve();
        let child = Command::new(env!("CARGO_BIN_EXE_imagegate"))
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .arg("--crd-dir")
            .arg(&crds)
            .arg("--insecure-plain-http")
            .args(["--http", &format!("127.0.0.1:{port}")])
            .args(["--health", &format!("127.0.0.1:{health}")])
            .args(["--metrics", &format!("127.0.0.1:{metrics}")])
            .args(["--log-format", "text", "--log-level", "info"])
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", CLIENT)
            .env("AZURE_FEDERATED_TOKEN_FILE", self.dir.path().join("token"))
            .env("AZURE_AUTHORITY_HOST", self.aad.authority_host())
            .env("IMAGEGATE_AZURE_CA_FILE", self.dir.path().join("ca.pem"))
            .env("IMAGEGATE_AZURE_RESOLVE", format!("{host}={addr}"))
            // The registry client trusts the system roots; the emulated ACR's CA is added
            // the standard way.
            .env("SSL_CERT_FILE", self.dir.path().join("ca.pem"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Server {
            child,
            port,
            health,
            log,
        }
    }
}

struct Server {
    child: Child,
    port: u16,
    health: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn http(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let status = out.split(' ').nth(1)?.parse().ok()?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

fn log_of(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

impl Server {
    /// Waits for `/readyz` (or the process to exit: `Err(log)`).
    fn ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(90);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Err(log_of(&self.log));
            }
            if http(self.health, "GET", "/readyz", "").is_some_and(|(s, _)| s == 200) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(format!("not ready in time:\n{}", log_of(&self.log)))
    }

    /// The verdict (`isSuccess`) and the item for `image`.
    fn verify(&self, image: &str) -> (bool, Value) {
        let body = serde_json::json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest", "request": {"keys": [image]}}).to_string();
        let (status, text) = http(self.port, "POST", "/ratify/gatekeeper/v1/verify", &body)
            .unwrap_or_else(|| panic!("no answer\n{}", log_of(&self.log)));
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        let item = v["response"]["items"][0].clone();
        (item["value"]["isSuccess"] == true, item)
    }

    /// Polls until `image`'s verdict is `want` (a refresh and reload are events in another
    /// process; the deadline bounds the wait).
    fn until_verdict(&self, image: &str, want: bool, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let (ok, item) = self.verify(image);
            if ok == want {
                return item;
            }
            assert!(
                Instant::now() < deadline,
                "verdict for {image} never became {want}: {item}\n{}",
                log_of(&self.log)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

#[test]
fn key_vault_rotation_outage_token_expiry_and_wrong_tenant_through_imagegate_serve() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let az = Azure::start();
    let (old, new) = (Pki::generate(), Pki::generate());
    let image_old = rt.block_on(az.signed_image("app", &old));
    let image_new = rt.block_on(az.signed_image("web", &new));
    az.put_certificate(&old);

    let mut server = az.serve(TENANT);
    server.ready().unwrap();
    let (ok, item) = server.verify(&image_old);
    assert!(ok, "signed by the vault's certificate: {item}");
    let (ok, _) = server.verify(&image_new);
    assert!(!ok, "not yet trusted");
    assert_eq!(az.acr.exchanges(), 1, "one ACR exchange for the registry");

    // Rotation: the vault's latest version now holds the new certificate.
    az.put_certificate(&new);
    server.until_verdict(&image_new, true, Duration::from_secs(30));
    server.until_verdict(&image_old, false, Duration::from_secs(30));

    // Outage: every refresh fails; the last good certificates keep verifying.
    az.kv.set_outage(Some(VaultFailure::unavailable()));
    let served = az.kv.served();
    let deadline = Instant::now() + Duration::from_secs(30);
    while az.kv.served() < served + 6 {
        assert!(
            Instant::now() < deadline,
            "no refresh attempted during the outage"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..5 {
        let (ok, item) = server.verify(&image_new);
        assert!(ok, "verification must go on during a vault outage: {item}");
    }
    assert!(
        log_of(&server.log).contains("Key Vault refresh failed"),
        "the failure is logged"
    );
    az.kv.set_outage(None);

    // Tokens revoked and then expiring under load: every AAD token and ACR refresh token is
    // revoked, new ones live 2 s; images in eight repositories (each needing a new registry
    // token from the refresh token) are verified over 6 s without a failed verdict.
    let load: Vec<String> = (0..8)
        .map(|i| rt.block_on(az.signed_image(&format!("load-{i}"), &new)))
        .collect();
    az.aad.set_token_lifetime(2);
    az.acr.set_refresh_lifetime(2);
    az.acr.set_access_lifetime(2);
    az.aad.book.revoke_all();
    az.acr.revoke_refresh_tokens();
    let exchanges = az.acr.exchanges();
    for image in &load {
        let paced = Instant::now() + Duration::from_millis(750);
        let (ok, item) = server.verify(image);
        assert!(
            ok,
            "a token expiry must not fail a verdict: {item}\n{}",
            log_of(&server.log)
        );
        let (ok, item) = server.verify(&image_new);
        assert!(ok, "{item}");
        std::thread::sleep(paced.saturating_duration_since(Instant::now()));
    }
    assert!(
        az.acr.exchanges() >= exchanges + 2,
        "re-exchanged after the revocation and again after expiry ({} -> {})",
        exchanges,
        az.acr.exchanges()
    );
    drop(server);

    // The wrong tenant: start-up fails, saying which identity, which endpoint and AADSTS.
    let mut bad = az.serve("00000000-0000-0000-0000-0000000000aa");
    let log = bad
        .ready()
        .expect_err("started with a KMP in the wrong tenant");
    assert!(log.contains("AADSTS90002"), "{log}");
    assert!(log.contains("kmprovider-akv"), "{log}");
    let _ = &az.ca;
}
