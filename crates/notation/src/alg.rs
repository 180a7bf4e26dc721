//! Notation signature algorithms: derivation from the signing key and raw verification.
//!
//! The signing certificate's key decides the algorithm (notation.md §7); the envelope's `alg`
//! header must merely agree with it. Verification uses aws-lc-rs: RSASSA-PSS with MGF1 and
//! salt length = hash length, ECDSA with the fixed-size `r || s` encoding used by JWS and COSE.

use std::fmt;

use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// One of the six signature algorithms Notation allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    /// RSASSA-PSS with SHA-256 (RSA 2048).
    Ps256,
    /// RSASSA-PSS with SHA-384 (RSA 3072).
    Ps384,
    /// RSASSA-PSS with SHA-512 (RSA 4096).
    Ps512,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// ECDSA P-521 with SHA-512.
    Es512,
}

/// The hash function belonging to a [`SignatureAlgorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// Hash `data` with this function.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlgorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            HashAlgorithm::Sha384 => &aws_lc_rs::digest::SHA384,
            HashAlgorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        aws_lc_rs::digest::digest(alg, data).as_ref().to_vec()
    }
}

/// Why a signing key cannot be used with Notation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The certificate could not be parsed to find its key.
    #[error("malformed leaf certificate: {reason}")]
    MalformedCertificate {
        /// The parser's description.
        reason: String,
    },
    /// The key type is neither RSA nor EC.
    #[error("signing key is not supported: only RSA (2048, 3072, 4096 bits) and EC (P-256, P-384, P-521) keys are allowed")]
    UnsupportedKeyType,
    /// An RSA key of a size other than 2048, 3072 or 4096 bits.
    #[error("rsa key size {bits} bits is not supported")]
    RsaKeySize {
        /// The modulus size in bits.
        bits: usize,
    },
    /// An EC key on a curve other than P-256, P-384 or P-521.
    #[error(
        "ecdsa key on curve {curve} is not supported: only P-256, P-384 and P-521 are allowed"
    )]
    EcCurve {
        /// The curve OID, dotted.
        curve: String,
    },
}

impl SignatureAlgorithm {
    /// All six algorithms, in the order of the spec's table.
    pub const ALL: [SignatureAlgorithm; 6] = [
        SignatureAlgorithm::Ps256,
        SignatureAlgorithm::Ps384,
        SignatureAlgorithm::Ps512,
        SignatureAlgorithm::Es256,
        SignatureAlgorithm::Es384,
        SignatureAlgorithm::Es512,
    ];

    /// The JWS `alg` name, e.g. `PS256`.
    pub fn jws_name(self) -> &'static str {
        match self {
            SignatureAlgorithm::Ps256 => "PS256",
            SignatureAlgorithm::Ps384 => "PS384",
            SignatureAlgorithm::Ps512 => "PS512",
            SignatureAlgorithm::Es256 => "ES256",
            SignatureAlgorithm::Es384 => "ES384",
            SignatureAlgorithm::Es512 => "ES512",
        }
    }

    /// The COSE `alg` value (RFC 9053 / IANA), e.g. -37 for PS256.
    pub fn cose_id(self) -> i64 {
        match self {
            SignatureAlgorithm::Ps256 => -37,
            SignatureAlgorithm::Ps384 => -38,
            SignatureAlgorithm::Ps512 => -39,
            SignatureAlgorithm::Es256 => -7,
            SignatureAlgorithm::Es384 => -35,
            SignatureAlgorithm::Es512 => -36,
        }
    }

    /// Look up a JWS `alg` name.
    pub fn from_jws_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.jws_name() == name)
    }

    /// Look up a COSE `alg` value.
    pub fn from_cose_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.cose_id() == id)
    }

    /// The hash used by the algorithm (also used for blob digests and timestamp requests).
    pub fn hash(self) -> HashAlgorithm {
        match self {
            SignatureAlgorithm::Ps256 | SignatureAlgorithm::Es256 => HashAlgorithm::Sha256,
            SignatureAlgorithm::Ps384 | SignatureAlgorithm::Es384 => HashAlgorithm::Sha384,
            SignatureAlgorithm::Ps512 | SignatureAlgorithm::Es512 => HashAlgorithm::Sha512,
        }
    }

    /// Derive the algorithm from a DER certificate's public key (notation.md §7).
    pub fn from_certificate(cert_der: &[u8]) -> Result<Self, KeyError> {
        let (_, cert) =
            X509Certificate::from_der(cert_der).map_err(|e| KeyError::MalformedCertificate {
                reason: e.to_string(),
            })?;
        Ok(SigningKey::from_cert(&cert)?.algorithm)
    }

    fn verification_algorithm(self) -> &'static dyn VerificationAlgorithm {
        match self {
            SignatureAlgorithm::Ps256 => &sig::RSA_PSS_2048_8192_SHA256,
            SignatureAlgorithm::Ps384 => &sig::RSA_PSS_2048_8192_SHA384,
            SignatureAlgorithm::Ps512 => &sig::RSA_PSS_2048_8192_SHA512,
            SignatureAlgorithm::Es256 => &sig::ECDSA_P256_SHA256_FIXED,
            SignatureAlgorithm::Es384 => &sig::ECDSA_P384_SHA384_FIXED,
            SignatureAlgorithm::Es512 => &sig::ECDSA_P521_SHA512_FIXED,
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// A signing certificate's public key together with the algorithm it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigningKey {
    pub(crate) algorithm: SignatureAlgorithm,
    /// RSA: the PKCS#1 `RSAPublicKey` DER; EC: the uncompressed point.
    pub(crate) key: Vec<u8>,
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

impl SigningKey {
    /// Extract the key of a parsed certificate and derive the Notation algorithm.
    pub(crate) fn from_cert(cert: &X509Certificate<'_>) -> Result<Self, KeyError> {
        let spki = cert.public_key();
        let key = spki.subject_public_key.data.to_vec();
        let parsed = spki.parsed().map_err(|_| KeyError::UnsupportedKeyType)?;
        let algorithm = match parsed {
            PublicKey::RSA(rsa) => match rsa_bits(rsa.modulus) {
                2048 => SignatureAlgorithm::Ps256,
                3072 => SignatureAlgorithm::Ps384,
                4096 => SignatureAlgorithm::Ps512,
                bits => return Err(KeyError::RsaKeySize { bits }),
            },
            PublicKey::EC(_) => {
                if spki.algorithm.algorithm.to_id_string() != OID_EC_PUBLIC_KEY {
                    return Err(KeyError::UnsupportedKeyType);
                }
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|oid| oid.to_id_string())
                    .ok_or(KeyError::UnsupportedKeyType)?;
                match curve.as_str() {
                    OID_P256 => SignatureAlgorithm::Es256,
                    OID_P384 => SignatureAlgorithm::Es384,
                    OID_P521 => SignatureAlgorithm::Es512,
                    _ => return Err(KeyError::EcCurve { curve }),
                }
            }
            _ => return Err(KeyError::UnsupportedKeyType),
        };
        Ok(Self { algorithm, key })
    }

    /// Verify `signature` over `message` with this key and its algorithm.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        sig::UnparsedPublicKey::new(self.algorithm.verification_algorithm(), &self.key)
            .verify(message, signature)
            .is_ok()
    }
}

/// Size in bits of a big-endian unsigned modulus (leading zero bytes ignored).
pub(crate) fn rsa_bits(modulus: &[u8]) -> usize {
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => return 0,
    };
    let leading = trimmed.first().map_or(0, |b| b.leading_zeros() as usize);
    trimmed.len() * 8 - leading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for alg in SignatureAlgorithm::ALL {
            assert_eq!(SignatureAlgorithm::from_jws_name(alg.jws_name()), Some(alg));
            assert_eq!(SignatureAlgorithm::from_cose_id(alg.cose_id()), Some(alg));
        }
        assert_eq!(SignatureAlgorithm::from_jws_name("none"), None);
        assert_eq!(SignatureAlgorithm::from_jws_name("HS256"), None);
        assert_eq!(SignatureAlgorithm::from_cose_id(-8), None);
    }

    #[test]
    fn rsa_bits_ignores_leading_zeros() {
        let mut m = vec![0u8; 257];
        m[1] = 0x80;
        assert_eq!(rsa_bits(&m), 2048);
        m[1] = 0x01;
        assert_eq!(rsa_bits(&m), 2041);
        assert_eq!(rsa_bits(&[0, 0]), 0);
    }
}
