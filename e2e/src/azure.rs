//! Azure Policy definitions (`Microsoft.Kubernetes.Data`) that embed our templates as
//! `Base64Encoded` content, and the initiative that groups them.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

/// Largest definition file read.
pub const MAX_DEFINITION_BYTES: u64 = 2 * 1024 * 1024;

/// Why a definition could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AzureError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Too large.
    #[error("{path} is larger than {MAX_DEFINITION_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// Not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The error.
        source: serde_json::Error,
    },
    /// No embedded template.
    #[error("properties.policyRule.then.details.templateInfo must be {{sourceType: Base64Encoded, content: <base64>}}")]
    NoEmbeddedTemplate,
    /// The content is not base64.
    #[error("templateInfo.content is not standard base64: {0}; regenerate with policies/azure/generate.sh")]
    Base64(#[from] base64::DecodeError),
}

/// Reads one JSON file.
pub fn load(path: &Path) -> Result<Value, AzureError> {
    let meta = std::fs::metadata(path).map_err(|source| AzureError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.len() > MAX_DEFINITION_BYTES {
        return Err(AzureError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| AzureError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| AzureError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Every `*.json` file in `dir`, sorted, parsed.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Value)>, AzureError> {
    let read_err = |source| AzureError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "json") {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|p| load(&p).map(|v| (p, v)))
        .collect()
}

/// Whether the document is a policy set (initiative) rather than a definition.
pub fn is_initiative(doc: &Value) -> bool {
    doc["properties"]["policyDefinitions"].is_array()
}

/// The `then.details` of a definition.
pub fn details(doc: &Value) -> &Value {
    &doc["properties"]["policyRule"]["then"]["details"]
}

/// The template bytes embedded in a definition.
pub fn embedded_template(doc: &Value) -> Result<Vec<u8>, AzureError> {
    let info = &details(doc)["templateInfo"];
    if info["sourceType"] != "Base64Encoded" {
        return Err(AzureError::NoEmbeddedTemplate);
    }
    let content = info["content"]
        .as_str()
        .ok_or(AzureError::NoEmbeddedTemplate)?;
    Ok(base64::engine::general_purpose::STANDARD.decode(content)?)
}

/// The base64 text to embed for `template` bytes (what `generate.sh` writes).
pub fn encode_template(template: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(template)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_embedded_content() {
        let doc = json!({"properties": {"policyRule": {"then": {"details": {"templateInfo": {
            "sourceType": "Base64Encoded", "content": encode_template(b"kind: X\n")}}}}}});
        assert_eq!(embedded_template(&doc).unwrap(), b"kind: X\n");
        assert!(!is_initiative(&doc));
    }

    #[test]
    fn public_url_is_not_embedded() {
        let doc = json!({"properties": {"policyRule": {"then": {"details": {"templateInfo": {
            "sourceType": "PublicURL", "url": "https://example.invalid/t.yaml"}}}}}});
        assert!(matches!(
            embedded_template(&doc),
            Err(AzureError::NoEmbeddedTemplate)
        ));
    }
}
