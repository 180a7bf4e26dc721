//! Verification of one certificate's signature with another certificate's key (aws-lc-rs).
//!
//! rustls-webpki validates the links of a path but never the trust anchor's own signature;
//! Notation requires the last certificate to be a *valid* self-signed root, so that link (and
//! the "is this certificate self-signed" question) is answered here.

use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use x509_parser::prelude::X509Certificate;
use x509_parser::signature_algorithm::SignatureAlgorithm as X509SigAlg;

/// Outcome of checking `child`'s signature against `issuer`'s key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignatureCheck {
    /// The signature verifies.
    Valid,
    /// It does not verify (or the key does not fit the algorithm).
    Invalid,
    /// The certificate is signed with SHA-1.
    Sha1,
    /// The signature algorithm is not one we support.
    Unsupported,
}

const SHA1_RSA: &str = "1.2.840.113549.1.1.5";
const SHA1_ECDSA: &str = "1.2.840.10045.4.1";
const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";
const ED25519: &str = "1.3.101.112";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";
const P521: &str = "1.3.132.0.35";

/// Check `child`'s signature with `issuer`'s public key.
pub(crate) fn check(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> SignatureCheck {
    let oid = child.signature_algorithm.algorithm.to_id_string();
    let curve = issuer
        .public_key()
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    let alg: &'static dyn VerificationAlgorithm = match oid.as_str() {
        SHA1_RSA | SHA1_ECDSA => return SignatureCheck::Sha1,
        SHA256_RSA => &sig::RSA_PKCS1_2048_8192_SHA256,
        SHA384_RSA => &sig::RSA_PKCS1_2048_8192_SHA384,
        SHA512_RSA => &sig::RSA_PKCS1_2048_8192_SHA512,
        RSA_PSS => match pss_hash(child).as_deref() {
            Some(SHA256) => &sig::RSA_PSS_2048_8192_SHA256,
            Some(SHA384) => &sig::RSA_PSS_2048_8192_SHA384,
            Some(SHA512) => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return SignatureCheck::Unsupported,
        },
        ECDSA_SHA256 | ECDSA_SHA384 | ECDSA_SHA512 => match (curve.as_deref(), oid.as_str()) {
            (Some(P256), ECDSA_SHA256) => &sig::ECDSA_P256_SHA256_ASN1,
            (Some(P256), ECDSA_SHA384) => &sig::ECDSA_P256_SHA384_ASN1,
            (Some(P256), _) => &sig::ECDSA_P256_SHA512_ASN1,
            (Some(P384), ECDSA_SHA256) => &sig::ECDSA_P384_SHA256_ASN1,
            (Some(P384), ECDSA_SHA384) => &sig::ECDSA_P384_SHA384_ASN1,
            (Some(P384), _) => &sig::ECDSA_P384_SHA512_ASN1,
            (Some(P521), ECDSA_SHA256) => &sig::ECDSA_P521_SHA256_ASN1,
            (Some(P521), ECDSA_SHA384) => &sig::ECDSA_P521_SHA384_ASN1,
            (Some(P521), _) => &sig::ECDSA_P521_SHA512_ASN1,
            _ => return SignatureCheck::Invalid,
        },
        ED25519 => &sig::ED25519,
        _ => return SignatureCheck::Unsupported,
    };
    let key = &issuer.public_key().subject_public_key.data;
    let tbs = child.tbs_certificate.as_ref();
    match sig::UnparsedPublicKey::new(alg, key).verify(tbs, &child.signature_value.data) {
        Ok(()) => SignatureCheck::Valid,
        Err(_) => SignatureCheck::Invalid,
    }
}

/// The hash OID of an RSASSA-PSS signature's parameters.
fn pss_hash(cert: &X509Certificate<'_>) -> Option<String> {
    match X509SigAlg::try_from(&cert.signature_algorithm).ok()? {
        X509SigAlg::RSASSA_PSS(params) => Some(params.hash_algorithm_oid().to_id_string()),
        _ => None,
    }
}

/// Whether a certificate is self-signed: issuer name equals subject name (raw bytes) and the
/// signature verifies with its own key (Go `isSelfSigned`).
pub(crate) fn is_self_signed(cert: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == cert.subject().as_raw() && check(cert, cert) == SignatureCheck::Valid
}
