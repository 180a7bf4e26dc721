//! The notation e2e fixture pushed byte for byte, plus an unsigned image and an extra
//! (invalid) signature for policy tests.

use imagegate_oci::{NOTARY_SIGNATURE, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};
use imagegate_testkit::{image_manifest, sha256, vector, Pusher};

use super::vector_json;

pub const E2E_SUBJECT: &str =
    "sha256:b8479de3f88fb259a0a9ea82a5b2a052a1ef3c4ebbcfc61482d5ae4c831f8af9";
pub const E2E_SIGNATURE: &str =
    "sha256:90ceaff260d657d797c408ac73564a9c7bb9d86055877c2a811f0e63b8c6524f";
pub const E2E_ENVELOPE: &str =
    "sha256:c9af07e038b2b1a463e648986ad7273157511ffeba0b689f33e5472bae471f50";
/// Go DN form of cert-e2e.crt's subject (= issuer, self-signed).
pub const E2E_DN: &str = "CN=e2e,O=Notary,L=Seattle,ST=WA,C=US";

/// Pushes the subject manifest (tagged `v1`, with the blobs distribution requires), the
/// signature manifest, its JWS envelope and the referrers tag index, all byte for byte.
pub async fn push_e2e(p: &Pusher) {
    // The subject's config is `{}`; its layer is notation's 17-byte e2e.txt.
    p.blob(OCI_EMPTY, b"{}").await;
    let layer = p
        .blob(
            "application/vnd.oci.image.layer.v1.tar",
            b"awesome notation\n",
        )
        .await;
    assert_eq!(
        layer.digest,
        "sha256:6de5fe1f75e4b1094c98086f403d5fd8117776ebe5aad1609281403d13dea070"
    );
    let subject = vector("oci-subject-manifest-b8479de3.json");
    assert_eq!(
        p.manifest(E2E_SUBJECT, OCI_MANIFEST, &subject).await.digest,
        E2E_SUBJECT
    );
    p.manifest("v1", OCI_MANIFEST, &subject).await;
    let envelope = vector("jws-e2e-valid.json");
    assert_eq!(
        p.blob("application/jose+json", &envelope).await.digest,
        E2E_ENVELOPE
    );
    let sig = vector("oci-sigmanifest-e2e-valid.json");
    assert_eq!(
        p.manifest(E2E_SIGNATURE, OCI_MANIFEST, &sig).await.digest,
        E2E_SIGNATURE
    );
    let index = vector("oci-referrers-tag-index-e2e-valid.json");
    p.manifest(&E2E_SUBJECT.replace(':', "-"), OCI_INDEX, &index)
        .await;
}

/// Adds the fixture's invalid signature (a manifest whose layer is not an envelope) next to
/// the valid one: both are listed in the referrers tag index. Returns its digest.
pub async fn add_invalid_signature(p: &Pusher) -> String {
    p.blob(
        "application/vnd.oci.image.layer.v1.tar",
        b"invalid signature\n",
    )
    .await;
    let bytes = vector("oci-sigmanifest-e2e-invalid-mediatype.json");
    let digest = sha256(&bytes);
    p.manifest(&digest, OCI_MANIFEST, &bytes).await;
    let mut index = vector_json("oci-referrers-tag-index-e2e-valid.json");
    index["manifests"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "size": bytes.len(),
            "artifactType": NOTARY_SIGNATURE,
        }));
    let index = serde_json::to_vec(&index).unwrap();
    p.manifest(&E2E_SUBJECT.replace(':', "-"), OCI_INDEX, &index)
        .await;
    digest
}

/// Pushes an image without any referrer, tagged `unsigned`; returns its digest.
pub async fn push_unsigned(p: &Pusher) -> String {
    let config = p.blob(OCI_EMPTY, b"{}").await;
    let layer = p
        .blob(
            "application/vnd.oci.image.layer.v1.tar",
            b"nobody signed me\n",
        )
        .await;
    let manifest = image_manifest(&config, &[layer], serde_json::json!({}));
    p.manifest("unsigned", OCI_MANIFEST, &manifest).await.digest
}
