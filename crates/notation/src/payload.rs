//! The signed payload `application/vnd.cncf.notary.payload.v1+json` (notation.md §3).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::descriptor::Descriptor;

/// The payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// Not a JSON object with a valid `targetArtifact` descriptor.
    #[error("signature payload is invalid: {reason}; expected {{\"targetArtifact\":{{\"mediaType\":…,\"digest\":…,\"size\":…}}}}")]
    Invalid {
        /// The JSON parser's description.
        reason: String,
    },
}

/// A decoded Notation payload. Unknown JSON members are ignored, as in Go.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    /// The descriptor of the signed artifact.
    pub target_artifact: TargetArtifact,
}

/// The `targetArtifact` descriptor of a payload.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetArtifact {
    /// Media type of the signed manifest.
    pub media_type: String,
    /// Digest of the signed manifest.
    pub digest: String,
    /// Size of the signed manifest.
    pub size: u64,
    /// Optional artifact type (not compared).
    #[serde(default)]
    pub artifact_type: Option<String>,
    /// User metadata signed with the artifact (not compared; checked against requested
    /// metadata).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Payload {
    /// Decode a payload. The payload and its `targetArtifact` must be JSON objects: serde would
    /// otherwise also accept a struct written as an array of its fields, which Go refuses.
    pub fn from_json(bytes: &[u8]) -> Result<Self, PayloadError> {
        let invalid = |reason: String| PayloadError::Invalid { reason };
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        let is_object = |v: Option<&serde_json::Value>| v.is_some_and(serde_json::Value::is_object);
        if !is_object(Some(&value)) {
            return Err(invalid("the payload is not a JSON object".to_owned()));
        }
        if !is_object(value.get("targetArtifact")) {
            return Err(invalid(
                "targetArtifact is missing or not a JSON object".to_owned(),
            ));
        }
        serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
    }

    /// The signed descriptor reduced to the compared fields.
    pub fn descriptor(&self) -> Descriptor {
        let t = &self.target_artifact;
        Descriptor::new(t.media_type.clone(), t.digest.clone(), t.size)
    }

    /// Whether the payload signs `artifact`: equal `mediaType`, `digest` and `size`.
    pub fn matches(&self, artifact: &Descriptor) -> bool {
        let t = &self.target_artifact;
        t.media_type == artifact.media_type
            && t.digest == artifact.digest
            && t.size == artifact.size
    }

    /// The signed annotations (user metadata).
    pub fn annotations(&self) -> &BTreeMap<String, String> {
        &self.target_artifact.annotations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &[u8] = br#"{"targetArtifact":{"annotations":{"purpose":"e2e"},"digest":"sha256:ab","mediaType":"m","size":5},"extra":1}"#;

    #[test]
    fn parses_and_matches_on_three_fields() {
        let p = Payload::from_json(JSON).unwrap();
        assert!(p.matches(&Descriptor::new("m", "sha256:ab", 5)));
        assert!(!p.matches(&Descriptor::new("m", "sha256:ab", 6)));
        assert!(!p.matches(&Descriptor::new("n", "sha256:ab", 5)));
        assert!(!p.matches(&Descriptor::new("m", "sha256:ac", 5)));
        assert_eq!(
            p.annotations().get("purpose").map(String::as_str),
            Some("e2e")
        );
    }

    #[test]
    fn rejects_structs_written_as_arrays() {
        for json in [
            &br#"[{"mediaType":"m","digest":"sha256:ab","size":5}]"#[..],
            br#"{"targetArtifact":["m","sha256:ab",5]}"#,
            br#"[["m","sha256:ab",5]]"#,
        ] {
            let err = Payload::from_json(json).unwrap_err();
            assert!(err.to_string().contains("not a JSON object"), "{err}");
        }
    }

    #[test]
    fn rejects_non_objects_and_missing_fields() {
        assert!(Payload::from_json(b"[]").is_err());
        assert!(Payload::from_json(br#"{"targetArtifact":{"digest":"d","size":1}}"#).is_err());
    }
}
