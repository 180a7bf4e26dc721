//! Recognising Notary Project signature manifests (both shapes) and their envelope.

use crate::model::{Descriptor, ImageManifest, NOTARY_SIGNATURE, OCI_EMPTY, OCI_MANIFEST};

/// JWS envelope media type.
pub const JWS_ENVELOPE: &str = "application/jose+json";
/// COSE envelope media type.
pub const COSE_ENVELOPE: &str = "application/cose";

/// Which of the two valid signature manifest shapes a manifest has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureShape {
    /// OCI 1.1: `artifactType` = notary signature, config = the empty descriptor.
    ArtifactType,
    /// OCI 1.0: no `artifactType`, `config.mediaType` = notary signature.
    LegacyConfig,
}

/// Why a manifest is not a usable Notary signature manifest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureManifestError {
    /// Neither shape matches.
    #[error(
        "manifest is not a Notary signature manifest: expected artifactType {NOTARY_SIGNATURE:?} \
         with an empty config, or config.mediaType {NOTARY_SIGNATURE:?}"
    )]
    NotASignature,
    /// The envelope layer count is not exactly one.
    #[error("signature manifest must have exactly one envelope layer, it has {0}")]
    LayerCount(usize),
    /// There is no `subject`.
    #[error("signature manifest has no subject descriptor")]
    NoSubject,
}

impl ImageManifest {
    /// The Notary signature shape of this manifest, or `None` if it is not one.
    ///
    /// Mirrors notation-go: with `artifactType` = notary signature the config must
    /// be the empty media type; without `artifactType` the config media type must
    /// be the notary signature type. A declared `mediaType` must be the OCI one.
    pub fn signature_shape(&self) -> Option<SignatureShape> {
        if self
            .media_type
            .as_deref()
            .is_some_and(|m| m != OCI_MANIFEST)
        {
            return None;
        }
        match self.artifact_type.as_deref() {
            Some(NOTARY_SIGNATURE) if self.config.media_type == OCI_EMPTY => {
                Some(SignatureShape::ArtifactType)
            }
            None if self.config.media_type == NOTARY_SIGNATURE => {
                Some(SignatureShape::LegacyConfig)
            }
            _ => None,
        }
    }

    /// The single envelope layer of a Notary signature manifest.
    ///
    /// Errors if the manifest is not a signature (either shape), has no subject,
    /// or does not have exactly one layer. The layer's media type is returned as
    /// is; whether it is a supported envelope format is the verifier's decision.
    pub fn signature_envelope(&self) -> Result<&Descriptor, SignatureManifestError> {
        if self.signature_shape().is_none() {
            return Err(SignatureManifestError::NotASignature);
        }
        if self.subject.is_none() {
            return Err(SignatureManifestError::NoSubject);
        }
        match self.layers.as_slice() {
            [one] => Ok(one),
            other => Err(SignatureManifestError::LayerCount(other.len())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desc(mt: &str) -> Descriptor {
        Descriptor {
            media_type: mt.into(),
            digest: "sha256:00".into(),
            size: 2,
            artifact_type: None,
            annotations: None,
            platform: None,
            urls: None,
        }
    }

    fn manifest(artifact_type: Option<&str>, config: &str, layers: usize) -> ImageManifest {
        ImageManifest {
            schema_version: 2,
            media_type: Some(OCI_MANIFEST.into()),
            artifact_type: artifact_type.map(Into::into),
            config: desc(config),
            layers: (0..layers).map(|_| desc(JWS_ENVELOPE)).collect(),
            subject: Some(desc(OCI_MANIFEST)),
            annotations: None,
        }
    }

    #[test]
    fn both_shapes() {
        let new = manifest(Some(NOTARY_SIGNATURE), OCI_EMPTY, 1);
        assert_eq!(new.signature_shape(), Some(SignatureShape::ArtifactType));
        assert_eq!(new.signature_envelope().unwrap().media_type, JWS_ENVELOPE);
        let legacy = manifest(None, NOTARY_SIGNATURE, 1);
        assert_eq!(legacy.signature_shape(), Some(SignatureShape::LegacyConfig));
        assert!(legacy.signature_envelope().is_ok());
    }

    #[test]
    fn rejects_others() {
        assert_eq!(
            manifest(Some(NOTARY_SIGNATURE), "application/x", 1).signature_shape(),
            None
        );
        assert_eq!(
            manifest(Some("application/spdx"), OCI_EMPTY, 1).signature_shape(),
            None
        );
        assert_eq!(manifest(None, OCI_EMPTY, 1).signature_shape(), None);
        assert_eq!(
            manifest(None, OCI_EMPTY, 1).signature_envelope(),
            Err(SignatureManifestError::NotASignature)
        );
        assert_eq!(
            manifest(None, NOTARY_SIGNATURE, 0).signature_envelope(),
            Err(SignatureManifestError::LayerCount(0))
        );
        assert_eq!(
            manifest(None, NOTARY_SIGNATURE, 2).signature_envelope(),
            Err(SignatureManifestError::LayerCount(2))
        );
        let mut no_subject = manifest(None, NOTARY_SIGNATURE, 1);
        no_subject.subject = None;
        assert_eq!(
            no_subject.signature_envelope(),
            Err(SignatureManifestError::NoSubject)
        );
        let mut docker = manifest(None, NOTARY_SIGNATURE, 1);
        docker.media_type = Some(crate::model::DOCKER_MANIFEST.into());
        assert_eq!(docker.signature_shape(), None);
    }
}
