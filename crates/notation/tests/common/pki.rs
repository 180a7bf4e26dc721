//! Generated certificate chains (rcgen) for the generated tests and benches.

use imagegate_notation::alg::SignatureAlgorithm;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, RsaKeySize,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use imagegate_notation::sign::PrivateKey;

/// A generated chain (leaf first) and the leaf's signer.
pub struct Pki {
    /// Leaf first, root last.
    pub chain: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub signer: PrivateKey,
}

impl Pki {
    /// The root (last) certificate.
    pub fn root(&self) -> &CertificateDer<'static> {
        self.chain.last().unwrap()
    }
}

/// A fresh key pair for an algorithm.
pub fn key_for(alg: SignatureAlgorithm) -> KeyPair {
    match alg {
        SignatureAlgorithm::Ps256 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, RsaKeySize::_2048)
        }
        SignatureAlgorithm::Ps384 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA384, RsaKeySize::_3072)
        }
        SignatureAlgorithm::Ps512 => {
            KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA512, RsaKeySize::_4096)
        }
        SignatureAlgorithm::Es256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
        SignatureAlgorithm::Es384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        SignatureAlgorithm::Es512 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512),
    }
    .unwrap()
}

/// CA keys: the leaf's curve for EC leaves, P-256 for RSA leaves (fast to generate).
fn ca_key_for(alg: SignatureAlgorithm) -> KeyPair {
    match alg {
        SignatureAlgorithm::Es384 | SignatureAlgorithm::Es512 => key_for(alg),
        _ => key_for(SignatureAlgorithm::Es256),
    }
}

/// The reference time of generated certificates: valid from `T0 - 1 day` to `T0 + 365 days`.
pub const T0: OffsetDateTime = time::macros::datetime!(2025-06-01 0:00 UTC);

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "US");
    dn.push(DnType::StateOrProvinceName, "WA");
    dn.push(DnType::LocalityName, "Seattle");
    dn.push(DnType::OrganizationName, "imagegate");
    dn.push(DnType::CommonName, cn);
    dn
}

/// CA parameters (basicConstraints CA, keyCertSign critical).
pub fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = T0 - Duration::days(30);
    p.not_after = T0 + Duration::days(3650);
    p
}

/// Code-signing leaf parameters (digitalSignature, EKU codeSigning, CA=false).
pub fn leaf_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    p.not_before = T0 - Duration::days(1);
    p.not_after = T0 + Duration::days(365);
    p
}

/// A chain of `len` certificates (1 = self-signed leaf, 2 = root → leaf, 3 = root →
/// intermediate → leaf) whose leaf key uses `alg`; `leaf` may adjust the leaf parameters.
pub fn chain(
    alg: SignatureAlgorithm,
    len: usize,
    leaf: impl FnOnce(&mut CertificateParams),
) -> Pki {
    let leaf_key = key_for(alg);
    let mut leaf_p = leaf_params("leaf");
    leaf(&mut leaf_p);
    let signer = PrivateKey::from_pkcs8(&leaf_key.serialize_der()).unwrap();
    assert_eq!(signer.algorithm(), alg);
    if len == 1 {
        let cert = leaf_p.self_signed(&leaf_key).unwrap();
        return Pki {
            chain: vec![cert.der().clone()],
            signer,
        };
    }
    let root_key = ca_key_for(alg);
    let root_p = ca_params("root");
    let root = root_p.clone().self_signed(&root_key).unwrap();
    let root_issuer = Issuer::new(root_p, &root_key);
    if len == 2 {
        let cert = leaf_p.signed_by(&leaf_key, &root_issuer).unwrap();
        return Pki {
            chain: vec![cert.der().clone(), root.der().clone()],
            signer,
        };
    }
    let int_key = ca_key_for(alg);
    let int_p = ca_params("intermediate");
    let int = int_p.clone().signed_by(&int_key, &root_issuer).unwrap();
    let int_issuer = Issuer::new(int_p, &int_key);
    let cert = leaf_p.signed_by(&leaf_key, &int_issuer).unwrap();
    Pki {
        chain: vec![cert.der().clone(), int.der().clone(), root.der().clone()],
        signer,
    }
}
