//! The OCI content descriptor that identifies the artifact being verified.

use serde::{Deserialize, Serialize};

/// An OCI content descriptor reduced to the three fields Notation compares: the signed payload's
/// `targetArtifact` must equal the artifact being verified on `mediaType`, `digest` and `size`
/// (notation.md §3; Go uses oras `content.Equal`, which compares exactly these).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content, e.g. `application/vnd.oci.image.manifest.v1+json`.
    pub media_type: String,
    /// Digest of the content, `<algorithm>:<hex>`, e.g. `sha256:b8479de3…`.
    pub digest: String,
    /// Size of the content in bytes.
    pub size: u64,
}

impl Descriptor {
    /// Build a descriptor from its three parts.
    pub fn new(media_type: impl Into<String>, digest: impl Into<String>, size: u64) -> Self {
        Self {
            media_type: media_type.into(),
            digest: digest.into(),
            size,
        }
    }
}
