//! Size and count limits applied before any expensive work.
//!
//! Every limit is checked on untrusted input before it is decoded further; exceeding one is its
//! own error (`IntegrityError::EnvelopeTooLarge`, …) so an operator can tell a hostile or broken
//! signature from an invalid one.

/// Resource limits for parsing and verifying one signature envelope.
///
/// Bounds on what surrounds an envelope are not here: the signature manifest's size is capped
/// by the registry layer (`imagegate_oci`, 4 MiB like notation-go) and the number of signatures
/// evaluated per subject by the engine (`maxSignaturesPerSubject`, default 100 like
/// notation-go's `--max-signatures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted signature envelope blob in bytes. Source: notation-go
    /// `registry/repository.go` `maxBlobSizeLimit` = 32 MiB (notation.md §2.1).
    pub max_envelope_bytes: usize,
    /// Most certificates in an envelope's chain (and in a timestamp token's chain). Not limited
    /// by the spec or Go; 10 is far above real chains (leaf, one or two intermediates, root) and
    /// bounds path-building work.
    pub max_cert_chain_len: usize,
    /// Largest accepted single certificate in bytes. Not limited by the spec; 64 KiB is far above
    /// real certificates (a few KiB) and bounds DER parsing work.
    pub max_cert_bytes: usize,
    /// Largest JWS protected header (decoded) and largest COSE protected header bstr, in bytes.
    /// Not limited by the spec; real headers are a few hundred bytes.
    pub max_protected_header_bytes: usize,
    /// Largest signed payload (decoded) in bytes. The payload is a small JSON descriptor
    /// (notation.md §3, a few hundred bytes); 1 MiB leaves room for many annotations.
    pub max_payload_bytes: usize,
    /// Largest timestamp countersignature token in bytes. Not limited by Go; real RFC 3161
    /// tokens with their TSA chain are 5–10 KiB.
    pub max_timestamp_token_bytes: usize,
}

impl Limits {
    /// The defaults described on each field.
    pub const DEFAULT: Limits = Limits {
        max_envelope_bytes: 32 * 1024 * 1024,
        max_cert_chain_len: 10,
        max_cert_bytes: 64 * 1024,
        max_protected_header_bytes: 64 * 1024,
        max_payload_bytes: 1024 * 1024,
        max_timestamp_token_bytes: 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}
