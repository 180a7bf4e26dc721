//! A small typed model of OCI manifests, indexes and descriptors (serde).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// OCI image manifest media type.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index media type.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest media type.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list media type.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The OCI empty descriptor media type (`{}` config blob).
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The Notary Project signature artifact type.
pub const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// Every manifest media type we accept, in `Accept` header order.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_MANIFEST,
    OCI_INDEX,
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
];

/// An OCI content descriptor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the referenced content.
    pub media_type: String,
    /// Digest of the referenced content.
    pub digest: String,
    /// Size in bytes of the referenced content.
    pub size: u64,
    /// Artifact type (referrers entries and OCI 1.1 manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Platform (entries of an image index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Alternate download locations (foreign layers); never followed by this crate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

/// The platform of an image index entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system (`linux`, `windows`, …).
    pub os: String,
    /// OS version (Windows).
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
    /// CPU variant (`v8`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An OCI image manifest (also accepts Docker schema 2 manifests).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Must be 2.
    pub schema_version: u32,
    /// The `mediaType` field, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Config descriptor.
    pub config: Descriptor,
    /// Layer descriptors.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The manifest this one refers to (referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An OCI image index (also accepts Docker manifest lists and referrers responses).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageIndex {
    /// Must be 2.
    pub schema_version: u32,
    /// The `mediaType` field, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// Artifact type (OCI 1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// The manifests (platform manifests, or referrers).
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    /// The manifest this one refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageIndex {
    /// The entries that name a platform (multi-arch images), in index order.
    pub fn platform_manifests(&self) -> impl Iterator<Item = (&Platform, &Descriptor)> {
        self.manifests
            .iter()
            .filter_map(|d| d.platform.as_ref().map(|p| (p, d)))
    }
}

/// A parsed manifest: an image manifest or an index.
// A few hundred bytes either way, held briefly and never in bulk: boxing would
// only make matching clumsier for callers.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParsedManifest {
    /// An image manifest.
    Image(ImageManifest),
    /// An image index (multi-arch image or referrers index).
    Index(ImageIndex),
}

/// A manifest fetched by digest: the exact bytes (digest verified) plus the parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The verified digest of `bytes`.
    pub digest: String,
    /// The media type (the document's `mediaType`, else the response `Content-Type`).
    pub media_type: String,
    /// The exact bytes served, whose digest was verified.
    pub bytes: Bytes,
    /// The parsed document.
    pub parsed: ParsedManifest,
}

impl Manifest {
    /// The descriptor of this manifest (media type, digest, size).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            artifact_type: None,
            annotations: None,
            platform: None,
            urls: None,
        }
    }
}

/// The result of resolving a reference: the manifest's descriptor fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedManifest {
    /// The manifest digest.
    pub digest: String,
    /// The manifest media type.
    pub media_type: String,
    /// The manifest size in bytes.
    pub size: u64,
}

impl ResolvedManifest {
    /// As a [`Descriptor`] (for verifying a signature's target).
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.clone(),
            digest: self.digest.clone(),
            size: self.size,
            artifact_type: None,
            annotations: None,
            platform: None,
            urls: None,
        }
    }
}

/// Why a document could not be read as a manifest.
#[derive(Debug, thiserror::Error)]
pub enum ParseManifestError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("it is not a valid manifest document: {0}")]
    Json(#[from] serde_json::Error),
    /// A media type this crate does not handle.
    #[error("media type {0:?} is not an OCI/Docker image manifest or index")]
    UnsupportedMediaType(String),
    /// `schemaVersion` is not 2.
    #[error("schemaVersion {0} is not supported (expected 2)")]
    SchemaVersion(u32),
}

/// Parses manifest bytes. `header_media_type` is the response `Content-Type`, used
/// when the document has no `mediaType` field. Returns the effective media type.
pub fn parse_manifest(
    bytes: &[u8],
    header_media_type: Option<&str>,
) -> Result<(String, ParsedManifest), ParseManifestError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(bytes)?;
    let media_type = match (probe.media_type, header_media_type) {
        (Some(m), _) => m,
        (None, Some(h)) if MANIFEST_MEDIA_TYPES.contains(&h) => h.to_owned(),
        // No declared type: an index has `manifests`, anything else is an image manifest.
        (None, _) if probe.manifests.is_some() => OCI_INDEX.to_owned(),
        (None, _) => OCI_MANIFEST.to_owned(),
    };
    let parsed = match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let m: ImageManifest = serde_json::from_slice(bytes)?;
            check_schema(m.schema_version)?;
            ParsedManifest::Image(m)
        }
        OCI_INDEX | DOCKER_MANIFEST_LIST => {
            let i: ImageIndex = serde_json::from_slice(bytes)?;
            check_schema(i.schema_version)?;
            ParsedManifest::Index(i)
        }
        other => {
            return Err(ParseManifestError::UnsupportedMediaType(
                other.chars().take(128).collect(),
            ))
        }
    };
    Ok((media_type, parsed))
}

fn check_schema(v: u32) -> Result<(), ParseManifestError> {
    if v == 2 {
        Ok(())
    } else {
        Err(ParseManifestError::SchemaVersion(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_index_with_platforms() {
        let doc = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
          "manifests":[
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1,
             "platform":{"architecture":"amd64","os":"linux"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":2,
             "platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:cc","size":3}]}"#;
        let (mt, parsed) = parse_manifest(doc, None).unwrap();
        assert_eq!(mt, OCI_INDEX);
        let ParsedManifest::Index(i) = parsed else {
            panic!("not an index")
        };
        let plats: Vec<_> = i
            .platform_manifests()
            .map(|(p, d)| (p.architecture.as_str(), d.size))
            .collect();
        assert_eq!(plats, [("amd64", 1), ("arm64", 2)]);
    }

    #[test]
    fn media_type_from_header_or_shape() {
        let m = br#"{"schemaVersion":2,"config":{"mediaType":"a","digest":"sha256:x","size":2},"layers":[]}"#;
        assert_eq!(
            parse_manifest(m, Some(DOCKER_MANIFEST)).unwrap().0,
            DOCKER_MANIFEST
        );
        assert_eq!(
            parse_manifest(m, Some("text/plain")).unwrap().0,
            OCI_MANIFEST
        );
        let i = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(parse_manifest(i, None).unwrap().0, OCI_INDEX);
    }

    #[test]
    fn rejects_non_manifests() {
        assert!(matches!(
            parse_manifest(b"<html>", None),
            Err(ParseManifestError::Json(_))
        ));
        let wrong =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json"}"#;
        assert!(matches!(
            parse_manifest(wrong, None),
            Err(ParseManifestError::UnsupportedMediaType(_))
        ));
        let v1 = br#"{"schemaVersion":1,"manifests":[]}"#;
        assert!(matches!(
            parse_manifest(v1, None),
            Err(ParseManifestError::SchemaVersion(1))
        ));
    }
}
