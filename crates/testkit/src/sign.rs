//! Push an image and sign it in one call, the way `imagegate sign` does: Notation
//! payload and envelope from imagegate's signer, signature manifest (new or legacy
//! shape) with the thumbprint and creation annotations, referrers tag index.

use bytes::Bytes;
use imagegate_notation::envelope::EnvelopeFormat;
use imagegate_notation::sign::SignOptions;
use imagegate_oci::{Descriptor, Reference, SignatureShape};
use time::macros::datetime;
use time::OffsetDateTime;

use crate::pki::Pki;
use crate::push::Pusher;
use crate::registry::Registry;

/// The signing time [`sign_image`] uses (inside every generated certificate's validity).
pub const SIGNING_TIME: OffsetDateTime = datetime!(2025-01-01 0:00 UTC);

/// How to sign.
#[derive(Clone, Debug)]
pub struct SignImageOptions {
    /// JWS or COSE.
    pub format: EnvelopeFormat,
    /// New (`artifactType`) or legacy (`config.mediaType`) signature manifest.
    pub shape: SignatureShape,
    /// The signed attributes (signing time, expiry, …).
    pub sign: SignOptions,
}

impl SignImageOptions {
    /// `format`, new manifest shape, `notary.x509` at [`SIGNING_TIME`], no expiry.
    pub fn new(format: EnvelopeFormat) -> Self {
        Self {
            format,
            shape: SignatureShape::ArtifactType,
            sign: SignOptions::x509(SIGNING_TIME),
        }
    }
}

/// A signed image in a registry.
#[derive(Clone, Debug)]
pub struct SignedImage {
    /// `host/repo:tag@sha256:…` of the image.
    pub reference: Reference,
    /// The image manifest's descriptor.
    pub subject: Descriptor,
    /// The signature manifest's descriptor, as listed in the referrers index.
    pub signature: Descriptor,
    /// The envelope's descriptor (the signature manifest's layer).
    pub envelope: Descriptor,
    /// The envelope bytes.
    pub envelope_bytes: Vec<u8>,
}

impl SignedImage {
    /// `registry/repository@digest` of the image, the form a trust policy lookup takes.
    pub fn pinned(&self) -> String {
        format!(
            "{}/{}@{}",
            self.reference.registry, self.reference.repository, self.subject.digest
        )
    }
}

/// Pushes a small image `repo:tag` into `registry` and signs it with `pki` in `format`
/// (new manifest shape, [`SIGNING_TIME`]).
pub async fn sign_image(
    registry: &Registry,
    repo: &str,
    tag: &str,
    format: EnvelopeFormat,
    pki: &Pki,
) -> SignedImage {
    sign_image_with(registry, repo, tag, pki, &SignImageOptions::new(format)).await
}

/// Like [`sign_image`], with every option.
pub async fn sign_image_with(
    registry: &Registry,
    repo: &str,
    tag: &str,
    pki: &Pki,
    opts: &SignImageOptions,
) -> SignedImage {
    let pusher = registry.pusher(repo);
    let subject = pusher.image(tag).await;
    let reference = pusher.reference(tag).with_digest(&subject.digest);
    sign_subject(&pusher, reference, &subject, pki, opts).await
}

/// Signs `subject` (a manifest already in `pusher`'s repository) and pushes the
/// signature; `reference` is what the result reports.
pub async fn sign_subject(
    pusher: &Pusher,
    reference: Reference,
    subject: &Descriptor,
    pki: &Pki,
    opts: &SignImageOptions,
) -> SignedImage {
    let signer = pki.signer();
    let target = imagegate_notation::Descriptor::new(
        subject.media_type.clone(),
        subject.digest.clone(),
        subject.size,
    );
    let envelope_bytes = signer
        .sign_artifact(opts.format, &target, &opts.sign)
        .unwrap_or_else(|e| panic!("signing {reference}: {e}"));
    let annotations = signer
        .manifest_annotations(opts.sign.signing_time)
        .unwrap_or_else(|e| panic!("annotations for {reference}: {e}"));
    let pushed = pusher
        .client()
        .push_signature(
            &reference,
            subject,
            opts.format.media_type(),
            Bytes::from(envelope_bytes.clone()),
            annotations,
            opts.shape,
        )
        .await
        .unwrap_or_else(|e| panic!("pushing the signature of {reference}: {e}"));
    let envelope = crate::push::desc(
        opts.format.media_type(),
        &crate::sha256(&envelope_bytes),
        envelope_bytes.len(),
    );
    SignedImage {
        reference,
        subject: subject.clone(),
        signature: pushed.manifest,
        envelope,
        envelope_bytes,
    }
}
