//! TLS material for the provider and for "Gatekeeper", generated with rcgen the way a cluster
//! has it: the provider's serving certificate (SANs `localhost` and `127.0.0.1`) from its own
//! CA (the Provider object's `caBundle`), and Gatekeeper's webhook certificate from
//! `gatekeeper-ca` (organisation `gatekeeper`) with ServerAuth and ClientAuth, presented as
//! the client certificate. The provider trusts `gatekeeper-ca` (`--client-ca`).

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// Why TLS material could not be made or written.
#[derive(Debug, thiserror::Error)]
pub enum MtlsError {
    /// rcgen refused the parameters.
    #[error("cannot generate the {what} certificate: {source}")]
    Generate {
        /// Which certificate.
        what: &'static str,
        /// rcgen's error.
        source: rcgen::Error,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {source}; check the directory is writable")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// PEM material of both sides.
#[derive(Debug, Clone)]
pub struct MtlsMaterial {
    /// The CA that issued the provider's certificate (the Provider's `caBundle`).
    pub server_ca_pem: String,
    /// The provider's certificate (leaf), PEM.
    pub server_cert_pem: String,
    /// The provider's private key, PEM.
    pub server_key_pem: String,
    /// `gatekeeper-ca`, which the provider trusts for client certificates.
    pub client_ca_pem: String,
    /// Gatekeeper's webhook certificate (ServerAuth + ClientAuth), PEM.
    pub client_cert_pem: String,
    /// Its private key, PEM.
    pub client_key_pem: String,
}

/// Where [`MtlsMaterial::write`] put the provider's files.
#[derive(Debug, Clone)]
pub struct ProviderTlsFiles {
    /// `--cert-dir`: holds `tls.crt` and `tls.key`.
    pub cert_dir: PathBuf,
    /// `--client-ca`: Gatekeeper's CA.
    pub client_ca: PathBuf,
}

fn dn(cn: &str, org: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, org);
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca(cn: &str, org: &str) -> Result<(String, Issuer<'static, KeyPair>), MtlsError> {
    let generate = |source| MtlsError::Generate { what: "CA", source };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn, org);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.clone().self_signed(&key).map_err(generate)?;
    Ok((cert.pem(), Issuer::new(params, key)))
}

fn leaf(
    what: &'static str,
    issuer: &Issuer<'static, KeyPair>,
    names: &[&str],
    cn: &str,
    eku: Vec<ExtendedKeyUsagePurpose>,
) -> Result<(String, String), MtlsError> {
    let generate = |source| MtlsError::Generate { what, source };
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(generate)?;
    let mut params =
        CertificateParams::new(names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .map_err(generate)?;
    params.distinguished_name = dn(cn, "gatekeeper");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = eku;
    let cert = params.signed_by(&key, issuer).map_err(generate)?;
    Ok((cert.pem(), key.serialize_pem()))
}

impl MtlsMaterial {
    /// Fresh material for a provider reached as `localhost` or `127.0.0.1`.
    pub fn generate() -> Result<Self, MtlsError> {
        let (server_ca_pem, server_ca) = ca("imagegate provider CA", "imagegate")?;
        let (server_cert_pem, server_key_pem) = leaf(
            "provider",
            &server_ca,
            &["localhost", "127.0.0.1"],
            "imagegate.gatekeeper-system",
            vec![ExtendedKeyUsagePurpose::ServerAuth],
        )?;
        let (client_ca_pem, client_ca) = ca("gatekeeper-ca", "gatekeeper")?;
        let (client_cert_pem, client_key_pem) = leaf(
            "gatekeeper client",
            &client_ca,
            &["gatekeeper-webhook-service.gatekeeper-system.svc"],
            "gatekeeper-webhook-service.gatekeeper-system.svc",
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        )?;
        Ok(Self {
            server_ca_pem,
            server_cert_pem,
            server_key_pem,
            client_ca_pem,
            client_cert_pem,
            client_key_pem,
        })
    }

    /// Writes the provider's `tls.crt`, `tls.key` (in `dir/certs`) and `dir/client-ca.crt`.
    pub fn write(&self, dir: &Path) -> Result<ProviderTlsFiles, MtlsError> {
        let cert_dir = dir.join("certs");
        std::fs::create_dir_all(&cert_dir).map_err(|source| MtlsError::Write {
            path: cert_dir.clone(),
            source,
        })?;
        let client_ca = dir.join("client-ca.crt");
        for (path, text) in [
            (cert_dir.join("tls.crt"), &self.server_cert_pem),
            (cert_dir.join("tls.key"), &self.server_key_pem),
            (client_ca.clone(), &self.client_ca_pem),
        ] {
            std::fs::write(&path, text).map_err(|source| MtlsError::Write { path, source })?;
        }
        Ok(ProviderTlsFiles {
            cert_dir,
            client_ca,
        })
    }

    /// Gatekeeper's client identity: certificate then key, PEM (what reqwest's
    /// `Identity::from_pem` takes).
    pub fn client_identity_pem(&self) -> String {
        format!("{}{}", self.client_cert_pem, self.client_key_pem)
    }
}
