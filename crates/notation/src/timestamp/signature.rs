//! Signature verification with aws-lc-rs for X.509 structures: certificate self-signatures
//! (trust-store checks) and CMS signer signatures (timestamp tokens).
//!
//! Supported: RSA PKCS#1 v1.5 and RSASSA-PSS (MGF1 with the same hash, salt = hash length)
//! with SHA-256/384/512, ECDSA on P-256/P-384/P-521 with SHA-256/384/512. SHA-1 is refused.

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use x509_parser::prelude::X509Certificate;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

const OID_RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const OID_MGF1: &str = "1.2.840.113549.1.1.8";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// A hash algorithm usable in signatures, message imprints and ESS certificate hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    /// From a digest algorithm OID (SHA-1 and others are unsupported).
    pub(crate) fn from_oid(oid: &str) -> Option<Self> {
        match oid {
            "2.16.840.1.101.3.4.2.1" => Some(Self::Sha256),
            "2.16.840.1.101.3.4.2.2" => Some(Self::Sha384),
            "2.16.840.1.101.3.4.2.3" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// Digest of `data`.
    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            Self::Sha256 => &aws_lc_rs::digest::SHA256,
            Self::Sha384 => &aws_lc_rs::digest::SHA384,
            Self::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }

    fn len(self) -> u32 {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }
}

/// Why a signature could not be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SigError {
    /// The algorithm (or key/algorithm combination) is not supported.
    #[error("unsupported signature algorithm {0}")]
    Unsupported(String),
    /// The signature does not verify.
    #[error("signature verification failed")]
    Invalid,
}

/// Whether the key is an EC public key.
pub(crate) fn is_ec_key(spki: &SubjectPublicKeyInfo<'_>) -> bool {
    spki.algorithm.algorithm.to_id_string() == OID_EC_PUBLIC_KEY
}

/// Verify that `cert` is signed by the key in `issuer`.
pub(crate) fn verify_cert_signature(
    cert: &X509Certificate<'_>,
    issuer: &SubjectPublicKeyInfo<'_>,
) -> Result<(), SigError> {
    verify(
        issuer,
        &cert.signature_algorithm,
        None,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
    )
}

/// Verify `sig` over `msg` with `spki`. `sig_alg` is a signature algorithm identifier, or a
/// bare key algorithm (`rsaEncryption`, `id-ecPublicKey`, as CMS allows) combined with
/// `digest_oid`.
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfo<'_>,
    sig_alg: &AlgorithmIdentifier<'_>,
    digest_oid: Option<&str>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), SigError> {
    let alg = select_algorithm(spki, sig_alg, digest_oid)?;
    UnparsedPublicKey::new(alg, spki.subject_public_key.data.as_ref())
        .verify(msg, sig)
        .map_err(|_| SigError::Invalid)
}

fn select_algorithm(
    spki: &SubjectPublicKeyInfo<'_>,
    sig_alg: &AlgorithmIdentifier<'_>,
    digest_oid: Option<&str>,
) -> Result<&'static dyn VerificationAlgorithm, SigError> {
    let sig_oid = sig_alg.algorithm.to_id_string();
    let key_oid = spki.algorithm.algorithm.to_id_string();
    let unsupported = || SigError::Unsupported(format!("{sig_oid} with key {key_oid}"));
    let digest = || digest_oid.and_then(Hash::from_oid).ok_or_else(unsupported);
    match key_oid.as_str() {
        OID_RSA_ENCRYPTION => {
            let pkcs1 = |h: Hash| -> &'static dyn VerificationAlgorithm {
                match h {
                    Hash::Sha256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                    Hash::Sha384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                    Hash::Sha512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                }
            };
            match sig_oid.as_str() {
                OID_RSA_ENCRYPTION => Ok(pkcs1(digest()?)),
                "1.2.840.113549.1.1.11" => Ok(pkcs1(Hash::Sha256)),
                "1.2.840.113549.1.1.12" => Ok(pkcs1(Hash::Sha384)),
                "1.2.840.113549.1.1.13" => Ok(pkcs1(Hash::Sha512)),
                "1.2.840.113549.1.1.10" => {
                    let Ok(SignatureAlgorithm::RSASSA_PSS(params)) =
                        SignatureAlgorithm::try_from(sig_alg)
                    else {
                        return Err(unsupported());
                    };
                    let hash = Hash::from_oid(&params.hash_algorithm_oid().to_id_string())
                        .ok_or_else(unsupported)?;
                    let mgf = params.mask_gen_algorithm().map_err(|_| unsupported())?;
                    if mgf.mgf.to_id_string() != OID_MGF1
                        || Hash::from_oid(&mgf.hash.to_id_string()) != Some(hash)
                        || params.salt_length() != hash.len()
                    {
                        return Err(unsupported());
                    }
                    Ok(match hash {
                        Hash::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                        Hash::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                        Hash::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
                    })
                }
                _ => Err(unsupported()),
            }
        }
        OID_EC_PUBLIC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .ok_or_else(unsupported)?;
            let hash = match sig_oid.as_str() {
                OID_EC_PUBLIC_KEY => digest()?,
                "1.2.840.10045.4.3.2" => Hash::Sha256,
                "1.2.840.10045.4.3.3" => Hash::Sha384,
                "1.2.840.10045.4.3.4" => Hash::Sha512,
                _ => return Err(unsupported()),
            };
            Ok(match (curve.as_str(), hash) {
                (OID_P256, Hash::Sha256) => &signature::ECDSA_P256_SHA256_ASN1,
                (OID_P256, Hash::Sha384) => &signature::ECDSA_P256_SHA384_ASN1,
                (OID_P256, Hash::Sha512) => &signature::ECDSA_P256_SHA512_ASN1,
                (OID_P384, Hash::Sha256) => &signature::ECDSA_P384_SHA256_ASN1,
                (OID_P384, Hash::Sha384) => &signature::ECDSA_P384_SHA384_ASN1,
                (OID_P384, Hash::Sha512) => &signature::ECDSA_P384_SHA512_ASN1,
                (OID_P521, Hash::Sha256) => &signature::ECDSA_P521_SHA256_ASN1,
                (OID_P521, Hash::Sha384) => &signature::ECDSA_P521_SHA384_ASN1,
                (OID_P521, Hash::Sha512) => &signature::ECDSA_P521_SHA512_ASN1,
                _ => return Err(unsupported()),
            })
        }
        _ => Err(unsupported()),
    }
}
