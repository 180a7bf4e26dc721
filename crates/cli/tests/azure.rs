//! `imagegate serve` with Azure, end to end against the emulators: a certificate from the
//! emulated Key Vault (workload identity), images in the token-protected registry behind the
//! emulated ACR token service. Rotation in the vault → next refresh → verdicts follow; vault
//! outage → the last good certificates keep verifying; tokens expiring under load → no
//! failed verdict; the wrong tenant → a clear start-up error.
#![allow(clippy::disallowed_methods)] // Test/demo code that waits in real time for child processes and emulators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

mod common;

use std::time::{Duration, Instant};

use common::serve::{self, Serve};
use imagegate_testkit::azure::pod::TENANT;
use imagegate_testkit::azure::{VaultFailure, WorkloadIdentityPod};
use imagegate_testkit::Pki;
use serde_json::Value;

/// `imagegate serve` with the pod's environment and the AKS overlay, or `Err(log)` if it
/// fails at start-up.
fn serve(az: &WorkloadIdentityPod, kmp_tenant: &str) -> Result<Serve, String> {
    // The KMP refreshed every second, a config that reloads quickly.
    let (config, crds) = az.write_serve_config(
        kmp_tenant,
        "1s",
        r#"{"executor": {"verificationRequestTimeout": 10000}, "imagegate": {"cache": {"verdictTtlSeconds": 1, "failureTtlSeconds": 1}, "reloadIntervalMs": 200}}"#,
    );
    let (config, crds) = (config.display().to_string(), crds.display().to_string());
    serve::try_start(
        &[
            "--config",
            &config,
            "--crd-dir",
            &crds,
            "--insecure-plain-http",
        ],
        &az.env(),
    )
}

/// The verdict (`isSuccess`) and the item for `image`.
fn verify(server: &Serve, image: &str) -> (bool, Value) {
    let item = server.verify(&[image]).remove(0);
    (item["value"]["isSuccess"] == true, item)
}

/// Polls until `image`'s verdict is `want` (a refresh and reload are events in another
/// process; the deadline bounds the wait).
fn until_verdict(server: &Serve, image: &str, want: bool, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (ok, item) = verify(server, image);
        if ok == want {
            return item;
        }
        assert!(
            Instant::now() < deadline,
            "verdict for {image} never became {want}: {item}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn key_vault_rotation_outage_token_expiry_and_wrong_tenant_through_imagegate_serve() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let az = WorkloadIdentityPod::start();
    let (old, new) = (Pki::generate(), Pki::generate());
    let image_old = rt.block_on(az.acr().push_image("app", Some(&old)));
    let image_new = rt.block_on(az.acr().push_image("web", Some(&new)));
    az.put_certificate("signer", &old);

    let server = serve(&az, TENANT).unwrap();
    let (ok, item) = verify(&server, &image_old);
    assert!(ok, "signed by the vault's certificate: {item}");
    let (ok, _) = verify(&server, &image_new);
    assert!(!ok, "not yet trusted");
    assert_eq!(az.acr().exchanges(), 1, "one ACR exchange for the registry");

    // Rotation: the vault's latest version now holds the new certificate.
    az.put_certificate("signer", &new);
    until_verdict(&server, &image_new, true, Duration::from_secs(30));
    until_verdict(&server, &image_old, false, Duration::from_secs(30));

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
        let (ok, item) = verify(&server, &image_new);
        assert!(ok, "verification must go on during a vault outage: {item}");
    }
    assert!(
        server.log().contains("Key Vault refresh failed"),
        "the failure is logged"
    );
    az.kv.set_outage(None);

    // Tokens revoked and then expiring under load: every AAD token and ACR refresh token is
    // revoked, new ones live 2 s; images in eight repositories (each needing a new registry
    // token from the refresh token) are verified over 6 s without a failed verdict.
    let load: Vec<String> = (0..8)
        .map(|i| rt.block_on(az.acr().push_image(&format!("load-{i}"), Some(&new))))
        .collect();
    az.aad.set_token_lifetime(2);
    az.acr().set_refresh_lifetime(2);
    az.acr().set_access_lifetime(2);
    az.aad.book.revoke_all();
    az.acr().revoke_refresh_tokens();
    let exchanges = az.acr().exchanges();
    for image in &load {
        let paced = Instant::now() + Duration::from_millis(750);
        let (ok, item) = verify(&server, image);
        assert!(
            ok,
            "a token expiry must not fail a verdict: {item}\n{}",
            server.log()
        );
        let (ok, item) = verify(&server, &image_new);
        assert!(ok, "{item}");
        std::thread::sleep(paced.saturating_duration_since(Instant::now()));
    }
    assert!(
        az.acr().exchanges() >= exchanges + 2,
        "re-exchanged after the revocation and again after expiry ({} -> {})",
        exchanges,
        az.acr().exchanges()
    );
    drop(server);

    // The wrong tenant: start-up fails, saying which identity, which endpoint and AADSTS.
    let Err(log) = serve(&az, "00000000-0000-0000-0000-0000000000aa") else {
        panic!("started with a KMP in the wrong tenant");
    };
    assert!(log.contains("AADSTS90002"), "{log}");
    assert!(log.contains("kmprovider-akv"), "{log}");
}
