//! Ratify's Azure objects in a CRD directory: the `azurekeyvault` KeyManagementProvider (its
//! material comes from the serving process's refresher files) and the Azure store auth
//! providers. One test function: the material directory is process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: fail loudly

use std::path::Path;

use imagegate_engine::config::azure::set_key_vault_material_dir;
use imagegate_engine::config::AuthConfig;
use imagegate_engine::EngineConfig;
use imagegate_testkit::azure::aks_overlay_yaml;
use imagegate_testkit::Pki;
use serde_json::{json, Value};

/// The AKS overlay's objects with these KMP parameters and store auth provider.
fn write(dir: &Path, kmp_params: Value, auth: Value) {
    let yaml = aks_overlay_yaml("1h", kmp_params, auth);
    std::fs::write(dir.join("crds").join("ratify.yaml"), yaml).unwrap();
}

/// Key Vault parameters with everything Ratify requires.
fn good() -> Value {
    json!({"vaultURI": "https://v.vault.azure.net/", "tenantID": "t", "clientID": "c",
           "certificates": [{"name": "signer"}]})
}

/// The workload-identity auth provider for one ACR.
fn wi() -> Value {
    json!({"name": "azureWorkloadIdentity", "clientID": "c", "endpoints": ["myacr.azurecr.io"]})
}

#[test]
fn azure_key_vault_providers_and_acr_auth_in_crds() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("crds")).unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, "{}").unwrap();
    let crds = dir.path().join("crds");
    let load = || EngineConfig::load(&config, Some(&crds));

    // Ratify's create errors.
    write(
        dir.path(),
        json!({"vaultURI": "https://v.vault.azure.net/", "clientID": "c",
               "certificates": [{"name": "s"}]}),
        wi(),
    );
    assert!(load()
        .unwrap_err()
        .to_string()
        .contains("tenantID is not set"));
    write(
        dir.path(),
        json!({"vaultURI": "https://v.vault.azure.net/", "tenantID": "t", "clientID": "c"}),
        wi(),
    );
    assert!(load()
        .unwrap_err()
        .to_string()
        .contains("no keyvault certificates or keys configured"));

    // Nobody fetches Key Vault material in this process: a clear error.
    write(dir.path(), good(), wi());
    let e = load().unwrap_err().to_string();
    assert!(e.contains("fetched by `imagegate serve`"), "{e}");
    let keys = imagegate_engine::config::azure::key_vault_providers(&crds).unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].0, "kmprovider-akv");
    assert_eq!(keys[0].1.vault_uri, "https://v.vault.azure.net");

    // A refresher that has not succeeded yet: its status error is reported.
    let material = tempfile::tempdir().unwrap();
    set_key_vault_material_dir(Some(material.path().to_path_buf()));
    std::fs::write(
        material.path().join(imagegate_azure::refresh::status_file_name("kmprovider-akv")),
        r#"{"issuccess":false,"error":"KEY_MANAGEMENT_PROVIDER_FAILURE: … AADSTS70021: No matching federated identity record"}"#,
    )
    .unwrap();
    let e = load().unwrap_err().to_string();
    assert!(e.contains("AADSTS70021"), "{e}");

    // Fetched material: loaded, watched (a refresh that changes it changes the fingerprint).
    let pki = Pki::generate();
    let file = material
        .path()
        .join(imagegate_azure::refresh::material_file_name(
            "kmprovider-akv",
        ));
    std::fs::write(&file, pki.root_pem()).unwrap();
    let c = load().unwrap();
    assert!(c.watched.paths().any(|p| p == file));
    match &c.cluster.stores[0].auth {
        AuthConfig::Azure {
            client_id,
            endpoints,
            ..
        } => {
            assert_eq!(client_id.as_deref(), Some("c"));
            assert_eq!(endpoints, &vec!["myacr.azurecr.io".to_owned()]);
        }
        other => panic!("{other:?}"),
    }
    let before = EngineConfig::current_fingerprint(&config, Some(&crds), &c).unwrap();
    assert_eq!(before, c.fingerprint);
    std::fs::write(&file, Pki::generate().root_pem()).unwrap();
    let after = EngineConfig::current_fingerprint(&config, Some(&crds), &c).unwrap();
    assert_ne!(
        after, c.fingerprint,
        "a refreshed certificate triggers a reload"
    );

    // Ratify's endpoint rule: one leading "*." only.
    write(
        dir.path(),
        good(),
        json!({"name": "azureManagedIdentity", "endpoints": ["a.*.io"]}),
    );
    let e = load().unwrap_err().to_string();
    assert!(e.contains("endpoints"), "{e}");
    set_key_vault_material_dir(None);
}
