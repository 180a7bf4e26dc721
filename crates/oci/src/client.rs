//! `RegistryClient`: the four registry operations the engine needs.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;
use url::Url;

use crate::config::ClientConfig;
use crate::digest::Digest;
use crate::error::{OciError, Operation};
use crate::model::{
    parse_manifest, Descriptor, ImageIndex, Manifest, ResolvedManifest, MANIFEST_MEDIA_TYPES,
    OCI_INDEX,
};
use crate::probe::{self, ApiMemory, Next, Verdict};
use crate::reference::Reference;
use crate::referrers;
use crate::transport::{
    classify_referrers_404, declared_length, read_budgeted, read_reserved, Ctx, Referrers404,
    Transport,
};

/// What the referrers API answered.
enum ApiAnswer {
    /// The listing (all pages).
    Found(Vec<Descriptor>),
    /// The registry has no referrers API (a plain 404 or a non-index answer).
    NoApi,
    /// A 404 about this subject only (`MANIFEST_UNKNOWN`, or a redirect to a 404).
    NotForSubject,
}

/// An async registry client. Cheap to clone; clones share the connection pool,
/// the token cache and what was learned about each registry. `Send + Sync`.
#[derive(Clone)]
pub struct RegistryClient {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    accept_manifests: String,
    /// What each repository's referrers API did, and the single-flight probe.
    referrers_api: ApiMemory,
}

impl fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryClient")
            .field("config", &self.inner.transport.config)
            .finish()
    }
}

impl RegistryClient {
    /// Builds a client. Fails only on an unusable configuration (bad CA PEM).
    pub fn new(config: ClientConfig) -> Result<Self, OciError> {
        Ok(Self {
            inner: Arc::new(Inner {
                transport: Transport::new(config)?,
                accept_manifests: MANIFEST_MEDIA_TYPES.join(", "),
                referrers_api: ApiMemory::default(),
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.transport.config
    }

    /// The shared transport (auth, retries, caps), for the `push` module.
    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Resolves a tag (or checks a digest) to the manifest's digest, media type
    /// and size: `HEAD` with every manifest and index `Accept` type, falling back
    /// to `GET` and hashing the body when the registry omits `Docker-Content-Digest`.
    /// When the reference carries a digest, the registry's answer must match it.
    pub async fn resolve(&self, r: &Reference) -> Result<ResolvedManifest, OciError> {
        let ctx = self.ctx(Operation::Resolve, r);
        let expected = match &r.digest {
            Some(d) => Some(Digest::parse(d).map_err(|source| invalid_digest(&ctx, source))?),
            None => None,
        };
        let url = self.url(r, &format!("manifests/{}", r.manifest_reference()), &ctx)?;
        let t = &self.inner.transport;
        let accept = self.inner.accept_manifests.as_str();
        let head = t.send(&ctx, Method::HEAD, &url, accept).await?;
        if head.status().is_success() {
            let headers = head.headers();
            let size = declared_length(headers);
            if let Some(len) = size.filter(|l| *l > self.config().max_manifest_bytes) {
                return Err(OciError::TooLarge {
                    op: ctx.op,
                    reference: ctx.reference,
                    limit: self.config().max_manifest_bytes,
                    actual: Some(len),
                });
            }
            let media_type =
                content_type(headers).filter(|m| MANIFEST_MEDIA_TYPES.contains(&m.as_str()));
            let digest = headers
                .get("docker-content-digest")
                .and_then(|v| v.to_str().ok())
                .map(|v| Digest::parse(v.trim()).map_err(|source| invalid_digest(&ctx, source)))
                .transpose()?;
            if let (Some(digest), Some(media_type), Some(size)) = (digest, media_type, size) {
                if let Some(exp) = &expected {
                    if *exp != digest {
                        return Err(mismatch(&ctx, exp, &digest));
                    }
                }
                return Ok(ResolvedManifest {
                    digest: digest.to_string(),
                    media_type,
                    size,
                });
            }
        } else if head.status() == StatusCode::NOT_FOUND {
            return Err(t.status_error(&ctx, head).await);
        }
        // No usable HEAD answer: GET the manifest and hash it ourselves.
        let get = t.send(&ctx, Method::GET, &url, accept).await?;
        if !get.status().is_success() {
            return Err(t.status_error(&ctx, get).await);
        }
        let header_type = content_type(get.headers());
        let bytes = read_budgeted(&ctx, get, self.config().max_manifest_bytes, &t.budget).await?;
        let digest = match &expected {
            Some(exp) => verify(&ctx, exp, &bytes)?,
            None => Digest::sha256_of(&bytes),
        };
        let (media_type, _) = parse_manifest(&bytes, header_type.as_deref())
            .map_err(|e| invalid_manifest(&ctx, e.to_string()))?;
        Ok(ResolvedManifest {
            digest: digest.to_string(),
            media_type,
            size: bytes.len() as u64,
        })
    }

    /// Lists the referrers of `subject` (which must carry a digest), keeping only
    /// those whose `artifactType` equals `artifact_type` when one is given.
    ///
    /// Tries the OCI 1.1 referrers API first (following `Link` pagination and
    /// filtering client-side unless the registry reports `OCI-Filters-Applied:
    /// artifactType`); when it answers a plain 404 or with a non-index content type,
    /// falls back to the referrers tag schema (`<alg>-<hex>` index) and remembers that
    /// this repository lacks the API for two minutes. A 404 `MANIFEST_UNKNOWN` or a
    /// redirect to a 404 falls back for this subject only; `NAME_UNKNOWN` is an error.
    /// Concurrent cold keys of one repository share one probe (see `probe.rs`). A
    /// missing tag means no referrers; 401/403 are errors.
    pub async fn referrers(
        &self,
        subject: &Reference,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        let ctx = self.ctx(Operation::ListReferrers, subject);
        let Some(digest) = &subject.digest else {
            return Err(OciError::DigestRequired {
                op: ctx.op,
                reference: ctx.reference,
            });
        };
        let digest = Digest::parse(digest).map_err(|source| invalid_digest(&ctx, source))?;
        let key = format!("{}/{}", subject.api_host(), subject.repository);
        let memory = &self.inner.referrers_api;
        let mut waited = false;
        let guard = loop {
            match memory.next(&key, waited) {
                Next::TagSchema => {
                    return self
                        .referrers_tag_schema(&ctx, subject, &digest, artifact_type)
                        .await
                }
                Next::Wait(rx) => {
                    probe::wait(rx, ctx.deadline).await;
                    waited = true;
                }
                Next::Api => break None,
                Next::Probe(guard) => break Some(guard),
            }
        };
        let answer = self
            .referrers_api(&ctx, subject, &digest, artifact_type)
            .await;
        let verdict = match &answer {
            Ok(ApiAnswer::Found(_)) => Verdict::Present,
            Ok(ApiAnswer::NoApi) => Verdict::Absent,
            Ok(ApiAnswer::NotForSubject) | Err(_) => Verdict::Unknown,
        };
        if guard.is_some() || verdict != Verdict::Unknown {
            memory.record(&key, verdict);
        }
        drop(guard);
        match answer? {
            ApiAnswer::Found(found) => Ok(found),
            ApiAnswer::NoApi | ApiAnswer::NotForSubject => {
                self.referrers_tag_schema(&ctx, subject, &digest, artifact_type)
                    .await
            }
        }
    }

    /// Fetches the manifest `digest` from `r`'s repository, capped at
    /// `max_manifest_bytes`, verifying that the bytes hash to `digest`.
    pub async fn fetch_manifest(&self, r: &Reference, digest: &str) -> Result<Manifest, OciError> {
        let pinned = r.with_digest(digest);
        let ctx = self.ctx(Operation::FetchManifest, &pinned);
        let expected = Digest::parse(digest).map_err(|source| invalid_digest(&ctx, source))?;
        let url = self.url(r, &format!("manifests/{expected}"), &ctx)?;
        let t = &self.inner.transport;
        let response = t
            .send(&ctx, Method::GET, &url, &self.inner.accept_manifests)
            .await?;
        if !response.status().is_success() {
            return Err(t.status_error(&ctx, response).await);
        }
        let header_type = content_type(response.headers());
        let bytes =
            read_budgeted(&ctx, response, self.config().max_manifest_bytes, &t.budget).await?;
        verify(&ctx, &expected, &bytes)?;
        let (media_type, parsed) = parse_manifest(&bytes, header_type.as_deref())
            .map_err(|e| invalid_manifest(&ctx, e.to_string()))?;
        Ok(Manifest {
            digest: expected.to_string(),
            media_type,
            bytes,
            parsed,
        })
    }

    /// Fetches the blob `desc` from `r`'s repository into memory. Refuses without
    /// a request when `desc.size` exceeds `max_blob_bytes`; never reads more than
    /// `desc.size` bytes; verifies size and digest.
    pub async fn fetch_blob(&self, r: &Reference, desc: &Descriptor) -> Result<Bytes, OciError> {
        let pinned = r.with_digest(&desc.digest);
        let ctx = self.ctx(Operation::FetchBlob, &pinned);
        let expected =
            Digest::parse(&desc.digest).map_err(|source| invalid_digest(&ctx, source))?;
        let cap = self.config().max_blob_bytes;
        if desc.size > cap {
            return Err(OciError::TooLarge {
                op: ctx.op,
                reference: ctx.reference,
                limit: cap,
                actual: Some(desc.size),
            });
        }
        let url = self.url(r, &format!("blobs/{expected}"), &ctx)?;
        let t = &self.inner.transport;
        // The size is known: reserve it before asking, so no connection waits for room.
        let reservation = t.budget.reserve(&ctx, desc.size).await?;
        let response = t.send(&ctx, Method::GET, &url, "*/*").await?;
        if !response.status().is_success() {
            return Err(t.status_error(&ctx, response).await);
        }
        match declared_length(response.headers()) {
            Some(len) if len > cap => {
                return Err(OciError::TooLarge {
                    op: ctx.op,
                    reference: ctx.reference,
                    limit: cap,
                    actual: Some(len),
                })
            }
            Some(len) if len != desc.size => {
                return Err(size_mismatch(&ctx, desc.size, len, false));
            }
            _ => {}
        }
        let bytes = match read_reserved(&ctx, response, desc.size, reservation).await {
            Ok(b) => b,
            Err(OciError::TooLarge { .. }) => {
                return Err(size_mismatch(&ctx, desc.size, desc.size + 1, true))
            }
            Err(e) => return Err(e),
        };
        if bytes.len() as u64 != desc.size {
            return Err(size_mismatch(&ctx, desc.size, bytes.len() as u64, false));
        }
        verify(&ctx, &expected, &bytes)?;
        Ok(bytes)
    }

    /// The referrers API: the listing, or what its 404 or non-index answer says.
    async fn referrers_api(
        &self,
        ctx: &Ctx,
        subject: &Reference,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ApiAnswer, OciError> {
        let t = &self.inner.transport;
        let cfg = self.config();
        let mut url = self.url(subject, &format!("referrers/{digest}"), ctx)?;
        if let Some(at) = artifact_type {
            url.query_pairs_mut().append_pair("artifactType", at);
        }
        let mut found = Vec::new();
        let mut seen = 0usize;
        for page in 1.. {
            if page > cfg.max_referrer_pages {
                return Err(too_many(ctx, cfg.max_referrer_pages, "pages"));
            }
            let response = t.send(ctx, Method::GET, &url, OCI_INDEX).await?;
            let status = response.status();
            if status == StatusCode::NOT_FOUND && page == 1 {
                return Ok(match classify_referrers_404(ctx, &url, response).await? {
                    Referrers404::NoApi => ApiAnswer::NoApi,
                    Referrers404::NotForSubject => ApiAnswer::NotForSubject,
                });
            }
            if !status.is_success() {
                return Err(t.status_error(ctx, response).await);
            }
            let headers = response.headers();
            if page == 1 && content_type(headers).as_deref() != Some(OCI_INDEX) {
                return Ok(ApiAnswer::NoApi);
            }
            let applied = referrers::filter_applied(
                headers
                    .get("oci-filters-applied")
                    .and_then(|v| v.to_str().ok()),
            );
            let link = headers
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = read_budgeted(ctx, response, cfg.max_manifest_bytes, &t.budget).await?;
            let index: ImageIndex = serde_json::from_slice(&body).map_err(|e| {
                invalid_manifest(ctx, format!("referrers answer is not an image index: {e}"))
            })?;
            seen += index.manifests.len();
            if seen > cfg.max_referrers {
                return Err(too_many(ctx, cfg.max_referrers, "entries"));
            }
            let mut entries = index.manifests;
            if !applied {
                referrers::keep(&mut entries, artifact_type);
            }
            found.extend(entries);
            match link.map(|l| referrers::next_link(&l, &url)).transpose() {
                Ok(Some(Some(next))) => url = next,
                Ok(_) => break,
                Err(reason) => return Err(invalid_manifest(ctx, reason)),
            }
        }
        Ok(ApiAnswer::Found(found))
    }

    /// The referrers tag schema: the index tagged `<alg>-<hex>`; no tag = none.
    async fn referrers_tag_schema(
        &self,
        ctx: &Ctx,
        subject: &Reference,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>, OciError> {
        let t = &self.inner.transport;
        let cfg = self.config();
        let url = self.url(
            subject,
            &format!("manifests/{}", digest.referrers_tag()),
            ctx,
        )?;
        let response = t.send(ctx, Method::GET, &url, OCI_INDEX).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !response.status().is_success() {
            return Err(t.status_error(ctx, response).await);
        }
        let body = read_budgeted(ctx, response, cfg.max_manifest_bytes, &t.budget).await?;
        let index: ImageIndex = serde_json::from_slice(&body).map_err(|e| {
            invalid_manifest(
                ctx,
                format!(
                    "referrers tag {} is not an image index: {e}",
                    digest.referrers_tag()
                ),
            )
        })?;
        if index.manifests.len() > cfg.max_referrers {
            return Err(too_many(ctx, cfg.max_referrers, "entries"));
        }
        let mut entries = index.manifests;
        referrers::keep(&mut entries, artifact_type);
        Ok(entries)
    }

    fn ctx(&self, op: Operation, r: &Reference) -> Ctx {
        let cfg = self.config();
        Ctx {
            op,
            reference: r.to_string(),
            registry: r.registry.clone(),
            scope: format!("repository:{}:pull", r.repository),
            deadline: Instant::now() + cfg.retry.max_total_time,
            budget: cfg.retry.max_total_time,
            request_timeout: cfg.request_timeout,
        }
    }

    fn url(&self, r: &Reference, tail: &str, ctx: &Ctx) -> Result<Url, OciError> {
        let base = self.inner.transport.base_url(r.api_host());
        Url::parse(&format!("{base}/v2/{}/{tail}", r.repository)).map_err(|e| {
            OciError::InvalidReference {
                input: ctx.reference.clone(),
                reason: e.to_string(),
            }
        })
    }
}

/// The media type of a response, without parameters.
fn content_type(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or(v).trim().to_owned())
}

/// Hashes `bytes` with `expected`'s algorithm and compares.
fn verify(ctx: &Ctx, expected: &Digest, bytes: &[u8]) -> Result<Digest, OciError> {
    let mut h = expected.hasher();
    h.update(bytes);
    let actual = h.finish();
    if actual == *expected {
        Ok(actual)
    } else {
        Err(mismatch(ctx, expected, &actual))
    }
}

fn mismatch(ctx: &Ctx, expected: &Digest, actual: &Digest) -> OciError {
    OciError::DigestMismatch {
        op: ctx.op,
        reference: ctx.reference.clone(),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

fn size_mismatch(ctx: &Ctx, expected: u64, actual: u64, truncated: bool) -> OciError {
    OciError::SizeMismatch {
        op: ctx.op,
        reference: ctx.reference.clone(),
        expected,
        actual,
        truncated,
    }
}

fn invalid_manifest(ctx: &Ctx, detail: String) -> OciError {
    OciError::InvalidManifest {
        op: ctx.op,
        reference: ctx.reference.clone(),
        detail,
    }
}

fn invalid_digest(ctx: &Ctx, source: crate::digest::DigestError) -> OciError {
    OciError::InvalidDigest {
        op: ctx.op,
        reference: ctx.reference.clone(),
        source,
    }
}

fn too_many(ctx: &Ctx, limit: usize, what: &'static str) -> OciError {
    OciError::TooManyReferrers {
        op: ctx.op,
        reference: ctx.reference.clone(),
        limit,
        what,
    }
}
