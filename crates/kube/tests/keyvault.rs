//! The seed's real setup: an `azurekeyvault` KeyManagementProvider applied as a CRD and read
//! by `imagegate serve --kubernetes` (the real binary) from the testkit API server, its
//! certificates fetched from the emulated Key Vault with workload identity (emulated Entra
//! ID). The object's status shows the certificate and verdicts follow the vault; a rotation
//! is put in force by the next refresh without any Kubernetes event; an outage keeps the last
//! good certificates and a success status; deleting the object stops its refresher and
//! takes it out of the configuration.
#![allow(clippy::disallowed_methods)] // Test code that waits in real time for a child process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::azure::pod::{CLIENT_ID, TENANT};
use imagegate_testkit::azure::{VaultFailure, WorkloadIdentityPod};
use imagegate_testkit::kube_api::ApiServer;
use imagegate_testkit::ratify;
use imagegate_testkit::sign_image;
use serde_json::{json, Value};

const SA: &str = "imagegate-sa-token";

/// The `azurekeyvault` KMP object as the seed applies it (namespaced with a namespace),
/// trusting the pod's vault's certificate `certificate`, refreshed every second.
fn vault_kmp(
    az: &WorkloadIdentityPod,
    name: &str,
    namespace: Option<&str>,
    certificate: &str,
) -> Value {
    let spec = json!({"type": "azurekeyvault", "refreshInterval": "1s",
                      "parameters": {"vaultURI": az.kv.vault_uri(), "tenantID": TENANT,
                                     "clientID": CLIENT_ID,
                                     "certificates": [{"name": certificate}]}});
    ratify::object("KeyManagementProvider", name, namespace, spec)
}

/// Requests for the vault's certificate `name` so far.
fn requests_for(az: &WorkloadIdentityPod, name: &str) -> usize {
    let path = format!("/secrets/{name}/");
    az.kv
        .requests()
        .iter()
        .filter(|r| r.contains(&path))
        .count()
}

fn kmp_status(server: &ApiServer) -> Value {
    status(server, "keymanagementproviders", None, "kmprovider-akv")
}

/// The versions the KMP's status lists.
fn listed_versions(server: &ApiServer) -> Vec<String> {
    kmp_status(server)["properties"]["Certificates"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["Version"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Status writes of the KMP so far.
fn kmp_status_writes(server: &ApiServer) -> usize {
    requests_by(server, SA)
        .iter()
        .filter(|r| {
            r.resource == "keymanagementproviders"
                && r.subresource.as_deref() == Some("status")
                && r.verb == "patch"
        })
        .count()
}

/// Waits until the vault served `more` further requests (refreshes going on).
async fn vault_requests(az: &WorkloadIdentityPod, more: usize, log: &std::path::Path) {
    let until = az.kv.served() + more;
    eventually(
        &format!("{more} more Key Vault requests"),
        || async { az.kv.served() >= until },
        log,
    )
    .await;
}

#[tokio::test]
async fn key_vault_kmp_object_status_rotation_outage_and_deletion() {
    let images = images("kv").await;
    let rotated = sign_image(
        registry(),
        "kv-rotated",
        "v1",
        EnvelopeFormat::Jws,
        &images.other,
    )
    .await
    .pinned();
    let az = WorkloadIdentityPod::start();
    let v1 = az.put_certificate("signer", &images.pki);

    let server = ApiServer::start();
    let c = client(&server);
    create(&c, store("store-oras")).await;
    create(&c, policy()).await;
    create(&c, vault_kmp(&az, "kmprovider-akv", None, "signer")).await;
    create(&c, verifier("verifier-notation", None, "kmprovider-akv")).await;
    let serve = Serve::start_with_env(&server, SA, &az.env());

    // The KMP object → its certificate fetched before the configuration is built → ready,
    // verdicts from the vault's certificate, and a success status listing it.
    serve.wait_ready().await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(true));
    assert_eq!(serve.verdict(&images.unsigned).await, Ok(false));
    assert_eq!(serve.verdict(&rotated).await, Ok(false));
    let st = wait_status(
        &server,
        "keymanagementproviders/kmprovider-akv",
        true,
        &serve.log,
    )
    .await;
    assert!(st["lastfetchedtime"].is_string(), "{st}");
    assert_eq!(
        st["properties"]["Certificates"][0]["Name"], "signer",
        "{st}"
    );
    assert!(listed_versions(&server).iter().all(|v| *v == v1), "{st}");
    assert!(st.get("error").is_none_or(Value::is_null), "{st}");

    // Refreshes that bring the same certificate do not rewrite the status, and a second
    // replica (fetching at its own times) finds it already written.
    let writes = kmp_status_writes(&server);
    let replica = Serve::start_with_env(&server, SA, &az.env());
    replica.wait_ready().await;
    assert_eq!(replica.verdict(&images.signed).await, Ok(true));
    vault_requests(&az, 8, &serve.log).await;
    assert_eq!(
        kmp_status_writes(&server),
        writes,
        "no write per refresh or replica"
    );
    drop(replica);

    // Rotation in the vault: the next refresh puts the new certificate in force (no
    // Kubernetes event happens) and the status lists the new version.
    let v2 = az.put_certificate("signer", &images.other);
    serve.wait_verdict(&rotated, Ok(true)).await;
    serve.wait_verdict(&images.signed, Ok(false)).await;
    eventually(
        "the status lists the new version",
        || async { listed_versions(&server).contains(&v2) },
        &serve.log,
    )
    .await;
    assert!(!listed_versions(&server).contains(&v1));

    // Outage: refreshes fail, the last good certificate keeps verifying and the status
    // stays a success (the failure is logged).
    az.kv.set_outage(Some(VaultFailure::unavailable()));
    vault_requests(&az, 4, &serve.log).await;
    assert_eq!(serve.verdict(&rotated).await, Ok(true));
    assert_eq!(kmp_status(&server)["issuccess"], true);
    assert!(listed_versions(&server).contains(&v2));
    assert!(serve.log().contains("Key Vault refresh failed"));
    az.kv.set_outage(None);

    // A namespace's own Key Vault KMP (another certificate of the vault: the first signer)
    // and verifier: `[team-a]` keys follow it.
    az.put_certificate("team-signer", &images.pki);
    let team_kmp = vault_kmp(&az, "kmprovider-akv", Some("team-a"), "team-signer");
    let team_key = team_a_verifier(&c, team_kmp, &images.signed).await;
    serve.wait_verdict(&team_key, Ok(true)).await;
    assert_eq!(serve.verdict(&images.signed).await, Ok(false));
    wait_status(
        &server,
        "namespacedkeymanagementproviders/team-a/kmprovider-akv",
        true,
        &serve.log,
    )
    .await;

    // Its spec changed (now the vault's `signer`, i.e. the rotated certificate): the
    // refresher is restarted with the new spec and the namespace's verdicts follow.
    set_spec(
        &c,
        "NamespacedKeyManagementProvider",
        Some("team-a"),
        "kmprovider-akv",
        vault_kmp(&az, "kmprovider-akv", Some("team-a"), "signer")["spec"].clone(),
    )
    .await;
    let team_rotated = format!("[team-a]{rotated}");
    serve.wait_verdict(&team_rotated, Ok(true)).await;
    serve.wait_verdict(&team_key, Ok(false)).await;
    assert!(serve.log().contains("reason=\"spec changed\""));
    set_spec(
        &c,
        "NamespacedKeyManagementProvider",
        Some("team-a"),
        "kmprovider-akv",
        vault_kmp(&az, "kmprovider-akv", Some("team-a"), "team-signer")["spec"].clone(),
    )
    .await;
    serve.wait_verdict(&team_key, Ok(true)).await;

    // A KMP whose identity Entra ID refuses (unknown tenant): failure status with Azure's
    // answer and a Warning Event; the rest of the configuration stays in force.
    let mut wrong = vault_kmp(&az, "kmprovider-wrong", None, "signer");
    wrong["spec"]["parameters"]["tenantID"] = json!("00000000-0000-0000-0000-0000000000aa");
    create(&c, wrong).await;
    let st = wait_status(
        &server,
        "keymanagementproviders/kmprovider-wrong",
        false,
        &serve.log,
    )
    .await;
    let brief = st["brieferror"].as_str().unwrap();
    assert!(
        brief.starts_with("KEY_MANAGEMENT_PROVIDER_FAILURE: workload identity"),
        "the fetch's error, as file mode's status file shows it: {st}"
    );
    assert!(brief.chars().count() <= 100, "{st}");
    assert!(
        st["error"].as_str().unwrap().contains("AADSTS90002"),
        "{st}"
    );
    assert!(server
        .objects("events")
        .iter()
        .any(|e| e["involvedObject"]["name"] == "kmprovider-wrong"
            && e["reason"] == "KeyManagementProviderFailed"));
    assert_eq!(serve.verdict(&rotated).await, Ok(true));

    // Deleted: its refresher stops and it leaves the configuration (the namespace's
    // verifier naming it no longer loads, so the cluster verifier applies there again).
    api(&c, "NamespacedKeyManagementProvider", Some("team-a"))
        .delete("kmprovider-akv", &Default::default())
        .await
        .unwrap();
    serve.wait_verdict(&team_key, Ok(false)).await;
    assert!(
        serve
            .log()
            .contains("Key Vault refresher stopped kmp=team-a/kmprovider-akv"),
        "{}",
        serve.log()
    );
    let st = wait_status(
        &server,
        "namespacedverifiers/team-a/team-verifier",
        false,
        &serve.log,
    )
    .await;
    assert!(
        st["error"].as_str().unwrap().contains("kmprovider-akv"),
        "{st}"
    );
    // The cluster KMP goes on refreshing; the deleted one's certificate is no longer asked for.
    let asked = requests_for(&az, "team-signer");
    assert!(asked > 0, "{:?}", az.kv.requests());
    vault_requests(&az, 6, &serve.log).await;
    assert_eq!(
        requests_for(&az, "team-signer"),
        asked,
        "the vault is no longer polled for it"
    );
    assert_eq!(serve.verdict(&rotated).await, Ok(true));
}
