//! Uploads: blobs (`POST` + monolithic `PUT`, skipped when `HEAD` finds the
//! blob), manifests by tag or digest, Notary Project signature manifests, and
//! the referrers tag schema index for registries without the referrers API.
//!
//! Every request goes through the client's transport (credentials, token
//! exchange with `pull,push` scope, retries, deadlines, redirect policy).

use std::collections::BTreeMap;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use url::Url;

use crate::client::RegistryClient;
use crate::digest::Digest;
use crate::error::{OciError, Operation};
use crate::model::{Descriptor, ImageIndex, ImageManifest, NOTARY_SIGNATURE, OCI_EMPTY};
use crate::model::{OCI_INDEX, OCI_MANIFEST};
use crate::reference::Reference;
use crate::signature::SignatureShape;
use crate::transport::{read_capped, referrers_not_found, Ctx};

/// The digest of the two-byte `{}` blob (the OCI empty descriptor).
pub const EMPTY_JSON_DIGEST: &str =
    "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
/// The `{}` blob itself.
pub const EMPTY_JSON: &[u8] = b"{}";

/// How a referrer became discoverable from its subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferrerIndexing {
    /// The registry implements the referrers API and indexes the referrer itself.
    RegistryApi,
    /// The registry has no referrers API: the referrers tag index was updated.
    TagSchema {
        /// The tag, `<alg>-<hex>` of the subject digest.
        tag: String,
        /// The digest of the index now behind the tag.
        index_digest: String,
        /// `false` when the index already listed the referrer (nothing was pushed).
        added: bool,
    },
}

/// A referrer manifest that was pushed and attached to its subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedReferrer {
    /// The referrer manifest's descriptor, with `artifactType` and annotations as
    /// listed in a referrers index.
    pub manifest: Descriptor,
    /// How it was made discoverable.
    pub indexing: ReferrerIndexing,
}

impl ImageManifest {
    /// A Notary Project signature manifest for `subject` whose single layer is
    /// `envelope` (notation.md §2.1). [`SignatureShape::ArtifactType`] sets
    /// `artifactType` and the empty config; [`SignatureShape::LegacyConfig`] uses the
    /// notary signature type as `config.mediaType`. Both configs are the `{}` blob.
    pub fn notary_signature(
        subject: Descriptor,
        envelope: Descriptor,
        annotations: BTreeMap<String, String>,
        shape: SignatureShape,
    ) -> Self {
        let (artifact_type, config_type) = match shape {
            SignatureShape::ArtifactType => (Some(NOTARY_SIGNATURE.to_owned()), OCI_EMPTY),
            SignatureShape::LegacyConfig => (None, NOTARY_SIGNATURE),
        };
        Self {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.to_owned()),
            artifact_type,
            config: descriptor(config_type, EMPTY_JSON_DIGEST, EMPTY_JSON.len() as u64),
            layers: vec![envelope],
            subject: Some(subject),
            annotations: (!annotations.is_empty()).then_some(annotations),
        }
    }

    /// The descriptor a referrers index lists for this manifest: `artifactType`
    /// (else `config.mediaType`, as the distribution spec says) and the annotations.
    pub fn referrer_descriptor(&self, digest: &str, size: u64) -> Descriptor {
        Descriptor {
            media_type: self
                .media_type
                .clone()
                .unwrap_or_else(|| OCI_MANIFEST.to_owned()),
            digest: digest.to_owned(),
            size,
            artifact_type: Some(
                self.artifact_type
                    .clone()
                    .unwrap_or_else(|| self.config.media_type.clone()),
            ),
            annotations: self.annotations.clone(),
            platform: None,
            urls: None,
        }
    }
}

impl RegistryClient {
    /// Uploads `bytes` as a blob of `repo`'s repository (tag and digest of `repo`
    /// are ignored) and returns its descriptor. A `HEAD` first: when the registry
    /// already has the blob nothing is sent. Otherwise `POST` starts an upload and
    /// one `PUT ?digest=` completes it; the registry's digest must match.
    pub async fn push_blob(
        &self,
        repo: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Descriptor, OciError> {
        let digest = Digest::sha256_of(&bytes);
        let desc = descriptor(media_type, &digest.to_string(), bytes.len() as u64);
        let ctx = self.push_ctx(Operation::PushBlob, &repo.with_digest(&desc.digest));
        let t = self.transport();
        let blob_url = self.repo_url(repo, &format!("blobs/{digest}"), &ctx)?;
        let head = t.send(&ctx, Method::HEAD, &blob_url, "*/*").await?;
        if head.status().is_success() {
            return Ok(desc);
        }
        let start_url = self.repo_url(repo, "blobs/uploads/", &ctx)?;
        let start = t.send(&ctx, Method::POST, &start_url, "*/*").await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(t.status_error(&ctx, start).await);
        }
        let mut put_url = upload_location(start.headers(), &start_url)
            .map_err(|detail| protocol(&ctx, detail))?;
        put_url
            .query_pairs_mut()
            .append_pair("digest", &desc.digest);
        let body = ("application/octet-stream", &bytes);
        let put = t
            .send_body(&ctx, Method::PUT, &put_url, "*/*", Some(body))
            .await?;
        if put.status() != StatusCode::CREATED {
            return Err(t.status_error(&ctx, put).await);
        }
        check_digest_header(&ctx, put.headers(), &digest)?;
        Ok(desc)
    }

    /// Uploads a manifest under `target`'s digest when it has one (the bytes must
    /// hash to it), else under its tag (`latest` when it has neither). Refuses
    /// manifests larger than `max_manifest_bytes`. The registry's
    /// `Docker-Content-Digest`, when sent, must match the bytes.
    pub async fn push_manifest(
        &self,
        target: &Reference,
        media_type: &str,
        bytes: Bytes,
    ) -> Result<Descriptor, OciError> {
        let ctx = self.push_ctx(Operation::PushManifest, target);
        let cap = self.config().max_manifest_bytes;
        if bytes.len() as u64 > cap {
            return Err(OciError::TooLarge {
                op: ctx.op,
                reference: ctx.reference,
                limit: cap,
                actual: Some(bytes.len() as u64),
            });
        }
        let digest = match &target.digest {
            Some(d) => {
                let expected = Digest::parse(d).map_err(|source| OciError::InvalidDigest {
                    op: ctx.op,
                    reference: ctx.reference.clone(),
                    source,
                })?;
                let mut h = expected.hasher();
                h.update(&bytes);
                let actual = h.finish();
                if actual != expected {
                    return Err(OciError::DigestMismatch {
                        op: ctx.op,
                        reference: ctx.reference.clone(),
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    });
                }
                actual
            }
            None => Digest::sha256_of(&bytes),
        };
        let t = self.transport();
        let url = self.repo_url(
            target,
            &format!("manifests/{}", target.manifest_reference()),
            &ctx,
        )?;
        let put = t
            .send_body(&ctx, Method::PUT, &url, "*/*", Some((media_type, &bytes)))
            .await?;
        if !put.status().is_success() {
            return Err(t.status_error(&ctx, put).await);
        }
        check_digest_header(&ctx, put.headers(), &digest)?;
        Ok(descriptor(
            media_type,
            &digest.to_string(),
            bytes.len() as u64,
        ))
    }

    /// Makes `referrer` discoverable from `subject` (which must carry a digest).
    ///
    /// When the registry implements the referrers API it indexes referrers itself
    /// and nothing is written. When the API answers 404 (without `NAME_UNKNOWN`) or
    /// not with an index, the referrers tag schema is maintained: the index tagged
    /// `<alg>-<hex>` is read (missing = empty), `referrer` is appended unless an
    /// entry already has its digest, and the index is pushed back under the tag.
    /// Pass the descriptor from [`ImageManifest::referrer_descriptor`] so the
    /// entry carries `artifactType` and annotations, as notation and oras write it.
    /// Concurrent writers to the same subject can lose each other's entries (the
    /// tag schema has no compare-and-swap).
    pub async fn attach_referrer(
        &self,
        subject: &Reference,
        referrer: &Descriptor,
    ) -> Result<ReferrerIndexing, OciError> {
        let ctx = self.push_ctx(Operation::AttachReferrer, subject);
        let Some(digest) = &subject.digest else {
            return Err(OciError::DigestRequired {
                op: ctx.op,
                reference: ctx.reference,
            });
        };
        let digest = Digest::parse(digest).map_err(|source| OciError::InvalidDigest {
            op: ctx.op,
            reference: ctx.reference.clone(),
            source,
        })?;
        if self.has_referrers_api(&ctx, subject, &digest).await? {
            return Ok(ReferrerIndexing::RegistryApi);
        }
        let tag = digest.referrers_tag();
        let (mut index, index_digest) = self.read_tag_index(&ctx, subject, &tag).await?;
        let tagged = Reference {
            tag: Some(tag.clone()),
            digest: None,
            ..subject.clone()
        };
        if let Some(entry) = index.manifests.iter().find(|d| d.digest == referrer.digest) {
            tracing::debug!(digest = %entry.digest, %tag, "referrer already in the tag index");
            return Ok(ReferrerIndexing::TagSchema {
                tag,
                index_digest: index_digest.unwrap_or_default(),
                added: false,
            });
        }
        if index.manifests.len() >= self.config().max_referrers {
            return Err(OciError::TooManyReferrers {
                op: ctx.op,
                reference: ctx.reference,
                limit: self.config().max_referrers,
                what: "entries",
            });
        }
        index.manifests.push(referrer.clone());
        let bytes = serde_json::to_vec(&index).map_err(|e| protocol(&ctx, e.to_string()))?;
        let pushed = self
            .push_manifest(&tagged, OCI_INDEX, Bytes::from(bytes))
            .await?;
        Ok(ReferrerIndexing::TagSchema {
            tag,
            index_digest: pushed.digest,
            added: true,
        })
    }

    /// Pushes `manifest` (which must have a `subject`) by digest into
    /// `repo`'s repository, then attaches it to its subject. The blobs it refers to
    /// must have been pushed already.
    pub async fn push_referrer(
        &self,
        repo: &Reference,
        manifest: &ImageManifest,
    ) -> Result<PushedReferrer, OciError> {
        let Some(subject) = &manifest.subject else {
            return Err(protocol(
                &self.push_ctx(Operation::PushManifest, repo),
                "a referrer manifest needs a subject".to_owned(),
            ));
        };
        let bytes = serde_json::to_vec(manifest).map_err(|e| {
            protocol(
                &self.push_ctx(Operation::PushManifest, repo),
                format!("cannot encode the manifest: {e}"),
            )
        })?;
        let digest = Digest::sha256_of(&bytes).to_string();
        let size = bytes.len() as u64;
        let at = Reference {
            tag: None,
            digest: Some(digest.clone()),
            ..repo.clone()
        };
        let media_type = manifest.media_type.as_deref().unwrap_or(OCI_MANIFEST);
        self.push_manifest(&at, media_type, Bytes::from(bytes))
            .await?;
        let entry = manifest.referrer_descriptor(&digest, size);
        let subject_ref = Reference {
            tag: None,
            digest: Some(subject.digest.clone()),
            ..repo.clone()
        };
        let indexing = self.attach_referrer(&subject_ref, &entry).await?;
        Ok(PushedReferrer {
            manifest: entry,
            indexing,
        })
    }

    /// Stores a Notary Project signature of `subject` (a manifest of `repo`'s
    /// repository): pushes the `{}` config blob and the envelope blob, the
    /// signature manifest in `shape` by digest, and attaches it to the subject.
    pub async fn push_signature(
        &self,
        repo: &Reference,
        subject: &Descriptor,
        envelope_media_type: &str,
        envelope: Bytes,
        annotations: BTreeMap<String, String>,
        shape: SignatureShape,
    ) -> Result<PushedReferrer, OciError> {
        self.push_blob(repo, OCI_EMPTY, Bytes::from_static(EMPTY_JSON))
            .await?;
        let envelope = self.push_blob(repo, envelope_media_type, envelope).await?;
        let subject = descriptor(&subject.media_type, &subject.digest, subject.size);
        let manifest = ImageManifest::notary_signature(subject, envelope, annotations, shape);
        self.push_referrer(repo, &manifest).await
    }

    /// Whether `GET /referrers/<digest>` works here (see `RegistryClient::referrers`).
    async fn has_referrers_api(
        &self,
        ctx: &Ctx,
        subject: &Reference,
        digest: &Digest,
    ) -> Result<bool, OciError> {
        let t = self.transport();
        let url = self.repo_url(subject, &format!("referrers/{digest}"), ctx)?;
        let response = t.send(ctx, Method::GET, &url, OCI_INDEX).await?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            referrers_not_found(ctx, response).await?;
            return Ok(false);
        }
        if !status.is_success() {
            return Err(t.status_error(ctx, response).await);
        }
        Ok(media_type(response.headers()).as_deref() == Some(OCI_INDEX))
    }

    /// The index behind a referrers tag and its digest, or an empty index (and no
    /// digest) when the tag is absent.
    async fn read_tag_index(
        &self,
        ctx: &Ctx,
        subject: &Reference,
        tag: &str,
    ) -> Result<(ImageIndex, Option<String>), OciError> {
        let t = self.transport();
        let url = self.repo_url(subject, &format!("manifests/{tag}"), ctx)?;
        let response = t.send(ctx, Method::GET, &url, OCI_INDEX).await?;
        if response.status() == StatusCode::NOT_FOUND {
            let empty = ImageIndex {
                schema_version: 2,
                media_type: Some(OCI_INDEX.to_owned()),
                artifact_type: None,
                manifests: Vec::new(),
                subject: None,
                annotations: None,
            };
            return Ok((empty, None));
        }
        if !response.status().is_success() {
            return Err(t.status_error(ctx, response).await);
        }
        let body = read_capped(ctx, response, self.config().max_manifest_bytes).await?;
        let mut index: ImageIndex =
            serde_json::from_slice(&body).map_err(|e| OciError::InvalidManifest {
                op: ctx.op,
                reference: ctx.reference.clone(),
                detail: format!("referrers tag {tag} is not an image index: {e}"),
            })?;
        if index.manifests.len() > self.config().max_referrers {
            return Err(OciError::TooManyReferrers {
                op: ctx.op,
                reference: ctx.reference.clone(),
                limit: self.config().max_referrers,
                what: "entries",
            });
        }
        index.media_type = Some(OCI_INDEX.to_owned());
        Ok((index, Some(Digest::sha256_of(&body).to_string())))
    }

    fn push_ctx(&self, op: Operation, r: &Reference) -> Ctx {
        let cfg = self.config();
        Ctx {
            op,
            reference: r.to_string(),
            registry: r.registry.clone(),
            scope: format!("repository:{}:pull,push", r.repository),
            deadline: Instant::now() + cfg.retry.max_total_time,
            budget: cfg.retry.max_total_time,
            request_timeout: cfg.request_timeout,
        }
    }

    fn repo_url(&self, r: &Reference, tail: &str, ctx: &Ctx) -> Result<Url, OciError> {
        let base = self.transport().base_url(r.api_host());
        Url::parse(&format!("{base}/v2/{}/{tail}", r.repository)).map_err(|e| {
            OciError::InvalidReference {
                input: ctx.reference.clone(),
                reason: e.to_string(),
            }
        })
    }
}

/// The upload URL from a `Location` header, resolved against the `POST` URL.
/// Only same-origin locations are accepted: the upload carries our credentials.
fn upload_location(headers: &HeaderMap, post_url: &Url) -> Result<Url, String> {
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| "the upload was accepted without a Location header".to_owned())?;
    let url = post_url
        .join(location.trim())
        .map_err(|e| format!("the upload Location is not a URL: {e}"))?;
    if url.origin() != post_url.origin() {
        return Err(format!(
            "the upload Location points to another origin ({}); refusing to send credentials there",
            url.origin().ascii_serialization()
        ));
    }
    Ok(url)
}

/// Checks `Docker-Content-Digest`, when present, against what was sent.
fn check_digest_header(ctx: &Ctx, headers: &HeaderMap, sent: &Digest) -> Result<(), OciError> {
    let Some(value) = headers
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(());
    };
    match Digest::parse(value.trim()) {
        Ok(d) if d == *sent => Ok(()),
        // A registry may report its own algorithm for a manifest pushed by tag.
        Ok(d) if d.algorithm() != sent.algorithm() => Ok(()),
        _ => Err(protocol(
            ctx,
            format!(
                "the registry stored digest {:?} but {sent} was sent",
                value.chars().take(140).collect::<String>()
            ),
        )),
    }
}

fn media_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or(v).trim().to_owned())
}

fn descriptor(media_type: &str, digest: &str, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size,
        artifact_type: None,
        annotations: None,
        platform: None,
        urls: None,
    }
}

fn protocol(ctx: &Ctx, detail: String) -> OciError {
    OciError::Protocol {
        op: ctx.op,
        reference: ctx.reference.clone(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn subject() -> Descriptor {
        descriptor(
            OCI_MANIFEST,
            "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9",
            517,
        )
    }

    #[test]
    fn empty_json_digest_is_the_digest_of_empty_json() {
        assert_eq!(Digest::sha256_of(EMPTY_JSON).to_string(), EMPTY_JSON_DIGEST);
    }

    #[test]
    fn signature_manifest_shapes() {
        let env = descriptor("application/jose+json", "sha256:00", 10);
        let ann = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
        let new = ImageManifest::notary_signature(
            subject(),
            env.clone(),
            ann.clone(),
            SignatureShape::ArtifactType,
        );
        assert_eq!(new.signature_shape(), Some(SignatureShape::ArtifactType));
        assert_eq!(new.signature_envelope().map(|d| d.size), Ok(10));
        let entry = new.referrer_descriptor("sha256:11", 300);
        assert_eq!(entry.artifact_type.as_deref(), Some(NOTARY_SIGNATURE));
        assert_eq!(entry.annotations.as_ref(), Some(&ann));
        assert_eq!(entry.media_type, OCI_MANIFEST);

        let legacy = ImageManifest::notary_signature(
            subject(),
            env,
            BTreeMap::new(),
            SignatureShape::LegacyConfig,
        );
        assert_eq!(legacy.signature_shape(), Some(SignatureShape::LegacyConfig));
        assert_eq!(legacy.annotations, None);
        let json = serde_json::to_value(&legacy).unwrap();
        assert_eq!(json["config"]["mediaType"], NOTARY_SIGNATURE);
        assert_eq!(json["config"]["digest"], EMPTY_JSON_DIGEST);
        assert!(json.get("artifactType").is_none());
        // Registries report config.mediaType as the artifactType of legacy referrers.
        let entry = legacy.referrer_descriptor("sha256:22", 1);
        assert_eq!(entry.artifact_type.as_deref(), Some(NOTARY_SIGNATURE));
    }

    #[test]
    fn upload_locations() {
        let post = Url::parse("http://127.0.0.1:5000/v2/a/blobs/uploads/").unwrap();
        let mut h = HeaderMap::new();
        assert!(upload_location(&h, &post).is_err());
        h.insert(
            LOCATION,
            HeaderValue::from_static("/v2/a/blobs/uploads/u1?_state=x"),
        );
        let url = upload_location(&h, &post).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:5000/v2/a/blobs/uploads/u1?_state=x"
        );
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://127.0.0.1:5000/v2/a/blobs/uploads/u2"),
        );
        assert!(upload_location(&h, &post).is_ok());
        h.insert(
            LOCATION,
            HeaderValue::from_static("http://evil.example/v2/a/blobs/uploads/u3"),
        );
        let err = upload_location(&h, &post).unwrap_err();
        assert!(err.contains("another origin"), "{err}");
        h.insert(
            LOCATION,
            HeaderValue::from_static("https://127.0.0.1:5000/v2/a/blobs/uploads/u4"),
        );
        assert!(upload_location(&h, &post).is_err());
    }
}
