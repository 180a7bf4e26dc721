//! `CrlRevocationChecker` against a tiny HTTP server on 127.0.0.1 serving rcgen CRLs: good,
//! revoked, server down, stalled server, cache until `nextUpdate`, and a revoked signing
//! certificate failing a real verification. The checker is called on the blocking pool, as the
//! engine calls it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: failing loudly is the point
#![allow(clippy::disallowed_methods)] // Measures real elapsed time: an edge, not product code.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use imagegate_engine::clock::Clock;
use imagegate_engine::revocation::CrlRevocationChecker;
use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::limits::Limits;
use imagegate_notation::policy::{StoreType, TrustPolicyDocument};
use imagegate_notation::revocation::{
    CertPurpose, CertRevocation, RevocationChecker, RevocationMethod, RevocationStatus,
};
use imagegate_notation::sign::{PrivateKey, SignOptions, Signer};
use imagegate_notation::store::TrustStore;
use imagegate_notation::verifier::{verify, VerifyRequest};
use imagegate_testkit::pki;
use rcgen::{
    CertificateParams, CertificateRevocationListParams, CrlDistributionPoint, CustomExtension,
    Issuer, KeyIdMethod, KeyPair, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const T0: OffsetDateTime = time::macros::datetime!(2025-06-01 0:00 UTC);
const LEAF_SERIAL: [u8; 2] = [0x42, 0x42];
const INT_SERIAL: [u8; 1] = [0x77];
const LEAF_SUBJECT: &str = "CN=leaf,O=imagegate,L=Seattle,ST=WA,C=US";

// ---------------------------------------------------------------------------------------------
// A movable clock.

struct TestClock(Mutex<OffsetDateTime>);

impl TestClock {
    fn at(t: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t)))
    }
    fn set(&self, t: OffsetDateTime) {
        *self.0.lock().unwrap() = t;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// The CRL server.

#[derive(Clone)]
enum Served {
    Crl(Vec<u8>),
    Status(u16),
    /// Accept, read the request, never answer.
    Stall,
}

#[derive(Default)]
struct ServerState {
    routes: HashMap<String, Served>,
    hits: HashMap<String, usize>,
}

struct CrlServer {
    addr: SocketAddr,
    state: Arc<Mutex<ServerState>>,
    task: JoinHandle<()>,
}

impl CrlServer {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let line = String::from_utf8_lossy(&head);
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                    let served = {
                        let mut s = state.lock().unwrap();
                        *s.hits.entry(path.clone()).or_default() += 1;
                        s.routes.get(&path).cloned()
                    };
                    let (status, body) = match served {
                        Some(Served::Crl(b)) => (200, b),
                        Some(Served::Status(code)) => (code, Vec::new()),
                        Some(Served::Stall) => {
                            tokio::time::sleep(StdDuration::from_secs(60)).await;
                            return;
                        }
                        None => (404, Vec::new()),
                    };
                    let header = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(header.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { addr, state, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn serve(&self, path: &str, what: Served) {
        self.state
            .lock()
            .unwrap()
            .routes
            .insert(path.to_owned(), what);
    }

    fn hits(&self, path: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .hits
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for CrlServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates and CRLs.

struct Ca {
    der: CertificateDer<'static>,
    key: KeyPair,
    params: CertificateParams,
}

impl Ca {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::new(self.params.clone(), &self.key)
    }

    /// A CRL valid from `T0 - 1 day` to `next_update`, listing `revoked` serials.
    fn crl(&self, revoked: &[&[u8]], next_update: OffsetDateTime) -> Vec<u8> {
        CertificateRevocationListParams {
            this_update: T0 - Duration::days(1),
            next_update,
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(s),
                    revocation_time: T0 - Duration::days(2),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&self.issuer())
        .unwrap()
        .der()
        .as_ref()
        .to_vec()
    }
}

fn root() -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = pki::ca_params("root");
    let der = params.clone().self_signed(&key).unwrap().der().clone();
    Ca { der, key, params }
}

fn intermediate(parent: &Ca, cdp: &[String]) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = pki::ca_params("intermediate");
    params.serial_number = Some(SerialNumber::from_slice(&INT_SERIAL));
    params.crl_distribution_points = vec![CrlDistributionPoint { uris: cdp.to_vec() }];
    let der = params
        .clone()
        .signed_by(&key, &parent.issuer())
        .unwrap()
        .der()
        .clone();
    Ca { der, key, params }
}

/// A code-signing leaf issued by `ca` with these CDP URLs; returns it and its key.
fn leaf_with(
    ca: &Ca,
    cdp: &[String],
    adjust: impl FnOnce(&mut CertificateParams),
) -> (CertificateDer<'static>, KeyPair) {
    let mut p = pki::leaf_params("leaf");
    p.serial_number = Some(SerialNumber::from_slice(&LEAF_SERIAL));
    if !cdp.is_empty() {
        p.crl_distribution_points = vec![CrlDistributionPoint { uris: cdp.to_vec() }];
    }
    adjust(&mut p);
    let key = KeyPair::generate().unwrap();
    let der = p.signed_by(&key, &ca.issuer()).unwrap().der().clone();
    (der, key)
}

fn leaf(ca: &Ca, cdp: &[String]) -> CertificateDer<'static> {
    leaf_with(ca, cdp, |_| {}).0
}

// ---------------------------------------------------------------------------------------------
// Running the checker as the engine does.

async fn check(
    checker: &Arc<CrlRevocationChecker>,
    chain: &[CertificateDer<'static>],
) -> Vec<CertRevocation> {
    let (checker, chain) = (checker.clone(), chain.to_vec());
    tokio::task::spawn_blocking(move || checker.check(&chain, CertPurpose::CodeSigning, None))
        .await
        .unwrap()
}

fn statuses(results: &[CertRevocation]) -> Vec<(RevocationStatus, RevocationMethod)> {
    results.iter().map(|r| (r.status, r.method)).collect()
}

const ROOT_SKIPPED: (RevocationStatus, RevocationMethod) =
    (RevocationStatus::NonRevokable, RevocationMethod::NotChecked);

fn checker(clock: Arc<dyn Clock>) -> Arc<CrlRevocationChecker> {
    Arc::new(CrlRevocationChecker::new(clock).with_fetch_timeout(StdDuration::from_millis(500)))
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn good_crl_is_cached_until_next_update_then_refetched() {
    let server = CrlServer::start().await;
    let ca = root();
    let chain = vec![leaf(&ca, &[server.url("/ca.crl")]), ca.der.clone()];
    server.serve(
        "/ca.crl",
        Served::Crl(ca.crl(&[&[0x01]], T0 + Duration::days(1))),
    );
    let clock = TestClock::at(T0);
    let checker = checker(clock.clone());

    let results = check(&checker, &chain).await;
    assert_eq!(
        statuses(&results),
        vec![(RevocationStatus::Ok, RevocationMethod::Crl), ROOT_SKIPPED]
    );
    assert_eq!(results[0].subject, LEAF_SUBJECT);
    assert_eq!(server.hits("/ca.crl"), 1);

    // Served from the cache.
    clock.set(T0 + Duration::hours(23));
    let results = check(&checker, &chain).await;
    assert_eq!(results[0].status, RevocationStatus::Ok);
    assert_eq!(server.hits("/ca.crl"), 1);

    // Past nextUpdate the cached CRL is stale: downloaded again, and the new one now says
    // "revoked".
    clock.set(T0 + Duration::days(2));
    server.serve(
        "/ca.crl",
        Served::Crl(ca.crl(&[&LEAF_SERIAL], T0 + Duration::days(9))),
    );
    let results = check(&checker, &chain).await;
    assert_eq!(server.hits("/ca.crl"), 2);
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Revoked, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
    // A revoked answer is cached too.
    let results = check(&checker, &chain).await;
    assert_eq!(results[0].status, RevocationStatus::Revoked);
    assert_eq!(server.hits("/ca.crl"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_or_foreign_crl_is_unknown_and_not_cached() {
    let server = CrlServer::start().await;
    let ca = root();
    let other = root();
    let chain = vec![leaf(&ca, &[server.url("/ca.crl")]), ca.der.clone()];
    // No back-off: every failure is asked again (the back-off has its own test).
    let checker = Arc::new(
        CrlRevocationChecker::new(TestClock::at(T0))
            .with_fetch_timeout(StdDuration::from_millis(500))
            .with_failure_backoff(StdDuration::ZERO),
    );
    server.serve("/ca.crl", Served::Crl(ca.crl(&[], T0 - Duration::hours(1))));
    let results = check(&checker, &chain).await;
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Unknown, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
    // Signed by another CA with the same name.
    server.serve(
        "/ca.crl",
        Served::Crl(other.crl(&[], T0 + Duration::days(1))),
    );
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    server.serve("/ca.crl", Served::Status(500));
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    server.serve("/ca.crl", Served::Crl(b"garbage".to_vec()));
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    // Nothing was cached: every check downloaded.
    assert_eq!(server.hits("/ca.crl"), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_crl_is_unknown() {
    let server = CrlServer::start().await;
    let ca = root();
    let chain = vec![leaf(&ca, &[server.url("/ca.crl")]), ca.der.clone()];
    let crl = ca.crl(&[], T0 + Duration::days(1));
    server.serve("/ca.crl", Served::Crl(crl.clone()));
    let small =
        Arc::new(CrlRevocationChecker::new(TestClock::at(T0)).with_max_crl_bytes(crl.len() - 1));
    assert_eq!(
        check(&small, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    let exact =
        Arc::new(CrlRevocationChecker::new(TestClock::at(T0)).with_max_crl_bytes(crl.len()));
    assert_eq!(check(&exact, &chain).await[0].status, RevocationStatus::Ok);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_is_unknown_quickly() {
    // A port held by a socket that is bound but not listening: connections are refused, and
    // no other process can start listening there while the test runs.
    let held = tokio::net::TcpSocket::new_v4().unwrap();
    held.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = held.local_addr().unwrap().port();
    let ca = root();
    let chain = vec![
        leaf(&ca, &[format!("http://127.0.0.1:{port}/ca.crl")]),
        ca.der.clone(),
    ];
    // A long fetch deadline: answering before it shows the refusal was not waited out.
    let checker = Arc::new(
        CrlRevocationChecker::new(TestClock::at(T0)).with_fetch_timeout(StdDuration::from_secs(5)),
    );
    let started = Instant::now();
    let results = check(&checker, &chain).await;
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Unknown, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
    // A refused connection is not a stall: the answer does not wait for the fetch deadline.
    assert!(
        started.elapsed() < checker.fetch_timeout(),
        "{:?}",
        started.elapsed()
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_server_is_unknown_within_the_deadline() {
    let server = CrlServer::start().await;
    server.serve("/stall.crl", Served::Stall);
    let ca = root();
    let chain = vec![leaf(&ca, &[server.url("/stall.crl")]), ca.der.clone()];
    let checker = checker(TestClock::at(T0));
    assert_eq!(checker.fetch_timeout(), StdDuration::from_millis(500));
    let started = Instant::now();
    let results = check(&checker, &chain).await;
    let took = started.elapsed();
    assert_eq!(results[0].status, RevocationStatus::Unknown);
    assert_eq!(server.hits("/stall.crl"), 1);
    // The server never answers (it holds the connection for 60 s): the check ends at the
    // fetch deadline, not before, and not when the server gives up.
    let deadline = checker.fetch_timeout();
    assert!(took >= deadline, "gave up early: {took:?}");
    assert!(took < 10 * deadline, "waited too long: {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_server_is_not_asked_again_until_the_back_off_passes() {
    let server = CrlServer::start().await;
    server.serve("/stall.crl", Served::Stall);
    let ca = root();
    let chain = vec![leaf(&ca, &[server.url("/stall.crl")]), ca.der.clone()];
    // The back-off is long enough that the second check cannot miss it on a loaded machine;
    // the test then waits for it to pass (the failure memory uses real time).
    let backoff = StdDuration::from_secs(3);
    let checker = Arc::new(
        CrlRevocationChecker::new(TestClock::at(T0))
            .with_fetch_timeout(StdDuration::from_millis(300))
            .with_failure_backoff(backoff),
    );
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    let failed = Instant::now();
    assert_eq!(server.hits("/stall.crl"), 1);
    // Within the back-off: the status is still unknown, and the server is not asked (the
    // request count is the check).
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Unknown
    );
    assert_eq!(server.hits("/stall.crl"), 1);
    // After it, and the server has recovered: asked again, and the answer counts. The failure
    // was recorded before the first check returned, so `failed + backoff` is past it.
    server.serve(
        "/stall.crl",
        Served::Crl(ca.crl(&[], T0 + Duration::days(1))),
    );
    tokio::time::sleep_until((failed + backoff + StdDuration::from_millis(100)).into()).await;
    assert_eq!(
        check(&checker, &chain).await[0].status,
        RevocationStatus::Ok
    );
    assert_eq!(server.hits("/stall.crl"), 2);
}

#[test]
fn without_a_runtime_the_status_is_unknown() {
    let ca = root();
    let chain = vec![
        leaf(&ca, &["http://127.0.0.1:9/ca.crl".to_owned()]),
        ca.der.clone(),
    ];
    let checker = CrlRevocationChecker::new(TestClock::at(T0));
    let results = checker.check(&chain, CertPurpose::CodeSigning, None);
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Unknown, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificates_without_crl_urls_are_not_fetched() {
    let ca = root();
    let checker = checker(TestClock::at(T0));
    // No URLs at all: non-revokable.
    let bare = vec![leaf(&ca, &[]), ca.der.clone()];
    assert_eq!(
        statuses(&check(&checker, &bare).await),
        vec![ROOT_SKIPPED, ROOT_SKIPPED]
    );
    // OCSP only (AIA): OCSP is not supported, so unknown.
    let aia = der_seq(&[der_seq(&[
        der(0x06, &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01]),
        der(0x86, b"http://ocsp.example"),
    ])]);
    let (ocsp_only, _) = leaf_with(&ca, &[], |p| {
        p.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 1],
            aia,
        )];
    });
    assert_eq!(
        statuses(&check(&checker, &[ocsp_only, ca.der.clone()]).await),
        vec![
            (RevocationStatus::Unknown, RevocationMethod::NotChecked),
            ROOT_SKIPPED
        ]
    );
    // Only non-HTTP distribution points: unknown.
    let ldap = vec![
        leaf(&ca, &["ldap://ldap.example/cn=crl".to_owned()]),
        ca.der.clone(),
    ];
    assert_eq!(
        check(&checker, &ldap).await[0].status,
        RevocationStatus::Unknown
    );
    // A lone root is never checked.
    assert_eq!(
        statuses(&check(&checker, std::slice::from_ref(&ca.der)).await),
        vec![ROOT_SKIPPED]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_certificate_and_every_distribution_point_is_checked() {
    let server = CrlServer::start().await;
    let root_ca = root();
    let int = intermediate(&root_ca, &[server.url("/root.crl")]);
    let chain = vec![
        leaf(&int, &[server.url("/int-a.crl"), server.url("/int-b.crl")]),
        int.der.clone(),
        root_ca.der.clone(),
    ];
    let later = T0 + Duration::days(1);
    server.serve("/root.crl", Served::Crl(root_ca.crl(&[], later)));
    server.serve("/int-a.crl", Served::Crl(int.crl(&[], later)));
    server.serve("/int-b.crl", Served::Crl(int.crl(&[], later)));
    let results = check(&checker(TestClock::at(T0)), &chain).await;
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Ok, RevocationMethod::Crl),
            (RevocationStatus::Ok, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
    for path in ["/root.crl", "/int-a.crl", "/int-b.crl"] {
        assert_eq!(server.hits(path), 1, "{path}");
    }
    // The second distribution point revokes the leaf; the root revokes the intermediate.
    server.serve("/int-b.crl", Served::Crl(int.crl(&[&LEAF_SERIAL], later)));
    server.serve("/root.crl", Served::Crl(root_ca.crl(&[&INT_SERIAL], later)));
    let results = check(&checker(TestClock::at(T0)), &chain).await;
    assert_eq!(
        statuses(&results),
        vec![
            (RevocationStatus::Revoked, RevocationMethod::Crl),
            (RevocationStatus::Revoked, RevocationMethod::Crl),
            ROOT_SKIPPED
        ]
    );
    // One distribution point failing makes the leaf unknown even if the other is good.
    server.serve("/int-b.crl", Served::Status(404));
    let results = check(&checker(TestClock::at(T0)), &chain).await;
    assert_eq!(results[0].status, RevocationStatus::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_signing_certificate_fails_verification() {
    let server = CrlServer::start().await;
    let ca = root();
    let (leaf_der, leaf_key) = leaf_with(&ca, &[server.url("/ca.crl")], |_| {});
    let signer = Signer::new(
        PrivateKey::from_pkcs8(&leaf_key.serialize_der()).unwrap(),
        vec![leaf_der, ca.der.clone()],
    )
    .unwrap();
    let artifact = Descriptor::new(
        "application/vnd.oci.image.manifest.v1+json",
        "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
        517,
    );
    let envelope = signer
        .sign_artifact(
            EnvelopeFormat::Jws,
            &artifact,
            &SignOptions::x509(T0 - Duration::hours(1)),
        )
        .unwrap();
    let policy = TrustPolicyDocument::from_json(
        serde_json::json!({
            "version": "1.0",
            "trustPolicies": [{
                "name": "crl",
                "registryScopes": ["*"],
                "signatureVerification": {"level": "strict"},
                "trustStores": ["ca:crl"],
                "trustedIdentities": ["*"],
            }]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let mut store = TrustStore::new();
    store
        .add_file(StoreType::Ca, "crl", "root.der", ca.der.as_ref())
        .unwrap();
    let checker = checker(TestClock::at(T0));
    let run = |checker: Arc<CrlRevocationChecker>| {
        let (envelope, artifact, policy, store) = (
            envelope.clone(),
            artifact.clone(),
            policy.clone(),
            store.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let outcome = verify(&VerifyRequest {
                envelope: &envelope,
                envelope_media_type: EnvelopeFormat::Jws.media_type(),
                artifact: &artifact,
                artifact_reference: &format!("registry.example/repo@{}", artifact.digest),
                policy: &policy,
                trust_store: &store,
                now: T0,
                revocation: checker.as_ref(),
                limits: &Limits::DEFAULT,
                user_metadata: &[],
            })
            .unwrap();
            (
                outcome.is_verified(),
                outcome.failure().map(ToString::to_string),
            )
        })
    };

    server.serve("/ca.crl", Served::Crl(ca.crl(&[], T0 + Duration::days(1))));
    let (verified, failure) = run(checker).await.unwrap();
    assert!(verified, "{failure:?}");

    server.serve(
        "/ca.crl",
        Served::Crl(ca.crl(&[&LEAF_SERIAL], T0 + Duration::days(1))),
    );
    let (verified, failure) = run(self::checker(TestClock::at(T0))).await.unwrap();
    assert!(!verified);
    assert_eq!(
        failure.as_deref(),
        Some(format!("signing certificate with subject {LEAF_SUBJECT:?} is revoked").as_str())
    );
}

// --- DER helpers for the AIA extension ---

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 0x80);
    let mut out = vec![tag, content.len() as u8];
    out.extend_from_slice(content);
    out
}

fn der_seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}
