//! Reading PEM files within a size bound and parsing them into DER.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::RootCertStore;
use tokio::io::AsyncReadExt as _;

use super::error::TlsError;

/// The largest PEM file read: far above any real chain, key or CA bundle.
pub(crate) const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Reads `path`, refusing files over [`MAX_PEM_BYTES`].
pub(crate) async fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    let io = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut out = Vec::new();
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut out)
        .await
        .map_err(io)?;
    if out.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
            limit: MAX_PEM_BYTES,
        });
    }
    Ok(out)
}

/// Every certificate in `pem`, in order; at least one.
pub(crate) fn certificates(
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_cert = |detail: String| TlsError::NoCertificate {
        path: path.to_owned(),
        detail,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| no_cert(err.to_string()))?;
    if certs.is_empty() {
        return Err(no_cert("no CERTIFICATE block found".to_owned()));
    }
    Ok(certs)
}

/// The server's certificate chain and key, checked to belong together.
pub(crate) fn certified_key(
    cert_path: &Path,
    cert_pem: &[u8],
    key_path: &Path,
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = certificates(cert_path, cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|err| TlsError::NoPrivateKey {
        path: key_path.to_owned(),
        detail: err.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|err| TlsError::CertifiedKey {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
        detail: err.to_string(),
    })
}

/// A verifier requiring a client certificate issued by one of the CAs in `pem`.
pub(crate) fn client_verifier(
    path: &Path,
    pem: &[u8],
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let bad = |detail: String| TlsError::ClientCa {
        path: path.to_owned(),
        detail,
    };
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, pem)? {
        roots
            .add(cert)
            .map_err(|err| bad(format!("not a usable CA certificate: {err}")))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|err| bad(err.to_string()))
}
