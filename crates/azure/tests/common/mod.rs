//! testkit's workload-identity pod, and the crate's settings for it: the environment as
//! [`AzureEnv`] and HTTP settings trusting the emulators' CA.
#![allow(
    dead_code,
    unused_imports,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use imagegate_azure::{AzureEnv, Clock, HttpSettings, SystemClock};
pub(crate) use imagegate_testkit::azure::pod::{CLIENT_ID as CLIENT, ISSUER, SUBJECT, TENANT};
use imagegate_testkit::azure::WorkloadIdentityPod;

pub(crate) struct World {
    pub(crate) pod: WorkloadIdentityPod,
    pub(crate) env: AzureEnv,
    pub(crate) http: HttpSettings,
}

impl World {
    pub(crate) fn new() -> Self {
        let pod = WorkloadIdentityPod::start();
        let env = AzureEnv {
            client_id: Some(CLIENT.into()),
            tenant_id: Some(TENANT.into()),
            federated_token_file: Some(pod.token_file()),
            authority_host: Some(pod.aad.authority_host()),
            ..AzureEnv::default()
        };
        let http = HttpSettings {
            extra_root_pems: vec![pod.ca.ca_pem.clone().into_bytes()],
            ..HttpSettings::default()
        };
        Self { pod, env, http }
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        Arc::new(SystemClock)
    }
}
