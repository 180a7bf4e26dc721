//! TLS material for the provider listener and the driver's mTLS client, made with rcgen:
//! one server CA (the client trusts it throughout), a server leaf re-issued on every rotation,
//! and a client CA replaced on every rotation.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::SoakError;

/// The DNS name in the server certificate; the client resolves it to the provider.
pub const SERVER_NAME: &str = "imagegate.soak";

/// A CA able to issue leaves.
pub struct Ca {
    /// The CA certificate, PEM.
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Certificate.
    pub cert_pem: String,
    /// PKCS#8 private key.
    pub key_pem: String,
}

fn tls(e: impl std::fmt::Display) -> SoakError {
    SoakError::Tls(e.to_string())
}

impl Ca {
    /// A new self-signed P-256 CA named `name`.
    pub fn new(name: &str) -> Result<Self, SoakError> {
        let key = KeyPair::generate().map_err(tls)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).map_err(tls)?;
        Ok(Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        })
    }

    /// A server leaf for [`SERVER_NAME`] and 127.0.0.1.
    pub fn server(&self, cn: &str) -> Result<Leaf, SoakError> {
        let mut params = CertificateParams::new(vec![SERVER_NAME.to_owned()]).map_err(tls)?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client leaf (ClientAuth EKU), like Gatekeeper's.
    pub fn client(&self, cn: &str) -> Result<Leaf, SoakError> {
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls)?;
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Result<Leaf, SoakError> {
        let key = KeyPair::generate().map_err(tls)?;
        let cert = params.signed_by(&key, &self.issuer).map_err(tls)?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// Writes `content` to `path` through a temporary file and a rename, so the provider's
/// watcher never reads a half-written file.
pub fn write_atomic(path: &Path, content: &[u8]) -> Result<(), SoakError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).map_err(|e| SoakError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SoakError::io(path, e))
}

/// Writes the server leaf as `tls.crt` and `tls.key` in `dir`.
pub fn write_server_files(dir: &Path, leaf: &Leaf) -> Result<(), SoakError> {
    write_atomic(&dir.join("tls.crt"), leaf.cert_pem.as_bytes())?;
    write_atomic(&dir.join("tls.key"), leaf.key_pem.as_bytes())
}

/// An HTTPS client for the provider at `addr`: TLS 1.3, trusting `server_ca`, presenting
/// `identity`, each request bounded by `timeout`.
pub fn client(
    server_ca: &Ca,
    identity: &Leaf,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<reqwest::Client, SoakError> {
    let mut roots = rustls::RootCertStore::empty();
    let ca = CertificateDer::from_pem_slice(server_ca.cert_pem.as_bytes()).map_err(tls)?;
    roots.add(ca).map_err(tls)?;
    let cert = CertificateDer::from_pem_slice(identity.cert_pem.as_bytes()).map_err(tls)?;
    let key = PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(tls)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls)?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![cert], key)
        .map_err(tls)?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(config)
        .resolve(SERVER_NAME, addr)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| SoakError::Client(e.to_string()))
}
