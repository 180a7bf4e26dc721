//! `make demo-azure`: the seed's Azure story on one machine, against the emulators. A
//! certificate in the (emulated) Key Vault, a signed and an unsigned image in the
//! token-protected registry behind the (emulated) ACR token service, `imagegate serve` with the
//! AKS overlay's CRDs and the environment the workload-identity webhook injects, then the two
//! `kubectl run demo --image=…` admissions as verdicts. Everything started is stopped on exit.
#![allow(clippy::disallowed_methods)] // Test/demo code that a demo waiting in real time for other processes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a demo: fail loudly

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_oci::{ClientConfig, Credential, Reference, RegistryClient, StaticCredentials};
use imagegate_testkit::azure::{federated_token, Aad, Acr, FederatedIdentity, KeyVault, TestCa};
use imagegate_testkit::{free_port, sign_subject, Pki, Pusher, SignImageOptions};

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "1b2c3d4e-0000-4000-8000-00000000c11e";
const ISSUER: &str = "https://oidc.prod-aks.azure.com/demo/";
const SUBJECT: &str = "system:serviceaccount:gatekeeper-system:imagegate";

fn imagegate_bin() -> PathBuf {
    std::env::var_os("IMAGEGATE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../target/debug/imagegate"
            ))
        })
}

async fn push(acr: &Acr, repo: &str, sign_with: Option<&Pki>) -> String {
    let creds = StaticCredentials::default().with(
        &acr.registry.host(),
        Credential::Bearer(acr.push_token(repo)),
    );
    let client = RegistryClient::new(ClientConfig {
        credentials: Arc::new(creds),
        ..ClientConfig::default()
    })
    .unwrap();
    let pusher = Pusher::with_client(client, &acr.registry.host(), repo);
    let subject = pusher.image("v1").await;
    if let Some(pki) = sign_with {
        let r = Reference::parse(&format!(
            "{}/{repo}@{}",
            acr.registry.host(),
            subject.digest
        ))
        .unwrap();
        sign_subject(
            &pusher,
            r,
            &subject,
            pki,
            &SignImageOptions::new(EnvelopeFormat::Jws),
        )
        .await;
    }
    format!("{}/{repo}@{}", acr.host(), subject.digest)
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
    Some((
        out.split(' ').nth(1)?.parse().ok()?,
        out.split_once("\r\n\r\n")?.1.to_owned(),
    ))
}

fn main() {
    println!("imagegate demo (Azure): Key Vault + ACR with workload identity, emulated locally\n");
    let rt = tokio::runtime::Runtime::new().unwrap();
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
    println!(
        "  Entra ID   {}  (tenant {TENANT}, federated: {SUBJECT})",
        aad.authority_host()
    );

    let pki = Pki::generate();
    let chain = pki.chain_der();
    let version = kv.put_certificate_pem("signer", &chain, pki.key_der());
    println!(
        "  Key Vault  {}  certificate signer/{version} (PEM chain)",
        kv.vault_uri()
    );
    let signed = rt.block_on(push(&acr, "net-monitor", Some(&pki)));
    let unsigned = rt.block_on(push(&acr, "net-monitor-unsigned", None));
    println!(
        "  ACR        {}  (token service in front of docker-registry)",
        acr.host()
    );
    println!("  signed     {signed}");
    println!("  unsigned   {unsigned}");

    // The AKS overlay's objects (deploy/README.md), pointed at the emulators.
    let crds = dir.path().join("crds");
    std::fs::create_dir_all(&crds).unwrap();
    let policy = r#"{"version":"1.0","trustPolicies":[{"name":"default","registryScopes":["*"],"signatureVerification":{"level":"strict"},"trustStores":["ca:certs"],"trustedIdentities":["*"]}]}"#;
    std::fs::write(crds.join("azure.yaml"), format!(
        "apiVersion: config.ratify.deislabs.io/v1beta1\nkind: KeyManagementProvider\nmetadata: {{name: kmprovider-akv}}\nspec:\n  type: azurekeyvault\n  refreshInterval: 1h\n  parameters:\n    vaultURI: {vault}\n    tenantID: {TENANT}\n    clientID: {CLIENT}\n    certificates: [{{name: signer}}]\n---\napiVersion: config.ratify.deislabs.io/v1beta1\nkind: Store\nmetadata: {{name: store-oras}}\nspec:\n  name: oras\n  parameters:\n    authProvider: {{name: azureWorkloadIdentity, clientID: {CLIENT}, endpoints: [\"{acr}\"]}}\n---\napiVersion: config.ratify.deislabs.io/v1beta1\nkind: Verifier\nmetadata: {{name: verifier-notation}}\nspec:\n  name: notation\n  artifactTypes: application/vnd.cncf.notary.signature\n  parameters:\n    verificationCertStores: {{ca: {{certs: [kmprovider-akv]}}}}\n    trustPolicyDoc: {policy}\n---\napiVersion: config.ratify.deislabs.io/v1beta1\nkind: Policy\nmetadata: {{name: ratify-policy}}\nspec:\n  type: config-policy\n  parameters:\n    artifactVerificationPolicies: {{default: all}}\n",
        vault = kv.vault_uri(), acr = acr.host())).unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"executor": {"verificationRequestTimeout": 10000}}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("token"),
        federated_token(ISSUER, SUBJECT, 3600),
    )
    .unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();

    let (port, health, metrics) = (free_port(), free_port(), free_port());
    let (host, addr) = kv.resolve();
    let log = dir.path().join("serve.log");
    let mut child = Command::new(imagegate_bin())
        .args(["serve", "--insecure-plain-http", "--log-format", "text"])
        .arg("--config")
        .arg(&config)
        .arg("--crd-dir")
        .arg(&crds)
        .args([
            "--http",
            &format!("127.0.0.1:{port}"),
            "--health",
            &format!("127.0.0.1:{health}"),
            "--metrics",
            &format!("127.0.0.1:{metrics}"),
        ])
        // What the workload-identity webhook injects, pointed at the emulators.
        .env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", CLIENT)
        .env("AZURE_FEDERATED_TOKEN_FILE", dir.path().join("token"))
        .env("AZURE_AUTHORITY_HOST", aad.authority_host())
        .env("IMAGEGATE_AZURE_CA_FILE", dir.path().join("ca.pem"))
        .env("IMAGEGATE_AZURE_RESOLVE", format!("{host}={addr}"))
        .env("SSL_CERT_FILE", dir.path().join("ca.pem"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e} (build it: cargo build -p imagegate-cli)",
                imagegate_bin().display()
            )
        });
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(health, "GET", "/readyz", "").is_none_or(|(s, _)| s != 200) {
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            panic!(
                "imagegate serve did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("  provider   http://127.0.0.1:{port}  (imagegate serve --crd-dir: kmprovider-akv, azureWorkloadIdentity)\n");

    for image in [&signed, &unsigned] {
        println!("$ kubectl run demo --image={image}");
        let body = serde_json::json!({"apiVersion": "externaldata.gatekeeper.sh/v1beta1", "kind": "ProviderRequest", "request": {"keys": [image]}}).to_string();
        let (_, text) = http(port, "POST", "/ratify/gatekeeper/v1/verify", &body)
            .expect("the provider answers");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let value = &v["response"]["items"][0]["value"];
        if value["isSuccess"] == true {
            println!("pod/demo created\n  => ALLOWED: signed by the certificate in Key Vault\n");
        } else {
            let reason = value["verifierReports"][0]["errorReason"]
                .as_str()
                .unwrap_or("not verified");
            println!("Error from server (Forbidden): {reason}\n  => DENIED\n");
        }
    }
    println!(
        "Azure calls: {} token request(s) to Entra ID, {} Key Vault request(s), {} ACR exchange(s)",
        aad.requests().len(),
        kv.served(),
        acr.exchanges()
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    println!("Stopped imagegate serve and the emulators.");
}
