//! The TLS material of one benchmark run: a CA, a server certificate for 127.0.0.1 and a
//! client certificate (Gatekeeper's role), written where `imagegate serve` expects them, and
//! the rustls configurations of the floor server and of the load driver.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use imagegate_provider::{TlsFiles, CERT_FILE_NAME, KEY_FILE_NAME};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::BenchError;

/// The client CA bundle's file name inside the run directory.
pub const CLIENT_CA_FILE: &str = "client-ca.crt";

/// Generated certificates and where they were written.
pub struct TlsSetup {
    /// Directory holding `tls.crt` and `tls.key` (the provider's `--cert-dir`).
    pub cert_dir: PathBuf,
    /// The CA bundle that signed the client certificate (the provider's `--client-ca`).
    pub client_ca: PathBuf,
    ca: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
    client_cert: CertificateDer<'static>,
    client_key: Vec<u8>,
}

fn tls_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Tls(e.to_string())
}

impl TlsSetup {
    /// Generates a P-256 CA, a server certificate (SAN 127.0.0.1) and a client certificate,
    /// and writes `dir/tls/tls.crt`, `dir/tls/tls.key` and `dir/client-ca.crt`.
    pub fn generate(dir: &Path) -> Result<Self, BenchError> {
        let ca_key = KeyPair::generate().map_err(tls_err)?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "imagegate bench CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.clone().self_signed(&ca_key).map_err(tls_err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let mut server = CertificateParams::new(vec!["localhost".to_owned()]).map_err(tls_err)?;
        server
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        server
            .distinguished_name
            .push(DnType::CommonName, "imagegate bench provider");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_key = KeyPair::generate().map_err(tls_err)?;
        let server_cert = server.signed_by(&server_key, &issuer).map_err(tls_err)?;

        let mut client = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        client
            .distinguished_name
            .push(DnType::CommonName, "gatekeeper-webhook (bench)");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_key = KeyPair::generate().map_err(tls_err)?;
        let client_cert = client.signed_by(&client_key, &issuer).map_err(tls_err)?;

        let cert_dir = dir.join("tls");
        std::fs::create_dir_all(&cert_dir)
            .map_err(|e| BenchError::io("creating the cert dir", &cert_dir, e))?;
        let client_ca = dir.join(CLIENT_CA_FILE);
        let writes = [
            (cert_dir.join(CERT_FILE_NAME), server_cert.pem()),
            (cert_dir.join(KEY_FILE_NAME), server_key.serialize_pem()),
            (client_ca.clone(), ca_cert.pem()),
        ];
        for (path, text) in writes {
            std::fs::write(&path, text)
                .map_err(|e| BenchError::io("writing TLS material", &path, e))?;
        }
        Ok(Self {
            cert_dir,
            client_ca,
            ca: ca_cert.der().clone(),
            server_chain: vec![server_cert.der().clone()],
            server_key: server_key.serialize_der(),
            client_cert: client_cert.der().clone(),
            client_key: client_key.serialize_der(),
        })
    }

    /// The provider's TLS settings: these files, mutual TLS with the client CA.
    pub fn provider_files(&self) -> TlsFiles {
        let mut files = TlsFiles::new(&self.cert_dir);
        files.client_ca = Some(self.client_ca.clone());
        files
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::aws_lc_rs::default_provider())
    }

    fn roots(&self) -> Result<RootCertStore, BenchError> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.clone()).map_err(tls_err)?;
        Ok(roots)
    }

    /// The floor server's rustls configuration, built as the provider builds its own: aws-lc-rs,
    /// TLS 1.3 only, client certificate required and checked against the CA, no session
    /// resumption.
    pub fn floor_server_config(&self) -> Result<rustls::ServerConfig, BenchError> {
        let provider = Self::provider();
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(self.roots()?), provider.clone())
                .build()
                .map_err(tls_err)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(self.server_chain.clone(), key)
            .map_err(tls_err)?;
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
        Ok(config)
    }

    /// The load driver's configuration: TLS 1.3, trusts the CA, presents the client
    /// certificate (as Gatekeeper does).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, BenchError> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.client_key.clone()));
        let config = rustls::ClientConfig::builder_with_provider(Self::provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_root_certificates(self.roots()?)
            .with_client_auth_cert(vec![self.client_cert.clone()], key)
            .map_err(tls_err)?;
        Ok(Arc::new(config))
    }
}
