//! Ratify v1 CRDs from the Kubernetes API (issue 12).
//!
//! * [`connect`]: a kube-rs client configured the standard way (kubeconfig, else the pod's
//!   service account).
//! * [`spawn`]: one watcher per [kind](kinds) (Store, Verifier, Policy,
//!   KeyManagementProvider, their Namespaced kinds, and Secrets for pull secrets), a
//!   [`Snapshot`] replaced per kind only on complete lists, and on each change of a synced
//!   snapshot one [reconciliation](reconcile) through
//!   [`imagegate_engine::EngineConfig::from_objects`] — the code path of `--crd-dir`.
//! * [`KeyManagementHook`]: the seam for providers whose material the binary fetches
//!   (`azurekeyvault`): told about each snapshot's KMP objects before its configuration is
//!   built; a change of fetched material reconciles the last snapshot again.
//! * [`Gate`]: the engine, absent (the binary answers `CONFIG_INVALID` and is not ready) until the
//!   first complete configuration is in force.
//! * [status]: Ratify's `issuccess` / `error` / `brieferror` (+ `lastfetchedtime`,
//!   `properties` for key management providers), written only when it differs, with the
//!   resourceVersion as precondition; failures also get a Warning Event.
#![deny(missing_docs)]

pub mod error;
pub mod gate;
pub mod key_management;
pub mod kinds;
pub mod reconcile;
pub mod secrets;
pub mod snapshot;
pub mod source;
pub mod status;

pub use error::KubeError;
pub use gate::{Gate, NOT_LOADED};
pub use key_management::{KeyManagementHook, KmpObject};
pub use snapshot::Snapshot;
pub use source::{connect, spawn, Source, SourceOptions};
