//! The annotations of a signature manifest (notation.md §2.1).

use std::collections::BTreeMap;

use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;

use super::error::SignError;
use super::options::rfc3339;

/// Annotation holding the JSON array of SHA-256 thumbprints of the envelope's chain.
pub const ANNOTATION_THUMBPRINTS: &str = "io.cncf.notary.x509chain.thumbprint#S256";
/// Annotation holding the signing time (RFC 3339, UTC).
pub const ANNOTATION_CREATED: &str = "org.opencontainers.image.created";

/// Lower-case hex SHA-256 of each certificate, in chain order (leaf first).
pub fn chain_thumbprints(chain: &[CertificateDer<'_>]) -> Vec<String> {
    chain
        .iter()
        .map(|c| hex::encode(crate::alg::HashAlgorithm::Sha256.digest(c.as_ref())))
        .collect()
}

/// The annotations the Go signer writes on a signature manifest: the chain thumbprints
/// (a JSON array encoded as a string) and `org.opencontainers.image.created`.
pub fn signature_manifest_annotations(
    chain: &[CertificateDer<'_>],
    signing_time: OffsetDateTime,
) -> Result<BTreeMap<String, String>, SignError> {
    let thumbprints = serde_json::to_string(&chain_thumbprints(chain)).unwrap_or_default();
    let created = signing_time
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .map_err(|e| SignError::Time {
            time: format!("{signing_time:?}"),
            reason: e.to_string(),
        })?;
    Ok(BTreeMap::from([
        (ANNOTATION_THUMBPRINTS.to_owned(), thumbprints),
        (ANNOTATION_CREATED.to_owned(), rfc3339(created)?),
    ]))
}
