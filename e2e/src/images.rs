//! Registry content for the box: small images, signatures made by `imagegate sign`, a
//! tampered signature, and the real Notation e2e fixture pushed byte for byte.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use imagegate_oci::{
    Descriptor, Digest, ImageIndex, ImageManifest, OciError, ParsedManifest, Reference,
    RegistryClient, NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST,
};

use crate::paths::vectors_dir;

/// Digest of the fixture's subject manifest (`oci-subject-manifest-b8479de3.json`).
pub const FIXTURE_SUBJECT: &str =
    "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
/// Issuer (and subject) DN of the fixture's signing certificate, in Go's string form.
pub const FIXTURE_DN: &str = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US";
/// The fixture's trust anchor, in the vectors directory.
pub const FIXTURE_CERT: &str = "cert-e2e.crt";

const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const IMAGE_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
/// Most bytes read from a vector file.
const MAX_VECTOR_BYTES: u64 = 1024 * 1024;

/// Why content could not be put in place.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The registry refused or failed.
    #[error(transparent)]
    Oci(#[from] OciError),
    /// A vector file is missing.
    #[error(
        "cannot read the vector {path}: {source}; the repository ships it in testdata/notation"
    )]
    Vector {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `imagegate sign` failed.
    #[error("`imagegate sign {image}` failed ({status}): {stderr}")]
    Sign {
        /// The image.
        image: String,
        /// The exit status.
        status: String,
        /// Its standard error.
        stderr: String,
    },
    /// The registry content is not what was expected.
    #[error("{0}")]
    Unexpected(String),
}

fn descriptor(media_type: &str, digest: &str, size: usize) -> Descriptor {
    Descriptor {
        media_type: media_type.to_owned(),
        digest: digest.to_owned(),
        size: size as u64,
        artifact_type: None,
        annotations: None,
        platform: None,
        urls: None,
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Bytes, ContentError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| ContentError::Unexpected(format!("cannot encode JSON: {e}")))
}

/// Pushes a one-layer OCI image at `reference` (a tag) whose layer text is `content`
/// (distinct content, distinct digest); returns the manifest descriptor.
pub async fn push_image(
    client: &RegistryClient,
    reference: &Reference,
    content: &str,
) -> Result<Descriptor, ContentError> {
    let config = client
        .push_blob(reference, OCI_EMPTY, Bytes::from_static(b"{}"))
        .await?;
    let layer = client
        .push_blob(
            reference,
            IMAGE_LAYER,
            Bytes::from(content.as_bytes().to_vec()),
        )
        .await?;
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_owned()),
        artifact_type: None,
        config: descriptor(IMAGE_CONFIG, &config.digest, 2),
        layers: vec![layer],
        subject: None,
        annotations: None,
    };
    Ok(client
        .push_manifest(reference, OCI_MANIFEST, to_json(&manifest)?)
        .await?)
}

/// Runs `imagegate sign --key KEY --cert CHAIN IMAGE --envelope jws|cose`; returns the
/// signature manifest digest it prints.
pub fn sign_with_cli(
    imagegate: &Path,
    key: &Path,
    chain: &Path,
    image: &str,
    envelope: &str,
) -> Result<String, ContentError> {
    let out = Command::new(imagegate)
        .arg("sign")
        .arg("--key")
        .arg(key)
        .arg("--cert")
        .arg(chain)
        .args(["--envelope", envelope, image])
        .output()
        .map_err(|e| ContentError::Sign {
            image: image.to_owned(),
            status: "not started".to_owned(),
            stderr: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ContentError::Sign {
            image: image.to_owned(),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Tampers with the signature of `subject` (a reference with a digest): fetches its only
/// notary signature, flips the bits of the first byte of the envelope's signature value,
/// pushes the altered envelope and a new signature manifest, and rewrites the referrers
/// tag index to list only the tampered signature. Returns the new manifest's digest.
pub async fn tamper_signature(
    client: &RegistryClient,
    subject: &Reference,
) -> Result<String, ContentError> {
    let digest = subject
        .digest
        .clone()
        .ok_or_else(|| ContentError::Unexpected(format!("{subject:?} has no digest")))?;
    let referrers = client.referrers(subject, Some(NOTARY_SIGNATURE)).await?;
    let [original] = referrers.as_slice() else {
        return Err(ContentError::Unexpected(format!(
            "expected one signature of {digest}, found {}",
            referrers.len()
        )));
    };
    let manifest = client.fetch_manifest(subject, &original.digest).await?;
    let ParsedManifest::Image(mut manifest) = manifest.parsed else {
        return Err(ContentError::Unexpected(
            "the signature manifest is an index".to_owned(),
        ));
    };
    let layer =
        manifest.layers.first().cloned().ok_or_else(|| {
            ContentError::Unexpected("the signature manifest has no layer".into())
        })?;
    let envelope = client.fetch_blob(subject, &layer).await?;
    let tampered = flip_signature(&layer.media_type, &envelope)?;
    let pushed = client
        .push_blob(subject, &layer.media_type, Bytes::from(tampered))
        .await?;
    manifest.layers = vec![pushed];
    let bytes = to_json(&manifest)?;
    let new_digest = Digest::sha256_of(&bytes).to_string();
    let size = bytes.len() as u64;
    client
        .push_manifest(&subject.with_digest(&new_digest), OCI_MANIFEST, bytes)
        .await?;
    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(OCI_INDEX.to_owned()),
        artifact_type: None,
        manifests: vec![manifest.referrer_descriptor(&new_digest, size)],
        subject: None,
        annotations: None,
    };
    let tag = Digest::parse(&digest)
        .map_err(|e| ContentError::Unexpected(e.to_string()))?
        .referrers_tag();
    let tagged = Reference {
        tag: Some(tag),
        digest: None,
        ..subject.clone()
    };
    client
        .push_manifest(&tagged, OCI_INDEX, to_json(&index)?)
        .await?;
    Ok(new_digest)
}

/// The envelope with the first byte of its signature value inverted (JWS: the decoded
/// `signature` member; COSE: the last byte of the structure, inside the signature).
fn flip_signature(media_type: &str, envelope: &[u8]) -> Result<Vec<u8>, ContentError> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    if media_type == "application/jose+json" {
        let mut jws: serde_json::Value = serde_json::from_slice(envelope)
            .map_err(|e| ContentError::Unexpected(format!("envelope is not JSON: {e}")))?;
        let sig = jws["signature"]
            .as_str()
            .ok_or_else(|| ContentError::Unexpected("JWS without signature".into()))?;
        let mut raw = b64
            .decode(sig)
            .map_err(|e| ContentError::Unexpected(format!("JWS signature: {e}")))?;
        if let Some(first) = raw.first_mut() {
            *first ^= 0xff;
        }
        jws["signature"] = serde_json::Value::String(b64.encode(raw));
        serde_json::to_vec(&jws).map_err(|e| ContentError::Unexpected(e.to_string()))
    } else {
        let mut raw = envelope.to_vec();
        if let Some(last) = raw.last_mut() {
            *last ^= 0xff;
        }
        Ok(raw)
    }
}

fn vector(name: &str) -> Result<Vec<u8>, ContentError> {
    let path = vectors_dir().join(name);
    let read = || -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(std::fs::File::open(&path)?, MAX_VECTOR_BYTES),
            &mut out,
        )?;
        Ok(out)
    };
    read().map_err(|source| ContentError::Vector {
        path: path.clone(),
        source,
    })
}

/// The path of the fixture's trust anchor.
pub fn fixture_cert() -> PathBuf {
    vectors_dir().join(FIXTURE_CERT)
}

/// Pushes the real Notation e2e fixture into `repo` (a reference naming the repository):
/// the subject's blobs (config `{}` and the 17-byte `awesome notation\n` layer), the subject
/// manifest (also tagged `v1`), the JWS envelope, the legacy-shape signature manifest and the
/// referrers tag index, all byte for byte. Returns `repo@<subject digest>`.
pub async fn push_notation_fixture(
    client: &RegistryClient,
    repo: &Reference,
) -> Result<Reference, ContentError> {
    client
        .push_blob(repo, OCI_EMPTY, Bytes::from_static(b"{}"))
        .await?;
    client
        .push_blob(repo, IMAGE_LAYER, Bytes::from_static(b"awesome notation\n"))
        .await?;
    let subject = Bytes::from(vector("oci-subject-manifest-b8479de3.json")?);
    let pinned = repo.with_digest(FIXTURE_SUBJECT);
    client
        .push_manifest(&pinned, OCI_MANIFEST, subject.clone())
        .await?;
    let tagged = Reference {
        tag: Some("v1".to_owned()),
        digest: None,
        ..repo.clone()
    };
    client.push_manifest(&tagged, OCI_MANIFEST, subject).await?;
    client
        .push_blob(
            repo,
            "application/jose+json",
            Bytes::from(vector("jws-e2e-valid.json")?),
        )
        .await?;
    let sig = Bytes::from(vector("oci-sigmanifest-e2e-valid.json")?);
    let sig_digest = Digest::sha256_of(&sig).to_string();
    client
        .push_manifest(&repo.with_digest(&sig_digest), OCI_MANIFEST, sig)
        .await?;
    let index = Bytes::from(vector("oci-referrers-tag-index-e2e-valid.json")?);
    let index_tag = Reference {
        tag: Some(FIXTURE_SUBJECT.replace(':', "-")),
        digest: None,
        ..repo.clone()
    };
    client.push_manifest(&index_tag, OCI_INDEX, index).await?;
    Ok(Reference {
        tag: None,
        digest: Some(FIXTURE_SUBJECT.to_owned()),
        ..repo.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flipping_changes_only_the_jws_signature() {
        let jws = br#"{"payload":"cA","protected":"eA","signature":"AAEC"}"#;
        let out: serde_json::Value =
            serde_json::from_slice(&flip_signature("application/jose+json", jws).unwrap()).unwrap();
        assert_eq!(out["payload"], "cA");
        assert_eq!(out["signature"], "_wEC");
        let cose = flip_signature("application/cose", &[1, 2, 3]).unwrap();
        assert_eq!(cose, vec![1, 2, 0xfc]);
    }
}
