//! Revocation end to end through the real binary: images in a real registry, signed by
//! leaves whose CRL distribution point is a CRL server on loopback. A revoked leaf fails
//! `imagegate verify` and `imagegate serve` with notation-go's message, a leaf that is not
//! revoked passes, and a CRL server that is down gets the trust policy level's action:
//! `strict` fails ("revocation status is unknown"), `permissive` and `audit` pass and log it.

// Integration test helpers outside #[test] fns may fail loudly too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{imagegate, registry};
use imagegate_testkit::pki::{ca_params, leaf_params};
use rcgen::{
    CertificateRevocationListParams, CrlDistributionPoint, Issuer, KeyIdMethod, KeyPair,
    RevocationReason, RevokedCertParams, SerialNumber,
};
use serde_json::{json, Value};
use time::macros::datetime;

const GOOD_SERIAL: [u8; 2] = [0x0a, 0x01];
const REVOKED_SERIAL: [u8; 2] = [0x0b, 0x02];
const UNREACHABLE_SERIAL: [u8; 2] = [0x0c, 0x03];

/// Serves one CRL at every path, counting requests, on a thread for the test's lifetime.
struct CrlServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl CrlServer {
    fn start(crl: Vec<u8>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/pkix-crl\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n",
                    crl.len()
                );
                let _ = stream.write_all(&crl);
            }
        });
        Self { addr, hits }
    }
}

/// A root CA, three code-signing leaves (good, revoked, and one whose CRL server is down)
/// and the files `imagegate sign` and the config need.
struct Fixture {
    dir: tempfile::TempDir,
    root_pem: PathBuf,
    crl_server: CrlServer,
    /// Held: bound, never listening, so the "down" CRL URL is refused and stays free.
    _down: tokio::net::TcpSocket,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root_key = KeyPair::generate().unwrap();
        let root_params = ca_params("imagegate crl test root");
        let root = root_params.clone().self_signed(&root_key).unwrap();
        let issuer = Issuer::new(root_params, &root_key);
        // Valid from 2020 to 2099: current whatever the clock of the run, without reading it.
        let crl = CertificateRevocationListParams {
            this_update: datetime!(2020-01-02 0:00 UTC),
            next_update: datetime!(2099-01-01 0:00 UTC),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from_slice(&REVOKED_SERIAL),
                revocation_time: datetime!(2020-01-02 0:00 UTC),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&issuer)
        .unwrap();
        let crl_server = CrlServer::start(crl.der().to_vec());
        let down = tokio::net::TcpSocket::new_v4().unwrap();
        down.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let down_url = format!("http://{}/root.crl", down.local_addr().unwrap());
        let crl_url = format!("http://{}/root.crl", crl_server.addr);
        for (name, serial, url) in [
            ("good", GOOD_SERIAL, &crl_url),
            ("revoked", REVOKED_SERIAL, &crl_url),
            ("unreachable", UNREACHABLE_SERIAL, &down_url),
        ] {
            let key = KeyPair::generate().unwrap();
            let mut params = leaf_params(name);
            params.serial_number = Some(SerialNumber::from_slice(&serial));
            params.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
            let leaf = params.signed_by(&key, &issuer).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
            std::fs::write(
                dir.path().join(format!("{name}.chain")),
                format!("{}{}", leaf.pem(), root.pem()),
            )
            .unwrap();
        }
        let root_pem = dir.path().join("root.pem");
        std::fs::write(&root_pem, root.pem()).unwrap();
        Self {
            dir,
            root_pem,
            crl_server,
            _down: down,
        }
    }

    /// Pushes `repo:v1` and signs it with leaf `signer`; returns the tag reference.
    async fn signed_image(&self, repo: &str, signer: &str) -> String {
        registry().pusher(repo).image("v1").await;
        let image = format!("{}/{repo}:v1", registry().host());
        let key = self.dir.path().join(format!("{signer}.key"));
        let chain = self.dir.path().join(format!("{signer}.chain"));
        let out = imagegate(&[
            "sign",
            "--key",
            key.to_str().unwrap(),
            "--cert",
            chain.to_str().unwrap(),
            &image,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        image
    }

    /// A Ratify config trusting the root, with one trust policy statement per level, scoped
    /// to `repos`.
    fn config(&self, repos: &[(String, &str)]) -> PathBuf {
        let host = registry().host();
        let statements: Vec<Value> = repos
            .iter()
            .map(|(repo, level)| {
                json!({
                    "name": repo.replace('/', "-"),
                    "registryScopes": [format!("{host}/{repo}")],
                    "signatureVerification": {"level": level},
                    "trustStores": ["ca:certs"],
                    "trustedIdentities": ["*"],
                })
            })
            .collect();
        let config = json!({
            "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true}]},
            "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy",
                "artifactVerificationPolicies": {"application/vnd.cncf.notary.signature": "any"}}},
            "verifier": {"version": "1.0.0", "plugins": [{
                "name": "verifier-notation", "type": "notation",
                "artifactTypes": "application/vnd.cncf.notary.signature",
                "verificationCerts": [self.root_pem],
                "trustPolicyDoc": {"version": "1.0", "trustPolicies": statements}}]},
            "executor": {"verificationRequestTimeout": 10000, "mutationRequestTimeout": 5000}
        });
        let path = self.dir.path().join("config.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        path
    }
}

/// The error reason of the first verifier report of a verification result.
fn reason(result: &Value) -> String {
    result["verifierReports"][0]["errorReason"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn verify(config: &Path, image: &str) -> Output {
    imagegate(&[
        "verify",
        image,
        "--config",
        config.to_str().unwrap(),
        "--output",
        "json",
    ])
}

/// notation-go's messages for a revoked leaf and one whose CRL could not be fetched.
fn revoked_message(cn: &str) -> String {
    format!(
        "signing certificate with subject \"CN={cn},O=imagegate,L=Seattle,ST=WA,C=US\" is revoked"
    )
}
fn unknown_message(cn: &str) -> String {
    format!(
        "signing certificate with subject \"CN={cn},O=imagegate,L=Seattle,ST=WA,C=US\" \
         revocation status is unknown"
    )
}

/// The repositories of the test and the levels their trust policy statements use.
const REPOS: [(&str, &str, &str); 5] = [
    ("crl/strict-good", "strict", "good"),
    ("crl/strict-revoked", "strict", "revoked"),
    ("crl/strict-down", "strict", "unreachable"),
    ("crl/permissive-down", "permissive", "unreachable"),
    ("crl/audit-down", "audit", "unreachable"),
];

/// Signs the images of [`REPOS`] under `prefix/` (each test has its own repositories in the
/// shared registry); returns them.
async fn images(f: &Fixture, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (repo, _, signer) in REPOS {
        out.push(f.signed_image(&format!("{prefix}/{repo}"), signer).await);
    }
    out
}

/// The repositories under `prefix/` and their levels.
fn levels(prefix: &str) -> Vec<(String, &'static str)> {
    REPOS
        .iter()
        .map(|(repo, level, _)| (format!("{prefix}/{repo}"), *level))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imagegate_verify_checks_crls_online() {
    let f = Fixture::new();
    let images = images(&f, "verify").await;
    let config = f.config(&levels("verify"));

    // Not revoked: passes, and the CRL was fetched from its distribution point.
    let before = f.crl_server.hits.load(Ordering::SeqCst);
    let out = verify(&config, &images[0]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(f.crl_server.hits.load(Ordering::SeqCst) > before);

    // Revoked: fails with notation-go's message.
    let out = verify(&config, &images[1]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["isSuccess"], false, "{stdout}");
    assert_eq!(reason(&json), revoked_message("revoked"), "{stdout}");

    // CRL server down under strict: the status is unknown, and that fails.
    let out = verify(&config, &images[2]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(reason(&json), unknown_message("unreachable"), "{stdout}");

    // Under permissive and audit, revocation is only logged: the image passes, with a
    // warning on stderr.
    for image in &images[3..] {
        let out = verify(&config, image);
        assert_eq!(out.status.code(), Some(0), "{image}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("WARN"), "{stderr}");
        assert!(stderr.contains(&unknown_message("unreachable")), "{stderr}");
    }
    // A pass under strict has no such warning.
    let out = verify(&config, &images[0]);
    assert!(
        !text(&out.stderr).contains("revocation status"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imagegate_serve_checks_crls_online() {
    let f = Fixture::new();
    let images = images(&f, "serve").await;
    let config = f.config(&levels("serve"));
    let mut serve = common::serve::start(&[
        "--config",
        config.to_str().unwrap(),
        "--insecure-plain-http",
    ]);
    let keys: Vec<&str> = images.iter().map(String::as_str).collect();
    let items = serve.verify(&keys);
    let success: Vec<bool> = items
        .iter()
        .map(|i| i["value"]["isSuccess"].as_bool().unwrap_or(false))
        .collect();
    let all = serde_json::to_string_pretty(&items).unwrap();
    assert_eq!(success, [true, false, false, true, true], "{all}");
    assert_eq!(
        reason(&items[1]["value"]),
        revoked_message("revoked"),
        "{all}"
    );
    assert_eq!(
        reason(&items[2]["value"]),
        unknown_message("unreachable"),
        "{all}"
    );
    // The permissive and audit passes log the failed revocation check as a warning.
    let logged = unknown_message("unreachable").replace('"', "\\\"");
    serve.wait_for_log(&logged);
    let warnings = serve
        .log()
        .lines()
        .filter(|l| l.contains(&logged) && l.contains("WARN"))
        .count();
    assert_eq!(warnings, 2, "{}", serve.log());
    assert_eq!(serve.stop(), Some(0));
}
