//! Pushing test content through imagegate's own push API (`RegistryClient::push_*`).

use bytes::Bytes;
use imagegate_oci::{
    ClientConfig, Credential, Descriptor, Reference, RegistryClient, StaticCredentials, OCI_EMPTY,
    OCI_MANIFEST,
};

/// Media type of the config of the images [`Pusher::image`] makes.
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// Media type of their single layer.
pub const IMAGE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

/// Pushes blobs, manifests and small images into one repository. Every failure panics
/// with the registry's answer.
pub struct Pusher {
    /// The repository name, e.g. `team/app`.
    pub repo: String,
    host: String,
    client: RegistryClient,
}

impl Pusher {
    /// A pusher for `host/repo` with optional credentials (plain HTTP on loopback).
    #[track_caller]
    pub fn new(host: &str, repo: &str, credential: Option<Credential>) -> Self {
        let mut creds = StaticCredentials::default();
        if let Some(c) = credential {
            creds = creds.with(host, c);
        }
        let client = RegistryClient::new(ClientConfig {
            credentials: std::sync::Arc::new(creds),
            ..Default::default()
        })
        .expect("cannot build a registry client");
        Self::with_client(client, host, repo)
    }

    /// A pusher for `host/repo` using `client`.
    pub fn with_client(client: RegistryClient, host: &str, repo: &str) -> Self {
        Self {
            repo: repo.to_owned(),
            host: host.to_owned(),
            client,
        }
    }

    /// The client used for pushing.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// `host/repo:<tag>` or `host/repo@<digest>` (when `tag_or_digest` contains `:`).
    #[track_caller]
    pub fn reference(&self, tag_or_digest: &str) -> Reference {
        let sep = if tag_or_digest.contains(':') {
            '@'
        } else {
            ':'
        };
        let text = format!("{}/{}{sep}{tag_or_digest}", self.host, self.repo);
        Reference::parse(&text).unwrap_or_else(|e| panic!("bad test reference {text}: {e}"))
    }

    /// Uploads a blob; returns its descriptor.
    pub async fn blob(&self, media_type: &str, bytes: &[u8]) -> Descriptor {
        let repo = self.reference("latest");
        self.client
            .push_blob(&repo, media_type, Bytes::copy_from_slice(bytes))
            .await
            .unwrap_or_else(|e| panic!("push blob to {repo}: {e}"))
    }

    /// PUTs a manifest under `reference` (a tag, or a digest the bytes must hash to);
    /// returns its descriptor.
    pub async fn manifest(&self, reference: &str, media_type: &str, bytes: &[u8]) -> Descriptor {
        let target = self.reference(reference);
        self.client
            .push_manifest(&target, media_type, Bytes::copy_from_slice(bytes))
            .await
            .unwrap_or_else(|e| panic!("push manifest {target}: {e}"))
    }

    /// Pushes a small single-layer OCI image tagged `tag` whose layer content is unique
    /// to `repo:tag` (so every image has its own digest); returns the manifest descriptor.
    pub async fn image(&self, tag: &str) -> Descriptor {
        let config = self.blob(OCI_EMPTY, b"{}").await;
        let content = format!("imagegate test image {}:{tag}\n", self.repo);
        let layer = self.blob(IMAGE_LAYER, content.as_bytes()).await;
        let manifest = image_manifest(
            &desc(IMAGE_CONFIG, &config.digest, 2),
            &[layer],
            serde_json::json!({}),
        );
        self.manifest(tag, OCI_MANIFEST, &manifest).await
    }
}

/// A descriptor with only media type, digest and size.
pub fn desc(media_type: &str, digest: &str, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.into(),
        digest: digest.into(),
        size: size as u64,
        artifact_type: None,
        annotations: None,
        platform: None,
        urls: None,
    }
}

/// An OCI image manifest JSON with the given config and layers; the members of `extra`
/// (an object, e.g. `{"subject": …}`) are added at the top level.
pub fn image_manifest(
    config: &Descriptor,
    layers: &[Descriptor],
    extra: serde_json::Value,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    });
    if let (Some(obj), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_vec(&m).expect("a JSON value serialises")
}
