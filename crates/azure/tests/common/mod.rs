//! A tenant with one federated app registration, its emulated authority, and the
//! environment a workload-identity pod would get.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;

use imagegate_azure::{AzureEnv, Clock, HttpSettings, SystemClock};
use imagegate_testkit::azure::{federated_token, Aad, FederatedIdentity, TestCa};

pub(crate) const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub(crate) const CLIENT: &str = "1b2c3d4e-0000-4000-8000-00000000c11e";
pub(crate) const ISSUER: &str =
    "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/";
pub(crate) const SUBJECT: &str = "system:serviceaccount:gatekeeper-system:ratify-admin";

pub(crate) struct World {
    pub(crate) ca: TestCa,
    pub(crate) aad: Aad,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) env: AzureEnv,
    pub(crate) http: HttpSettings,
}

impl World {
    pub(crate) fn new() -> Self {
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
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("azure-identity-token");
        std::fs::write(&token_file, federated_token(ISSUER, SUBJECT, 3600)).unwrap();
        let env = AzureEnv {
            client_id: Some(CLIENT.into()),
            tenant_id: Some(TENANT.into()),
            federated_token_file: Some(token_file),
            authority_host: Some(aad.authority_host()),
            ..AzureEnv::default()
        };
        let http = HttpSettings {
            extra_root_pems: vec![ca.ca_pem.clone().into_bytes()],
            ..HttpSettings::default()
        };
        Self {
            ca,
            aad,
            dir,
            env,
            http,
        }
    }

    pub(crate) fn token_file(&self) -> PathBuf {
        self.env.federated_token_file.clone().unwrap()
    }

    /// Rewrites the projected token as the kubelet does.
    pub(crate) fn rotate_token(&self, issuer: &str, subject: &str, lifetime_s: i64) {
        let tmp = self.dir.path().join("tmp-token");
        std::fs::write(&tmp, federated_token(issuer, subject, lifetime_s)).unwrap();
        std::fs::rename(tmp, self.token_file()).unwrap();
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}
