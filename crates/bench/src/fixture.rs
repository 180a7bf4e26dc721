//! Signed images in the registry and the engine configuration that trusts their signer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_testkit::{sign_subject, Pki, Pusher, SignImageOptions, SignedImage};

use crate::error::BenchError;

/// The artifact type of Notation signatures.
pub const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
/// Images pushed and signed at once.
const PUSH_CONCURRENCY: usize = 8;

/// One signed image as the benchmarks use it.
#[derive(Clone, Debug)]
pub struct Image {
    /// The request key: `host/repo@sha256:…`.
    pub key: String,
    /// The image's tag (`img-<n>`).
    pub tag: String,
    /// The image manifest digest.
    pub subject: String,
    /// The signature manifest digest.
    pub signature: String,
    /// The envelope blob digest.
    pub envelope: String,
}

impl Image {
    fn from_signed(host: &str, repo: &str, tag: &str, s: &SignedImage) -> Self {
        Self {
            key: format!("{host}/{repo}@{}", s.subject.digest),
            tag: tag.to_owned(),
            subject: s.subject.digest.clone(),
            signature: s.signature.digest.clone(),
            envelope: s.envelope.digest.clone(),
        }
    }

    /// The tag key `host/repo:img-<n>` of this image.
    pub fn tag_key(&self) -> String {
        let repo = self.key.split('@').next().unwrap_or_default();
        format!("{repo}:{}", self.tag)
    }

    /// The referrers tag of the subject (`sha256-<hex>`).
    pub fn referrers_tag(&self) -> String {
        self.subject.replacen(':', "-", 1)
    }
}

/// Pushes `count` small distinct images `repo:img-<first+i>` into the registry at `host` and
/// signs each with `pki` (JWS, new manifest shape), [`PUSH_CONCURRENCY`] at a time.
pub async fn push_signed(
    host: &str,
    repo: &str,
    first: usize,
    count: usize,
    pki: &Pki,
) -> Vec<Image> {
    let pki = Arc::new(pki.clone());
    let opts = Arc::new(SignImageOptions::new(EnvelopeFormat::Jws));
    let pushers: Vec<Arc<Pusher>> = (0..PUSH_CONCURRENCY)
        .map(|_| Arc::new(Pusher::new(host, repo, None)))
        .collect();
    let host = host.to_owned();
    let repo = repo.to_owned();
    let mut images: Vec<(usize, Image)> = stream::iter(first..first + count)
        .map(|i| {
            let pusher = Arc::clone(&pushers[i % PUSH_CONCURRENCY]);
            let (pki, opts, host, repo) = (pki.clone(), opts.clone(), host.clone(), repo.clone());
            async move {
                let tag = format!("img-{i}");
                let subject = pusher.image(&tag).await;
                let reference = pusher.reference(&tag).with_digest(&subject.digest);
                let signed = sign_subject(&pusher, reference, &subject, &pki, &opts).await;
                (i, Image::from_signed(&host, &repo, &tag, &signed))
            }
        })
        .buffer_unordered(PUSH_CONCURRENCY)
        .collect()
        .await;
    images.sort_by_key(|(i, _)| *i);
    images.into_iter().map(|(_, image)| image).collect()
}

/// Writes the signer's root as `dir/certs/root.pem` and a Ratify `config.json` in `dir` that
/// trusts it (one oras store, config policy, one notation verifier), with verdicts cached for
/// `verdict_ttl_seconds`. Returns the config path.
pub fn write_engine_config(
    dir: &Path,
    pki: &Pki,
    verdict_ttl_seconds: u64,
) -> Result<PathBuf, BenchError> {
    let certs = dir.join("certs");
    std::fs::create_dir_all(&certs)
        .map_err(|e| BenchError::io("creating the certs dir", &certs, e))?;
    let root = certs.join("root.pem");
    std::fs::write(&root, pki.root_pem())
        .map_err(|e| BenchError::io("writing the trust anchor", &root, e))?;
    let policy: serde_json::Value = serde_json::from_str(&pki.trust_policy_json("certs"))
        .map_err(|e| BenchError::setup("the trust policy", e))?;
    let config = serde_json::json!({
        "store": {"version": "1.0.0", "plugins": [{"name": "oras", "useHttp": true}]},
        "policy": {"version": "1.0.0", "plugin": {"name": "configPolicy",
            "artifactVerificationPolicies": {NOTARY_SIGNATURE: "any"}}},
        "verifier": {"version": "1.0.0", "plugins": [{
            "name": "verifier-notation", "type": "notation",
            "artifactTypes": NOTARY_SIGNATURE,
            "verificationCerts": [root],
            "trustPolicyDoc": policy}]},
        "executor": {"verificationRequestTimeout": 20000, "mutationRequestTimeout": 5000},
        "imagegate": {"cache": {
            "verdictTtlSeconds": verdict_ttl_seconds,
            "failureTtlSeconds": verdict_ttl_seconds,
            "tagTtlSeconds": verdict_ttl_seconds}}
    });
    let path = dir.join("config.json");
    let text = serde_json::to_vec_pretty(&config).map_err(|e| BenchError::setup("config", e))?;
    std::fs::write(&path, text).map_err(|e| BenchError::io("writing config.json", &path, e))?;
    Ok(path)
}
