//! Registry I/O for imagegate: image references, tag resolution, referrers
//! discovery (OCI 1.1 API and tag schema), bounded and digest-verified manifest
//! and blob fetches, and registry authentication. No verification logic.
//!
//! The entry point is [`RegistryClient`], built from a [`ClientConfig`]. It is
//! `Clone + Send + Sync` and meant to be shared by many tasks.
#![deny(missing_docs)]

mod auth;
mod budget;
mod client;
mod config;
mod credentials;
mod digest;
mod error;
mod model;
mod observe;
mod probe;
mod push;
mod reference;
mod referrers;
mod signature;
mod transport;

pub use client::RegistryClient;
pub use config::{ClientConfig, RetryPolicy};
pub use credentials::{
    Anonymous, Credential, CredentialProvider, DockerConfig, DockerConfigError, StaticCredentials,
};
pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use error::{OciError, Operation};
pub use model::{
    parse_manifest, Descriptor, ImageIndex, ImageManifest, Manifest, ParseManifestError,
    ParsedManifest, Platform, ResolvedManifest, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST,
    MANIFEST_MEDIA_TYPES, NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};
pub use observe::{RequestObserver, RequestOutcome};
pub use push::{PushedReferrer, ReferrerIndexing, EMPTY_JSON, EMPTY_JSON_DIGEST};
pub use reference::{Reference, DOCKER_HUB};
pub use signature::{SignatureManifestError, SignatureShape, COSE_ENVELOPE, JWS_ENVELOPE};
pub use transport::{error_chain, error_sources};
