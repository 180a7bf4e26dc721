//! Helpers shared by the integration tests: vector files, trust stores, requests.
#![allow(dead_code, unreachable_pub)]

pub mod der;
pub mod pki;

use std::path::PathBuf;

use imagegate_notation::descriptor::Descriptor;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::limits::Limits;
use imagegate_notation::outcome::Outcome;
use imagegate_notation::policy::{StoreType, TrustPolicyDocument};
use imagegate_notation::revocation::RevocationChecker;
use imagegate_notation::store::TrustStore;
use imagegate_notation::verifier::{verify, VerifyRequest};
use imagegate_notation::Error;
use time::OffsetDateTime;

/// The shared Notation vectors, read in place.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/notation"
    ))
}

/// Bytes of one vector file.
pub fn vector(name: &str) -> Vec<u8> {
    let path = vectors_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

/// The descriptor of a manifest vector file: its `mediaType`, SHA-256 and size.
pub fn manifest_descriptor(name: &str) -> Descriptor {
    let bytes = vector(name);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let media_type = json["mediaType"].as_str().unwrap().to_owned();
    Descriptor::new(
        media_type,
        format!("sha256:{}", sha256_hex(&bytes)),
        bytes.len() as u64,
    )
}

/// A trust store holding certificates (file name, bytes) under `<type>:<name>`.
pub fn store(entries: &[(StoreType, &str, &str, Vec<u8>)]) -> TrustStore {
    let mut store = TrustStore::new();
    for (store_type, name, file, bytes) in entries {
        store
            .add_file(*store_type, name, file, bytes)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
    }
    store
}

/// Parse a policy from a vector file or an inline JSON document.
pub fn policy_json(json: &str) -> TrustPolicyDocument {
    TrustPolicyDocument::from_json(json.as_bytes())
        .unwrap_or_else(|e| panic!("policy: {e}\n{json}"))
}

/// The policy of a vector file.
pub fn policy_file(name: &str) -> TrustPolicyDocument {
    TrustPolicyDocument::from_json(&vector(name)).unwrap_or_else(|e| panic!("policy {name}: {e}"))
}

/// Everything for one `verify` call, owned.
pub struct Input {
    pub envelope: Vec<u8>,
    pub media_type: String,
    pub artifact: Descriptor,
    pub reference: String,
    pub policy: TrustPolicyDocument,
    pub store: TrustStore,
    pub now: OffsetDateTime,
    pub metadata: Vec<(String, String)>,
    pub limits: Limits,
}

impl Input {
    /// A `format` `envelope` over `artifact` (`registry.example/repo@<digest>`) under the
    /// trust policy `policy` (JSON), `root` (DER) the one certificate of the CA store
    /// `store_name`, at [`pki::T0`], no user metadata, default limits.
    pub fn signed(
        format: EnvelopeFormat,
        envelope: Vec<u8>,
        artifact: Descriptor,
        policy: &str,
        store_name: &str,
        root: Vec<u8>,
    ) -> Self {
        Input {
            envelope,
            media_type: format.media_type().to_owned(),
            reference: format!("registry.example/repo@{}", artifact.digest),
            artifact,
            policy: policy_json(policy),
            store: store(&[(StoreType::Ca, store_name, "root.der", root)]),
            now: pki::T0,
            metadata: Vec::new(),
            limits: Limits::DEFAULT,
        }
    }

    /// Run the verifier.
    pub fn run(&self, revocation: &dyn RevocationChecker) -> Result<Outcome, Error> {
        verify(&VerifyRequest {
            envelope: &self.envelope,
            envelope_media_type: &self.media_type,
            artifact: &self.artifact,
            artifact_reference: &self.reference,
            policy: &self.policy,
            trust_store: &self.store,
            now: self.now,
            revocation,
            limits: &self.limits,
            user_metadata: &self.metadata,
        })
    }
}

/// The JWS `x5c[0]` (or COSE x5chain[0]) of a vector envelope, DER.
pub fn leaf_of(envelope: &[u8], media_type: &str) -> Vec<u8> {
    let parsed =
        imagegate_notation::envelope::parse(envelope, media_type, &Limits::DEFAULT).unwrap();
    parsed.cert_chain()[0].as_ref().to_vec()
}
