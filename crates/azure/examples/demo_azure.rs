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
use std::time::{Duration, Instant};

use imagegate_testkit::azure::pod::{SUBJECT, TENANT};
use imagegate_testkit::azure::WorkloadIdentityPod;
use imagegate_testkit::{free_port, Pki};

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
    let az = WorkloadIdentityPod::start();
    println!(
        "  Entra ID   {}  (tenant {TENANT}, federated: {SUBJECT})",
        az.aad.authority_host()
    );

    let pki = Pki::generate();
    let version = az.put_certificate("signer", &pki);
    println!(
        "  Key Vault  {}  certificate signer/{version} (PEM chain)",
        az.kv.vault_uri()
    );
    let signed = rt.block_on(az.acr().push_image("net-monitor", Some(&pki)));
    let unsigned = rt.block_on(az.acr().push_image("net-monitor-unsigned", None));
    println!(
        "  ACR        {}  (token service in front of docker-registry)",
        az.acr().host()
    );
    println!("  signed     {signed}");
    println!("  unsigned   {unsigned}");

    // The AKS overlay's objects (deploy/README.md), pointed at the emulators.
    let (config, crds) = az.write_serve_config(
        TENANT,
        "1h",
        r#"{"executor": {"verificationRequestTimeout": 10000}}"#,
    );

    let (port, health, metrics) = (free_port(), free_port(), free_port());
    let log = az.dir().join("serve.log");
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
        .envs(az.env())
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
        az.aad.requests().len(),
        az.kv.served(),
        az.acr().exchanges()
    );
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    println!("Stopped imagegate serve and the emulators.");
}
