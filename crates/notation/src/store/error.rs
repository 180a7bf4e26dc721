//! Trust-store errors, worded like notation-go's (`verifier/truststore/truststore.go`).

use crate::policy::StoreType;

/// Error of trust-store loading or lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named store does not exist.
    #[error("the trust store {name:?} of type \"{store_type}\" does not exist")]
    NotFound {
        /// Store type.
        store_type: StoreType,
        /// Store name.
        name: String,
    },
    /// The named store exists but holds no certificate.
    #[error("no x509 certificates were found in trust store {name:?} of type \"{store_type}\"")]
    Empty {
        /// Store type.
        store_type: StoreType,
        /// Store name.
        name: String,
    },
    /// The store name is not `[a-zA-Z0-9_.-]+`.
    #[error("trust store name {0:?} is invalid: named store names must match [a-zA-Z0-9_.-]+")]
    InvalidName(String),
    /// A file holds no certificate or something that is not a certificate.
    #[error("error while reading certificates from {file:?}: {reason}")]
    Unreadable {
        /// File name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A certificate of a `ca`/`signingAuthority` store is neither a CA nor self-signed.
    #[error("error while validating certificates from {file:?}: certificate with subject {subject:?} is not a CA certificate or self-signed signing certificate")]
    NotCaOrSelfSigned {
        /// File name.
        file: String,
        /// Go-form subject of the certificate.
        subject: String,
    },
    /// A certificate of a `tsa` store is not a self-signed root CA.
    #[error("failed to validate certificates in the trust store {name:?} of type \"tsa\": certificate with subject {subject:?} from {file:?} is not a root CA certificate: {reason}")]
    NotRootCa {
        /// Store name.
        name: String,
        /// File name.
        file: String,
        /// Go-form subject of the certificate.
        subject: String,
        /// Why it is not a root CA.
        reason: String,
    },
    /// A file is larger than accepted.
    #[error("trust store file {file:?} is {size} bytes, larger than the {max} bytes accepted")]
    FileTooLarge {
        /// File name.
        file: String,
        /// Its size.
        size: u64,
        /// Maximum accepted size.
        max: u64,
    },
    /// More files than accepted.
    #[error("trust store directory holds more than {max} files; remove unused certificates")]
    TooManyFiles {
        /// Maximum accepted number of files.
        max: usize,
    },
    /// A certificate appears in the same store twice is fine; too many certificates is not.
    #[error("trust store file {file:?} holds more than {max} certificates")]
    TooManyCertificates {
        /// File name.
        file: String,
        /// Maximum accepted per file.
        max: usize,
    },
    /// An entry of a named store is not a regular file (after following symlinks): a
    /// sub-directory, a device, a socket…
    #[error("{path:?} is not a regular file: named trust store directories may only contain certificate files (sub-directories are not allowed; entries starting with \"..\" are ignored)")]
    NotRegularFile {
        /// Path of the entry.
        path: String,
    },
    /// A trust store type directory (`x509/ca`, …) or an entry of one is not a directory
    /// (after following symlinks).
    #[error("{path:?} is not a directory: the trust store layout is x509/{{ca,signingAuthority,tsa}}/<name>/<certificate files>")]
    NotADirectory {
        /// Path of the entry.
        path: String,
    },
    /// A file or directory could not be read.
    #[error("failed to read trust store path {path:?}: {reason}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
}
