//! Signing keys: loading PKCS#8, SEC 1 and PKCS#1 keys (PEM or DER) and producing raw
//! Notation signatures (RSASSA-PSS with salt = hash length, ECDSA fixed `r || s`).

use std::fmt;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _};
use aws_lc_rs::signature::{RsaEncoding, RsaKeyPair};
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::PrivateKeyDer;

use super::error::SignError;
use crate::alg::{KeyError, SignatureAlgorithm};

/// Largest key file accepted (PEM or DER); real keys are a few KiB.
const MAX_KEY_BYTES: usize = 64 * 1024;

/// A private key that produces Notation signatures. The algorithm follows from the key
/// (notation.md §7): RSA 2048/3072/4096 → PS256/PS384/PS512, EC P-256/P-384/P-521 →
/// ES256/ES384/ES512. `Debug` never shows key material.
pub struct PrivateKey {
    algorithm: SignatureAlgorithm,
    pair: Pair,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

const CURVES: [(SignatureAlgorithm, &EcdsaSigningAlgorithm); 3] = [
    (
        SignatureAlgorithm::Es256,
        &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
    ),
    (
        SignatureAlgorithm::Es384,
        &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
    ),
    (
        SignatureAlgorithm::Es512,
        &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
    ),
];

impl PrivateKey {
    /// Loads a key from PEM (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE KEY`) or DER
    /// (PKCS#8, SEC 1 or PKCS#1), whichever `bytes` holds.
    pub fn load(bytes: &[u8]) -> Result<Self, SignError> {
        if bytes.len() > MAX_KEY_BYTES {
            return Err(SignError::Key {
                reason: format!("it is larger than {MAX_KEY_BYTES} bytes"),
            });
        }
        if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            Self::from_pem(bytes)
        } else {
            Self::from_der(bytes)
        }
    }

    /// Loads the first private key of a PEM document.
    pub fn from_pem(pem_text: &[u8]) -> Result<Self, SignError> {
        match PrivateKeyDer::from_pem_slice(pem_text) {
            Ok(PrivateKeyDer::Pkcs8(der)) => Self::from_pkcs8(der.secret_pkcs8_der()),
            Ok(PrivateKeyDer::Sec1(der)) => Self::from_sec1(der.secret_sec1_der()),
            Ok(PrivateKeyDer::Pkcs1(der)) => Self::from_pkcs1(der.secret_pkcs1_der()),
            Ok(_) => Err(SignError::Key {
                reason: "the PEM key type is not supported".into(),
            }),
            Err(pem::Error::NoItemsFound) if contains(pem_text, b"ENCRYPTED") => {
                Err(SignError::EncryptedKey)
            }
            Err(pem::Error::NoItemsFound) => Err(SignError::Key {
                reason: "the PEM text holds no private key block".into(),
            }),
            Err(e) => Err(SignError::Key {
                reason: format!("the PEM text is malformed ({e})"),
            }),
        }
    }

    /// Loads a DER key: PKCS#8 `PrivateKeyInfo`, SEC 1 `ECPrivateKey` or PKCS#1
    /// `RSAPrivateKey`.
    pub fn from_der(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(key) = RsaKeyPair::from_pkcs8(der).or_else(|_| RsaKeyPair::from_der(der)) {
            return Self::rsa(key);
        }
        for (algorithm, curve) in CURVES {
            if let Ok(key) = EcdsaKeyPair::from_private_key_der(curve, der) {
                return Ok(Self::ec(algorithm, key));
            }
        }
        Err(unreadable(der))
    }

    /// Loads a PKCS#8 DER key (RSA or EC).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignError> {
        if let Ok(key) = RsaKeyPair::from_pkcs8(der) {
            return Self::rsa(key);
        }
        for (algorithm, curve) in CURVES {
            if let Ok(key) = EcdsaKeyPair::from_pkcs8(curve, der) {
                return Ok(Self::ec(algorithm, key));
            }
        }
        Err(unreadable(der))
    }

    fn from_sec1(der: &[u8]) -> Result<Self, SignError> {
        for (algorithm, curve) in CURVES {
            if let Ok(key) = EcdsaKeyPair::from_private_key_der(curve, der) {
                return Ok(Self::ec(algorithm, key));
            }
        }
        Err(SignError::Key {
            reason: "the EC key is malformed or not on P-256, P-384 or P-521".into(),
        })
    }

    fn from_pkcs1(der: &[u8]) -> Result<Self, SignError> {
        let key = RsaKeyPair::from_der(der).map_err(|e| SignError::Key {
            reason: format!("the RSA key was rejected ({e})"),
        })?;
        Self::rsa(key)
    }

    fn rsa(key: RsaKeyPair) -> Result<Self, SignError> {
        let algorithm = match key.public_modulus_len() * 8 {
            2048 => SignatureAlgorithm::Ps256,
            3072 => SignatureAlgorithm::Ps384,
            4096 => SignatureAlgorithm::Ps512,
            bits => return Err(SignError::UnsupportedKey(KeyError::RsaKeySize { bits })),
        };
        Ok(Self {
            algorithm,
            pair: Pair::Rsa(key),
        })
    }

    fn ec(algorithm: SignatureAlgorithm, key: EcdsaKeyPair) -> Self {
        Self {
            algorithm,
            pair: Pair::Ec(key),
        }
    }

    /// The signature algorithm this key implies.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The public key as it appears in a certificate's `subjectPublicKey` bit string:
    /// the PKCS#1 `RSAPublicKey` DER, or the uncompressed EC point.
    pub fn public_key(&self) -> &[u8] {
        match &self.pair {
            Pair::Rsa(k) => k.public_key().as_ref(),
            Pair::Ec(k) => k.public_key().as_ref(),
        }
    }

    /// Signs `message`: RSASSA-PSS (MGF1, salt length = hash length) or ECDSA with the
    /// fixed-size `r || s` encoding, hashing with the algorithm's hash.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let rng = SystemRandom::new();
        let failed = |_| SignError::Signing {
            algorithm: self.algorithm,
        };
        match &self.pair {
            Pair::Rsa(key) => {
                let padding: &'static dyn RsaEncoding = match self.algorithm {
                    SignatureAlgorithm::Ps384 => &sig::RSA_PSS_SHA384,
                    SignatureAlgorithm::Ps512 => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PSS_SHA256,
                };
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut out).map_err(failed)?;
                Ok(out)
            }
            Pair::Ec(key) => Ok(key.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn unreadable(der: &[u8]) -> SignError {
    let reason = if der.first() == Some(&0x30) {
        "it is DER but not an RSA (2048-4096 bits) or EC (P-256, P-384, P-521) private key"
    } else {
        "it is neither PEM nor DER"
    };
    SignError::Key {
        reason: reason.into(),
    }
}
