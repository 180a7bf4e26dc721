//! A pod with Azure workload identity, against the emulators: one tenant with one federated
//! app registration in the emulated Entra ID, the emulated Key Vault and ACR trusting its
//! tokens, the service-account token the kubelet projects, and the environment the
//! workload-identity webhook injects (pointed at the emulators).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{json, Value};

use super::{federated_token, Aad, Acr, FederatedIdentity, KeyVault, TestCa};
use crate::pki::Pki;
use crate::ratify::{config_policy, crd_file, notation_verifier, object, oras_store, trust_policy};

/// The pod's tenant.
pub const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// The federated app registration's client ID.
pub const CLIENT_ID: &str = "1b2c3d4e-0000-4000-8000-00000000c11e";
/// The cluster's OIDC issuer the app registration trusts.
pub const ISSUER: &str = "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/";
/// The pod's service account, the federated credential's subject.
pub const SUBJECT: &str = "system:serviceaccount:gatekeeper-system:ratify-admin";

/// The emulated Azure services a workload-identity pod talks to, and its projected files.
/// Entra ID and Key Vault start with it; the ACR (a real `docker-registry` behind the
/// token service) starts on first use of [`WorkloadIdentityPod::acr`]. Everything stops
/// when it drops.
pub struct WorkloadIdentityPod {
    /// The CA of every emulator's certificate.
    pub ca: TestCa,
    /// Entra ID, knowing the federated identity ([`CLIENT_ID`], [`ISSUER`], [`SUBJECT`]).
    pub aad: Aad,
    /// Key Vault, accepting the tenant's tokens.
    pub kv: KeyVault,
    acr: OnceLock<Acr>,
    dir: tempfile::TempDir,
}

impl WorkloadIdentityPod {
    /// Starts Entra ID and Key Vault and writes the projected token (valid for an hour) and
    /// the emulators' CA to the pod's directory.
    pub fn start() -> Self {
        let ca = TestCa::generate();
        let aad = Aad::start(
            &ca,
            TENANT,
            vec![FederatedIdentity {
                client_id: CLIENT_ID.into(),
                issuer: ISSUER.into(),
                subject: SUBJECT.into(),
            }],
        );
        let kv = KeyVault::start(&ca, TENANT, aad.book.clone());
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();
        let pod = Self {
            ca,
            aad,
            kv,
            acr: OnceLock::new(),
            dir,
        };
        pod.rotate_token(ISSUER, SUBJECT, 3600);
        pod
    }

    /// The ACR login server accepting the tenant's tokens, started on first use.
    pub fn acr(&self) -> &Acr {
        self.acr
            .get_or_init(|| Acr::start(&self.ca, TENANT, self.aad.book.clone()))
    }

    /// A scratch directory living as long as the pod (the projected files are in it too).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The projected service-account token (`AZURE_FEDERATED_TOKEN_FILE`).
    pub fn token_file(&self) -> PathBuf {
        self.dir.path().join("azure-identity-token")
    }

    /// The emulators' CA certificate (PEM file).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Rewrites the projected token as the kubelet does (a new file renamed over the old).
    pub fn rotate_token(&self, issuer: &str, subject: &str, lifetime_s: i64) {
        let tmp = self.dir.path().join("azure-identity-token.tmp");
        std::fs::write(&tmp, federated_token(issuer, subject, lifetime_s)).unwrap();
        std::fs::rename(tmp, self.token_file()).unwrap();
    }

    /// The pod's environment: what the workload-identity webhook injects
    /// (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID`, `AZURE_FEDERATED_TOKEN_FILE`,
    /// `AZURE_AUTHORITY_HOST`), and how `imagegate` reaches the emulators:
    /// `IMAGEGATE_AZURE_CA_FILE` and `IMAGEGATE_AZURE_RESOLVE` for its Azure clients,
    /// `SSL_CERT_FILE` for its registry client (the ACR's certificate).
    pub fn env(&self) -> Vec<(String, String)> {
        let (host, addr) = self.kv.resolve();
        let path = |p: PathBuf| p.display().to_string();
        vec![
            ("AZURE_CLIENT_ID".into(), CLIENT_ID.into()),
            ("AZURE_TENANT_ID".into(), TENANT.into()),
            ("AZURE_FEDERATED_TOKEN_FILE".into(), path(self.token_file())),
            ("AZURE_AUTHORITY_HOST".into(), self.aad.authority_host()),
            ("IMAGEGATE_AZURE_CA_FILE".into(), path(self.ca_file())),
            ("IMAGEGATE_AZURE_RESOLVE".into(), format!("{host}={addr}")),
            ("SSL_CERT_FILE".into(), path(self.ca_file())),
        ]
    }

    /// Stores `pki`'s chain and key as the vault's certificate `name` (PEM); returns the
    /// new version.
    pub fn put_certificate(&self, name: &str, pki: &Pki) -> String {
        self.kv
            .put_certificate_pem(name, &pki.chain_der(), pki.key_der())
    }
    /// Writes what `imagegate serve` reads: [`Self::aks_overlay`] in the CRD directory
    /// `crds/` and `config` as `config.json`, in the pod's directory. Returns
    /// `(config.json, crds/)`.
    pub fn write_serve_config(
        &self,
        kmp_tenant: &str,
        refresh: &str,
        config: &str,
    ) -> (PathBuf, PathBuf) {
        let crds = self.dir().join("crds");
        std::fs::create_dir_all(&crds).unwrap();
        std::fs::write(
            crds.join("ratify.yaml"),
            self.aks_overlay(kmp_tenant, refresh),
        )
        .unwrap();
        let path = self.dir().join("config.json");
        std::fs::write(&path, config).unwrap();
        (path, crds)
    }

    /// The AKS overlay's objects ([`aks_overlay_yaml`]) for this pod: the KMP fetching the
    /// vault's certificate `signer` as `kmp_tenant`'s [`CLIENT_ID`] every `refresh`, the
    /// store pulling from the ACR with workload identity.
    pub fn aks_overlay(&self, kmp_tenant: &str, refresh: &str) -> String {
        let kmp = json!({"vaultURI": self.kv.vault_uri(), "tenantID": kmp_tenant,
                         "clientID": CLIENT_ID, "certificates": [{"name": "signer"}]});
        let auth = json!({"name": "azureWorkloadIdentity", "clientID": CLIENT_ID,
                          "endpoints": [self.acr().host()]});
        aks_overlay_yaml(refresh, kmp, auth)
    }
}

/// The Ratify objects of the AKS overlay (`deploy/`), as a CRD file: an `azurekeyvault`
/// KeyManagementProvider `kmprovider-akv` refreshed every `refresh` with `kmp_parameters`,
/// the `oras` Store `store-oras` with `auth_provider`, the notation Verifier
/// `verifier-notation` trusting the KMP's certificates (strict, every registry, any
/// identity) and the config Policy `ratify-policy` (any Notation signature).
pub fn aks_overlay_yaml(refresh: &str, kmp_parameters: Value, auth_provider: Value) -> String {
    let kmp = json!({"type": "azurekeyvault", "refreshInterval": refresh,
                     "parameters": kmp_parameters});
    crd_file(&[
        object("KeyManagementProvider", "kmprovider-akv", None, kmp),
        oras_store("store-oras", None, json!({"authProvider": auth_provider})),
        notation_verifier(
            "verifier-notation",
            None,
            "certs",
            &["kmprovider-akv"],
            trust_policy("certs"),
        ),
        config_policy(json!({"application/vnd.cncf.notary.signature": "any"})),
    ])
}
