//! What can go wrong loading TLS material.

use std::path::PathBuf;

use thiserror::Error;

/// TLS material could not be loaded; at start-up this stops the server, on reload the old
/// material stays in force.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("could not read {}: {source}; check that the file exists and is readable", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is larger than any certificate bundle or key should be.
    #[error("{} is over the {limit}-byte limit for PEM files; point to the PEM file itself", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
    /// A certificate file holds no usable certificate.
    #[error(
        "{} holds no PEM certificate ({detail}); write the certificate chain, leaf first, \
         as PEM CERTIFICATE blocks",
        path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// Why nothing was found.
        detail: String,
    },
    /// A key file holds no usable private key.
    #[error(
        "{} holds no PEM private key ({detail}); write a PKCS#8, PKCS#1 or SEC1 PEM private key",
        path.display()
    )]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
        /// Why nothing was found.
        detail: String,
    },
    /// The certificate and key do not belong together or cannot be used.
    #[error(
        "the certificate {} and the key {} cannot be used together ({detail}); \
         write a matching tls.crt and tls.key",
        cert.display(),
        key.display()
    )]
    CertifiedKey {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        detail: String,
    },
    /// The client CA bundle cannot be used to verify client certificates.
    #[error(
        "{} cannot be used as the client CA bundle ({detail}); write the PEM CA certificate(s) \
         that issue Gatekeeper's client certificate",
        path.display()
    )]
    ClientCa {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// rustls refused the configuration.
    #[error("TLS 1.3 could not be set up: {0}; this is a bug in imagegate, please report it")]
    Setup(#[source] rustls::Error),
}
