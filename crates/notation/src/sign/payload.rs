//! The payload of a new signature: `{"targetArtifact": <descriptor>}` (notation.md §3).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::descriptor::Descriptor;

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "targetArtifact")]
    target_artifact: Target<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Target<'a> {
    media_type: &'a str,
    digest: &'a str,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

/// The `application/vnd.cncf.notary.payload.v1+json` document for `target`, with
/// `annotations` as signed user metadata (omitted when empty).
pub fn payload_json(target: &Descriptor, annotations: &BTreeMap<String, String>) -> Vec<u8> {
    let payload = Payload {
        target_artifact: Target {
            media_type: &target.media_type,
            digest: &target.digest,
            size: target.size,
            annotations,
        },
    };
    // Strings, an integer and a string map: serialisation cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}
